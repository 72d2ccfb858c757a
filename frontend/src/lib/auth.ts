/**
 * API keys in the browser (docs/DEPLOY.md "The web app with keys"). When the server has keys
 * (`auth.api_keys` / `MITHI_API_KEYS`; `GET /health` → `auth.enabled`), the app asks for one once, keeps it
 * in localStorage under `mithi.apiKey`, sends `Authorization: Bearer <key>` on every REST call and trades
 * it for a short-lived token (`POST /api/auth/token`) before each /voice connection.
 *
 * This module is the pure part: key storage, header building, Retry-After parsing, the messages, and a
 * small store (subscribe / getSnapshot, for `useSyncExternalStore`) that says whether the key dialog is
 * open and why. It knows nothing about fetch or React.
 */
import { KEYS, load, save } from './storage';

/** What the app shows for a 401 (REST) or an `unauthorized` WebSocket error. */
export const UNAUTHORIZED_MESSAGE = 'API key missing or wrong.';
/** The key dialog's reason while no key is stored. */
export const NEEDS_KEY_MESSAGE = 'This server needs an API key.';

/** The stored key, or null (blank counts as none). */
export function loadApiKey(): string | null {
  const key = load(KEYS.apiKey)?.trim();
  return key ? key : null;
}

/** Keys are opaque secrets: trim the copy-paste whitespace, refuse blanks and anything a header cannot carry. */
export function normalizeApiKey(input: string): string | null {
  const key = input.trim();
  if (!key) return null;
  // a header value is visible ASCII (a pasted newline or a non-ASCII character would make fetch throw)
  if (!/^[\x21-\x7e]+$/.test(key)) return null;
  return key;
}

/** The headers that carry `key` (none without one). */
export function authHeaders(key: string | null): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * `Retry-After` → whole seconds to wait (≥ 0), or null when absent or unreadable. The header is either
 * delay-seconds ("30") or an HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT").
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text));
  if (!/^[A-Za-z]{3}, /.test(text)) return null; // an IMF-fixdate starts with the day's name
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** "Rate limit reached: <server message>. Try again in N s" (without the tail when the wait is unknown). */
export function rateLimitMessage(serverMessage: string | null | undefined, retryAfterS: number | null): string {
  let reason = (serverMessage ?? '').trim().replace(/\.+$/, '');
  // the wait is said once, from Retry-After: drop the server's own "; retry in 54 s" tail
  if (retryAfterS !== null) reason = reason.replace(/[\s;,(-]*\b(retry|try again)\b[^;.()]*\)?$/i, '').trim();
  const head = reason ? `Rate limit reached: ${reason}.` : 'Rate limit reached.';
  return retryAfterS === null ? head : `${head} Try again in ${retryAfterS} s.`;
}

/** `auth.enabled` from a /health answer; a missing field (older servers) means off. */
export function authEnabledOf(health: unknown): boolean {
  if (typeof health !== 'object' || health === null) return false;
  const auth = (health as { auth?: unknown }).auth;
  return typeof auth === 'object' && auth !== null && (auth as { enabled?: unknown }).enabled === true;
}

// ----------------------------------------------------------------------------- the store

export interface AuthSnapshot {
  /** from /health; null until it has been read */
  enabled: boolean | null;
  /** a key is stored (the key itself is never part of the state shown by the UI) */
  hasKey: boolean;
  /** the key dialog is open, with this reason; null when closed */
  prompt: string | null;
  /** +1 each time the key is saved or forgotten: what depends on the key restarts */
  version: number;
}

type Listener = () => void;

/** The key dialog's state. One instance (`auth`) serves the app; tests make their own. */
export class AuthStore {
  private snapshot: AuthSnapshot;
  private readonly listeners = new Set<Listener>();
  /** the dialog was closed without a key since the last save: later 401s do not reopen it */
  private dismissed = false;

  constructor() {
    this.snapshot = { enabled: null, hasKey: loadApiKey() !== null, prompt: null, version: 0 };
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): AuthSnapshot => this.snapshot;

  key(): string | null {
    return loadApiKey();
  }

  /** What /health said. Auth on and no key stored → ask for one. */
  setEnabled(enabled: boolean): void {
    if (this.snapshot.enabled !== enabled) this.update({ enabled });
    if (enabled && loadApiKey() === null) this.ask(NEEDS_KEY_MESSAGE);
  }

  /** Open the dialog (a 401, or no key while auth is on); once, until a key is saved or it is reopened by hand. */
  ask(reason: string): void {
    if (this.dismissed || this.snapshot.prompt !== null) return;
    this.update({ prompt: reason });
  }

  /** Open the dialog on request (the nav's "API key" button), even after it was dismissed. */
  open(reason = 'Enter an API key for this server.'): void {
    this.dismissed = false;
    this.update({ prompt: reason });
  }

  /** Close the dialog without a key. */
  dismiss(): void {
    this.dismissed = true;
    if (this.snapshot.prompt !== null) this.update({ prompt: null });
  }

  /** Store `key` (already checked) and close the dialog; returns false for a blank/invalid key. */
  saveKey(input: string): boolean {
    const key = normalizeApiKey(input);
    if (key === null) return false;
    save(KEYS.apiKey, key);
    this.dismissed = false;
    this.update({ hasKey: true, prompt: null, version: this.snapshot.version + 1 });
    return true;
  }

  /** Remove the stored key (and ask for another when the server needs one). */
  forgetKey(): void {
    save(KEYS.apiKey, null);
    this.dismissed = false;
    const prompt = this.snapshot.enabled ? 'The key was forgotten. Enter a key to go on using this server.' : null;
    this.update({ hasKey: false, prompt, version: this.snapshot.version + 1 });
  }

  /** A request answered 401: no key yet (this server needs one), or the stored one is wrong. */
  rejected(): void {
    this.ask(loadApiKey() === null ? NEEDS_KEY_MESSAGE : `${UNAUTHORIZED_MESSAGE} Enter a valid key.`);
  }

  private update(patch: Partial<AuthSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of [...this.listeners]) l();
  }
}

export const auth = new AuthStore();

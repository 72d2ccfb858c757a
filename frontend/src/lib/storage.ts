/** localStorage with a fallback for browsers that block it (private modes, sandboxed frames). */

const memory = new Map<string, string>();

export function load(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return memory.get(key) ?? null;
  }
}

export function save(key: string, value: string | null): void {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    if (value === null) memory.delete(key);
    else memory.set(key, value);
  }
}

export const KEYS = {
  sessionId: 'mithi.voice.sessionId',
  voice: 'mithi.voice.voice',
  language: 'mithi.voice.language',
  mode: 'mithi.voice.mode',
  /** the API key (docs/DEPLOY.md "The web app with keys"); never shown once saved */
  apiKey: 'mithi.apiKey',
} as const;

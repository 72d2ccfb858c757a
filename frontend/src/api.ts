/**
 * HTTP API client (docs/API.md). Every request has a timeout; every failure becomes an ApiError whose
 * `message` is the server's `error.message` (or a plain description of a network problem).
 * URLs are absolute-root paths, so the app works on the Vite dev server (proxy) and served by the backend.
 * Every call goes through `apiFetch`, which sends the stored API key (`Authorization: Bearer`, see
 * lib/auth.ts), opens the key dialog on a 401 and words a 429 with its Retry-After.
 */
import { NEEDS_KEY_MESSAGE, UNAUTHORIZED_MESSAGE, auth, authEnabledOf, authHeaders, parseRetryAfter, rateLimitMessage } from './lib/auth';
import type { HistoryMessage } from './protocol';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** seconds from a 429's Retry-After, else null */
  readonly retryAfterS: number | null;

  constructor(code: string, message: string, status = 0, retryAfterS: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.retryAfterS = retryAfterS;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isAbort(err: unknown): boolean {
  return err instanceof ApiError && err.code === 'aborted';
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** ms until the response headers must have arrived (default 15 s) */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** open the key dialog when the answer is 401 (default true; false while checking a key being typed) */
  authPrompt?: boolean;
}

/**
 * Reads the `{"error": {"code", "message"}}` body of a failed response. A 401 says "API key missing or
 * wrong."; a 429 says "Rate limit reached: <server message>. Try again in N s" (from Retry-After).
 */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText || 'error'}`;
  try {
    const text = await res.text();
    try {
      const data = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (data.error && typeof data.error.message === 'string') {
        message = data.error.message;
        if (typeof data.error.code === 'string') code = data.error.code;
      } else if (text.trim()) {
        message = `${message}: ${text.trim().slice(0, 300)}`;
      }
    } catch {
      if (text.trim()) message = `${message}: ${text.trim().slice(0, 300)}`;
    }
  } catch {
    /* body unreadable: keep the status line */
  }
  if (res.status === 401) return new ApiError('unauthorized', UNAUTHORIZED_MESSAGE, 401);
  if (res.status === 429) {
    const retryAfterS = parseRetryAfter(res.headers.get('Retry-After'));
    const serverMessage = code === `http_${res.status}` ? null : message;
    return new ApiError(code === 'http_429' ? 'rate_limited' : code, rateLimitMessage(serverMessage, retryAfterS), 429, retryAfterS);
  }
  return new ApiError(code, message, res.status);
}

/**
 * fetch with a timeout and the API's error shape. Resolves to the Response once the headers are in
 * (status 2xx); the timeout is cleared then, so a streamed body can take as long as it needs.
 */
export async function apiFetch(path: string, options: RequestOptions = {}): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? 15000;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const outer = options.signal;
  const onAbort = () => controller.abort();
  if (outer) {
    if (outer.aborted) controller.abort();
    else outer.addEventListener('abort', onAbort, { once: true });
  }
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(auth.key()), ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  try {
    const res = await fetch(path, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body, signal: controller.signal });
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (err.status === 401 && (options.authPrompt ?? true)) auth.rejected();
      throw err;
    }
    return res;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (timedOut) throw new ApiError('timeout', `The server did not answer within ${Math.round(timeoutMs / 1000)} s.`);
    if (controller.signal.aborted) throw new ApiError('aborted', 'Cancelled.');
    throw new ApiError('network_error', `Cannot reach the server (${errorMessage(err)}).`);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const res = await apiFetch(path, options);
  try {
    return (await res.json()) as T;
  } catch (err) {
    throw new ApiError('bad_response', `The server sent an unreadable answer (${errorMessage(err)}).`, res.status);
  }
}

// ----------------------------------------------------------------------------- types

export interface Voice {
  id: string;
  name: string;
  language: string;
  locale: string;
  gender: string | null;
  engine: string;
  quality: string;
  sample_rate: number;
  license: string;
  /** false: the licence forbids commercial use; null: not verified (see the voice's MODEL_CARD) */
  commercial_use: boolean | null;
  source: string;
  installed: boolean;
  available: boolean;
}

/** What a language is spoken with now: a neural voice (Piper, Coqui), eSpeak NG, a cloud vendor, or nothing. */
export type TtsKind = 'neural' | 'espeak' | 'cloud' | 'none';
/** What hears it now: Whisper on the server, a cloud STT provider, or nothing. */
export type SttKind = 'local' | 'cloud' | 'none';

export interface Language {
  code: string;
  name: string;
  native_name: string;
  enabled: boolean;
  voices_installed: number;
  voices_available: number;
  default_voice: string | null;
  stt_supported: boolean;
  tts_kind: TtsKind;
  stt_kind: SttKind;
}

export interface ProviderStatus {
  status: string;
  role: string;
  [key: string]: unknown;
}

export interface Limits {
  max_text_chars: number;
  max_upload_mb: number;
  max_audio_seconds: number;
  min_speed: number;
  max_speed: number;
}

export interface Health {
  status: string;
  /** API keys are required (newer servers; missing = off) */
  auth?: { enabled: boolean };
  /** kinds whose primary provider's circuit is open (newer servers) */
  degraded?: string[];
  version: string;
  uptime_s: number;
  startup_ms: number;
  providers: Record<'tts' | 'stt' | 'llm', Record<string, ProviderStatus>>;
  redis: Record<string, unknown> & { url?: string; mode?: string; running?: boolean; version?: string };
  versions: Record<string, string>;
  languages: string[];
  config: Record<string, unknown> & { limits?: Partial<Limits> };
}

export interface TranscriptSegment {
  id: number;
  start: number;
  end: number;
  text: string;
}

export interface Transcription {
  text: string;
  language: string;
  language_probability: number;
  duration: number;
  segments: TranscriptSegment[];
  model: string;
  processing_ms: number;
}

export interface SessionHistory {
  session_id: string;
  messages: (HistoryMessage & { ts: number })[];
  facts: Record<string, string>;
  language: string | null;
}

export const DEFAULT_LIMITS: Limits = {
  max_text_chars: 5000,
  max_upload_mb: 25,
  max_audio_seconds: 600,
  min_speed: 0.5,
  max_speed: 2,
};

export function limitsOf(health: Health | null): Limits {
  return { ...DEFAULT_LIMITS, ...(health?.config.limits ?? {}) };
}

export const TTS_FORMATS = ['wav', 'mp3', 'flac', 'opus', 'aac', 'pcm'] as const;
export type TtsFormat = (typeof TTS_FORMATS)[number];

export const FORMAT_MIME: Record<TtsFormat, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  pcm: 'audio/L16',
};

export const FORMAT_EXT: Record<TtsFormat, string> = {
  wav: 'wav',
  mp3: 'mp3',
  flac: 'flac',
  opus: 'ogg',
  aac: 'aac',
  pcm: 'pcm',
};

// ----------------------------------------------------------------------------- endpoints

export interface AuthToken {
  token: string;
  /** ISO time (or epoch seconds) when it stops working */
  expires_at: string | number;
  expires_in?: number;
}

let authKnown: Promise<boolean> | null = null;

/** Whether the server needs a key (read once from /health; a failed read is retried next time). */
export function authEnabled(): Promise<boolean> {
  const known = auth.getSnapshot().enabled;
  if (known !== null) return Promise.resolve(known);
  // shared by every caller, so not tied to one caller's AbortSignal (it has its own timeout)
  authKnown ??= api.health().then(
    (h) => authEnabledOf(h),
    (err: unknown) => {
      authKnown = null;
      throw err;
    },
  );
  return authKnown;
}

export const api = {
  health: async (signal?: AbortSignal): Promise<Health> => {
    const health = await getJson<Health>('/health', { signal, timeoutMs: 10000 });
    auth.setEnabled(authEnabledOf(health));
    return health;
  },
  /** A short-lived token for the /voice WebSocket (`?token=`), for the stored key or `key`. */
  authToken: (signal?: AbortSignal, key?: string) =>
    getJson<AuthToken>('/api/auth/token', {
      method: 'POST',
      signal,
      timeoutMs: 10000,
      json: {},
      ...(key === undefined ? {} : { headers: authHeaders(key), authPrompt: false }),
    }),
  voices: (signal?: AbortSignal) => getJson<Voice[]>('/api/voices', { signal }),
  languages: (signal?: AbortSignal) => getJson<Language[]>('/api/languages', { signal }),
  session: async (id: string, signal?: AbortSignal): Promise<SessionHistory | null> => {
    try {
      return await getJson<SessionHistory>(`/api/sessions/${encodeURIComponent(id)}`, { signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  },
  transcribe: (file: Blob, filename: string, language: string, signal?: AbortSignal) => {
    const form = new FormData();
    form.append('file', file, filename);
    if (language && language !== 'auto') form.append('language', language);
    else form.append('language', 'auto');
    return getJson<Transcription>('/api/stt/transcribe', { body: form, signal, timeoutMs: 180000 });
  },
};

/**
 * The `?token=` for the next /voice connection: null when the server has no keys; a fresh token from
 * `POST /api/auth/token` otherwise. No key stored → an `unauthorized` ApiError (and the key dialog).
 */
export async function voiceToken(signal?: AbortSignal): Promise<string | null> {
  if (!(await authEnabled())) return null;
  if (auth.key() === null) {
    auth.ask(NEEDS_KEY_MESSAGE);
    throw new ApiError('unauthorized', UNAUTHORIZED_MESSAGE, 401);
  }
  const { token } = await api.authToken(signal);
  if (typeof token !== 'string' || !token) throw new ApiError('bad_response', 'The server sent no token for the voice connection.');
  return token;
}

export interface TtsRequest {
  text: string;
  voice_id: string | null;
  language: string | null;
  speed: number;
  format: TtsFormat;
  stream: boolean;
}

export function ttsRequest(req: TtsRequest, signal?: AbortSignal, timeoutMs = 120000): Promise<Response> {
  return apiFetch('/api/tts/generate', { json: req, signal, timeoutMs, headers: { Accept: '*/*' } });
}

/**
 * Reads a streamed body chunk by chunk; fails if no chunk arrives for `idleMs` (a stalled stream must not
 * hang the UI).
 */
export async function readStream(
  res: Response,
  onChunk: (chunk: Uint8Array) => void,
  options: { idleMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  if (!res.body) {
    onChunk(new Uint8Array(await res.arrayBuffer()));
    return;
  }
  const reader = res.body.getReader();
  const idleMs = options.idleMs ?? 30000;
  const onAbort = () => void reader.cancel().catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ApiError('timeout', `The audio stream stalled for ${Math.round(idleMs / 1000)} s.`)), idleMs);
      });
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await Promise.race([reader.read(), idle]);
      } finally {
        clearTimeout(timer);
      }
      if (options.signal?.aborted) throw new ApiError('aborted', 'Cancelled.');
      if (result.done) return;
      onChunk(result.value);
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    if (err instanceof ApiError) throw err;
    if (options.signal?.aborted) throw new ApiError('aborted', 'Cancelled.');
    throw new ApiError('stream_failed', `The audio stream broke off (${errorMessage(err)}).`);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

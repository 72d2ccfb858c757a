/**
 * What the /voice client does when a connection ends (docs/PROTOCOL.md close codes and error events):
 * reconnect (with the usual backoff), retry later (a slower backoff), ask for an API key, or stop.
 * Pure, so that every case is a unit test.
 */
import { UNAUTHORIZED_MESSAGE } from './auth';
import { backoffDelay } from './backoff';

export type RetryAction =
  /** reconnect with the normal backoff (0.5 s … 10 s): a dropped connection, a restart, a busy server */
  | 'reconnect'
  /** a limit of this key was reached: retry with a slow backoff (5 s … 60 s), never in a tight loop */
  | 'later'
  /** the key is missing or wrong: ask for one, do not reconnect until it is saved */
  | 'key'
  /** refused for good (bad parameters, forbidden origin, …): wait for the user */
  | 'stop';

export interface RetryDecision {
  action: RetryAction;
  /** what to show next to the connection state */
  message: string;
}

/** The last `error` event seen on the connection. */
export interface LastError {
  code: string;
  message: string;
  fatal: boolean;
}

/** Close codes (RFC 6455 and IANA registry) the server uses. */
export const CLOSE = {
  normal: 1000,
  abnormal: 1006,
  policy: 1008,
  restart: 1012,
  tryAgainLater: 1013,
} as const;

const LIMIT_CODES = new Set(['rate_limited', 'too_many_sessions']);

/**
 * Decide from the close code and the last error event. Error codes win over close codes (the server
 * sends the event, then closes): `unauthorized` → key; `rate_limited` / `too_many_sessions` → later;
 * `server_busy` or close 1013 → reconnect ("server busy"); close 1012 → reconnect ("restarting");
 * any other fatal error or close 1008 → stop; everything else (1006, 1001, 1011, …) → reconnect.
 */
export function decideRetry(closeCode: number, lastError: LastError | null, closeReason = ''): RetryDecision {
  const code = lastError?.code ?? '';
  const serverMessage = lastError?.message?.trim() || closeReason.trim();
  if (code === 'unauthorized') return { action: 'key', message: UNAUTHORIZED_MESSAGE };
  if (LIMIT_CODES.has(code)) return { action: 'later', message: serverMessage || 'A limit of this API key was reached.' };
  if (code === 'server_busy' || closeCode === CLOSE.tryAgainLater) return { action: 'reconnect', message: 'Server busy, retrying.' };
  if (closeCode === CLOSE.restart) return { action: 'reconnect', message: 'The server is restarting; reconnecting.' };
  if ((lastError?.fatal ?? false) || closeCode === CLOSE.policy) {
    return { action: 'stop', message: serverMessage || 'The server refused the voice connection.' };
  }
  return { action: 'reconnect', message: `Connection lost${closeCode ? ` (code ${closeCode})` : ''}.` };
}

/** The wait before attempt `attempt` (0-based) of a retry with `action` (rand in [0, 1) for the jitter). */
export function retryDelay(action: RetryAction, attempt: number, rand: number = Math.random()): number {
  return action === 'later' ? backoffDelay(attempt, rand, 5000, 60000) : backoffDelay(attempt, rand);
}

/** Reconnect delay: exponential from `baseMs`, capped at `maxMs`, with ±20 % jitter (rand in [0, 1)). */
export function backoffDelay(attempt: number, rand: number = Math.random(), baseMs = 500, maxMs = 10000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  const jitter = 1 + (rand * 2 - 1) * 0.2;
  return Math.round(Math.min(maxMs, exp * jitter));
}

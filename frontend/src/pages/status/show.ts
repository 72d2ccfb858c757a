import type { ProviderStatus } from '../../api';
import { formatMs } from '../../lib/format';

/** A value of the status JSON as text ("–" when empty; `…_ms` keys as durations). */
export function show(value: unknown, key = ''): string {
  if (value === null || value === undefined || value === '') return '–';
  if (typeof value === 'number' && /(^|_)ms$/.test(key)) return formatMs(value);
  if (Array.isArray(value)) return value.map((v) => show(v)).join(', ');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${show(v, /(^|_)ms$/.test(key) ? 'x_ms' : k)}`)
      .join(', ');
  }
  return String(value);
}

export interface Circuit {
  state?: string;
  consecutive_failures?: number;
  failures?: number;
  successes?: number;
  last_error?: string | null;
  retry_in_s?: number;
}

/** Health of one provider: loaded, and (when the server reports circuit breakers) its circuit state. */
export function healthOf(p: ProviderStatus): { label: string; tone: 'ok' | 'warn' | 'bad' } {
  const circuit = p.circuit as Circuit | undefined;
  if (p.status !== 'loaded') return { label: p.status, tone: 'bad' };
  const state = circuit?.state?.toLowerCase();
  if (!state || state === 'closed') return { label: circuit ? 'healthy' : p.status, tone: 'ok' };
  if (state.includes('half')) return { label: 'probing', tone: 'warn' };
  return { label: 'circuit open', tone: 'bad' };
}

import { formatMs } from '../lib/format';
import { LATENCY_STAGES, type LatencyMs } from '../protocol';

/** Per-turn server timings from response.done's latency_ms. */
export function LatencyBreakdown({ latency }: { latency: LatencyMs }) {
  const stages = LATENCY_STAGES.filter((s) => latency[s.key] !== undefined);
  if (stages.length === 0) return null;
  const total = latency.total ?? Math.max(...stages.map((s) => latency[s.key] ?? 0));
  return (
    <dl className="latency" data-testid="latency" aria-label="Latency of this turn">
      {stages.map((s) => {
        const v = latency[s.key] ?? 0;
        return (
          <div key={s.key} className={`latency-item latency-${s.key}`} data-stage={s.key}>
            <dt>{s.label}</dt>
            <dd>
              <span className="latency-value" data-ms={v}>
                {formatMs(v)}
              </span>
              <span className="latency-bar" aria-hidden="true">
                <span style={{ width: `${total > 0 ? Math.min(100, (v / total) * 100) : 0}%` }} />
              </span>
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

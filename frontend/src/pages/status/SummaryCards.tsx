import type { Health, Voice } from '../../api';
import { formatMs, formatUptime } from '../../lib/format';
import { show } from './show';

/** Server state, uptime, Redis and the number of usable voices at a glance. */
export function SummaryCards({ health, voices }: { health: Health; voices: Voice[] }) {
  const redis = health.redis;
  return (
    <div className="cards" data-testid="status-summary">
      <div className="card">
        <div className="card-label">Server</div>
        <div className="card-value">
          <span className={`pill ${health.status === 'ok' ? 'ok' : 'warn'}`} data-testid="server-status">
            {health.status}
          </span>
        </div>
        <div className="muted small">
          version {health.version}
          {health.degraded && health.degraded.length > 0 ? ` · fallback serving ${health.degraded.join(', ')}` : ''}
        </div>
      </div>
      <div className="card">
        <div className="card-label">Uptime</div>
        <div className="card-value">{formatUptime(health.uptime_s)}</div>
        <div className="muted small">started in {formatMs(health.startup_ms)}</div>
      </div>
      <div className="card" data-testid="redis-state">
        <div className="card-label">Redis</div>
        <div className="card-value">
          <span className={`pill ${redis?.running === false ? 'bad' : 'ok'}`}>{redis?.running === false ? 'stopped' : redis?.running ? 'running' : 'connected'}</span>
        </div>
        <div className="muted small">
          {show(redis?.mode)} · {show(redis?.version)}
        </div>
      </div>
      <div className="card">
        <div className="card-label">Voices</div>
        <div className="card-value">{voices.filter((v) => v.available).length}</div>
        <div className="muted small">usable of {voices.length} known</div>
      </div>
    </div>
  );
}

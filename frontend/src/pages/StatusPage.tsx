import type { ProviderStatus } from '../api';
import { ErrorMessage } from '../components/ErrorMessage';
import { useCatalog } from '../hooks/useCatalog';
import { formatMs, formatUptime } from '../lib/format';

function show(value: unknown, key = ''): string {
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

interface Circuit {
  state?: string;
  consecutive_failures?: number;
  failures?: number;
  successes?: number;
  last_error?: string | null;
  retry_in_s?: number;
}

/** Health of one provider: loaded, and (when the server reports circuit breakers) its circuit state. */
function healthOf(p: ProviderStatus): { label: string; tone: 'ok' | 'warn' | 'bad' } {
  const circuit = p.circuit as Circuit | undefined;
  if (p.status !== 'loaded') return { label: p.status, tone: 'bad' };
  const state = circuit?.state?.toLowerCase();
  if (!state || state === 'closed') return { label: circuit ? 'healthy' : p.status, tone: 'ok' };
  if (state.includes('half')) return { label: 'probing', tone: 'warn' };
  return { label: 'circuit open', tone: 'bad' };
}

function ProviderRow({ kind, name, p }: { kind: string; name: string; p: ProviderStatus }) {
  const { status, role, circuit, ...details } = p;
  const c = circuit as Circuit | undefined;
  const health = healthOf(p);
  return (
    <tr data-testid={`provider-${kind}-${name}`}>
      <th scope="row">{kind.toUpperCase()}</th>
      <td>
        <strong>{name}</strong>
      </td>
      <td>{String(role ?? '').replace(/_/g, ' ')}</td>
      <td>
        <span className={`pill ${health.tone}`} title={`status: ${status}`}>
          {health.label}
        </span>
        {c && (
          <div className="muted small">
            {c.successes ?? 0} ok · {c.failures ?? 0} failed
            {c.state && c.state !== 'closed' && c.retry_in_s ? ` · retry in ${c.retry_in_s} s` : ''}
          </div>
        )}
      </td>
      <td className="details">
        {Object.entries(details).map(([k, v]) => (
          <div key={k}>
            <span className="muted">{k.replace(/_/g, ' ')}:</span> {show(v, k)}
          </div>
        ))}
        {c?.last_error && (
          <div className="bad-text">
            <span className="muted">last error:</span> {c.last_error}
          </div>
        )}
      </td>
    </tr>
  );
}

export function StatusPage() {
  const { health, voices, languages, loading, error, reload } = useCatalog();
  const redis = health?.redis;

  return (
    <section className="page status-page" aria-labelledby="status-title">
      <div className="page-head">
        <h1 id="status-title">Status</h1>
        <button type="button" className="button secondary small" onClick={reload} disabled={loading} data-testid="status-refresh">
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      <ErrorMessage message={error ? `The server's status could not be read: ${error}` : null} testId="status-error" />

      {health && (
        <>
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

          <div className="panel">
            <h2>Providers</h2>
            <div className="table-wrap">
              <table data-testid="providers">
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Provider</th>
                    <th scope="col">Role</th>
                    <th scope="col">Health</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {(['tts', 'stt', 'llm'] as const).flatMap((kind) =>
                    Object.entries(health.providers[kind] ?? {}).map(([name, p]) => <ProviderRow key={`${kind}-${name}`} kind={kind} name={name} p={p} />),
                  )}
                </tbody>
              </table>
            </div>
          </div>

          <div className="panel">
            <h2>Redis</h2>
            <dl className="meta" data-testid="redis-details">
              {Object.entries(redis ?? {}).map(([k, v]) => (
                <div key={k}>
                  <dt>{k.replace(/_/g, ' ')}</dt>
                  <dd>{show(v)}</dd>
                </div>
              ))}
            </dl>
          </div>

          <div className="panel">
            <h2>Installed voices</h2>
            <div className="table-wrap">
              <table data-testid="voices-table">
                <thead>
                  <tr>
                    <th scope="col">Voice</th>
                    <th scope="col">Language</th>
                    <th scope="col">Gender</th>
                    <th scope="col">Quality</th>
                    <th scope="col">Engine</th>
                    <th scope="col">Rate</th>
                    <th scope="col">Usable</th>
                  </tr>
                </thead>
                <tbody>
                  {voices
                    .filter((v) => v.installed)
                    .map((v) => (
                      <tr key={v.id}>
                        <th scope="row">
                          {v.name}
                          <div className="muted small mono">{v.id}</div>
                        </th>
                        <td>{v.locale}</td>
                        <td>{v.gender ?? '–'}</td>
                        <td>{v.quality}</td>
                        <td>{v.engine}</td>
                        <td>{v.sample_rate} Hz</td>
                        <td>
                          <span className={`pill ${v.available ? 'ok' : 'warn'}`}>{v.available ? 'yes' : 'engine off'}</span>
                        </td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
            {voices.some((v) => !v.installed) && (
              <p className="muted small">{voices.filter((v) => !v.installed).length} more voices in the catalogue are not installed (python download_models.py --voices …).</p>
            )}
          </div>

          <div className="panel">
            <h2>Languages</h2>
            <div className="table-wrap">
              <table data-testid="languages-table">
                <thead>
                  <tr>
                    <th scope="col">Language</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Voices</th>
                    <th scope="col">Default voice</th>
                    <th scope="col">Speech to text</th>
                  </tr>
                </thead>
                <tbody>
                  {languages.map((l) => (
                    <tr key={l.code}>
                      <th scope="row">
                        {l.name} <span className="muted">· {l.native_name}</span> <span className="muted mono">({l.code})</span>
                      </th>
                      <td>
                        <span className={`pill ${l.enabled ? 'ok' : 'muted-pill'}`}>{l.enabled ? 'yes' : 'no'}</span>
                      </td>
                      <td>
                        {l.voices_available} usable / {l.voices_installed} installed
                      </td>
                      <td className="mono">{l.default_voice ?? '–'}</td>
                      <td>{l.stt_supported ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>

          <div className="panel">
            <h2>Versions</h2>
            <dl className="meta">
              {Object.entries(health.versions).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd className="mono">{v}</dd>
                </div>
              ))}
            </dl>
          </div>

          <div className="panel">
            <h2>Configuration in effect</h2>
            <p className="muted small">As reported by the server (secrets are masked by the API).</p>
            <details open>
              <summary>config.yml as loaded</summary>
              <pre className="config" data-testid="config">
                {JSON.stringify(health.config, null, 2)}
              </pre>
            </details>
          </div>
        </>
      )}
    </section>
  );
}

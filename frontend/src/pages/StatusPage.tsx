import { ErrorMessage } from '../components/ErrorMessage';
import { useAuth } from '../hooks/useAuth';
import { useCatalog } from '../hooks/useCatalog';
import { auth } from '../lib/auth';
import { LanguagesTable, VoicesTable } from './status/CatalogTables';
import { ProvidersTable } from './status/ProvidersTable';
import { show } from './status/show';
import { SummaryCards } from './status/SummaryCards';

export function StatusPage() {
  const { health, voices, languages, loading, error, reload } = useCatalog();
  const { enabled, hasKey } = useAuth();

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
          <SummaryCards health={health} voices={voices} />
          <ProvidersTable providers={health.providers} />

          <div className="panel">
            <h2>Access</h2>
            <dl className="meta" data-testid="access-details">
              <div>
                <dt>API keys</dt>
                <dd>{enabled ? 'required' : 'off (loopback only)'}</dd>
              </div>
              <div>
                <dt>this browser</dt>
                <dd>{hasKey ? 'a key is saved (not shown)' : 'no key saved'}</dd>
              </div>
            </dl>
            <div className="actions">
              {hasKey ? (
                <button type="button" className="button secondary small" onClick={() => auth.forgetKey()} data-testid="status-forget-key">
                  Forget key
                </button>
              ) : (
                enabled && (
                  <button type="button" className="button small" onClick={() => auth.open()} data-testid="status-enter-key">
                    Enter API key
                  </button>
                )
              )}
            </div>
          </div>

          <div className="panel">
            <h2>Redis</h2>
            <dl className="meta" data-testid="redis-details">
              {Object.entries(health.redis ?? {}).map(([k, v]) => (
                <div key={k}>
                  <dt>{k.replace(/_/g, ' ')}</dt>
                  <dd>{show(v)}</dd>
                </div>
              ))}
            </dl>
          </div>

          <VoicesTable voices={voices} />
          <LanguagesTable languages={languages} />

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

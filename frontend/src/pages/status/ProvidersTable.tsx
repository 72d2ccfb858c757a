import type { Health, ProviderStatus } from '../../api';
import { healthOf, show, type Circuit } from './show';

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

/** Every TTS, STT and LLM provider with its role, health (circuit breaker) and details. */
export function ProvidersTable({ providers }: { providers: Health['providers'] }) {
  return (
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
              Object.entries(providers[kind] ?? {}).map(([name, p]) => <ProviderRow key={`${kind}-${name}`} kind={kind} name={name} p={p} />),
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

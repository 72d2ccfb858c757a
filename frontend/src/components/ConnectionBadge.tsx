import { useEffect, useState } from 'react';
import type { ConnectionStatus } from '../hooks/useVoiceSocket';
import { auth } from '../lib/auth';

interface Props {
  status: ConnectionStatus;
  attempt: number;
  retryAt: number | null;
  problem: string | null;
  /** stopped for a missing/wrong API key: offer the key dialog instead of a retry */
  needsKey?: boolean;
  onReconnect: () => void;
}

const LABEL: Record<ConnectionStatus, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  failed: 'Connection refused',
  closed: 'Disconnected',
};

export function ConnectionBadge({ status, attempt, retryAt, problem, needsKey = false, onReconnect }: Props) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (retryAt === null) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [retryAt]);
  const wait = retryAt !== null ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : null;
  return (
    <div className="connection" data-testid="connection-state" data-state={status}>
      <div className="connection-line">
        <span className={`status-dot status-${status}`} aria-hidden="true" />
        <span role="status" aria-live="polite">
          {LABEL[status]}
          {status === 'reconnecting' && wait !== null ? ` in ${wait} s (attempt ${attempt})` : ''}
        </span>
        {needsKey && status === 'failed' ? (
          <button type="button" className="link-button" onClick={() => auth.open()} data-testid="connection-key">
            Enter API key
          </button>
        ) : (
          (status === 'reconnecting' || status === 'failed') && (
            <button type="button" className="link-button" onClick={onReconnect}>
              Retry now
            </button>
          )
        )}
      </div>
      {problem && status !== 'open' && (
        <div className="connection-problem" data-testid="connection-problem">
          {problem}
        </div>
      )}
    </div>
  );
}

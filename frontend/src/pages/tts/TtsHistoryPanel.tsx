import { useEffect, useState } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';
import type { TtsHistory } from '../../hooks/useTtsHistory';
import { formatDuration } from '../../lib/format';
import type { Generation } from '../../lib/historyDb';

interface Props {
  history: TtsHistory;
  currentId: string | null;
  onShow(g: Generation): void;
}

/** The generations kept in this browser (IndexedDB). */
export function TtsHistoryPanel({ history, currentId, onShow }: Props) {
  return (
    <div className="panel history-panel">
      <div className="label-row">
        <h2>History</h2>
        {history.items.length > 0 && (
          <button type="button" className="link-button" onClick={() => void history.clear()}>
            Clear history
          </button>
        )}
      </div>
      <ErrorMessage message={history.error} />
      {history.items.length === 0 ? (
        <p className="muted small">Your generations are kept in this browser.</p>
      ) : (
        <ul className="history" data-testid="tts-history">
          {history.items.map((g) => (
            <HistoryItem key={g.id} g={g} onShow={() => onShow(g)} onDelete={() => void history.remove(g.id)} current={currentId === g.id} />
          ))}
        </ul>
      )}
    </div>
  );
}

function HistoryItem({ g, onShow, onDelete, current }: { g: Generation; onShow: () => void; onDelete: () => void; current: boolean }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(g.file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [g.file]);
  return (
    <li className={`history-item${current ? ' is-current' : ''}`}>
      <button type="button" className="history-text" onClick={onShow} aria-label={`Show: ${g.text}`}>
        <span className="clamp">{g.text}</span>
        <span className="muted small">
          {g.voiceId} · {g.format.toUpperCase()} · {formatDuration(g.duration)} · {new Date(g.createdAt).toLocaleString()}
        </span>
      </button>
      <div className="history-actions">
        {url && (
          <a className="link-button" href={url} download={g.filename} aria-label={`Download ${g.filename}`}>
            Download
          </a>
        )}
        <button type="button" className="link-button danger" onClick={onDelete} aria-label={`Delete: ${g.text}`}>
          Delete
        </button>
      </div>
    </li>
  );
}

import type { AudioSource } from '../../hooks/useTranscription';
import { formatBytes } from '../../lib/format';

/** The chosen file or recording, with a player to listen to it. */
export function SourcePreview({ source, url }: { source: AudioSource; url: string }) {
  return (
    <div className="source" data-testid="stt-source">
      <div className="muted small">
        {source.origin === 'recording' ? 'Recording' : 'File'}: <strong>{source.name}</strong> ({formatBytes(source.blob.size)})
      </div>
      <audio controls src={url} aria-label={`Preview of ${source.name}`} />
    </div>
  );
}

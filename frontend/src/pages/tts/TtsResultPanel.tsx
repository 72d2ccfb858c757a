import type { TtsFormat } from '../../api';
import { AudioResultPlayer } from '../../components/AudioResultPlayer';
import type { TtsResult } from '../../hooks/useTtsGeneration';
import { formatDuration, formatMs } from '../../lib/format';

interface Props {
  result: TtsResult | null;
  liveSamples: Float32Array | null;
  busy: boolean;
  /** the format being encoded by the server, while it is */
  encoding: TtsFormat | null;
  streamProgress: number | null;
  onPlay(): void;
}

function ResultMeta({ result }: { result: TtsResult }) {
  return (
    <dl className="meta" data-testid="tts-meta">
      <div>
        <dt>Voice</dt>
        <dd>
          {result.voiceId}
          {result.provider ? ` (${result.provider})` : ''}
        </dd>
      </div>
      <div>
        <dt>Length</dt>
        <dd>{formatDuration(result.duration)}</dd>
      </div>
      <div>
        <dt>Sample rate</dt>
        <dd>{result.sampleRate} Hz</dd>
      </div>
      {result.firstAudioMs !== null && (
        <div>
          <dt>First audio</dt>
          <dd data-testid="tts-first-audio">{formatMs(result.firstAudioMs)}</dd>
        </div>
      )}
      {result.totalMs !== null && (
        <div>
          <dt>Whole stream</dt>
          <dd>{formatMs(result.totalMs)}</dd>
        </div>
      )}
    </dl>
  );
}

/** The TTS studio's result: metadata, waveform, player and download. */
export function TtsResultPanel({ result, liveSamples, busy, encoding, streamProgress, onPlay }: Props) {
  return (
    <div className="panel result-panel" aria-live="polite" aria-busy={busy}>
      <h2>Result</h2>
      {result || liveSamples ? (
        <>
          {result && <ResultMeta result={result} />}
          <AudioResultPlayer
            playable={result?.wav ?? null}
            samples={result?.samples ?? liveSamples}
            download={result?.file ? { blob: result.file, filename: result.filename } : null}
            downloadPending={encoding ? `Encoding ${encoding.toUpperCase()}…` : null}
            streaming={busy}
            externalProgress={streamProgress}
            onPlay={onPlay}
          />
        </>
      ) : (
        <p className="empty-hint">{busy ? 'Synthesizing the first phrase…' : 'Generated audio appears here; it starts playing while the rest is still being synthesized.'}</p>
      )}
    </div>
  );
}

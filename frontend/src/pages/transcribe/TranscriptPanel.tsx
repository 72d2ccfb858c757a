import { useState } from 'react';
import type { Transcription } from '../../api';
import { downloadBlob } from '../../lib/download';
import { formatDuration, formatMs, slug } from '../../lib/format';
import { formatClock, toSrt, toText, toVtt } from '../../lib/subtitles';

interface Props {
  result: Transcription | null;
  busy: boolean;
  /** the language asked for ('auto': detected) */
  language: string;
  languageName(code: string): string;
  /** the source's file name (downloads are named after it) */
  sourceName: string | null;
}

async function copyText(text: string) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

function TranscriptActions({ result, sourceName }: { result: Transcription; sourceName: string | null }) {
  const [copied, setCopied] = useState(false);

  const copy = async () => {
    await copyText(result.text);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  const save = (kind: 'txt' | 'srt' | 'vtt') => {
    const base = sourceName ? slug(sourceName.replace(/\.[^.]+$/, '')) : 'transcript';
    const body = kind === 'txt' ? toText(result.segments) || `${result.text}\n` : kind === 'srt' ? toSrt(result.segments) : toVtt(result.segments);
    const type = kind === 'vtt' ? 'text/vtt' : 'text/plain';
    downloadBlob(new Blob([body], { type: `${type};charset=utf-8` }), `${base}.${kind}`);
  };

  return (
    <div className="actions compact">
      <button type="button" className="button secondary small" onClick={() => void copy()} data-testid="stt-copy">
        {copied ? 'Copied' : 'Copy text'}
      </button>
      {(['txt', 'srt', 'vtt'] as const).map((kind) => (
        <button key={kind} type="button" className="button secondary small" onClick={() => save(kind)} data-testid={`stt-download-${kind}`}>
          Download .{kind}
        </button>
      ))}
    </div>
  );
}

/** The transcript: text, metadata, copy/download and the timed segments (aria-live). */
export function TranscriptPanel({ result, busy, language, languageName, sourceName }: Props) {
  return (
    <div className="panel" aria-live="polite" aria-busy={busy}>
      <h2>Transcript</h2>
      {result ? (
        <>
          <p className="transcript" data-testid="stt-text">
            {result.text || <em className="muted">(no speech found)</em>}
          </p>
          <dl className="meta" data-testid="stt-meta">
            <div>
              <dt>Language</dt>
              <dd data-testid="stt-language-detected">
                {languageName(result.language)} ({result.language}
                {language === 'auto' ? `, ${Math.round(result.language_probability * 100)} %` : ', forced'})
              </dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd>{formatDuration(result.duration)}</dd>
            </div>
            <div>
              <dt>Model</dt>
              <dd>{result.model}</dd>
            </div>
            <div>
              <dt>Processing</dt>
              <dd>{formatMs(result.processing_ms)}</dd>
            </div>
          </dl>
          <TranscriptActions result={result} sourceName={sourceName} />
          <h3>Segments</h3>
          <ol className="segments" data-testid="stt-segments">
            {result.segments.map((s) => (
              <li key={s.id} className="segment" data-testid="stt-segment">
                <span className="timestamp">
                  {formatClock(s.start)} → {formatClock(s.end)}
                </span>
                <span>{s.text.trim()}</span>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p className="empty-hint">{busy ? 'Transcribing…' : 'Choose or record some audio, then press Transcribe.'}</p>
      )}
    </div>
  );
}

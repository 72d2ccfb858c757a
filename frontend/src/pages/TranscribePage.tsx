import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { api, errorMessage, isAbort, type Transcription } from '../api';
import { ErrorMessage } from '../components/ErrorMessage';
import { LevelMeter } from '../components/LevelMeter';
import { LanguageSelect } from '../components/Pickers';
import { useCatalog } from '../hooks/useCatalog';
import { useMicrophone } from '../hooks/useMicrophone';
import { downloadBlob } from '../lib/download';
import { formatBytes, formatDuration, formatMs, slug } from '../lib/format';
import { formatClock, toSrt, toText, toVtt } from '../lib/subtitles';
import { encodeWav } from '../lib/wav';

interface Source {
  blob: Blob;
  name: string;
  origin: 'file' | 'recording';
}

const RATE = 16000;

export function TranscribePage() {
  const catalog = useCatalog();
  const [source, setSource] = useState<Source | null>(null);
  const [sourceUrl, setSourceUrl] = useState<string | null>(null);
  const [language, setLanguage] = useState('auto');
  const [result, setResult] = useState<Transcription | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [recording, setRecording] = useState(false);
  const [elapsed, setElapsed] = useState(0);
  const chunksRef = useRef<Float32Array[]>([]);
  const controllerRef = useRef<AbortController | null>(null);

  const mic = useMicrophone(
    useCallback((samples: Float32Array) => {
      chunksRef.current.push(samples);
    }, []),
    RATE,
  );

  useEffect(() => {
    if (!source) {
      setSourceUrl(null);
      return;
    }
    const u = URL.createObjectURL(source.blob);
    setSourceUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [source]);

  useEffect(() => {
    if (!recording) return;
    const t0 = performance.now();
    const timer = setInterval(() => setElapsed((performance.now() - t0) / 1000), 200);
    return () => clearInterval(timer);
  }, [recording]);

  useEffect(() => () => controllerRef.current?.abort(), []);

  const choose = (file: File | undefined) => {
    if (!file) return;
    const maxBytes = catalog.limits.max_upload_mb * 1024 * 1024;
    setResult(null);
    if (file.size > maxBytes) {
      setError(`${file.name} is ${formatBytes(file.size)}; the server accepts up to ${catalog.limits.max_upload_mb} MB.`);
      return;
    }
    setError(null);
    setSource({ blob: file, name: file.name, origin: 'file' });
  };

  const startRecording = async () => {
    chunksRef.current = [];
    setElapsed(0);
    setError(null);
    if (await mic.start()) setRecording(true);
  };

  const stopRecording = () => {
    mic.stop();
    setRecording(false);
    const chunks = chunksRef.current;
    chunksRef.current = [];
    const total = chunks.reduce((n, c) => n + c.length, 0);
    if (total < RATE * 0.2) {
      setError('The recording is too short.');
      return;
    }
    const all = new Float32Array(total);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    setResult(null);
    setSource({ blob: new Blob([encodeWav(all, RATE)], { type: 'audio/wav' }), name: `recording-${stamp}.wav`, origin: 'recording' });
  };

  const transcribe = async () => {
    if (!source || busy) return;
    controllerRef.current?.abort();
    const controller = new AbortController();
    controllerRef.current = controller;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.transcribe(source.blob, source.name, language, controller.signal));
    } catch (err) {
      if (!isAbort(err)) setError(errorMessage(err));
    } finally {
      if (controllerRef.current === controller) controllerRef.current = null;
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!result) return;
    try {
      await navigator.clipboard.writeText(result.text);
    } catch {
      const ta = document.createElement('textarea');
      ta.value = result.text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  const save = (kind: 'txt' | 'srt' | 'vtt') => {
    if (!result) return;
    const base = source ? slug(source.name.replace(/\.[^.]+$/, '')) : 'transcript';
    const body = kind === 'txt' ? toText(result.segments) || `${result.text}\n` : kind === 'srt' ? toSrt(result.segments) : toVtt(result.segments);
    const type = kind === 'vtt' ? 'text/vtt' : 'text/plain';
    downloadBlob(new Blob([body], { type: `${type};charset=utf-8` }), `${base}.${kind}`);
  };

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    choose(e.dataTransfer.files[0]);
  };

  const langName = (code: string) => catalog.languages.find((l) => l.code === code)?.name ?? code;

  return (
    <section className="page transcribe-page" aria-labelledby="stt-title">
      <div className="page-head">
        <h1 id="stt-title">Transcribe</h1>
        <span className="muted small">Speech to text with Whisper, on this server</span>
      </div>
      <div className="transcribe-layout">
        <div className="panel">
          <h2>Audio</h2>
          <div
            className={`dropzone${dragging ? ' is-dragging' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
            data-testid="dropzone"
          >
            <p>Drop an audio file here</p>
            <p className="muted small">wav, mp3, ogg/opus, webm, m4a, flac… up to {catalog.limits.max_upload_mb} MB</p>
            <input
              id="stt-file"
              className="visually-hidden"
              type="file"
              accept="audio/*,video/webm,.wav,.mp3,.ogg,.opus,.webm,.m4a,.flac,.aac"
              onChange={(e) => {
                choose(e.target.files?.[0]);
                e.target.value = '';
              }}
              data-testid="stt-file"
            />
            <label className="button secondary" htmlFor="stt-file">
              Choose a file
            </label>
          </div>

          <div className="record">
            <button
              type="button"
              className={`button ${recording ? 'danger' : 'secondary'}`}
              onClick={recording ? stopRecording : () => void startRecording()}
              aria-pressed={recording}
              disabled={mic.state === 'starting'}
              data-testid="record-button"
            >
              {recording ? `Stop recording (${formatClock(elapsed)})` : 'Record from microphone'}
            </button>
            {recording && <LevelMeter levelRef={mic.levelRef} active={recording} label="Recording level" />}
          </div>
          <ErrorMessage message={mic.error} />

          {source && sourceUrl && (
            <div className="source" data-testid="stt-source">
              <div className="muted small">
                {source.origin === 'recording' ? 'Recording' : 'File'}: <strong>{source.name}</strong> ({formatBytes(source.blob.size)})
              </div>
              <audio controls src={sourceUrl} aria-label={`Preview of ${source.name}`} />
            </div>
          )}

          <div className="row">
            <LanguageSelect
              id="stt-language"
              label="Spoken language"
              languages={catalog.languages}
              value={language}
              onChange={setLanguage}
              anyOption={{ value: 'auto', label: 'Detect automatically' }}
              filter={(l) => l.stt_supported}
            />
          </div>
          <div className="actions">
            <button type="button" className="button primary" onClick={() => void transcribe()} disabled={!source || busy} aria-describedby="stt-error" data-testid="stt-transcribe">
              {busy ? 'Transcribing…' : 'Transcribe'}
            </button>
            {busy && (
              <button type="button" className="button secondary" onClick={() => controllerRef.current?.abort()}>
                Cancel
              </button>
            )}
          </div>
          <ErrorMessage id="stt-error" message={error} testId="stt-error" />
        </div>

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
                    {langName(result.language)} ({result.language}
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
              <div className="actions compact">
                <button type="button" className="button secondary small" onClick={() => void copy()} data-testid="stt-copy">
                  {copied ? 'Copied' : 'Copy text'}
                </button>
                <button type="button" className="button secondary small" onClick={() => save('txt')} data-testid="stt-download-txt">
                  Download .txt
                </button>
                <button type="button" className="button secondary small" onClick={() => save('srt')} data-testid="stt-download-srt">
                  Download .srt
                </button>
                <button type="button" className="button secondary small" onClick={() => save('vtt')} data-testid="stt-download-vtt">
                  Download .vtt
                </button>
              </div>
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
      </div>
    </section>
  );
}

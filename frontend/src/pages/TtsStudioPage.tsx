import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, FORMAT_EXT, FORMAT_MIME, TTS_FORMATS, errorMessage, isAbort, readStream, ttsRequest, type TtsFormat } from '../api';
import { AudioResultPlayer } from '../components/AudioResultPlayer';
import { ErrorMessage } from '../components/ErrorMessage';
import { LanguageSelect, VoiceSelect } from '../components/Pickers';
import { useAudioPlayer } from '../hooks/useAudioPlayer';
import { usableVoices, useCatalog } from '../hooks/useCatalog';
import { useTtsHistory } from '../hooks/useTtsHistory';
import { formatDuration, formatMs, slug } from '../lib/format';
import type { Generation } from '../lib/historyDb';
import { Pcm16ByteAligner, pcm16BytesToFloat } from '../lib/pcm';
import { pcmChunksToWavBlob } from '../lib/wav';

type Phase = 'idle' | 'waiting' | 'streaming' | 'encoding';
type Field = 'text' | 'voice' | 'language' | 'speed' | 'format' | 'general';

/** Which control an API error belongs next to. */
const ERROR_FIELD: Record<string, Field> = {
  empty_text: 'text',
  text_too_long: 'text',
  no_audio: 'text',
  payload_too_large: 'text',
  unknown_voice: 'voice',
  voice_language_mismatch: 'voice',
  voice_not_installed: 'voice',
  no_voice_for_language: 'language',
  unsupported_language: 'language',
  invalid_speed: 'speed',
  invalid_format: 'format',
};

const FORMAT_LABEL: Record<TtsFormat, string> = {
  wav: 'WAV (PCM 16-bit)',
  mp3: 'MP3',
  flac: 'FLAC',
  opus: 'Opus (Ogg)',
  aac: 'AAC',
  pcm: 'Raw PCM 16-bit',
};

interface Result {
  id: string;
  wav: Blob;
  samples: Float32Array | null;
  file: Blob | null;
  filename: string;
  voiceId: string;
  provider: string;
  sampleRate: number;
  duration: number;
  firstAudioMs: number | null;
  totalMs: number | null;
  format: TtsFormat;
  text: string;
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export function TtsStudioPage() {
  const catalog = useCatalog();
  const { limits } = catalog;
  const player = useAudioPlayer();
  const history = useTtsHistory();

  const [text, setText] = useState('Hello! This is Mithivoices, speaking from your own machine.');
  const [language, setLanguage] = useState('');
  const [voiceId, setVoiceId] = useState('');
  const [speed, setSpeed] = useState(1);
  const [format, setFormat] = useState<TtsFormat>('wav');
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<{ field: Field; message: string } | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [liveSamples, setLiveSamples] = useState<Float32Array | null>(null);
  const controllerRef = useRef<AbortController | null>(null);
  /** the player's frame count when this generation's audio started (for the waveform's progress) */
  const [streamStart, setStreamStart] = useState<number | null>(null);
  const [liveRate, setLiveRate] = useState(22050);

  useEffect(() => () => controllerRef.current?.abort(), []);

  const voices = usableVoices(catalog.voices, language || null);
  const chars = text.trim().length;
  const over = chars > limits.max_text_chars;
  const busy = phase !== 'idle';

  const stop = () => {
    controllerRef.current?.abort();
    player.clear();
    setStreamStart(null);
  };

  const generate = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    controllerRef.current?.abort();
    const controller = new AbortController();
    controllerRef.current = controller;
    setError(null);
    setResult(null);
    setLiveSamples(null);
    player.clear();
    setStreamStart(player.stats.framesPlayed);
    void player.start().catch(() => undefined); // inside the click: the AudioContext may start
    const started = performance.now();
    const request = { text, voice_id: voiceId || null, language: language || null, speed, stream: true };
    setPhase('waiting');
    try {
      const res = await ttsRequest({ ...request, format: 'pcm' }, controller.signal, 60000);
      const rate = Number(res.headers.get('X-Sample-Rate')) || 22050;
      const usedVoice = res.headers.get('X-Voice-Id') ?? (voiceId || 'default');
      const provider = res.headers.get('X-TTS-Provider') ?? '';
      setLiveRate(rate);
      setPhase('streaming');
      const aligner = new Pcm16ByteAligner();
      const bytes: Uint8Array[] = [];
      const floats: Float32Array[] = [];
      let firstAudioMs: number | null = null;
      let lastPaint = 0;
      await readStream(
        res,
        (chunk) => {
          const pcm = aligner.push(chunk);
          if (pcm.length === 0) return;
          firstAudioMs ??= performance.now() - started;
          const copy = pcm.slice();
          bytes.push(copy);
          const f = pcm16BytesToFloat(copy);
          floats.push(f);
          player.enqueueFloat(f, rate); // plays while the rest is still arriving
          const now = performance.now();
          if (now - lastPaint > 150) {
            lastPaint = now;
            setLiveSamples(concat(floats));
          }
        },
        { signal: controller.signal, idleMs: 30000 },
      );
      player.end();
      const samples = concat(floats);
      setLiveSamples(samples);
      if (samples.length === 0) throw new ApiError('no_audio', 'The server sent no audio.');
      const wav = pcmChunksToWavBlob(bytes, rate);
      const base = `mithivoices-${slug(text)}`;
      const totalStreamMs = performance.now() - started;
      const partial: Result = {
        id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
        wav,
        samples,
        file: null,
        filename: `${base}.${FORMAT_EXT[format]}`,
        voiceId: usedVoice,
        provider,
        sampleRate: rate,
        duration: samples.length / rate,
        firstAudioMs,
        totalMs: totalStreamMs,
        format,
        text,
      };
      let file: Blob;
      if (format === 'wav') file = wav;
      else if (format === 'pcm') file = new Blob(bytes.map((b) => b.buffer as ArrayBuffer), { type: FORMAT_MIME.pcm });
      else {
        // compressed formats: the server encodes them (the streamed PCM is what was heard)
        setResult(partial);
        setPhase('encoding');
        const encoded = await ttsRequest({ ...request, voice_id: usedVoice, stream: false, format }, controller.signal, 120000);
        file = await encoded.blob();
      }
      const final: Result = { ...partial, file };
      setResult(final);
      const g: Generation = {
        id: final.id,
        createdAt: Date.now(),
        text,
        voiceId: usedVoice,
        provider,
        language: language || null,
        speed,
        format,
        sampleRate: rate,
        duration: final.duration,
        wav,
        file,
        filename: final.filename,
      };
      void history.add(g);
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) {
        setError(null); // stopped by the user (or by leaving the page): not an error
      } else {
        const field = err instanceof ApiError ? (ERROR_FIELD[err.code] ?? 'general') : 'general';
        setError({ field, message: errorMessage(err) });
      }
    } finally {
      if (controllerRef.current === controller) controllerRef.current = null;
      setPhase('idle');
    }
  };

  const showGeneration = (g: Generation) => {
    player.clear();
    setStreamStart(null);
    setError(null);
    setLiveSamples(null);
    setResult({
      id: g.id,
      wav: g.wav,
      samples: null,
      file: g.file,
      filename: g.filename,
      voiceId: g.voiceId,
      provider: g.provider,
      sampleRate: g.sampleRate,
      duration: g.duration,
      firstAudioMs: null,
      totalMs: null,
      format: g.format,
      text: g.text,
    });
  };

  // while the streamed audio plays through the worklet, move the waveform's cursor with it
  const shown = result?.samples ?? liveSamples;
  const streamRate = result?.sampleRate ?? liveRate;
  const streamProgress =
    streamStart !== null && shown && shown.length > 0 && (player.stats.playing || busy)
      ? Math.min(1, (player.stats.framesPlayed - streamStart) / player.stats.contextRate / (shown.length / streamRate))
      : null;

  const errorFor = (f: Field) => (error && error.field === f ? error.message : null);

  return (
    <section className="page tts-page" aria-labelledby="tts-title">
      <div className="page-head">
        <h1 id="tts-title">TTS studio</h1>
        <span className="muted small">Text to speech with the voices installed on this server</span>
      </div>
      <div className="studio-layout">
        <form className="panel tts-form" onSubmit={generate} noValidate>
          <div className="field">
            <div className="label-row">
              <label htmlFor="tts-text">Text</label>
              <span id="tts-count" className={`counter${over ? ' is-over' : ''}`} data-testid="char-count">
                {chars.toLocaleString()} / {limits.max_text_chars.toLocaleString()}
                {over ? ' — over the limit' : ''}
              </span>
            </div>
            <textarea
              id="tts-text"
              rows={7}
              value={text}
              onChange={(e) => setText(e.target.value)}
              aria-describedby="tts-count tts-text-error"
              aria-invalid={over || !!errorFor('text') || undefined}
              data-testid="tts-text"
            />
            <ErrorMessage id="tts-text-error" message={over ? `The text is ${chars - limits.max_text_chars} characters over the limit of ${limits.max_text_chars}.` : errorFor('text')} testId="tts-text-error" />
          </div>

          <div className="row">
            <LanguageSelect
              id="tts-language"
              label="Language"
              languages={catalog.languages}
              value={language}
              onChange={(code) => {
                setLanguage(code);
                if (voiceId && !catalog.voices.some((v) => v.id === voiceId && (!code || v.language === code))) setVoiceId('');
              }}
              anyOption={{ value: '', label: 'All languages' }}
              describedBy="tts-language-error"
            />
            <VoiceSelect
              id="tts-voice"
              label="Voice"
              voices={voices}
              languages={catalog.languages}
              value={voiceId}
              onChange={setVoiceId}
              defaultLabel={language ? 'Default voice for the language' : 'Default voice'}
              describedBy="tts-voice-error"
              testId="tts-voice"
            />
          </div>
          <ErrorMessage id="tts-language-error" message={errorFor('language') ?? catalog.error} />
          <ErrorMessage id="tts-voice-error" message={errorFor('voice')} testId="tts-voice-error" />

          <div className="row">
            <div className="field">
              <div className="label-row">
                <label htmlFor="tts-speed">Speed</label>
                <output htmlFor="tts-speed" className="counter">
                  {speed.toFixed(2)}×
                </output>
              </div>
              <input
                id="tts-speed"
                type="range"
                min={limits.min_speed}
                max={limits.max_speed}
                step={0.05}
                value={speed}
                onChange={(e) => setSpeed(Number(e.target.value))}
                aria-describedby="tts-speed-error"
                aria-valuetext={`${speed.toFixed(2)} times`}
              />
              <ErrorMessage id="tts-speed-error" message={errorFor('speed')} />
            </div>
            <div className="field">
              <label htmlFor="tts-format">Download format</label>
              <select id="tts-format" value={format} onChange={(e) => setFormat(e.target.value as TtsFormat)} aria-describedby="tts-format-error" data-testid="tts-format">
                {TTS_FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {FORMAT_LABEL[f]}
                  </option>
                ))}
              </select>
              <ErrorMessage id="tts-format-error" message={errorFor('format')} />
            </div>
          </div>

          <div className="actions">
            <button type="submit" className="button primary" disabled={busy || over || chars === 0} aria-describedby="tts-general-error" data-testid="tts-generate">
              {phase === 'waiting' ? 'Synthesizing…' : phase === 'streaming' ? 'Streaming…' : phase === 'encoding' ? `Encoding ${format.toUpperCase()}…` : 'Generate'}
            </button>
            {(busy || player.stats.playing) && (
              <button type="button" className="button secondary" onClick={stop} data-testid="tts-stop">
                Stop
              </button>
            )}
            <span className="player-state" data-testid="player-state" data-frames-played={player.stats.framesPlayed} data-playing={player.stats.playing ? 'true' : 'false'}>
              <span className={`speaker-dot quiet${player.stats.playing ? ' is-on' : ''}`} aria-hidden="true" />
              {player.stats.playing ? 'Playing' : ''}
            </span>
          </div>
          <ErrorMessage id="tts-general-error" message={errorFor('general') ?? player.error} testId="tts-error" />
        </form>

        <div className="panel result-panel" aria-live="polite" aria-busy={busy}>
          <h2>Result</h2>
          {result || liveSamples ? (
            <>
              {result && (
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
              )}
              <AudioResultPlayer
                playable={result?.wav ?? null}
                samples={result?.samples ?? liveSamples}
                download={result?.file ? { blob: result.file, filename: result.filename } : null}
                downloadPending={phase === 'encoding' ? `Encoding ${format.toUpperCase()}…` : null}
                streaming={busy}
                externalProgress={streamProgress}
                onPlay={() => {
                  player.clear();
                  setStreamStart(null);
                }}
              />
            </>
          ) : (
            <p className="empty-hint">{busy ? 'Synthesizing the first phrase…' : 'Generated audio appears here; it starts playing while the rest is still being synthesized.'}</p>
          )}
        </div>

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
                <HistoryItem key={g.id} g={g} onShow={() => showGeneration(g)} onDelete={() => void history.remove(g.id)} current={result?.id === g.id} />
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
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

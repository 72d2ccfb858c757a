import { useEffect, useRef, useState } from 'react';
import { ApiError, FORMAT_EXT, FORMAT_MIME, errorMessage, isAbort, readStream, ttsRequest, type TtsFormat } from '../api';
import { slug } from '../lib/format';
import type { Generation } from '../lib/historyDb';
import { Pcm16ByteAligner, concatFloat32, pcm16BytesToFloat } from '../lib/pcm';
import { pcmChunksToWavBlob } from '../lib/wav';
import type { AudioPlayer } from './useAudioPlayer';

export type TtsPhase = 'idle' | 'waiting' | 'streaming' | 'encoding';
export type TtsField = 'text' | 'voice' | 'language' | 'speed' | 'format' | 'general';

/** Which control an API error belongs next to. */
const ERROR_FIELD: Record<string, TtsField> = {
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

export interface TtsResult {
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

export interface TtsOptions {
  text: string;
  voiceId: string;
  language: string;
  speed: number;
  format: TtsFormat;
}

export interface TtsGeneration {
  phase: TtsPhase;
  busy: boolean;
  result: TtsResult | null;
  /** the samples received so far while streaming */
  liveSamples: Float32Array | null;
  /** 0..1 while the streamed audio plays through the player, else null */
  streamProgress: number | null;
  /** the error message shown next to `field`, if any */
  errorFor(field: TtsField): string | null;
  /** Stream `format: "pcm"` from the server, playing it as it arrives, then assemble the download. */
  generate(options: TtsOptions): Promise<void>;
  /** Stop the request and the playback. */
  stop(): void;
  /** Show a stored generation as the result. */
  show(g: Generation): void;
  /** Forget the streamed playback (the result's own player takes over). */
  detachStream(): void;
}

const newId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** The TTS studio's generate → stream → play → assemble logic; `onGenerated` stores a finished one. */
export function useTtsGeneration(player: AudioPlayer, onGenerated: (g: Generation) => void): TtsGeneration {
  const [phase, setPhase] = useState<TtsPhase>('idle');
  const [error, setError] = useState<{ field: TtsField; message: string } | null>(null);
  const [result, setResult] = useState<TtsResult | null>(null);
  const [liveSamples, setLiveSamples] = useState<Float32Array | null>(null);
  const controllerRef = useRef<AbortController | null>(null);
  /** the player's frame count when this generation's audio started (for the waveform's progress) */
  const [streamStart, setStreamStart] = useState<number | null>(null);
  const [liveRate, setLiveRate] = useState(22050);
  const busy = phase !== 'idle';

  useEffect(() => () => controllerRef.current?.abort(), []);

  const stop = () => {
    controllerRef.current?.abort();
    player.clear();
    setStreamStart(null);
  };

  const detachStream = () => {
    player.clear();
    setStreamStart(null);
  };

  const generate = async ({ text, voiceId, language, speed, format }: TtsOptions) => {
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
            setLiveSamples(concatFloat32(floats));
          }
        },
        { signal: controller.signal, idleMs: 30000 },
      );
      player.end();
      const samples = concatFloat32(floats);
      setLiveSamples(samples);
      if (samples.length === 0) throw new ApiError('no_audio', 'The server sent no audio.');
      const wav = pcmChunksToWavBlob(bytes, rate);
      const partial: TtsResult = {
        id: newId(),
        wav,
        samples,
        file: null,
        filename: `mithivoices-${slug(text)}.${FORMAT_EXT[format]}`,
        voiceId: usedVoice,
        provider,
        sampleRate: rate,
        duration: samples.length / rate,
        firstAudioMs,
        totalMs: performance.now() - started,
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
      const final: TtsResult = { ...partial, file };
      setResult(final);
      const { id, duration, filename } = final;
      onGenerated({ id, createdAt: Date.now(), text, voiceId: usedVoice, provider, language: language || null, speed, format, sampleRate: rate, duration, wav, file, filename });
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

  const show = (g: Generation) => {
    detachStream();
    setError(null);
    setLiveSamples(null);
    const { id, wav, file, filename, voiceId, provider, sampleRate, duration, format, text } = g;
    setResult({ id, wav, samples: null, file, filename, voiceId, provider, sampleRate, duration, firstAudioMs: null, totalMs: null, format, text });
  };

  // while the streamed audio plays through the worklet, move the waveform's cursor with it
  const shown = result?.samples ?? liveSamples;
  const streamRate = result?.sampleRate ?? liveRate;
  const streamProgress =
    streamStart !== null && shown && shown.length > 0 && (player.stats.playing || busy)
      ? Math.min(1, (player.stats.framesPlayed - streamStart) / player.stats.contextRate / (shown.length / streamRate))
      : null;

  const errorFor = (f: TtsField) => (error && error.field === f ? error.message : null);

  return { phase, busy, result, liveSamples, streamProgress, errorFor, generate, stop, show, detachStream };
}

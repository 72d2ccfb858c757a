import { useEffect, useRef, useState } from 'react';
import { api, errorMessage, isAbort, type Transcription } from '../api';
import { formatBytes } from '../lib/format';
import { encodeWav } from '../lib/wav';

export interface AudioSource {
  blob: Blob;
  name: string;
  origin: 'file' | 'recording';
}

export interface TranscriptionState {
  source: AudioSource | null;
  /** an object URL of the source, for the preview player */
  sourceUrl: string | null;
  result: Transcription | null;
  busy: boolean;
  error: string | null;
  setError(message: string | null): void;
  /** use a chosen or dropped file (refused when over the upload limit) */
  chooseFile(file: File | undefined): void;
  /** use a microphone recording (mono floats at `rate`), as a WAV */
  takeRecording(samples: Float32Array, rate: number): void;
  transcribe(language: string): Promise<void>;
  cancel(): void;
}

/** The Transcribe page's audio source, the /api/stt request (cancellable) and its result. */
export function useTranscription(maxUploadMb: number): TranscriptionState {
  const [source, setSource] = useState<AudioSource | null>(null);
  const [sourceUrl, setSourceUrl] = useState<string | null>(null);
  const [result, setResult] = useState<Transcription | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const controllerRef = useRef<AbortController | null>(null);

  useEffect(() => {
    if (!source) {
      setSourceUrl(null);
      return;
    }
    const u = URL.createObjectURL(source.blob);
    setSourceUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [source]);

  useEffect(() => () => controllerRef.current?.abort(), []);

  const chooseFile = (file: File | undefined) => {
    if (!file) return;
    setResult(null);
    if (file.size > maxUploadMb * 1024 * 1024) {
      setError(`${file.name} is ${formatBytes(file.size)}; the server accepts up to ${maxUploadMb} MB.`);
      return;
    }
    setError(null);
    setSource({ blob: file, name: file.name, origin: 'file' });
  };

  const takeRecording = (samples: Float32Array, rate: number) => {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    setResult(null);
    setSource({ blob: new Blob([encodeWav(samples, rate)], { type: 'audio/wav' }), name: `recording-${stamp}.wav`, origin: 'recording' });
  };

  const transcribe = async (language: string) => {
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

  const cancel = () => controllerRef.current?.abort();

  return { source, sourceUrl, result, busy, error, setError, chooseFile, takeRecording, transcribe, cancel };
}

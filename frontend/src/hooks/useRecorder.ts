import { useCallback, useEffect, useRef, useState } from 'react';
import { concatFloat32 } from '../lib/pcm';
import { useMicrophone, type Microphone } from './useMicrophone';

export interface Recorder {
  mic: Microphone;
  recording: boolean;
  /** seconds since the recording started (updated 5 times a second) */
  elapsed: number;
  /** ask for the microphone and record; false when it could not start */
  start(): Promise<boolean>;
  /** stop; the recorded samples at `rate`, or null when shorter than 0.2 s */
  stop(): Float32Array | null;
}

/** Records the microphone (resampled to `rate`) into memory. */
export function useRecorder(rate: number): Recorder {
  const [recording, setRecording] = useState(false);
  const [elapsed, setElapsed] = useState(0);
  const chunksRef = useRef<Float32Array[]>([]);

  const mic = useMicrophone(
    useCallback((samples: Float32Array) => {
      chunksRef.current.push(samples);
    }, []),
    rate,
  );

  useEffect(() => {
    if (!recording) return;
    const t0 = performance.now();
    const timer = setInterval(() => setElapsed((performance.now() - t0) / 1000), 200);
    return () => clearInterval(timer);
  }, [recording]);

  const start = async () => {
    chunksRef.current = [];
    setElapsed(0);
    const ok = await mic.start();
    if (ok) setRecording(true);
    return ok;
  };

  const stop = () => {
    mic.stop();
    setRecording(false);
    const chunks = chunksRef.current;
    chunksRef.current = [];
    const all = concatFloat32(chunks);
    return all.length < rate * 0.2 ? null : all;
  };

  return { mic, recording, elapsed, start, stop };
}

import { useCallback, useEffect, useRef, useState } from 'react';
import { getAudioContext } from '../audio/engine';
import { StreamResampler } from '../lib/resample';

export type MicState = 'off' | 'starting' | 'on' | 'error';

export interface Microphone {
  state: MicState;
  error: string | null;
  /** Ask for the mic (from a user gesture) and start delivering frames. */
  start(): Promise<boolean>;
  stop(): void;
  /** the latest block's RMS level, 0..1 (a ref: read it in an animation frame, no re-render per block) */
  levelRef: React.RefObject<number>;
}

export const MIC_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  channelCount: 1,
};

function describe(err: unknown): string {
  if (err instanceof DOMException) {
    if (err.name === 'NotAllowedError' || err.name === 'SecurityError')
      return 'Microphone access was denied. Allow it in the browser (the page must be served over https or from localhost).';
    if (err.name === 'NotFoundError') return 'No microphone was found.';
    if (err.name === 'NotReadableError') return 'The microphone is in use by another application.';
  }
  return `The microphone could not be started (${err instanceof Error ? err.message : String(err)}).`;
}

/**
 * Microphone capture through the mic-capture AudioWorklet (echo cancellation, noise suppression and
 * automatic gain on), resampled to `targetRate` (16 kHz) and handed to `onFrame` as floats in ~20 ms blocks.
 */
export function useMicrophone(onFrame: (samples: Float32Array) => void, targetRate = 16000): Microphone {
  const [state, setState] = useState<MicState>('off');
  const [error, setError] = useState<string | null>(null);
  const levelRef = useRef(0);
  const onFrameRef = useRef(onFrame);
  onFrameRef.current = onFrame;
  const partsRef = useRef<{ stream: MediaStream; source: MediaStreamAudioSourceNode; node: AudioWorkletNode; sink: GainNode } | null>(null);
  const generation = useRef(0);

  const stop = useCallback(() => {
    generation.current++;
    const parts = partsRef.current;
    partsRef.current = null;
    if (parts) {
      parts.node.port.postMessage({ type: 'stop' });
      parts.node.port.onmessage = null;
      parts.source.disconnect();
      parts.node.disconnect();
      parts.sink.disconnect();
      for (const t of parts.stream.getTracks()) t.stop();
    }
    levelRef.current = 0;
    setState('off');
  }, []);

  const start = useCallback(async (): Promise<boolean> => {
    if (partsRef.current) return true;
    const gen = ++generation.current;
    setState('starting');
    setError(null);
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser (or an http page that is not localhost) has no microphone API');
      const ctx = await getAudioContext();
      const stream = await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS, video: false });
      if (gen !== generation.current) {
        for (const t of stream.getTracks()) t.stop();
        return false;
      }
      const source = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, 'mic-capture', {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { blockMs: 20 },
      });
      const sink = ctx.createGain();
      sink.gain.value = 0; // keeps the node pulled by the graph, silently
      const resampler = new StreamResampler(ctx.sampleRate, targetRate);
      node.port.onmessage = (e: MessageEvent<{ samples: Float32Array; rms: number }>) => {
        levelRef.current = e.data.rms;
        const out = resampler.process(e.data.samples);
        if (out.length > 0) onFrameRef.current(out);
      };
      source.connect(node);
      node.connect(sink);
      sink.connect(ctx.destination);
      for (const track of stream.getAudioTracks()) {
        track.addEventListener('ended', () => {
          if (partsRef.current?.stream === stream) {
            stop();
            setError('The microphone was disconnected.');
            setState('error');
          }
        });
      }
      partsRef.current = { stream, source, node, sink };
      setState('on');
      return true;
    } catch (err) {
      if (gen !== generation.current) return false;
      setError(describe(err));
      setState('error');
      return false;
    }
  }, [stop, targetRate]);

  useEffect(() => stop, [stop]);

  return { state, error, start, stop, levelRef };
}

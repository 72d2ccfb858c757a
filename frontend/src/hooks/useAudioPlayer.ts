import { useCallback, useEffect, useRef, useState } from 'react';
import { getAudioContext } from '../audio/engine';
import { pcm16BytesToFloat } from '../lib/pcm';
import { StreamResampler } from '../lib/resample';

/** Frames rendered by every player since the page loaded; the e2e tests read it (window.__mithi). */
interface MithiDebug {
  framesPlayed: number;
}
declare global {
  interface Window {
    __mithi?: MithiDebug;
  }
}
function debugStats(): MithiDebug {
  if (!window.__mithi) window.__mithi = { framesPlayed: 0 };
  return window.__mithi;
}

export interface PlayerStats {
  /** frames of real audio rendered by this player (at the AudioContext's rate) */
  framesPlayed: number;
  /** seconds of audio waiting in the worklet */
  queuedSeconds: number;
  playing: boolean;
  /** the AudioContext's sample rate (frames per second of framesPlayed) */
  contextRate: number;
}

export interface AudioPlayer {
  /** Create/resume the AudioContext and the player node; call it from a user gesture. */
  start(): Promise<void>;
  /** Queue PCM16 LE mono at `sampleRate`; it plays right after what is queued (no gaps). */
  enqueue(pcm: ArrayBuffer | Uint8Array, sampleRate: number): void;
  /** Queue float samples at `sampleRate`. */
  enqueueFloat(samples: Float32Array, sampleRate: number): void;
  /** End of a stream: pushes the resampler's tail. */
  end(): void;
  /** Stop at once and drop everything queued (barge-in). */
  clear(): void;
  /** Ramp the playback gain to `gain` (0…1) over `ms` (0: at once); ducks the reply while the user talks. */
  setGain(gain: number, ms: number): void;
  /** Audio is playing, or queued to play, right now (read from refs: current even between renders). */
  isPlaying(): boolean;
  stats: PlayerStats;
  error: string | null;
}

/**
 * Gap-free streaming playback through the pcm-player AudioWorklet. Audio is resampled (band-limited)
 * from the source rate to the AudioContext's rate on the main thread, then played back to back, through
 * a GainNode (worklet → gain → destination) that `setGain` ramps.
 */
export function useAudioPlayer(): AudioPlayer {
  const nodeRef = useRef<AudioWorkletNode | null>(null);
  const gainRef = useRef<GainNode | null>(null);
  /** the gain asked for (applied when the node is made, if setGain came first) */
  const targetGainRef = useRef(1);
  /** the worklet's last report: playing or holding audio */
  const workletBusyRef = useRef(false);
  /** audio posted to the worklet since its last report */
  const pushedRef = useRef(false);
  const ctxRateRef = useRef(48000);
  const resamplerRef = useRef<StreamResampler | null>(null);
  const pendingRef = useRef<{ samples: Float32Array; rate: number }[]>([]);
  const startingRef = useRef<Promise<void> | null>(null);
  const lastFramesRef = useRef(0);
  const lastUpdateRef = useRef(0);
  const [stats, setStats] = useState<PlayerStats>({ framesPlayed: 0, queuedSeconds: 0, playing: false, contextRate: 48000 });
  const [error, setError] = useState<string | null>(null);

  const post = useCallback((samples: Float32Array, rate: number) => {
    const node = nodeRef.current;
    if (!node) {
      pendingRef.current.push({ samples, rate });
      return;
    }
    let r = resamplerRef.current;
    if (!r || r.inRate !== rate) {
      r = new StreamResampler(rate, ctxRateRef.current);
      resamplerRef.current = r;
    }
    const out = r.process(samples);
    if (out.length > 0) {
      pushedRef.current = true;
      node.port.postMessage({ type: 'push', samples: out }, [out.buffer]);
    }
  }, []);

  const start = useCallback((): Promise<void> => {
    if (nodeRef.current) {
      void getAudioContext();
      return Promise.resolve();
    }
    if (!startingRef.current) {
      startingRef.current = getAudioContext()
        .then((ctx) => {
          const node = new AudioWorkletNode(ctx, 'pcm-player', {
            numberOfInputs: 0,
            numberOfOutputs: 1,
            outputChannelCount: [1],
            processorOptions: { prebufferMs: 60 },
          });
          const gain = new GainNode(ctx, { gain: targetGainRef.current });
          node.connect(gain).connect(ctx.destination);
          gainRef.current = gain;
          node.port.onmessage = (e: MessageEvent<{ type: string; framesPlayed: number; queued: number; playing: boolean }>) => {
            const m = e.data;
            if (m.type !== 'stats') return;
            workletBusyRef.current = m.playing || m.queued > 0;
            pushedRef.current = false;
            const dbg = debugStats();
            dbg.framesPlayed += m.framesPlayed - lastFramesRef.current;
            lastFramesRef.current = m.framesPlayed;
            document.documentElement.dataset.framesPlayed = String(dbg.framesPlayed);
            const now = performance.now();
            setStats((prev) => {
              if (prev.playing === m.playing && now - lastUpdateRef.current < 250) return prev;
              lastUpdateRef.current = now;
              return { framesPlayed: m.framesPlayed, queuedSeconds: m.queued / ctx.sampleRate, playing: m.playing, contextRate: ctx.sampleRate };
            });
          };
          ctxRateRef.current = ctx.sampleRate;
          nodeRef.current = node;
          setError(null);
          const pending = pendingRef.current;
          pendingRef.current = [];
          for (const p of pending) post(p.samples, p.rate);
        })
        .catch((err: unknown) => {
          startingRef.current = null;
          const message = err instanceof Error ? err.message : String(err);
          setError(`Audio playback could not start: ${message}.`);
          throw err;
        });
    }
    return startingRef.current;
  }, [post]);

  const enqueueFloat = useCallback(
    (samples: Float32Array, rate: number) => {
      if (!nodeRef.current) void start().catch(() => undefined);
      post(samples, rate);
    },
    [post, start],
  );

  const enqueue = useCallback(
    (pcm: ArrayBuffer | Uint8Array, rate: number) => enqueueFloat(pcm16BytesToFloat(pcm), rate),
    [enqueueFloat],
  );

  const end = useCallback(() => {
    const r = resamplerRef.current;
    const node = nodeRef.current;
    if (!r || !node) return;
    const tail = r.flush();
    r.reset();
    if (tail.length > 0) {
      pushedRef.current = true;
      node.port.postMessage({ type: 'push', samples: tail }, [tail.buffer]);
    }
  }, []);

  const clear = useCallback(() => {
    pendingRef.current = [];
    resamplerRef.current?.reset();
    pushedRef.current = false;
    workletBusyRef.current = false;
    nodeRef.current?.port.postMessage({ type: 'clear' });
  }, []);

  const setGain = useCallback((target: number, ms: number) => {
    const value = Math.min(1, Math.max(0, target));
    targetGainRef.current = value;
    const gain = gainRef.current;
    if (!gain) return;
    const param = gain.gain;
    const now = gain.context.currentTime;
    // from wherever it is now (possibly mid-ramp) to the new value; no cancelAndHoldAtTime (Firefox)
    const from = param.value;
    param.cancelScheduledValues(now);
    param.setValueAtTime(from, now);
    if (ms > 0) param.linearRampToValueAtTime(value, now + ms / 1000);
    else param.setValueAtTime(value, now);
  }, []);

  const isPlaying = useCallback(
    () => workletBusyRef.current || pushedRef.current || pendingRef.current.length > 0,
    [],
  );

  useEffect(
    () => () => {
      const node = nodeRef.current;
      if (node) {
        node.port.postMessage({ type: 'clear' });
        node.port.onmessage = null;
        node.disconnect();
      }
      gainRef.current?.disconnect();
      gainRef.current = null;
      nodeRef.current = null;
      startingRef.current = null;
    },
    [],
  );

  return { start, enqueue, enqueueFloat, end, clear, setGain, isPlaying, stats, error };
}

import { useEffect, useRef, useState } from 'react';
import { computePeaks } from '../lib/peaks';

interface Props {
  samples: Float32Array | null;
  /** 0..1 played so far */
  progress?: number;
  /** click to seek (fraction 0..1); the range input next to it is the keyboard-accessible way */
  onSeek?: (fraction: number) => void;
  label: string;
  testId?: string;
}

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/** Canvas waveform (min/max per pixel column) with a played-part overlay. */
export function Waveform({ samples, progress = 0, onSeek, label, testId }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(600);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.round(entries[0]?.contentRect.width ?? 600);
      if (w > 0) setWidth(w);
    });
    ro.observe(canvas);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    const cssH = canvas.clientHeight || 96;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(cssH * dpr);
    const g = canvas.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, cssH);
    const mid = cssH / 2;
    const base = cssVar(canvas, '--wave', '#4b5b7a');
    const played = cssVar(canvas, '--wave-played', '#7c9cff');
    g.fillStyle = cssVar(canvas, '--wave-axis', '#2a3348');
    g.fillRect(0, mid, width, 1);
    if (!samples || samples.length === 0) return;
    const cols = Math.max(1, Math.floor(width / 2));
    const peaks = computePeaks(samples, cols);
    let max = 0;
    for (let i = 0; i < peaks.length; i++) max = Math.max(max, Math.abs(peaks[i] as number));
    const scale = max > 0 ? (mid - 2) / Math.max(max, 0.05) : 0;
    const playedCols = Math.round(cols * Math.max(0, Math.min(1, progress)));
    for (let c = 0; c < cols; c++) {
      const lo = (peaks[c * 2] as number) * scale;
      const hi = (peaks[c * 2 + 1] as number) * scale;
      g.fillStyle = c < playedCols ? played : base;
      const top = mid - Math.max(hi, 0.75);
      const h = Math.max(1.5, hi - lo);
      g.fillRect(c * 2, top, 1.5, h);
    }
  }, [samples, progress, width]);

  return (
    <canvas
      ref={canvasRef}
      className={`waveform${onSeek ? ' is-seekable' : ''}`}
      role="img"
      aria-label={label}
      data-testid={testId}
      data-has-audio={samples && samples.length > 0 ? 'true' : 'false'}
      onClick={(e) => {
        if (!onSeek) return;
        const rect = e.currentTarget.getBoundingClientRect();
        onSeek(Math.max(0, Math.min(1, (e.clientX - rect.left) / rect.width)));
      }}
    />
  );
}

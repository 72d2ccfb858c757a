/** Waveform summary: for each of `buckets` equal slices, the min and max sample (interleaved). */
export function computePeaks(samples: Float32Array, buckets: number): Float32Array {
  const n = Math.max(1, Math.floor(buckets));
  const out = new Float32Array(n * 2);
  if (samples.length === 0) return out;
  const per = samples.length / n;
  for (let b = 0; b < n; b++) {
    const from = Math.floor(b * per);
    const to = Math.max(from + 1, Math.min(samples.length, Math.floor((b + 1) * per)));
    let lo = 1;
    let hi = -1;
    for (let i = from; i < to; i++) {
      const s = samples[i] as number;
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    out[b * 2] = lo > hi ? 0 : lo;
    out[b * 2 + 1] = lo > hi ? 0 : hi;
  }
  return out;
}

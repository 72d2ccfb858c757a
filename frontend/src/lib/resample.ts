/**
 * Band-limited sample-rate conversion (windowed-sinc interpolation), usable on a stream:
 * the microphone (48 kHz → 16 kHz for /voice) and the player (22050 Hz → the AudioContext's rate).
 *
 * Each output sample at input position t is Σ x[k]·h(t − k) over the `halfTaps` nearest inputs on each
 * side, with h a Blackman-windowed sinc whose cut-off is the lower of the two Nyquist frequencies, so
 * downsampling does not alias. Weights are normalised (unity DC gain).
 */

const cache = new Map<string, Float32Array[]>();
const PHASES = 256; // fractional positions tabulated; the nearest is used

function kernelTable(cutoff: number, halfTaps: number): Float32Array[] {
  const key = `${cutoff}:${halfTaps}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const table: Float32Array[] = [];
  const width = 2 * halfTaps;
  for (let p = 0; p < PHASES; p++) {
    const frac = p / PHASES;
    const w = new Float32Array(width);
    let sum = 0;
    for (let j = 0; j < width; j++) {
      // tap j is input sample floor(t) - halfTaps + 1 + j; its distance from t:
      const d = j - halfTaps + 1 - frac;
      const x = d * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = (d + halfTaps) / (2 * halfTaps); // 0..1 across the window
      const win = r <= 0 || r >= 1 ? 0 : 0.42 - 0.5 * Math.cos(2 * Math.PI * r) + 0.08 * Math.cos(4 * Math.PI * r);
      const v = sinc * win;
      w[j] = v;
      sum += v;
    }
    for (let j = 0; j < width; j++) w[j] = (w[j] as number) / sum;
    table.push(w);
  }
  cache.set(key, table);
  return table;
}

export interface ResamplerOptions {
  /** Inputs used on each side of an output sample (default 12, times the downsampling ratio). */
  halfTaps?: number;
}

export class StreamResampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly step: number;
  private readonly halfTaps: number;
  private readonly table: Float32Array[] | null;
  /** Input not yet fully used (with the history the kernel needs). */
  private buf: Float32Array = new Float32Array(0);
  /** Position of the next output sample, in input samples relative to buf[0]. */
  private pos: number;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!(inRate > 0 && outRate > 0)) throw new RangeError(`invalid rates ${inRate} → ${outRate}`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    // wider kernels when downsampling, so the cut-off stays sharp relative to the output band
    this.halfTaps = options.halfTaps ?? Math.ceil(12 / Math.min(1, outRate / inRate));
    const cutoff = Math.min(1, outRate / inRate) * 0.95;
    this.table = inRate === outRate ? null : kernelTable(cutoff, this.halfTaps);
    // Start with halfTaps - 1 zeros of history so output sample 0 lines up with input sample 0.
    this.buf = new Float32Array(this.halfTaps - 1);
    this.pos = this.halfTaps - 1;
  }

  /** Feed input samples; returns the output samples that can be computed so far. */
  process(input: Float32Array): Float32Array {
    if (this.table === null) return input.slice();
    const joined = new Float32Array(this.buf.length + input.length);
    joined.set(this.buf);
    joined.set(input, this.buf.length);
    const buf = joined;
    const h = this.halfTaps;
    const table = this.table;
    const avail = buf.length;
    // output at pos needs inputs floor(pos)-h+1 .. floor(pos)+h
    const maxOut = Math.max(0, Math.floor((avail - h - this.pos) / this.step) + 1);
    const out = new Float32Array(maxOut);
    let n = 0;
    let pos = this.pos;
    while (n < maxOut) {
      let base = Math.floor(pos);
      let phase = Math.round((pos - base) * PHASES);
      if (phase === PHASES) {
        phase = 0;
        base += 1;
      }
      if (base + h >= avail) break;
      const k = table[phase] as Float32Array;
      const start = base - h + 1;
      let acc = 0;
      for (let j = 0; j < k.length; j++) acc += (buf[start + j] as number) * (k[j] as number);
      out[n++] = acc;
      pos += this.step;
    }
    // keep what the next output still needs
    const keepFrom = Math.max(0, Math.min(avail, Math.floor(pos) - h + 1));
    this.buf = buf.slice(keepFrom);
    this.pos = pos - keepFrom;
    return n === maxOut ? out : out.subarray(0, n);
  }

  /** End of stream: pads with silence so the last inputs are converted too. */
  flush(): Float32Array {
    if (this.table === null) return new Float32Array(0);
    return this.process(new Float32Array(this.halfTaps + 1));
  }

  /** Forget buffered input (e.g. after a barge-in). */
  reset(): void {
    this.buf = new Float32Array(this.halfTaps - 1);
    this.pos = this.halfTaps - 1;
  }
}

/** Whole-buffer conversion; the output has round(len · outRate / inRate) samples. */
export function resample(input: Float32Array, inRate: number, outRate: number, options?: ResamplerOptions): Float32Array {
  if (inRate === outRate) return input.slice();
  const r = new StreamResampler(inRate, outRate, options);
  const a = r.process(input);
  const b = r.flush();
  const want = Math.round((input.length * outRate) / inRate);
  const out = new Float32Array(want);
  out.set(a.subarray(0, Math.min(a.length, want)));
  if (a.length < want) out.set(b.subarray(0, want - a.length), a.length);
  return out;
}

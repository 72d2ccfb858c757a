import { describe, expect, it } from 'vitest';
import { rms } from './pcm';
import { StreamResampler, resample } from './resample';

function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Magnitude of one frequency (Goertzel), normalised so a full-length sine of amplitude A gives A. */
function tone(samples: Float32Array, freq: number, rate: number): number {
  const w = (2 * Math.PI * freq) / rate;
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    re += (samples[i] as number) * Math.cos(w * i);
    im -= (samples[i] as number) * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / samples.length;
}

/** Dominant frequency from zero crossings. */
function zeroCrossingFreq(samples: Float32Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1] as number) < 0 !== (samples[i] as number) < 0) crossings++;
  return (crossings / 2) * (rate / samples.length);
}

const middle = (s: Float32Array) => s.subarray(Math.floor(s.length * 0.1), Math.floor(s.length * 0.9));

describe('resample 48 kHz → 16 kHz', () => {
  it('gives a third of the samples', () => {
    expect(resample(new Float32Array(48000), 48000, 16000).length).toBe(16000);
    expect(resample(new Float32Array(4801), 48000, 16000).length).toBe(1600);
  });

  it('keeps a 1 kHz sine: frequency, energy and phase', () => {
    const input = sine(1000, 48000, 1);
    const out = resample(input, 48000, 16000);
    expect(zeroCrossingFreq(middle(out), 16000)).toBeCloseTo(1000, -1);
    expect(rms(middle(out))).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(tone(out, 1000, 16000)).toBeGreaterThan(0.48);
    // aligned with the input: out[i] ≈ input[3i]
    for (const i of [4000, 8000, 12000]) expect(out[i]).toBeCloseTo(input[3 * i] as number, 2);
  });

  it('filters out what would alias (10 kHz is above the new Nyquist of 8 kHz)', () => {
    const out = resample(sine(10000, 48000, 1), 48000, 16000);
    // without a low-pass it would fold to 6 kHz at full amplitude
    expect(tone(middle(out), 6000, 16000)).toBeLessThan(0.01);
    expect(rms(middle(out))).toBeLessThan(0.01);
  });

  it('gives the same result streamed in odd-sized chunks as in one piece', () => {
    const input = sine(440, 48000, 0.5);
    const whole = new StreamResampler(48000, 16000);
    const a = whole.process(input);
    const chunked = new StreamResampler(48000, 16000);
    const parts: number[] = [];
    for (let i = 0; i < input.length; ) {
      const n = [1, 127, 128, 960, 333][i % 5] as number;
      parts.push(...chunked.process(input.subarray(i, i + n)));
      i += n;
    }
    expect(parts.length).toBe(a.length);
    for (let i = 0; i < a.length; i += 97) expect(parts[i]).toBeCloseTo(a[i] as number, 6);
  });
});

describe('resample 22050 Hz → 48 kHz (playback)', () => {
  it('keeps length ratio and frequency', () => {
    const out = resample(sine(440, 22050, 1), 22050, 48000);
    expect(out.length).toBe(48000);
    expect(zeroCrossingFreq(middle(out), 48000)).toBeCloseTo(440, -1);
    expect(rms(middle(out))).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });

  it('preserves DC (weights sum to one)', () => {
    const out = resample(new Float32Array(2205).fill(0.25), 22050, 48000);
    for (const v of middle(out)) expect(v).toBeCloseTo(0.25, 4);
  });
});

describe('StreamResampler', () => {
  it('passes audio through unchanged at equal rates', () => {
    const r = new StreamResampler(16000, 16000);
    expect(Array.from(r.process(new Float32Array([0.1, -0.2])))).toEqual([Math.fround(0.1), Math.fround(-0.2)]);
  });

  it('reset() forgets buffered input', () => {
    const r = new StreamResampler(48000, 16000);
    r.process(new Float32Array(1000).fill(1));
    r.reset();
    const out = r.process(new Float32Array(3000));
    for (const v of out) expect(Math.abs(v)).toBeLessThan(1e-9);
  });

  it('rejects invalid rates', () => {
    expect(() => new StreamResampler(0, 16000)).toThrow(RangeError);
  });
});

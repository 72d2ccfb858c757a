import { describe, expect, it } from 'vitest';
import { Pcm16ByteAligner, bytesToInt16, concatFloat32, floatToPcm16, floatToPcm16Bytes, int16ToBytes, pcm16BytesToFloat, rms } from './pcm';

describe('floatToPcm16', () => {
  it('maps the full scale asymmetrically: -1 → -32768, 1 → 32767, 0 → 0', () => {
    expect(Array.from(floatToPcm16(new Float32Array([-1, 0, 1])))).toEqual([-32768, 0, 32767]);
  });

  it('clips values outside [-1, 1]', () => {
    expect(Array.from(floatToPcm16(new Float32Array([1.5, -2, 1e9, -Infinity, Infinity])))).toEqual([32767, -32768, 32767, -32768, 32767]);
  });

  it('rounds to the nearest integer', () => {
    // 0.5 * 32767 = 16383.5 → 16384; -0.5 * 32768 = -16384 exactly; 1/32767 → 1
    const out = floatToPcm16(new Float32Array([0.5, -0.5, 1 / 32767, 0.4 / 32767, -0.6 / 32768]));
    expect(Array.from(out)).toEqual([16384, -16384, 1, 0, -1]);
  });

  it('turns NaN into silence', () => {
    expect(floatToPcm16(new Float32Array([Number.NaN]))[0]).toBe(0);
  });
});

describe('PCM16 bytes', () => {
  it('are little-endian', () => {
    const bytes = new Uint8Array(int16ToBytes(new Int16Array([0x0102, -2, 32767, -32768])));
    expect(Array.from(bytes)).toEqual([0x02, 0x01, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80]);
  });

  it('floatToPcm16Bytes gives 2 bytes per sample, LE', () => {
    const bytes = new Uint8Array(floatToPcm16Bytes(new Float32Array([1, -1])));
    expect(Array.from(bytes)).toEqual([0xff, 0x7f, 0x00, 0x80]);
  });

  it('round-trips through bytes', () => {
    const samples = new Int16Array([0, 1, -1, 1234, -31000, 32767, -32768]);
    expect(Array.from(bytesToInt16(int16ToBytes(samples)))).toEqual(Array.from(samples));
  });

  it('decodes LE bytes to floats, ignoring an odd trailing byte', () => {
    const f = pcm16BytesToFloat(new Uint8Array([0x00, 0x40, 0x00, 0xc0, 0x7f]));
    expect(Array.from(f)).toEqual([0.5, -0.5]);
  });

  it('decodes a view into a larger buffer at its own offset', () => {
    const backing = new Uint8Array([9, 9, 9, 0x00, 0x40, 9]);
    expect(Array.from(bytesToInt16(backing.subarray(3, 5)))).toEqual([0x4000]);
  });
});

describe('Pcm16ByteAligner', () => {
  it('keeps an odd byte for the next chunk', () => {
    const a = new Pcm16ByteAligner();
    const all = new Uint8Array([0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    const parts = [all.subarray(0, 3), all.subarray(3, 4), all.subarray(4, 6)].map((c) => Array.from(a.push(c)));
    expect(parts).toEqual([[1, 2], [3, 4], [5, 6]]);
  });
});

describe('rms', () => {
  it('is the amplitude / sqrt(2) for a sine and 0 for silence', () => {
    const s = new Float32Array(1600).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 100 * i) / 16000));
    expect(rms(s)).toBeCloseTo(0.5 / Math.SQRT2, 3);
    expect(rms(new Float32Array(10))).toBe(0);
    expect(rms(new Float32Array(0))).toBe(0);
  });
});

describe('concatFloat32', () => {
  it('joins blocks in order', () => {
    const out = concatFloat32([new Float32Array([1, 2]), new Float32Array(0), new Float32Array([3])]);
    expect(Array.from(out)).toEqual([1, 2, 3]);
  });

  it('gives an empty array for no blocks', () => {
    expect(concatFloat32([]).length).toBe(0);
  });
});

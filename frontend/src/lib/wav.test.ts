import { describe, expect, it } from 'vitest';
import { decodeWavMono, encodeWav, parseWavHeader, pcmChunksToWavBlob, wavHeader } from './wav';

const ascii = (buf: ArrayBuffer, off: number) => String.fromCharCode(...new Uint8Array(buf, off, 4));

describe('encodeWav', () => {
  it('writes a canonical 44-byte PCM16 mono header', () => {
    const wav = encodeWav(new Int16Array([1, -1, 300]), 16000);
    const v = new DataView(wav);
    expect(wav.byteLength).toBe(44 + 6);
    expect(ascii(wav, 0)).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(36 + 6);
    expect(ascii(wav, 8)).toBe('WAVE');
    expect(ascii(wav, 12)).toBe('fmt ');
    expect(v.getUint32(16, true)).toBe(16);
    expect(v.getUint16(20, true)).toBe(1); // PCM
    expect(v.getUint16(22, true)).toBe(1); // mono
    expect(v.getUint32(24, true)).toBe(16000);
    expect(v.getUint32(28, true)).toBe(32000); // byte rate
    expect(v.getUint16(32, true)).toBe(2); // block align
    expect(v.getUint16(34, true)).toBe(16);
    expect(ascii(wav, 36)).toBe('data');
    expect(v.getUint32(40, true)).toBe(6);
    expect([v.getInt16(44, true), v.getInt16(46, true), v.getInt16(48, true)]).toEqual([1, -1, 300]);
  });

  it('converts floats with clipping', () => {
    const wav = encodeWav(new Float32Array([1, -1, 2, 0]), 48000);
    const v = new DataView(wav);
    expect([0, 1, 2, 3].map((i) => v.getInt16(44 + i * 2, true))).toEqual([32767, -32768, 32767, 0]);
    expect(v.getUint32(24, true)).toBe(48000);
  });

  it('round-trips through the parser and decoder', () => {
    const samples = new Float32Array([0, 0.25, -0.5, 0.75]);
    const wav = encodeWav(samples, 22050);
    expect(parseWavHeader(wav)).toEqual({ format: 1, channels: 1, sampleRate: 22050, bitsPerSample: 16, dataOffset: 44, dataBytes: 8 });
    const { samples: back, sampleRate } = decodeWavMono(wav);
    expect(sampleRate).toBe(22050);
    back.forEach((s, i) => expect(s).toBeCloseTo(samples[i] as number, 3));
  });
});

describe('parseWavHeader', () => {
  it('accepts the unknown-length sizes of a streamed WAV', () => {
    const head = wavHeader(0, 22050);
    const v = new DataView(head);
    v.setUint32(4, 0xffffffff, true);
    v.setUint32(40, 0xffffffff, true);
    const buf = new Uint8Array(44 + 4);
    buf.set(new Uint8Array(head));
    const info = parseWavHeader(buf.buffer);
    expect(info.dataBytes).toBe(4);
    expect(info.sampleRate).toBe(22050);
  });

  it('skips unknown chunks before data', () => {
    const pcm = new Int16Array([7]);
    const wav = new Uint8Array(encodeWav(pcm, 8000));
    const list = new Uint8Array([0x4c, 0x49, 0x53, 0x54, 2, 0, 0, 0, 0xaa, 0xbb]); // "LIST", 2 bytes
    const joined = new Uint8Array(wav.length + list.length);
    joined.set(wav.subarray(0, 36));
    joined.set(list, 36);
    joined.set(wav.subarray(36), 36 + list.length);
    const info = parseWavHeader(joined.buffer);
    expect(info.dataOffset).toBe(44 + list.length);
    expect(decodeWavMono(joined.buffer).samples[0]).toBeCloseTo(7 / 32768, 6);
  });

  it('rejects what is not a WAV', () => {
    expect(() => parseWavHeader(new TextEncoder().encode('ID3 not a wav file').buffer as ArrayBuffer)).toThrow(/RIFF/);
  });
});

describe('pcmChunksToWavBlob', () => {
  it('puts a header with the total length in front of the chunks', async () => {
    const blob = pcmChunksToWavBlob([new Uint8Array([1, 0]), new Uint8Array([2, 0, 3, 0])], 16000);
    expect(blob.type).toBe('audio/wav');
    const buf = await blob.arrayBuffer();
    expect(buf.byteLength).toBe(50);
    expect(new DataView(buf).getUint32(40, true)).toBe(6);
    expect(Array.from(decodeWavMono(buf).samples, (s) => Math.round(s * 32768))).toEqual([1, 2, 3]);
  });
});

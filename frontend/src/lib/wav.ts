/** WAV (RIFF, PCM16 mono) encoding and header parsing. */

import { floatToPcm16 } from './pcm';

/** A 44-byte canonical header for `dataBytes` of PCM16 at `sampleRate`. */
export function wavHeader(dataBytes: number, sampleRate: number, channels = 1): ArrayBuffer {
  const buf = new ArrayBuffer(44);
  const v = new DataView(buf);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i));
  };
  const blockAlign = channels * 2;
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true); // byte rate
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  return buf;
}

/** Mono samples (floats in [-1, 1] or Int16) → a complete WAV file. */
export function encodeWav(samples: Float32Array | Int16Array, sampleRate: number): ArrayBuffer {
  const pcm = samples instanceof Int16Array ? samples : floatToPcm16(samples);
  const out = new ArrayBuffer(44 + pcm.length * 2);
  new Uint8Array(out).set(new Uint8Array(wavHeader(pcm.length * 2, sampleRate)));
  const v = new DataView(out);
  for (let i = 0; i < pcm.length; i++) v.setInt16(44 + i * 2, pcm[i] as number, true);
  return out;
}

/** Concatenated PCM16 LE byte chunks → a WAV Blob. */
export function pcmChunksToWavBlob(chunks: Uint8Array[], sampleRate: number): Blob {
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const parts: BlobPart[] = [wavHeader(bytes, sampleRate)];
  for (const c of chunks) parts.push(c.slice().buffer as ArrayBuffer);
  return new Blob(parts, { type: 'audio/wav' });
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: number;
  dataOffset: number;
  /** bytes of sample data actually present (a streamed WAV declares 0xFFFFFFFF) */
  dataBytes: number;
}

/** Reads a WAV header (walks the chunks); throws on anything that is not RIFF/WAVE. */
export function parseWavHeader(buffer: ArrayBuffer): WavInfo {
  const v = new DataView(buffer);
  const tag = (off: number) => String.fromCharCode(v.getUint8(off), v.getUint8(off + 1), v.getUint8(off + 2), v.getUint8(off + 3));
  if (buffer.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let off = 12;
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes'> | null = null;
  while (off + 8 <= buffer.byteLength) {
    const id = tag(off);
    const size = v.getUint32(off + 4, true);
    if (id === 'fmt ') {
      fmt = {
        format: v.getUint16(off + 8, true),
        channels: v.getUint16(off + 10, true),
        sampleRate: v.getUint32(off + 12, true),
        bitsPerSample: v.getUint16(off + 22, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data chunk before fmt chunk');
      const dataOffset = off + 8;
      const dataBytes = Math.min(size, buffer.byteLength - dataOffset);
      return { ...fmt, dataOffset, dataBytes };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** Mono PCM16 WAV → float samples and rate (for waveforms of our own files). */
export function decodeWavMono(buffer: ArrayBuffer): { samples: Float32Array; sampleRate: number } {
  const info = parseWavHeader(buffer);
  if (info.format !== 1 || info.bitsPerSample !== 16) throw new Error('only PCM16 WAV is supported');
  const v = new DataView(buffer, info.dataOffset, info.dataBytes);
  const frames = Math.floor(info.dataBytes / (2 * info.channels));
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < info.channels; c++) sum += v.getInt16((i * info.channels + c) * 2, true);
    samples[i] = sum / info.channels / 32768;
  }
  return { samples, sampleRate: info.sampleRate };
}

/** Float ↔ 16-bit PCM conversion. PCM bytes are always little-endian, whatever the host. */

/** Float samples in [-1, 1] → Int16: clipped, scaled asymmetrically (-1 → -32768, 1 → 32767), rounded. */
export function floatToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as number;
    const c = s > 1 ? 1 : s < -1 ? -1 : Number.isNaN(s) ? 0 : s;
    out[i] = Math.round(c < 0 ? c * 32768 : c * 32767);
  }
  return out;
}

/** Float samples → PCM16 little-endian bytes, ready for the /voice socket. */
export function floatToPcm16Bytes(samples: Float32Array): ArrayBuffer {
  return int16ToBytes(floatToPcm16(samples));
}

/** Int16 samples → little-endian bytes. */
export function int16ToBytes(samples: Int16Array): ArrayBuffer {
  const buf = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buf);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i] as number, true);
  return buf;
}

/** Little-endian PCM16 bytes → Int16 samples (a trailing odd byte is ignored). */
export function bytesToInt16(bytes: ArrayBuffer | Uint8Array): Int16Array {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const n = Math.floor(u8.byteLength / 2);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/** Int16 samples → floats in [-1, 1). */
export function int16ToFloat(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] as number) / 32768;
  return out;
}

/** Little-endian PCM16 bytes → floats. */
export function pcm16BytesToFloat(bytes: ArrayBuffer | Uint8Array): Float32Array {
  return int16ToFloat(bytesToInt16(bytes));
}

/** Root-mean-square level of a block (0..1). */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as number;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length);
}

/**
 * Splits a byte stream into whole 16-bit samples: network chunks may end in the middle of a sample,
 * so an odd trailing byte is kept for the next chunk.
 */
export class Pcm16ByteAligner {
  private carry: number | null = null;

  push(chunk: Uint8Array): Uint8Array {
    let bytes = chunk;
    if (this.carry !== null) {
      const joined = new Uint8Array(chunk.length + 1);
      joined[0] = this.carry;
      joined.set(chunk, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes[bytes.length - 1] as number;
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    return bytes;
  }
}

/** Join float blocks into one array. */
export function concatFloat32(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

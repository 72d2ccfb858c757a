import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';
import { formatMs, slug } from './format';
import { newSessionId } from './ids';
import { computePeaks } from './peaks';
import { isValidSessionId, voiceUrl } from '../protocol';

describe('backoffDelay', () => {
  it('doubles from 500 ms up to the 10 s cap (no jitter at rand = 0.5)', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, 0.5))).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });

  it('jitters by ±20 % but stays under the cap', () => {
    expect(backoffDelay(1, 0)).toBe(800);
    expect(backoffDelay(1, 0.999999)).toBe(1200);
    expect(backoffDelay(20, 0.999999)).toBe(10000);
  });
});

describe('session ids', () => {
  it('are valid for the server', () => {
    const id = newSessionId((b) => b.fill(0xab));
    expect(id).toBe(`web-${'ab'.repeat(12)}`);
    expect(isValidSessionId(id)).toBe(true);
    expect(isValidSessionId(newSessionId())).toBe(true);
  });

  it('rejects what the server rejects', () => {
    expect(isValidSessionId('bad id!')).toBe(false);
    expect(isValidSessionId('')).toBe(false);
    expect(isValidSessionId('x'.repeat(65))).toBe(false);
  });
});

describe('voiceUrl', () => {
  it('derives ws:// or wss:// from the page and passes the parameters', () => {
    expect(voiceUrl({ protocol: 'http:', host: 'localhost:5173' }, { sessionId: 'abc', language: 'auto' })).toBe('ws://localhost:5173/voice?session_id=abc&sample_rate=16000');
    expect(voiceUrl({ protocol: 'https:', host: 'example.org' }, { sessionId: 'a_b', sampleRate: 48000, language: 'hi' })).toBe(
      'wss://example.org/voice?session_id=a_b&sample_rate=48000&language=hi',
    );
  });

  it('adds the short-lived token (escaped) when there is one', () => {
    expect(voiceUrl({ protocol: 'http:', host: 'h' }, { sessionId: 's', token: 'mvt_a.b+c/=' })).toBe('ws://h/voice?session_id=s&sample_rate=16000&token=mvt_a.b%2Bc%2F%3D');
    expect(voiceUrl({ protocol: 'http:', host: 'h' }, { sessionId: 's', token: null })).toBe('ws://h/voice?session_id=s&sample_rate=16000');
  });
});

describe('computePeaks', () => {
  it('gives min and max per bucket', () => {
    const peaks = computePeaks(new Float32Array([0, 1, -1, 0.5, 0.2, -0.3]), 3);
    expect(Array.from(peaks, (v) => Math.round(v * 10) / 10)).toEqual([0, 1, -1, 0.5, -0.3, 0.2]);
  });

  it('handles silence and more buckets than samples', () => {
    expect(Array.from(computePeaks(new Float32Array(0), 2))).toEqual([0, 0, 0, 0]);
    expect(computePeaks(new Float32Array([0.5]), 4).length).toBe(8);
  });
});

describe('format', () => {
  it('formats milliseconds and file names', () => {
    expect(formatMs(123.4)).toBe('123 ms');
    expect(formatMs(12345)).toBe('12.3 s');
    expect(formatMs(undefined)).toBe('–');
    expect(slug('Hello, World! Ça va?')).toBe('hello-world-ca-va');
    expect(slug('!!!')).toBe('audio');
  });
});

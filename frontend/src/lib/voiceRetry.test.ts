import { describe, expect, it } from 'vitest';
import { UNAUTHORIZED_MESSAGE } from './auth';
import { decideRetry, retryDelay } from './voiceRetry';

const err = (code: string, fatal = true, message = `${code} message`) => ({ code, message, fatal });

describe('decideRetry: which /voice endings reconnect', () => {
  it('unauthorized: ask for a key, never reconnect', () => {
    expect(decideRetry(1008, err('unauthorized'))).toEqual({ action: 'key', message: UNAUTHORIZED_MESSAGE });
    expect(decideRetry(1006, err('unauthorized'))).toMatchObject({ action: 'key' });
  });

  it('rate_limited / too_many_sessions: retry later with the server message', () => {
    expect(decideRetry(1008, err('rate_limited', true, 'limits.requests_per_minute is 60'))).toEqual({
      action: 'later',
      message: 'limits.requests_per_minute is 60',
    });
    expect(decideRetry(1008, err('too_many_sessions', true, 'limits.voice_sessions_per_key is 2'))).toEqual({
      action: 'later',
      message: 'limits.voice_sessions_per_key is 2',
    });
  });

  it('server_busy and close 1013: "server busy", reconnect', () => {
    expect(decideRetry(1013, err('server_busy'))).toEqual({ action: 'reconnect', message: 'Server busy, retrying.' });
    expect(decideRetry(1013, null)).toEqual({ action: 'reconnect', message: 'Server busy, retrying.' });
  });

  it('close 1012 (service restart): reconnect', () => {
    expect(decideRetry(1012, null)).toMatchObject({ action: 'reconnect', message: expect.stringMatching(/restarting/) });
    // the drain says so first (a fatal server_restarting event), then closes with 1012
    expect(decideRetry(1012, err('server_restarting', true))).toMatchObject({ action: 'reconnect' });
  });

  it('other fatal errors and close 1008: stop, with the reason', () => {
    expect(decideRetry(1008, err('unsupported_language', true, 'Language xx is not enabled.'))).toEqual({
      action: 'stop',
      message: 'Language xx is not enabled.',
    });
    expect(decideRetry(1008, null, 'origin not allowed')).toEqual({ action: 'stop', message: 'origin not allowed' });
    expect(decideRetry(1008, null)).toMatchObject({ action: 'stop' });
    expect(decideRetry(1011, err('pipeline_failed', true))).toMatchObject({ action: 'stop' });
  });

  it('a dropped connection (1006, 1001, 1011) reconnects; a non-fatal error does not stop it', () => {
    expect(decideRetry(1006, null)).toEqual({ action: 'reconnect', message: 'Connection lost (code 1006).' });
    expect(decideRetry(1001, null)).toMatchObject({ action: 'reconnect' });
    expect(decideRetry(1011, null)).toMatchObject({ action: 'reconnect' });
    expect(decideRetry(1006, err('storage_unavailable', false))).toMatchObject({ action: 'reconnect' });
    expect(decideRetry(0, null)).toEqual({ action: 'reconnect', message: 'Connection lost.' });
  });
});

describe('retryDelay', () => {
  it('reconnects at 0.5 s … 10 s, retries a reached limit at 5 s … 60 s (no tight loop)', () => {
    expect([0, 1, 2, 5, 9].map((a) => retryDelay('reconnect', a, 0.5))).toEqual([500, 1000, 2000, 10000, 10000]);
    expect([0, 1, 2, 3, 4, 9].map((a) => retryDelay('later', a, 0.5))).toEqual([5000, 10000, 20000, 40000, 60000, 60000]);
    expect(retryDelay('later', 0, 0)).toBe(4000); // -20 % jitter still waits seconds
  });
});

import { describe, expect, it } from 'vitest';
import { AuthStore, NEEDS_KEY_MESSAGE, UNAUTHORIZED_MESSAGE, authEnabledOf, authHeaders, loadApiKey, normalizeApiKey, parseRetryAfter, rateLimitMessage } from './auth';
import { KEYS, load, save } from './storage';

describe('API key storage', () => {
  it('keeps the key under mithi.apiKey and forgets it', () => {
    expect(KEYS.apiKey).toBe('mithi.apiKey');
    const store = new AuthStore();
    store.forgetKey();
    expect(loadApiKey()).toBeNull();
    expect(store.saveKey('  sk-web-test-123\n')).toBe(true);
    expect(load('mithi.apiKey')).toBe('sk-web-test-123');
    expect(loadApiKey()).toBe('sk-web-test-123');
    expect(store.getSnapshot().hasKey).toBe(true);
    store.forgetKey();
    expect(load('mithi.apiKey')).toBeNull();
    expect(store.getSnapshot().hasKey).toBe(false);
  });

  it('refuses blank keys and keys a header cannot carry', () => {
    expect(normalizeApiKey('   ')).toBeNull();
    expect(normalizeApiKey('sk bad')).toBeNull();
    expect(normalizeApiKey('sk-ключ')).toBeNull();
    expect(normalizeApiKey(' sk-1:ok_~ ')).toBe('sk-1:ok_~');
    const store = new AuthStore();
    store.forgetKey();
    expect(store.saveKey('  ')).toBe(false);
    expect(loadApiKey()).toBeNull();
  });

  it('treats a blank stored value as no key', () => {
    save(KEYS.apiKey, '   ');
    expect(loadApiKey()).toBeNull();
    save(KEYS.apiKey, null);
  });
});

describe('the key dialog state', () => {
  it('asks once when auth is on and no key is stored; saving closes it and bumps the version', () => {
    const store = new AuthStore();
    store.forgetKey();
    const seen: (string | null)[] = [];
    const off = store.subscribe(() => seen.push(store.getSnapshot().prompt));
    store.setEnabled(true);
    expect(store.getSnapshot().enabled).toBe(true);
    expect(store.getSnapshot().prompt).toMatch(/needs an API key/);
    store.rejected(); // more 401s while it is open: the same dialog, not a new one
    store.setEnabled(true);
    expect(seen.filter((p) => p !== null)).toHaveLength(1);
    const version = store.getSnapshot().version;
    expect(store.saveKey('sk-1')).toBe(true);
    expect(store.getSnapshot()).toMatchObject({ prompt: null, hasKey: true, version: version + 1 });
    store.rejected();
    expect(store.getSnapshot().prompt).toBe(`${UNAUTHORIZED_MESSAGE} Enter a valid key.`);
    off();
    store.forgetKey();
  });

  it('a 401 without a stored key says the server needs one; with a key, that it is wrong', () => {
    const store = new AuthStore();
    store.forgetKey();
    store.rejected();
    expect(store.getSnapshot().prompt).toBe(NEEDS_KEY_MESSAGE);
    store.saveKey('sk-bad-1');
    store.rejected();
    expect(store.getSnapshot().prompt).toBe(`${UNAUTHORIZED_MESSAGE} Enter a valid key.`);
    store.forgetKey();
  });

  it('does not reopen after "Not now" until opened by hand', () => {
    const store = new AuthStore();
    store.forgetKey();
    store.setEnabled(true);
    store.dismiss();
    expect(store.getSnapshot().prompt).toBeNull();
    store.rejected();
    store.setEnabled(true);
    expect(store.getSnapshot().prompt).toBeNull();
    store.open();
    expect(store.getSnapshot().prompt).not.toBeNull();
  });

  it('stays closed with auth off; forgetting a key asks again only when auth is on', () => {
    const off = new AuthStore();
    off.forgetKey();
    off.setEnabled(false);
    expect(off.getSnapshot().prompt).toBeNull();
    off.saveKey('sk-1');
    off.forgetKey();
    expect(off.getSnapshot().prompt).toBeNull();
    const on = new AuthStore();
    on.setEnabled(true);
    on.saveKey('sk-2');
    on.forgetKey();
    expect(on.getSnapshot().prompt).toMatch(/forgotten/);
  });
});

describe('authHeaders', () => {
  it('sends the key as a bearer token, nothing without one', () => {
    expect(authHeaders('sk-web-test-123')).toEqual({ Authorization: 'Bearer sk-web-test-123' });
    expect(authHeaders(null)).toEqual({});
    expect(authHeaders('')).toEqual({});
  });
});

describe('authEnabledOf', () => {
  it('reads /health auth.enabled; missing means off', () => {
    expect(authEnabledOf({ status: 'ok', auth: { enabled: true } })).toBe(true);
    expect(authEnabledOf({ status: 'ok', auth: { enabled: false } })).toBe(false);
    expect(authEnabledOf({ status: 'ok' })).toBe(false);
    expect(authEnabledOf({ auth: { enabled: 'yes' } })).toBe(false);
    expect(authEnabledOf(null)).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-02T07:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter(' 7 ', now)).toBe(7);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.2', now)).toBe(2);
  });
  it('reads an HTTP date', () => {
    expect(parseRetryAfter('Wed, 02 Dec 2026 07:00:45 GMT', now)).toBe(45);
    expect(parseRetryAfter('Wed, 02 Dec 2026 06:59:00 GMT', now)).toBe(0); // in the past
  });
  it('gives null for a missing or unreadable header', () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
  });
});

describe('rateLimitMessage', () => {
  it('names the server message and the wait', () => {
    expect(rateLimitMessage('limits.requests_per_minute is 60 for key web', 12)).toBe(
      'Rate limit reached: limits.requests_per_minute is 60 for key web. Try again in 12 s.',
    );
    expect(rateLimitMessage('Too many requests.', null)).toBe('Rate limit reached: Too many requests.');
    expect(rateLimitMessage('', 3)).toBe('Rate limit reached. Try again in 3 s.');
  });
  it("says the wait once (the server's own retry hint is dropped when Retry-After is known)", () => {
    expect(rateLimitMessage("limits.requests_per_minute is 150 for key 'web'; retry in 54 s", 54)).toBe(
      "Rate limit reached: limits.requests_per_minute is 150 for key 'web'. Try again in 54 s.",
    );
    expect(rateLimitMessage('limits.tts_chars_per_day is 1000 (try again tomorrow)', 3600)).toBe('Rate limit reached: limits.tts_chars_per_day is 1000. Try again in 3600 s.');
    expect(rateLimitMessage("limits.requests_per_minute is 150; retry in 54 s", null)).toBe('Rate limit reached: limits.requests_per_minute is 150; retry in 54 s.');
  });
});

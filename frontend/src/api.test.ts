// apiFetch against a real HTTP server on 127.0.0.1 (node:http): the stored key goes out as a bearer
// token, a 401 opens the key dialog, a 429 is worded with its Retry-After, and a 401 with authPrompt: false
// (the typed key being checked) does not open the dialog.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, apiFetch } from './api';
import { UNAUTHORIZED_MESSAGE, auth, authHeaders } from './lib/auth';

const SECRET = 'sk-web-test-123';
let server: http.Server;
let base = '';
const seen: { path: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const ok = req.headers.authorization === `Bearer ${SECRET}`;
    if (req.url === '/health') return json(200, { status: 'ok', auth: { enabled: true } });
    if (req.url === '/api/limited') return json(429, { error: { code: 'rate_limited', message: 'limits.requests_per_minute is 2 for key web' } }, { 'Retry-After': '17' });
    if (!ok) return json(401, { error: { code: 'unauthorized', message: 'Missing or invalid API key.' } });
    if (req.url === '/api/auth/token' && req.method === 'POST') return json(200, { token: 'tok-1', expires_at: 1, expires_in: 300 });
    return json(200, { fine: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen.length = 0;
  auth.forgetKey();
  auth.dismiss();
  auth.open();
  auth.dismiss();
});

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('the request did not fail');
}

describe('apiFetch with API keys', () => {
  it('sends Authorization: Bearer <stored key> on every call', async () => {
    auth.saveKey(SECRET);
    const res = await apiFetch(`${base}/api/voices`);
    expect(await res.json()).toEqual({ fine: true });
    await apiFetch(`${base}/api/tts/generate`, { json: { text: 'hi' } });
    expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${SECRET}`, `Bearer ${SECRET}`]);
  });

  it('sends no Authorization header without a key', async () => {
    await failure(apiFetch(`${base}/api/voices`));
    expect(seen[0]?.authorization).toBeUndefined();
  });

  it('401: "API key missing or wrong." and the key dialog opens', async () => {
    auth.saveKey('sk-wrong');
    auth.setEnabled(true);
    expect(auth.getSnapshot().prompt).toBeNull();
    const err = await failure(apiFetch(`${base}/api/voices`));
    expect(err).toMatchObject({ status: 401, code: 'unauthorized', message: UNAUTHORIZED_MESSAGE });
    expect(auth.getSnapshot().prompt).toMatch(/API key missing or wrong/);
  });

  it('429: "Rate limit reached: <server message>. Try again in N s" from Retry-After', async () => {
    auth.saveKey(SECRET);
    const err = await failure(apiFetch(`${base}/api/limited`));
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfterS: 17 });
    expect(err.message).toBe('Rate limit reached: limits.requests_per_minute is 2 for key web. Try again in 17 s.');
  });

  it('checks a key being typed without opening the dialog', async () => {
    auth.setEnabled(true);
    auth.dismiss();
    auth.open();
    auth.saveKey(SECRET); // closes it
    const err = await failure(apiFetch(`${base}/api/auth/token`, { method: 'POST', headers: authHeaders('sk-typo'), authPrompt: false }));
    expect(err.status).toBe(401);
    expect(auth.getSnapshot().prompt).toBeNull();
    expect(seen[0]?.authorization).toBe('Bearer sk-typo');
  });
});

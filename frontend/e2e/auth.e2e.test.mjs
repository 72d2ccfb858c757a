// End-to-end: the web app against a backend with API keys (auth.api_keys from MITHI_API_KEYS).
// The page asks for a key once, a wrong key gets "API key missing or wrong", the right one is kept in
// localStorage and sent as a bearer on REST calls, the /voice WebSocket connects with a token from
// POST /api/auth/token, and over-limit answers (429, too_many_sessions) are shown with the server's message.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_WAV, SCREENSHOTS, launchBrowser, readLog, startStack } from './harness.mjs';

const SECRET = 'sk-web-test-123';
const OTHER = 'sk-other-test-456'; // a second tenant, to fill the server
const REPLY_TIMEOUT = 60000;
const REQUESTS_PER_MINUTE = 150;

let stack;
let failed = false;
let browser;
let context;
let page;
const browserLog = [];
/** every request the page made to the API: path and Authorization header */
const apiRequests = [];
/** every WebSocket URL the page opened */
const sockets = [];

async function screenshot(name, target = page) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await target.screenshot({ path: file });
  return file;
}

function it(name, options, fn) {
  test(name, options, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      await screenshot(`failure-auth-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
      throw err;
    }
  });
}

function watch(p) {
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') browserLog.push(`[console.${m.type()}] ${m.text()}`);
  });
  p.on('pageerror', (e) => browserLog.push(`[pageerror] ${e.message}`));
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) apiRequests.push({ path: u.pathname, authorization: r.headers().authorization });
  });
  p.on('websocket', (ws) => sockets.push(ws.url()));
}

const storedKey = () => page.evaluate(() => window.localStorage.getItem('mithi.apiKey'));
const dialogOpen = () => page.locator('[data-testid="api-key-dialog"]').evaluate((d) => d.open);

describe('the web app with API keys', { timeout: 300000 }, () => {
  before(async () => {
    stack = await startStack({
      config: ['auth: {api_keys: "${MITHI_API_KEYS}"}', `limits: {voice_sessions_per_key: 1, requests_per_minute: ${REQUESTS_PER_MINUTE}}`],
      server: 'max_voice_sessions: 2',
      env: { MITHI_API_KEYS: `web:${SECRET},other:${OTHER}` },
    });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['microphone'] });
    page = await context.newPage();
    watch(page);
  });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      await stack?.stop();
    }
    if (stack && failed) {
      console.log(`# a test failed: the backend's data and logs are kept in ${stack.tmp}; the last backend log:\n${readLog(stack.backend, 3000).replace(/^/gm, '#   ')}`);
    } else if (stack && !process.env.MITHI_E2E_KEEP) {
      fs.rmSync(stack.tmp, { recursive: true, force: true });
    }
    if (browserLog.length > 0) console.log(`# browser console:\n${browserLog.map((l) => `#   ${l}`).join('\n')}`);
  });

  it('(a) with no key stored the page asks for one (and the server really wants one)', { timeout: 60000 }, async () => {
    const health = await (await fetch(`${stack.backendUrl}/health`)).json();
    assert.deepEqual(health.auth, { enabled: true });
    assert.equal((await fetch(`${stack.backendUrl}/api/voices`)).status, 401);

    await page.goto(`${stack.baseUrl}/`);
    await page.waitForSelector('[data-testid="api-key-dialog"][open]', { timeout: 15000 });
    const input = page.locator('[data-testid="api-key-input"]');
    assert.equal(await input.getAttribute('type'), 'password');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'api-key-input', 'the key field has the focus');
    const dialogText = await page.innerText('[data-testid="api-key-dialog"]');
    assert.match(dialogText, /MITHI_API_KEYS/);
    assert.match(dialogText, /needs an API key/);
    assert.match(await page.innerText('label[for]:has-text("API key")'), /API key/);
    // the voice socket does not loop: it waits for a key
    await page.waitForSelector('[data-testid="connection-state"][data-state="failed"]', { timeout: 15000 });
    assert.equal(sockets.length, 0, 'no WebSocket is opened without a key');
    await screenshot('api-key-dialog');
  });

  it('(b) a wrong key: "API key missing or wrong", nothing stored', { timeout: 30000 }, async () => {
    await page.fill('[data-testid="api-key-input"]', 'sk-wrong-key-000');
    await page.click('[data-testid="api-key-save"]');
    await page.locator('[data-testid="api-key-error"]').filter({ hasText: 'API key missing or wrong' }).waitFor({ timeout: 10000 });
    assert.equal(await dialogOpen(), true);
    assert.equal(await storedKey(), null);
    assert.equal(await page.getAttribute('[data-testid="api-key-input"]', 'aria-invalid'), 'true');
    await screenshot('api-key-dialog-wrong');

    // a wrong key already stored (e.g. revoked on the server): the first 401 reopens the dialog
    await page.evaluate(() => window.localStorage.setItem('mithi.apiKey', 'sk-revoked-key-999'));
    await page.reload();
    await page.waitForSelector('[data-testid="api-key-dialog"][open]', { timeout: 15000 });
    assert.match(await page.innerText('[data-testid="api-key-reason"]'), /API key missing or wrong/);
    const rejected = apiRequests.filter((r) => r.authorization === 'Bearer sk-revoked-key-999');
    assert.ok(rejected.length > 0, 'the stored key was sent as a bearer');
    await page.waitForSelector('[data-testid="connection-state"][data-state="failed"]', { timeout: 15000 });
    assert.match(await page.innerText('[data-testid="connection-problem"]'), /API key missing or wrong/);
  });

  it('(c) the right key: saved, never shown again; the voice chat connects with a token and answers a typed turn', { timeout: 120000 }, async () => {
    apiRequests.length = 0;
    await page.fill('[data-testid="api-key-input"]', SECRET);
    await page.click('[data-testid="api-key-save"]');
    await page.waitForSelector('[data-testid="api-key-dialog"]:not([open])', { state: 'attached', timeout: 10000 });
    assert.equal(await storedKey(), SECRET);
    assert.equal(await page.inputValue('[data-testid="api-key-input"]'), '', 'the field is emptied');
    assert.match(await page.innerText('[data-testid="api-key-state"]'), /Key saved/);
    await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30000 });
    assert.ok(!(await page.content()).includes(SECRET), 'the key is nowhere in the page');

    // the socket used a short-lived token, never the key
    const voice = sockets.filter((u) => new URL(u).pathname === '/voice');
    assert.ok(voice.length > 0);
    for (const u of voice) assert.ok(!u.includes(SECRET), `the key is not in the WebSocket URL (${u.replace(/token=[^&]+/, 'token=…')})`);
    assert.match(voice[voice.length - 1], /[?&]token=mvt_/);
    assert.ok(apiRequests.some((r) => r.path === '/api/auth/token'), 'POST /api/auth/token before the connection');
    for (const r of apiRequests) assert.equal(r.authorization, `Bearer ${SECRET}`, `${r.path} carries the key`);

    const before = await page.locator('[data-testid="turn"]').count();
    await page.fill('[data-testid="chat-input"]', 'Hello, my name is Anna.');
    await page.press('[data-testid="chat-input"]', 'Enter');
    const turn = page.locator('[data-testid="turn"]').nth(before);
    await turn.locator('[data-testid="user-transcript"]', { hasText: 'my name is Anna' }).waitFor({ timeout: 5000 });
    await turn.locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
    const reply = (await turn.locator('[data-testid="bot-text"]').innerText()).trim();
    assert.ok(reply.length > 0, 'a reply to the typed turn');
    console.log(`# typed turn with a key: "${reply}"`);
  });

  it('(d) a second tab over voice_sessions_per_key: the server message, retried later (not in a tight loop)', { timeout: 60000 }, async () => {
    const second = await context.newPage();
    watch(second);
    try {
      const before = sockets.length;
      await second.goto(`${stack.baseUrl}/`);
      await second.waitForSelector('[data-testid="connection-state"][data-state="reconnecting"]', { timeout: 20000 });
      await second.locator('[data-testid="connection-problem"]').filter({ hasText: 'voice_sessions_per_key is 1' }).waitFor({ timeout: 10000 });
      const label = await second.innerText('[data-testid="connection-state"]');
      const wait = Number(/in (\d+) s/.exec(label)?.[1]);
      assert.ok(wait >= 3, `the retry waits seconds, not a tight loop (${label})`);
      assert.equal(await second.locator('[data-testid="api-key-dialog"]').evaluate((d) => d.open), false, 'no key dialog for a limit');
      await second.waitForTimeout(2000);
      assert.ok(sockets.length - before <= 2, `no reconnect storm (${sockets.length - before} sockets in the second tab)`);
    } finally {
      await second.close();
    }
  });

  it('(d2) a full server: "Server busy, retrying", then connected once a place is free', { timeout: 90000 }, async () => {
    // another tenant takes the server's second place (server.max_voice_sessions: 2), then tries a third
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await other.addInitScript((key) => window.localStorage.setItem('mithi.apiKey', key), OTHER);
      const first = await other.newPage();
      watch(first);
      await first.goto(`${stack.baseUrl}/`);
      await first.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30000 });
      const busy = await other.newPage();
      watch(busy);
      await busy.goto(`${stack.baseUrl}/`);
      await busy.locator('[data-testid="connection-problem"]').filter({ hasText: 'Server busy, retrying' }).waitFor({ timeout: 20000 });
      assert.equal(await busy.getAttribute('[data-testid="connection-state"]', 'data-state'), 'reconnecting');
      await screenshot('voice-server-busy', busy);
      await first.close(); // a place is free: the busy page gets in by itself
      await busy.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 40000 });
    } finally {
      await other.close();
    }
  });

  it('(e) the TTS studio and the Transcribe upload work through the key', { timeout: 120000 }, async () => {
    apiRequests.length = 0;
    await page.goto(`${stack.baseUrl}/tts`);
    await page.waitForSelector('[data-testid="tts-voice"] option[value="en_US-joe-medium"], [data-testid="tts-voice"] optgroup', { state: 'attached', timeout: 15000 });
    assert.equal(await dialogOpen(), false, 'the stored key is used: no dialog');
    await page.fill('[data-testid="tts-text"]', 'A key opens the studio.');
    await page.click('[data-testid="tts-generate"]');
    await page.waitForSelector('[data-testid="download"]', { timeout: 60000 });
    assert.equal(await page.getAttribute('[data-testid="waveform"]', 'data-has-audio'), 'true');
    const generate = apiRequests.filter((r) => r.path === '/api/tts/generate');
    assert.ok(generate.length > 0);
    for (const r of generate) assert.equal(r.authorization, `Bearer ${SECRET}`);
    // the top bar's key control fits a phone
    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at 375 px with a key saved (overflow ${overflow}px)`);
    await screenshot('tts-studio-375-key');
    await page.setViewportSize({ width: 1280, height: 800 });

    await page.goto(`${stack.baseUrl}/transcribe`);
    await page.setInputFiles('[data-testid="stt-file"]', FIXTURE_WAV);
    await page.click('[data-testid="stt-transcribe"]');
    await page.waitForFunction(() => /time/i.test(document.querySelector('[data-testid="stt-text"]')?.textContent ?? ''), null, { timeout: 60000 });
    const upload = apiRequests.filter((r) => r.path === '/api/stt/transcribe');
    assert.equal(upload.length, 1);
    assert.equal(upload[0].authorization, `Bearer ${SECRET}`);
  });

  it('(f) over requests_per_minute: "Rate limit reached: … Try again in N s"', { timeout: 60000 }, async () => {
    let status = 0;
    for (let i = 0; i < REQUESTS_PER_MINUTE + 5 && status !== 429; i++) {
      const res = await fetch(`${stack.backendUrl}/api/languages`, { headers: { Authorization: `Bearer ${SECRET}` } });
      status = res.status;
      await res.arrayBuffer();
    }
    assert.equal(status, 429, 'the key reached its limit');
    await page.goto(`${stack.baseUrl}/status`);
    const err = page.locator('[data-testid="status-error"]');
    await err.filter({ hasText: 'Rate limit reached' }).waitFor({ timeout: 15000 });
    assert.match(await err.innerText(), /Rate limit reached: .*requests_per_minute.*\. Try again in \d+ s\./);
    assert.equal(await dialogOpen(), false, 'a 429 does not ask for a key');
    await screenshot('rate-limited');
  });

  it('(g) "Forget key" removes it and asks again', { timeout: 30000 }, async () => {
    await page.click('[data-testid="api-key-forget"]');
    await page.waitForSelector('[data-testid="api-key-dialog"][open]', { timeout: 5000 });
    assert.match(await page.innerText('[data-testid="api-key-reason"]'), /forgotten/);
    assert.equal(await storedKey(), null);
    await page.click('[data-testid="api-key-dismiss"]');
    await page.waitForSelector('[data-testid="api-key-dialog"]:not([open])', { state: 'attached' });
    await page.waitForSelector('[data-testid="api-key-open"]');
  });
});

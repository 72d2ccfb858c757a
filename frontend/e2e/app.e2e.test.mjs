// End-to-end tests of the browser app against the real backend (see harness.mjs).
// `npm run e2e` builds the app first. One backend and one browser serve all the tests, in order.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_WAV, SCREENSHOTS, launchBrowser, readLog, startStack } from './harness.mjs';

const REPLY_TIMEOUT = 60000; // the first voice reply on a slow 2-core CPU
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };

let stack;
let failed = false;
let browser;
let context;
let page;
const browserLog = [];

async function screenshot(name, options = {}) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  return file;
}

/** node:test's test(), noting failures (to keep the logs) and saving a screenshot of the page then. */
function it(name, options, fn) {
  test(name, options, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      const slugName = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      await screenshot(`failure-${slugName}`).catch(() => undefined);
      throw err;
    }
  });
}

async function framesPlayed() {
  return page.evaluate(() => window.__mithi?.framesPlayed ?? 0);
}

async function goto(route) {
  await page.goto(`${stack.baseUrl}${route}`);
  await page.waitForSelector('main h1');
}

/** Text of every element matching a test id. */
async function texts(testId) {
  return page.locator(`[data-testid="${testId}"]`).allInnerTexts();
}

describe('Mithivoices web app', { timeout: 240000 }, () => {
  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: DESKTOP, permissions: ['microphone'], acceptDownloads: true });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') browserLog.push(`[console.${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => browserLog.push(`[pageerror] ${e.message}`));
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

  it('(a) voice chat: the fake microphone asks a question, the reply is heard, with a latency breakdown', { timeout: 120000 }, async () => {
    await goto('/');
    await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30000 });
    await page.click('[data-testid="start-button"]');
    // the fixture says "What time is it?"
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="user-transcript"]')].some((e) => /time/i.test(e.textContent ?? '')),
      null,
      { timeout: REPLY_TIMEOUT },
    );
    const turn = page.locator('[data-testid="turn"]', { has: page.locator('[data-testid="user-transcript"]', { hasText: /time/i }) }).last();
    await turn.locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
    const reply = (await turn.locator('[data-testid="bot-text"]').innerText()).trim();
    assert.ok(reply.length > 0, 'the bot replied with text');
    await page.waitForFunction(() => (window.__mithi?.framesPlayed ?? 0) > 0, null, { timeout: 30000 });
    assert.ok((await framesPlayed()) > 0, 'the player worklet rendered reply audio');
    const attr = await page.getAttribute('[data-testid="player-state"]', 'data-frames-played');
    assert.ok(Number(attr) > 0, `data-frames-played=${attr}`);
    // latency: numbers from the server's latency_ms
    const stages = await turn.locator('[data-testid="latency"] [data-stage]').evaluateAll((els) =>
      els.map((e) => [e.getAttribute('data-stage'), Number(e.querySelector('[data-ms]')?.getAttribute('data-ms'))]),
    );
    const byStage = Object.fromEntries(stages);
    for (const key of ['stt', 'total']) assert.ok(Number.isFinite(byStage[key]) && byStage[key] >= 0, `latency ${key} = ${byStage[key]}`);
    assert.ok(byStage.total > 0, 'total latency > 0');
    assert.match(await turn.locator('[data-testid="latency"]').innerText(), /Total\s*\d+(\.\d+)?\s*(ms|s)/);
    // the whole reply plays to its end
    await page.waitForSelector('[data-testid="player-state"][data-playing="false"]', { timeout: 30000 });
    console.log(`# voice turn: "${(await turn.locator('[data-testid="user-transcript"]').innerText()).trim()}" → "${reply}" ${JSON.stringify(byStage)}; ${await framesPlayed()} frames played`);
    await screenshot('voice-chat-desktop');
    await page.click('[data-testid="start-button"]'); // stop the microphone
  });

  it('(h) voice chat: push-to-talk (hold the button, release to send: input_audio.commit)', { timeout: 90000 }, async () => {
    await page.check('[data-testid="mode-ptt"]');
    await page.waitForSelector('[data-testid="conversation-panel"][data-vad="false"]', { timeout: 10000 });
    const before = await page.locator('[data-testid="user-transcript"]').count();
    const button = page.locator('[data-testid="ptt-button"]');
    await button.hover();
    await page.mouse.down(); // a new capture: the fake microphone plays the question again
    await page.waitForSelector('[data-testid="ptt-button"][aria-pressed="true"]');
    await page.waitForTimeout(3500);
    await page.mouse.up();
    await page.waitForFunction(
      (n) => {
        const all = [...document.querySelectorAll('[data-testid="user-transcript"]')];
        return all.length > n && /time/i.test(all[all.length - 1]?.textContent ?? '');
      },
      before,
      { timeout: REPLY_TIMEOUT },
    );
    const turn = page.locator('[data-testid="turn"]').last();
    await turn.locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
    assert.ok((await turn.locator('[data-testid="bot-text"]').innerText()).trim().length > 0);
    await page.waitForSelector('[data-testid="player-state"][data-playing="false"]', { timeout: 30000 });
    await page.check('[data-testid="mode-handsfree"]');
    await page.waitForSelector('[data-testid="conversation-panel"][data-vad="true"]', { timeout: 10000 });
    if ((await page.getAttribute('[data-testid="start-button"]', 'aria-pressed')) === 'true') await page.click('[data-testid="start-button"]');
  });

  it('(i) voice chat: barge-in stops the reply audio at once (response.interrupted)', { timeout: 90000 }, async () => {
    const count = await page.locator('[data-testid="turn"]').count();
    await page.fill('[data-testid="chat-input"]', 'What time is it?');
    await page.press('[data-testid="chat-input"]', 'Enter');
    await page.waitForSelector('[data-testid="player-state"][data-playing="true"]', { timeout: REPLY_TIMEOUT });
    await page.click('[data-testid="interrupt"]');
    const turn = page.locator('[data-testid="turn"]').nth(count);
    await turn.locator('.badge-interrupted').waitFor({ timeout: 10000 });
    await page.waitForSelector('[data-testid="player-state"][data-playing="false"]', { timeout: 2000 });
    const f1 = await framesPlayed();
    await page.waitForTimeout(600);
    const f2 = await framesPlayed();
    assert.equal(f2, f1, 'no audio is rendered after the interruption');
  });

  it('(b) voice chat: a typed turn gets a reply; memory survives a reload', { timeout: 120000 }, async () => {
    // the voice picker changes the session's voice (session.update → session.updated)
    await page.selectOption('[data-testid="voice-select"]', 'espeak-en');
    await page.waitForSelector('[data-testid="conversation-panel"][data-session-voice="espeak-en"]', { timeout: 10000 });
    await page.selectOption('[data-testid="voice-select"]', '');
    await page.waitForSelector('[data-testid="conversation-panel"][data-session-voice="en_US-joe-medium"]', { timeout: 10000 });

    const before = await page.locator('[data-testid="turn"]').count();
    await page.fill('[data-testid="chat-input"]', 'Hello, my name is Anna.');
    await page.press('[data-testid="chat-input"]', 'Enter');
    const typed = page.locator('[data-testid="turn"]').nth(before);
    await typed.locator('[data-testid="user-transcript"]', { hasText: 'my name is Anna' }).waitFor({ timeout: 5000 });
    await typed.locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
    assert.ok((await typed.locator('[data-testid="bot-text"]').innerText()).trim().length > 0, 'a reply to the typed turn');
    assert.equal(await page.inputValue('[data-testid="chat-input"]'), '', 'the text box is cleared');

    // reload: same session id, the stored conversation is shown, and the agent remembers the name
    const sessionId = await page.innerText('[data-testid="session-id"]');
    await page.reload();
    await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30000 });
    assert.equal(await page.innerText('[data-testid="session-id"]'), sessionId);
    await page.waitForSelector('.turn-history [data-testid="user-transcript"]:has-text("my name is Anna")', { timeout: 10000 });
    const count = await page.locator('[data-testid="turn"]').count();
    await page.fill('[data-testid="chat-input"]', 'What is my name?');
    await page.click('[data-testid="chat-send"]');
    const ask = page.locator('[data-testid="turn"]').nth(count);
    await ask.locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
    assert.match(await ask.locator('[data-testid="bot-text"]').innerText(), /Anna/);
  });

  it('(g) voice chat at 375 px wide', { timeout: 30000 }, async () => {
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at 375 px (overflow ${overflow}px)`);
    await screenshot('voice-chat-375', { fullPage: true });
    await page.setViewportSize(DESKTOP);
  });

  it('(c) TTS studio: streamed audio plays as it arrives, with waveform, download and history', { timeout: 90000 }, async () => {
    await goto('/tts');
    await page.waitForSelector('[data-testid="tts-voice"] option[value="en_US-joe-medium"], [data-testid="tts-voice"] optgroup', { state: 'attached', timeout: 15000 });
    await page.fill('[data-testid="tts-text"]', 'Streaming speech from the studio. The first sentence plays while the second one is synthesized.');
    assert.match(await page.innerText('[data-testid="char-count"]'), /^\d+ \/ [\d,]+/);
    await page.click('[data-testid="tts-generate"]');
    await page.waitForFunction(() => (window.__mithi?.framesPlayed ?? 0) > 0, null, { timeout: 60000 });
    await page.waitForSelector('[data-testid="download"]', { timeout: 60000 });
    assert.equal(await page.getAttribute('[data-testid="waveform"]', 'data-has-audio'), 'true');
    const href = await page.getAttribute('[data-testid="download"]', 'href');
    const filename = await page.getAttribute('[data-testid="download"]', 'download');
    assert.match(href ?? '', /^blob:/);
    assert.match(filename ?? '', /\.wav$/);
    // the file is a real WAV
    const header = await page.evaluate(async (u) => {
      const buf = await (await fetch(u)).arrayBuffer();
      const v = new DataView(buf);
      return { riff: String.fromCharCode(...new Uint8Array(buf, 0, 4)), rate: v.getUint32(24, true), bytes: buf.byteLength };
    }, href);
    assert.equal(header.riff, 'RIFF');
    assert.equal(header.rate, 22050);
    assert.ok(header.bytes > 44 + 22050, `a second or more of audio (${header.bytes} bytes)`);
    await page.waitForSelector('[data-testid="tts-history"] li', { timeout: 10000 });
    assert.match(await page.innerText('[data-testid="tts-first-audio"]'), /\d/);
    await screenshot('tts-studio-desktop');

    // a compressed download format: played from the stream, the file encoded by the server
    await page.selectOption('[data-testid="tts-format"]', 'mp3');
    await page.fill('[data-testid="tts-text"]', 'An MP3 file, please.');
    await page.click('[data-testid="tts-generate"]');
    await page.waitForSelector('[data-testid="download"][download$=".mp3"]', { timeout: 60000 });
    const mp3 = await page.evaluate(async () => {
      const a = document.querySelector('[data-testid="download"]');
      const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
      return { first: Array.from(bytes.slice(0, 3)), length: bytes.length };
    });
    const id3 = mp3.first[0] === 0x49 && mp3.first[1] === 0x44 && mp3.first[2] === 0x33;
    const frame = mp3.first[0] === 0xff && (mp3.first[1] & 0xe0) === 0xe0;
    assert.ok(id3 || frame, `an MP3 file (starts with ${mp3.first})`);
    assert.equal(await page.locator('[data-testid="tts-history"] li').count(), 2);
  });

  it('(e) errors: the API message is shown next to the control that caused it', { timeout: 60000 }, async () => {
    await goto('/tts');
    // (the history of (c) survived the page load: IndexedDB)
    await page.waitForSelector('[data-testid="tts-history"] li', { timeout: 5000 });
    await page.fill('[data-testid="tts-text"]', '...');
    await page.click('[data-testid="tts-generate"]');
    const err = page.locator('[data-testid="tts-text-error"]');
    await err.filter({ hasText: 'no audio' }).waitFor({ timeout: 30000 });
    assert.match(await err.innerText(), /the text produced no audio/);
    const described = await page.getAttribute('[data-testid="tts-text"]', 'aria-describedby');
    assert.ok(described?.split(' ').includes(await err.getAttribute('id')), 'the text box is described by its error');

    // over the limit (from /health limits.max_text_chars): counted, flagged, not sent
    const limit = await page.evaluate(async () => (await (await fetch('/health')).json()).config.limits.max_text_chars);
    await page.fill('[data-testid="tts-text"]', 'a'.repeat(limit + 1));
    assert.match(await page.innerText('[data-testid="char-count"]'), /over the limit/);
    assert.equal(await page.isDisabled('[data-testid="tts-generate"]'), true);
    await screenshot('tts-studio-error');

    // an upload that is not audio: the server's unsupported_audio message, next to the Transcribe button
    await goto('/transcribe');
    await page.setInputFiles('[data-testid="stt-file"]', { name: 'notes.wav', mimeType: 'audio/wav', buffer: Buffer.from('this is not audio at all') });
    await page.click('[data-testid="stt-transcribe"]');
    await page.locator('[data-testid="stt-error"]').filter({ hasText: 'could not decode' }).waitFor({ timeout: 30000 });
  });

  it('(d) transcribe: an uploaded WAV gives the text, language and timed segments; srt download', { timeout: 90000 }, async () => {
    await goto('/transcribe');
    await page.setInputFiles('[data-testid="stt-file"]', FIXTURE_WAV);
    await page.waitForSelector('[data-testid="stt-source"]');
    await page.click('[data-testid="stt-transcribe"]');
    await page.waitForSelector('[data-testid="stt-text"]', { timeout: 60000 });
    assert.match(await page.innerText('[data-testid="stt-text"]'), /what time is it/i);
    assert.match(await page.innerText('[data-testid="stt-language-detected"]'), /English \(en/);
    const segments = await texts('stt-segment');
    assert.ok(segments.length >= 1);
    assert.match(segments[0], /^\d+:\d\d\.\d → \d+:\d\d\.\d/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="stt-download-srt"]')]);
    assert.equal(download.suggestedFilename(), 'question.srt');
    const srt = fs.readFileSync(await download.path(), 'utf8');
    assert.match(srt, /^1\n00:00:00,000 --> 00:00:0\d,\d{3}\nWhat time is it\?/i);
    await screenshot('transcribe-desktop');

    // record from the microphone (the fake one plays the question again), then transcribe the WAV made in the page
    await page.click('[data-testid="record-button"]');
    await page.waitForSelector('[data-testid="record-button"][aria-pressed="true"]');
    await page.waitForTimeout(4000);
    await page.click('[data-testid="record-button"]');
    await page.waitForSelector('[data-testid="stt-source"]:has-text("recording-")');
    await page.click('[data-testid="stt-transcribe"]');
    await page.waitForFunction(() => /time/i.test(document.querySelector('[data-testid="stt-text"]')?.textContent ?? ''), null, { timeout: 60000 });
  });

  it('(f) status: providers, their health and Redis', { timeout: 30000 }, async () => {
    const health = await (await fetch(`${stack.backendUrl}/health`)).json();
    await goto('/status');
    await page.waitForSelector('[data-testid="providers"] tbody tr', { timeout: 15000 });
    for (const kind of ['tts', 'stt', 'llm']) {
      for (const name of Object.keys(health.providers[kind])) {
        const row = page.locator(`[data-testid="provider-${kind}-${name}"]`);
        assert.equal(await row.count(), 1, `row for ${kind}/${name}`);
      }
    }
    const redis = await page.innerText('[data-testid="redis-state"]');
    assert.match(redis, health.redis.running === false ? /stopped/ : /running|connected/);
    assert.match(redis, new RegExp(health.redis.mode));
    assert.match(await page.innerText('[data-testid="voices-table"]'), /en_US-joe-medium/);
    assert.match(await page.innerText('[data-testid="config"]'), /max_text_chars/);
    await screenshot('status-desktop', { fullPage: true });
    await page.setViewportSize(PHONE);
    for (const route of ['/tts', '/transcribe', '/status']) {
      await goto(route);
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${route}: no horizontal scrolling at 375 px (overflow ${overflow}px)`);
      await screenshot(`${route.slice(1)}-375`, { fullPage: true });
    }
    await page.setViewportSize(DESKTOP);
  });

  it('(j) a dropped socket: visible state, auto-reconnect with backoff and the same session id', { timeout: 150000 }, async () => {
    await goto('/');
    await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30000 });
    const sessionId = await page.innerText('[data-testid="session-id"]');
    await stack.stopBackend();
    await page.waitForSelector('[data-testid="connection-state"][data-state="reconnecting"]', { timeout: 15000 });
    assert.match(await page.innerText('[data-testid="connection-state"]'), /Reconnecting/);
    // a typed turn while disconnected is refused with a message, not lost silently
    await page.fill('[data-testid="chat-input"]', 'Are you there?');
    await page.press('[data-testid="chat-input"]', 'Enter');
    await page.locator('[data-testid="chat-error"]').filter({ hasText: 'Not connected' }).waitFor({ timeout: 5000 });
    await screenshot('voice-chat-reconnecting');
    await stack.restartBackend();
    await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 60000 });
    assert.equal(await page.innerText('[data-testid="session-id"]'), sessionId);
    const count = await page.locator('[data-testid="turn"]').count();
    await page.press('[data-testid="chat-input"]', 'Enter');
    await page.locator('[data-testid="turn"]').nth(count).locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
  });
});

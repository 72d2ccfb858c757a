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

  it('(k) voice chat: talking over the reply (barge-in by voice) stops it at once; the next turn proceeds', { timeout: 150000 }, async () => {
    // a fresh conversation, so that the long reply below is always the same (the LLM runs at temperature 0)
    const oldId = await page.innerText('[data-testid="session-id"]');
    await page.click('[data-testid="new-conversation"]');
    await page.waitForFunction(
      (id) =>
        document.querySelector('[data-testid="session-id"]')?.textContent !== id &&
        document.querySelector('[data-testid="connection-state"]')?.getAttribute('data-state') === 'open',
      oldId,
      { timeout: 30000 },
    );
    assert.equal(await page.locator('[data-testid="turn"]').count(), 0, 'the new conversation starts empty');
    // a typed question with a long spoken answer (~9 s of audio); sent again if the new connection was not up yet
    const long = page.locator('[data-testid="turn"]').nth(0);
    for (let attempt = 0; (await long.count()) === 0; attempt++) {
      assert.ok(attempt < 5, 'the question could be sent on the new connection');
      if (attempt > 0) await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30000 });
      await page.fill('[data-testid="chat-input"]', 'Describe the history of the old city museum in detail.');
      await page.press('[data-testid="chat-input"]', 'Enter');
      await long.waitFor({ timeout: 1000 }).catch(() => undefined);
    }
    await long.locator('[data-testid="user-transcript"]', { hasText: 'museum' }).waitFor({ timeout: 5000 });
    await page.waitForSelector('[data-testid="player-state"][data-playing="true"]', { timeout: REPLY_TIMEOUT });
    const framesBefore = await framesPlayed();

    // in the page: when the Interrupted badge appears (response.interrupted), note the frames rendered then
    // and every 25 ms after, until 1 s has passed or the next reply's audio starts (its audio badge shows),
    // measured in the page so that the test's own latency does not count
    const watch = page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const frames = () => window.__mithi?.framesPlayed ?? 0;
          const found = () => document.querySelector('[data-testid="turn"] .badge-interrupted');
          // (the interrupted reply shows no audio badge: one means the next reply's audio started)
          const nextReplyAudio = () => !!document.querySelector('[data-testid="turn"] .badge-audio');
          const timer = setTimeout(() => reject(new Error('no response.interrupted within 30 s')), 30000);
          const onFound = () => {
            clearTimeout(timer);
            const t0 = performance.now();
            const f0 = frames();
            const samples = [];
            const tick = setInterval(() => {
              const t = performance.now() - t0;
              const next = nextReplyAudio();
              if (!next) samples.push({ t, f: frames(), playing: document.querySelector('[data-testid="player-state"]')?.getAttribute('data-playing') });
              if (next || t >= 1000) {
                clearInterval(tick);
                // frames counted in the last 100 ms before the next reply's badge rendered may be that reply's
                if (next) while (samples.length > 0 && samples[samples.length - 1].t > t - 100) samples.pop();
                resolve({ f0, samples, endedBy: next ? 'next reply' : 'time' });
              }
            }, 25);
          };
          if (found()) return onFound();
          const observer = new MutationObserver(() => {
            if (found()) {
              observer.disconnect();
              onFound();
            }
          });
          observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        }),
    );
    watch.catch(() => undefined); // (awaited below)
    // the user talks over the reply: the microphone starts now and the fake one says "What time is it?"
    await page.click('[data-testid="start-button"]');
    const seen = await watch;
    assert.ok(seen.f0 > framesBefore, `the reply was heard before the interruption (${framesBefore} → ${seen.f0} frames)`);
    // the worklet drops its queue on its next render quantum; its frame count arrives a few ms later
    const settled = seen.samples.filter((x) => x.t >= 150);
    const watchedMs = settled.length > 0 ? settled[settled.length - 1].t - settled[0].t : 0;
    assert.ok(watchedMs >= 200, `the frames were watched long enough after the interruption (${Math.round(watchedMs)} ms, ended by ${seen.endedBy})`);
    const after = settled[0].f - seen.f0;
    assert.ok(after < 4800, `at most a few render quanta after response.interrupted (${after} frames)`);
    assert.deepEqual(new Set(settled.map((x) => x.f)).size, 1, `no reply audio is rendered after the interruption: ${JSON.stringify(settled)}`);
    assert.ok(settled.every((x) => x.playing === 'false'), 'the player shows it stopped');
    assert.equal(await long.locator('.badge-interrupted').count(), 1, 'the long reply is marked Interrupted');

    // the words said over the reply are the next turn, which gets its own (heard) reply
    const next = page.locator('[data-testid="turn"]').nth(1);
    await next.locator('[data-testid="user-transcript"]', { hasText: /time/i }).waitFor({ timeout: REPLY_TIMEOUT });
    await next.locator('[data-testid="latency"]').waitFor({ timeout: REPLY_TIMEOUT });
    assert.ok((await next.locator('[data-testid="bot-text"]').innerText()).trim().length > 0, 'a reply to the next turn');
    assert.equal(await next.locator('.badge-interrupted').count(), 0);
    await page.waitForFunction((f) => (window.__mithi?.framesPlayed ?? 0) > f, settled[settled.length - 1].f, { timeout: 30000 });
    await page.waitForSelector('[data-testid="player-state"][data-playing="false"]', { timeout: 30000 });
    console.log(`# barge-in by voice: ${seen.f0 - framesBefore} frames of the long reply heard, ${after} after response.interrupted, none in the ${Math.round(watchedMs)} ms after that (ended by ${seen.endedBy})`);
    await page.click('[data-testid="start-button"]'); // stop the microphone
    await page.waitForSelector('[data-testid="start-button"][aria-pressed="false"]');
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

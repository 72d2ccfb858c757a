// The language pickers (TTS studio, voice chat) against the real backend, in Debian's Chromium: every
// language by its native name, what speaks it (the badges match GET /api/languages), a disabled language
// unavailable, the voices filtered by the choice (mouse and keyboard), and every native name drawn with
// real glyphs of a real font, not tofu (fonts-noto-core; see "the font check" in frontend/README.md).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SCREENSHOTS, launchBrowser, readLog, startStack } from './harness.mjs';

const NATIVE = {
  en: 'English',
  hi: 'हिन्दी',
  ml: 'മലയാളം',
  mr: 'मराठी',
  ta: 'தமிழ்',
  te: 'తెలుగు',
  bn: 'বাংলা',
  gu: 'ગુજરાતી',
};
const ENGLISH = { hi: 'Hindi', ml: 'Malayalam', mr: 'Marathi', ta: 'Tamil', te: 'Telugu', bn: 'Bengali', gu: 'Gujarati' };
const BADGE = { neural: 'Neural', espeak: 'eSpeak', cloud: 'Cloud', none: 'No voice' };

let stack;
let browser;
let page;
let failed = false;
let languages;

function it(name, options, fn) {
  test(name, options, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page?.screenshot({ path: path.join(SCREENSHOTS, `failure-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`) }).catch(() => undefined);
      throw err;
    }
  });
}

async function optionsOf(picker) {
  return page.locator(`[data-testid="${picker}"] [data-testid="language-option"]`).evaluateAll((labels) =>
    labels.map((l) => ({
      code: l.dataset.code,
      native: l.querySelector('[data-testid="language-native"]')?.textContent ?? '',
      nativeLang: l.querySelector('[data-testid="language-native"]')?.getAttribute('lang') ?? '',
      english: l.querySelector('[data-testid="language-english"]')?.textContent ?? null,
      badge: l.querySelector('[data-testid="language-badge"]')?.textContent ?? '',
      disabled: l.querySelector('input').disabled,
    })),
  );
}

async function voiceIds(select) {
  return page.locator(`${select} option`).evaluateAll((opts) => opts.map((o) => o.value));
}

/**
 * The font check, in the page: each letter of each native name is drawn alone on a canvas with the
 * element's own computed font, and its pixels are compared with those of U+10FFFD (a private-use code
 * point no font has). When no font has a glyph, Chromium draws the .notdef glyph ("tofu") for it, the
 * same for every missing character, so a letter whose pixels equal the reference (or that draws
 * nothing) has no glyph. Combining signs (\p{M}) are left out: alone they need no glyph of their own.
 */
async function tofuReport(picker) {
  return page.locator(`[data-testid="${picker}"] [data-testid="language-native"]`).evaluateAll((els) => {
    const size = 48;
    const canvas = document.createElement('canvas');
    canvas.width = size * 2;
    canvas.height = size * 2;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const draw = (font, text) => {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.font = font;
      ctx.textBaseline = 'middle';
      ctx.fillStyle = '#000';
      ctx.fillText(text, size / 2, size);
      return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    };
    const inked = (px) => px.some((v, i) => i % 4 === 3 && v > 0);
    const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
    return els.map((el) => {
      const style = getComputedStyle(el);
      const font = `${style.fontWeight} ${size}px ${style.fontFamily}`;
      const tofu = draw(font, String.fromCodePoint(0x10fffd));
      const letters = [...(el.textContent ?? '')].filter((c) => /\p{L}/u.test(c));
      const missing = letters.filter((c) => {
        const px = draw(font, c);
        return !inked(px) || same(px, tofu);
      });
      return { lang: el.lang, text: el.textContent, font: style.fontFamily, letters: letters.length, missing };
    });
  });
}

/** The fonts Chromium really drew each native name with (DevTools: CSS.getPlatformFontsForNode). */
async function platformFonts(picker) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: `[data-testid="${picker}"] [data-testid="language-native"]` });
    const out = {};
    for (const nodeId of nodeIds) {
      const { node } = await cdp.send('DOM.describeNode', { nodeId });
      const lang = node.attributes[node.attributes.indexOf('lang') + 1];
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      out[lang] = fonts.map((f) => `${f.familyName} (${f.glyphCount})`);
    }
    return out;
  } finally {
    await cdp.detach();
  }
}

describe('language pickers', { timeout: 240000 }, () => {
  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['microphone'] });
    page = await context.newPage();
    languages = await (await fetch(`${stack.backendUrl}/api/languages`)).json();
  });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      await stack?.stop();
    }
    if (stack && failed) console.log(`# the backend's data and logs are kept in ${stack.tmp}; its last log:\n${readLog(stack.backend, 3000).replace(/^/gm, '#   ')}`);
    else if (stack && !process.env.MITHI_E2E_KEEP) fs.rmSync(stack.tmp, { recursive: true, force: true });
  });

  it('TTS studio lists every language by its native name, with what speaks it; Nepali is unavailable', async () => {
    await page.goto(`${stack.baseUrl}/tts`);
    await page.waitForSelector('[data-testid="tts-language-picker"] [data-testid="language-option"]');
    const options = await optionsOf('tts-language-picker');
    assert.deepEqual(
      options.map((o) => o.code),
      languages.map((l) => l.code),
    );
    for (const [code, native] of Object.entries(NATIVE)) {
      const o = options.find((x) => x.code === code);
      assert.ok(o, `${code} is listed`);
      assert.equal(o.native, native);
      assert.equal(o.nativeLang, code, 'the native name is tagged with its language');
      assert.equal(o.english, ENGLISH[code] ?? null);
      assert.equal(o.disabled, false, `${code} is enabled`);
      assert.equal(o.badge, BADGE[languages.find((l) => l.code === code).tts_kind]);
    }
    // the bundled models: Joe (Piper) speaks English, eSpeak NG every other language
    assert.equal(options[0].badge, 'Neural');
    assert.ok(options.filter((o) => NATIVE[o.code] && o.code !== 'en').every((o) => o.badge === 'eSpeak'));
    const ne = options.find((o) => o.code === 'ne');
    assert.deepEqual([ne.native, ne.badge, ne.disabled], ['नेपाली', 'Unavailable', true]);
    const group = page.getByRole('group', { name: 'Language' });
    assert.equal(await group.getByRole('radio').count(), options.length + 1, 'one radio per language, plus "All languages"');
    assert.ok(await group.getByRole('radio', { name: /हिन्दी\s*Hindi/ }).isEnabled());
    assert.equal(await group.getByRole('radio', { name: /Nepali/ }).isDisabled(), true);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.locator('[data-testid="tts-language-picker"]').screenshot({ path: path.join(SCREENSHOTS, 'language-picker.png') });
  });

  it('every native name is drawn with real glyphs (no tofu), from the Noto fonts', async () => {
    const report = await tofuReport('tts-language-picker');
    const fonts = await platformFonts('tts-language-picker');
    console.log(`# fonts used: ${JSON.stringify(fonts)}`);
    assert.equal(report.length, 9);
    for (const r of report) {
      assert.ok(r.letters > 0, `${r.lang}: letters to check in ${r.text}`);
      assert.deepEqual(r.missing, [], `${r.lang} "${r.text}": no glyph for ${r.missing.join(' ')} (tofu) in ${r.font}; fonts used: ${fonts[r.lang]}`);
    }
    for (const code of Object.keys(NATIVE).filter((c) => c !== 'en')) {
      assert.ok(
        fonts[code].length > 0 && fonts[code].every((f) => f.startsWith('Noto Sans')),
        `${code}: drawn with ${fonts[code]} (want a Noto Sans family: apt-get install fonts-noto-core)`,
      );
    }
  });

  it('choosing a language filters the voices, with the mouse and the keyboard', async () => {
    const all = await voiceIds('#tts-voice');
    assert.ok(all.includes('espeak-hi') && all.includes('en_US-joe-medium'));
    await page.getByRole('radio', { name: /हिन्दी/ }).check();
    assert.deepEqual(await voiceIds('#tts-voice'), ['', 'espeak-hi']);
    await page.getByRole('radio', { name: /हिन्दी/ }).press('ArrowRight'); // the next radio of the group
    assert.equal(await page.getByRole('radio', { name: /മലയാളം/ }).isChecked(), true);
    assert.deepEqual(await voiceIds('#tts-voice'), ['', 'espeak-ml']);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getByRole('radio', { name: /^English/ }).isChecked(), true);
    const english = await voiceIds('#tts-voice');
    assert.ok(english.includes('en_US-joe-medium') && english.includes('espeak-en') && !english.includes('espeak-hi'));
    // and the request is spoken in the language chosen
    await page.getByRole('radio', { name: /தமிழ்/ }).check();
    await page.fill('[data-testid="tts-text"]', 'வணக்கம்');
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/tts/generate')), page.click('[data-testid="tts-generate"]')]);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['x-voice-id'], 'espeak-ta');
  });

  it('the voice chat has the same picker, with what hears each language', async () => {
    await page.goto(`${stack.baseUrl}/`);
    await page.waitForSelector('[data-testid="voice-language-picker"] [data-testid="language-option"]');
    const options = await optionsOf('voice-language-picker');
    assert.deepEqual(
      options.filter((o) => NATIVE[o.code]).map((o) => [o.code, o.native]),
      Object.entries(NATIVE),
    );
    const stt = await page.locator('[data-testid="voice-language-picker"] [data-testid="language-option"][data-code="hi"] .kind-stt-local').count();
    assert.equal(stt, 1, 'Hindi is heard by Whisper on this server');
    await page.getByRole('radio', { name: /ગુજરાતી/ }).check();
    assert.deepEqual(await voiceIds('[data-testid="voice-select"]'), ['', 'espeak-gu']);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'language-picker-voice.png'), fullPage: true });
    const report = await tofuReport('voice-language-picker');
    assert.deepEqual(
      report.filter((r) => r.missing.length > 0),
      [],
    );
  });
});

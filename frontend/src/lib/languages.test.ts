import { describe, expect, it } from 'vitest';
import type { Language } from '../api';
import { languageChoices } from './languages';

function lang(code: string, name: string, native: string, more: Partial<Language> = {}): Language {
  return {
    code,
    name,
    native_name: native,
    enabled: true,
    voices_installed: 1,
    voices_available: 1,
    default_voice: `espeak-${code}`,
    stt_supported: true,
    tts_kind: 'espeak',
    stt_kind: 'local',
    ...more,
  };
}

// what GET /api/languages answers with the bundled models (Joe for English, eSpeak NG for the rest)
const LANGUAGES: Language[] = [
  lang('en', 'English', 'English', { tts_kind: 'neural', default_voice: 'en_US-joe-medium' }),
  lang('hi', 'Hindi', 'हिन्दी'),
  lang('ml', 'Malayalam', 'മലയാളം', { tts_kind: 'cloud', stt_kind: 'cloud' }),
  lang('ta', 'Tamil', 'தமிழ்', { stt_kind: 'none', stt_supported: false }),
  lang('ne', 'Nepali', 'नेपाली', { enabled: false, default_voice: null, tts_kind: 'none', stt_kind: 'none' }),
];

describe('languageChoices', () => {
  it('lists every language in the server order, native name first, English name when it differs', () => {
    const choices = languageChoices(LANGUAGES);
    expect(choices.map((c) => [c.code, c.nativeName, c.englishName])).toEqual([
      ['en', 'English', null],
      ['hi', 'हिन्दी', 'Hindi'],
      ['ml', 'മലയാളം', 'Malayalam'],
      ['ta', 'தமிழ்', 'Tamil'],
      ['ne', 'नेपाली', 'Nepali'],
    ]);
  });

  it('badges what speaks each language now', () => {
    const badges = Object.fromEntries(languageChoices(LANGUAGES).map((c) => [c.code, c.badge]));
    expect(badges).toEqual({ en: 'Neural', hi: 'eSpeak', ml: 'Cloud', ta: 'eSpeak', ne: 'Unavailable' });
    expect(languageChoices([lang('gu', 'Gujarati', 'ગુજરાતી', { tts_kind: 'none' })])[0]?.badge).toBe('No voice');
  });

  it('keeps a disabled language, unavailable, whatever the server said it gets', () => {
    const [ne] = languageChoices([lang('ne', 'Nepali', 'नेपाली', { enabled: false, tts_kind: 'neural', stt_kind: 'local' })]);
    expect(ne).toMatchObject({ unavailable: true, tts: 'none', stt: 'none', badge: 'Unavailable' });
    expect(ne?.description).toBe('Nepali: not enabled on this server.');
  });

  it('describes speech and recognition in one sentence', () => {
    const byCode = Object.fromEntries(languageChoices(LANGUAGES).map((c) => [c.code, c.description]));
    expect(byCode.en).toBe('English: spoken by a neural voice on this server; heard by Whisper on this server.');
    expect(byCode.ml).toBe('Malayalam: spoken by a cloud voice; heard by a cloud speech-to-text service.');
    expect(byCode.ta).toMatch(/eSpeak NG.*not recognised from speech/);
  });

  it('filters, and falls back to the English name when the native one is empty', () => {
    expect(languageChoices(LANGUAGES, (l) => l.stt_supported).map((c) => c.code)).toEqual(['en', 'hi', 'ml', 'ne']);
    const [xx] = languageChoices([lang('xx', 'Other', ' ')]);
    expect(xx).toMatchObject({ nativeName: 'Other', englishName: null });
  });
});

import { describe, expect, it } from 'vitest';
import type { Voice } from '../api';
import { licenceNote, voiceLabel } from './Pickers';

const voice = (over: Partial<Voice>): Voice => ({
  id: 'en_US-lessac-medium',
  name: 'Lessac',
  language: 'en',
  locale: 'en_US',
  gender: 'female',
  engine: 'piper',
  quality: 'medium',
  sample_rate: 22050,
  license: 'Blizzard 2013 Lessac research licence',
  commercial_use: false,
  source: 'hf:rhasspy/piper-voices',
  installed: true,
  available: true,
  ...over,
});

describe('voice licences', () => {
  it('flags a non-commercial voice in its label and its note', () => {
    expect(voiceLabel(voice({}))).toBe('Lessac (female, medium, piper, non-commercial)');
    expect(licenceNote(voice({}))).toBe('Non-commercial licence: Blizzard 2013 Lessac research licence');
  });
  it('says when a licence is not verified, and plainly when it allows commercial use', () => {
    expect(licenceNote(voice({ commercial_use: null, license: 'IITM IndicTTS terms' }))).toBe(
      'Licence not verified (IITM IndicTTS terms): check it before commercial use',
    );
    const joe = voice({ name: 'Joe', gender: 'male', commercial_use: true, license: 'CC0-1.0' });
    expect(voiceLabel(joe)).toBe('Joe (male, medium, piper)');
    expect(licenceNote(joe)).toBe('Licence: CC0-1.0');
  });
});

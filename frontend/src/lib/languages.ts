// What the language pickers show for each language: its native name first, the English name, and what
// speaks and hears it now (GET /api/languages: `tts_kind`, `stt_kind`). Pure, so it is unit-tested.
import type { Language, SttKind, TtsKind } from '../api';

export interface LanguageChoice {
  code: string;
  /** the name in its own script, e.g. हिन्दी */
  nativeName: string;
  /** the English name, or null when it is the native name (English) */
  englishName: string | null;
  /** not in the server's `languages`: shown, but cannot be chosen */
  unavailable: boolean;
  tts: TtsKind;
  stt: SttKind;
  /** the badge: Neural, eSpeak, Cloud, No voice, or Unavailable */
  badge: string;
  /** one sentence for screen readers and the tooltip */
  description: string;
}

export const TTS_KIND_LABEL: Record<TtsKind, string> = {
  neural: 'Neural',
  espeak: 'eSpeak',
  cloud: 'Cloud',
  none: 'No voice',
};

const TTS_KIND_SENTENCE: Record<TtsKind, string> = {
  neural: 'spoken by a neural voice on this server',
  espeak: 'spoken by eSpeak NG (robotic, no neural voice installed)',
  cloud: 'spoken by a cloud voice',
  none: 'no voice speaks it',
};

export const STT_KIND_LABEL: Record<SttKind, string> = {
  local: 'STT local',
  cloud: 'STT cloud',
  none: 'No STT',
};

const STT_KIND_SENTENCE: Record<SttKind, string> = {
  local: 'heard by Whisper on this server',
  cloud: 'heard by a cloud speech-to-text service',
  none: 'not recognised from speech',
};

/** One choice per language, in the server's order (en, hi, ml, …); a disabled language stays, unavailable. */
export function languageChoices(languages: Language[], filter?: (l: Language) => boolean): LanguageChoice[] {
  return languages
    .filter((l) => !filter || filter(l))
    .map((l) => {
      const unavailable = !l.enabled;
      const tts = unavailable ? 'none' : l.tts_kind;
      const stt = unavailable ? 'none' : l.stt_kind;
      const name = l.native_name.trim() || l.name;
      return {
        code: l.code,
        nativeName: name,
        englishName: name === l.name ? null : l.name,
        unavailable,
        tts,
        stt,
        badge: unavailable ? 'Unavailable' : TTS_KIND_LABEL[tts],
        description: unavailable
          ? `${l.name}: not enabled on this server.`
          : `${l.name}: ${TTS_KIND_SENTENCE[tts]}; ${STT_KIND_SENTENCE[stt]}.`,
      };
    });
}


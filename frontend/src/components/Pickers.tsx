import type { Language, Voice } from '../api';
import { languageChoices, STT_KIND_LABEL } from '../lib/languages';

export function voiceLabel(v: Voice): string {
  const bits = [v.gender, v.quality, v.engine, v.commercial_use === false ? 'non-commercial' : null].filter(Boolean).join(', ');
  return `${v.name} (${bits})`;
}

/** The voice's licence, said plainly: flagged when it forbids commercial use or is unverified. */
export function licenceNote(v: Voice): string {
  if (v.commercial_use === false) return `Non-commercial licence: ${v.license}`;
  if (v.commercial_use === null) return `Licence not verified (${v.license}): check it before commercial use`;
  return `Licence: ${v.license}`;
}

interface LanguageSelectProps {
  id: string;
  label: string;
  languages: Language[];
  value: string;
  onChange: (code: string) => void;
  /** the first option: "auto" (detect) or "" (all) */
  anyOption?: { value: string; label: string };
  filter?: (l: Language) => boolean;
  disabled?: boolean;
  describedBy?: string;
}

export function LanguageSelect({ id, label, languages, value, onChange, anyOption, filter, disabled, describedBy }: LanguageSelectProps) {
  const shown = languages.filter((l) => l.enabled && (!filter || filter(l)));
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} aria-describedby={describedBy}>
        {anyOption && <option value={anyOption.value}>{anyOption.label}</option>}
        {shown.map((l) => (
          <option key={l.code} value={l.code}>
            {l.name}
            {l.native_name !== l.name ? ` · ${l.native_name}` : ''}
          </option>
        ))}
      </select>
    </div>
  );
}

interface LanguagePickerProps {
  id: string;
  label: string;
  languages: Language[];
  value: string;
  onChange: (code: string) => void;
  /** the first choice: "auto" (detect) or "" (all languages) */
  anyOption: { value: string; label: string };
  /** also say what hears each language (the voice chat) */
  showStt?: boolean;
  disabled?: boolean;
  describedBy?: string;
}

/**
 * Every known language as a radio button: its native name (in its own script, `lang` set), the English
 * name and a badge saying what speaks it now (Neural, eSpeak, Cloud); a language the server does not
 * enable is listed, disabled, as Unavailable. Arrow keys move between the choices (native radio group).
 */
export function LanguagePicker({ id, label, languages, value, onChange, anyOption, showStt, disabled, describedBy }: LanguagePickerProps) {
  const choices = languageChoices(languages);
  return (
    <fieldset className="field language-picker" id={id} disabled={disabled} aria-describedby={describedBy} data-testid={`${id}-picker`}>
      <legend>{label}</legend>
      <div className="lang-grid">
        <label className="lang-option lang-any">
          <input type="radio" name={id} value={anyOption.value} checked={value === anyOption.value} onChange={() => onChange(anyOption.value)} />
          <span className="lang-native">{anyOption.label}</span>
        </label>
        {choices.map((c) => (
          <label key={c.code} className={`lang-option${c.unavailable ? ' is-unavailable' : ''}`} title={c.description} data-testid="language-option" data-code={c.code} data-tts={c.tts}>
            <input type="radio" name={id} value={c.code} checked={value === c.code} disabled={c.unavailable} onChange={() => onChange(c.code)} aria-describedby={`${id}-${c.code}-desc`} />
            <span className="lang-native" lang={c.code} data-testid="language-native">
              {c.nativeName}
            </span>
            {c.englishName && (
              <span className="lang-english" lang="en" data-testid="language-english">
                {c.englishName}
              </span>
            )}
            <span className="lang-badges" aria-hidden="true">
              <span className={`kind kind-${c.unavailable ? 'unavailable' : c.tts}`} data-testid="language-badge">
                {c.badge}
              </span>
              {showStt && !c.unavailable && <span className={`kind kind-stt-${c.stt}`}>{STT_KIND_LABEL[c.stt]}</span>}
            </span>
            <span id={`${id}-${c.code}-desc`} className="visually-hidden" aria-hidden="true">
              {c.description}
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

interface VoiceSelectProps {
  id: string;
  label: string;
  voices: Voice[];
  languages: Language[];
  value: string;
  onChange: (id: string) => void;
  defaultLabel: string;
  disabled?: boolean;
  describedBy?: string;
  testId?: string;
}

/** Voices grouped by language; "" = the language's default voice. */
export function VoiceSelect({ id, label, voices, languages, value, onChange, defaultLabel, disabled, describedBy, testId }: VoiceSelectProps) {
  const groups = new Map<string, Voice[]>();
  for (const v of voices) groups.set(v.language, [...(groups.get(v.language) ?? []), v]);
  const name = (code: string) => languages.find((l) => l.code === code)?.name ?? code;
  const selected = voices.find((v) => v.id === value);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} aria-describedby={describedBy} data-testid={testId}>
        <option value="">{defaultLabel}</option>
        {[...groups.entries()].map(([lang, vs]) => (
          <optgroup key={lang} label={name(lang)}>
            {vs.map((v) => (
              <option key={v.id} value={v.id}>
                {voiceLabel(v)}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      {selected && (
        <p className={`small ${selected.commercial_use === false ? 'warn-text' : 'muted'}`} data-testid={testId ? `${testId}-licence` : undefined}>
          {licenceNote(selected)}
        </p>
      )}
    </div>
  );
}

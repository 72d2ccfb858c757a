import type { Language, Voice } from '../api';

export function voiceLabel(v: Voice): string {
  const bits = [v.gender, v.quality, v.engine].filter(Boolean).join(', ');
  return `${v.name} (${bits})`;
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
    </div>
  );
}

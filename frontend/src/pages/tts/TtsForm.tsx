import type { FormEvent } from 'react';
import type { TtsFormat } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { LanguagePicker, VoiceSelect } from '../../components/Pickers';
import type { PlayerStats } from '../../hooks/useAudioPlayer';
import { usableVoices, type Catalog } from '../../hooks/useCatalog';
import type { TtsField, TtsPhase } from '../../hooks/useTtsGeneration';
import { SpeedFormatRow } from './SpeedFormatRow';

export interface TtsFormValues {
  text: string;
  language: string;
  voiceId: string;
  speed: number;
  format: TtsFormat;
}

interface Props {
  catalog: Catalog;
  values: TtsFormValues;
  onChange(patch: Partial<TtsFormValues>): void;
  phase: TtsPhase;
  errorFor(field: TtsField): string | null;
  playerStats: PlayerStats;
  playerError: string | null;
  onGenerate(): void;
  onStop(): void;
}

function generateLabel(phase: TtsPhase, format: TtsFormat): string {
  if (phase === 'waiting') return 'Synthesizing…';
  if (phase === 'streaming') return 'Streaming…';
  if (phase === 'encoding') return `Encoding ${format.toUpperCase()}…`;
  return 'Generate';
}

export function TtsForm({ catalog, values, onChange, phase, errorFor, playerStats, playerError, onGenerate, onStop }: Props) {
  const { limits } = catalog;
  const { text, language, voiceId, speed, format } = values;
  const voices = usableVoices(catalog.voices, language || null);
  const chars = text.trim().length;
  const over = chars > limits.max_text_chars;
  const busy = phase !== 'idle';

  const submit = (e: FormEvent) => {
    e.preventDefault();
    onGenerate();
  };

  return (
    <form className="panel tts-form" onSubmit={submit} noValidate>
      <div className="field">
        <div className="label-row">
          <label htmlFor="tts-text">Text</label>
          <span id="tts-count" className={`counter${over ? ' is-over' : ''}`} data-testid="char-count">
            {chars.toLocaleString()} / {limits.max_text_chars.toLocaleString()}
            {over ? ' — over the limit' : ''}
          </span>
        </div>
        <textarea
          id="tts-text"
          rows={7}
          value={text}
          onChange={(e) => onChange({ text: e.target.value })}
          aria-describedby="tts-count tts-text-error"
          aria-invalid={over || !!errorFor('text') || undefined}
          data-testid="tts-text"
        />
        <ErrorMessage id="tts-text-error" message={over ? `The text is ${chars - limits.max_text_chars} characters over the limit of ${limits.max_text_chars}.` : errorFor('text')} testId="tts-text-error" />
      </div>

      <LanguagePicker
        id="tts-language"
        label="Language"
        languages={catalog.languages}
        value={language}
        onChange={(code) => {
          const keep = !voiceId || catalog.voices.some((v) => v.id === voiceId && (!code || v.language === code));
          onChange(keep ? { language: code } : { language: code, voiceId: '' });
        }}
        anyOption={{ value: '', label: 'All languages' }}
        describedBy="tts-language-error"
      />
      <ErrorMessage id="tts-language-error" message={errorFor('language') ?? catalog.error} />
      <div className="row">
        <VoiceSelect
          id="tts-voice"
          label="Voice"
          voices={voices}
          languages={catalog.languages}
          value={voiceId}
          onChange={(id) => onChange({ voiceId: id })}
          defaultLabel={language ? 'Default voice for the language' : 'Default voice'}
          describedBy="tts-voice-error"
          testId="tts-voice"
        />
      </div>
      <ErrorMessage id="tts-voice-error" message={errorFor('voice')} testId="tts-voice-error" />

      <SpeedFormatRow limits={limits} speed={speed} format={format} onChange={onChange} errorFor={errorFor} />

      <div className="actions">
        <button type="submit" className="button primary" disabled={busy || over || chars === 0} aria-describedby="tts-general-error" data-testid="tts-generate">
          {generateLabel(phase, format)}
        </button>
        {(busy || playerStats.playing) && (
          <button type="button" className="button secondary" onClick={onStop} data-testid="tts-stop">
            Stop
          </button>
        )}
        <span className="player-state" data-testid="player-state" data-frames-played={playerStats.framesPlayed} data-playing={playerStats.playing ? 'true' : 'false'}>
          <span className={`speaker-dot quiet${playerStats.playing ? ' is-on' : ''}`} aria-hidden="true" />
          {playerStats.playing ? 'Playing' : ''}
        </span>
      </div>
      <ErrorMessage id="tts-general-error" message={errorFor('general') ?? playerError} testId="tts-error" />
    </form>
  );
}

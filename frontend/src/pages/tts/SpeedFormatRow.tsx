import { TTS_FORMATS, type Limits, type TtsFormat } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import type { TtsField } from '../../hooks/useTtsGeneration';

const FORMAT_LABEL: Record<TtsFormat, string> = {
  wav: 'WAV (PCM 16-bit)',
  mp3: 'MP3',
  flac: 'FLAC',
  opus: 'Opus (Ogg)',
  aac: 'AAC',
  pcm: 'Raw PCM 16-bit',
};

interface Props {
  limits: Limits;
  speed: number;
  format: TtsFormat;
  onChange(patch: { speed?: number; format?: TtsFormat }): void;
  errorFor(field: TtsField): string | null;
}

/** The speed slider and the download format of the TTS studio. */
export function SpeedFormatRow({ limits, speed, format, onChange, errorFor }: Props) {
  return (
    <div className="row">
      <div className="field">
        <div className="label-row">
          <label htmlFor="tts-speed">Speed</label>
          <output htmlFor="tts-speed" className="counter">
            {speed.toFixed(2)}×
          </output>
        </div>
        <input
          id="tts-speed"
          type="range"
          min={limits.min_speed}
          max={limits.max_speed}
          step={0.05}
          value={speed}
          onChange={(e) => onChange({ speed: Number(e.target.value) })}
          aria-describedby="tts-speed-error"
          aria-valuetext={`${speed.toFixed(2)} times`}
        />
        <ErrorMessage id="tts-speed-error" message={errorFor('speed')} />
      </div>
      <div className="field">
        <label htmlFor="tts-format">Download format</label>
        <select id="tts-format" value={format} onChange={(e) => onChange({ format: e.target.value as TtsFormat })} aria-describedby="tts-format-error" data-testid="tts-format">
          {TTS_FORMATS.map((f) => (
            <option key={f} value={f}>
              {FORMAT_LABEL[f]}
            </option>
          ))}
        </select>
        <ErrorMessage id="tts-format-error" message={errorFor('format')} />
      </div>
    </div>
  );
}

import { useState } from 'react';
import { ErrorMessage } from '../components/ErrorMessage';
import { LanguageSelect } from '../components/Pickers';
import { useCatalog } from '../hooks/useCatalog';
import { useRecorder } from '../hooks/useRecorder';
import { useTranscription } from '../hooks/useTranscription';
import { Dropzone } from './transcribe/Dropzone';
import { RecordControl } from './transcribe/RecordControl';
import { SourcePreview } from './transcribe/SourcePreview';
import { TranscriptPanel } from './transcribe/TranscriptPanel';

const RATE = 16000;

export function TranscribePage() {
  const catalog = useCatalog();
  const [language, setLanguage] = useState('auto');
  const stt = useTranscription(catalog.limits.max_upload_mb);
  const recorder = useRecorder(RATE);

  const startRecording = () => {
    stt.setError(null);
    void recorder.start();
  };

  const stopRecording = () => {
    const samples = recorder.stop();
    if (samples) stt.takeRecording(samples, RATE);
    else stt.setError('The recording is too short.');
  };

  const langName = (code: string) => catalog.languages.find((l) => l.code === code)?.name ?? code;

  return (
    <section className="page transcribe-page" aria-labelledby="stt-title">
      <div className="page-head">
        <h1 id="stt-title">Transcribe</h1>
        <span className="muted small">Speech to text with Whisper, on this server</span>
      </div>
      <div className="transcribe-layout">
        <div className="panel">
          <h2>Audio</h2>
          <Dropzone maxUploadMb={catalog.limits.max_upload_mb} onFile={stt.chooseFile} />
          <RecordControl recorder={recorder} onStart={startRecording} onStop={stopRecording} />
          {stt.source && stt.sourceUrl && <SourcePreview source={stt.source} url={stt.sourceUrl} />}

          <div className="row">
            <LanguageSelect
              id="stt-language"
              label="Spoken language"
              languages={catalog.languages}
              value={language}
              onChange={setLanguage}
              anyOption={{ value: 'auto', label: 'Detect automatically' }}
              filter={(l) => l.stt_supported}
            />
          </div>
          <div className="actions">
            <button
              type="button"
              className="button primary"
              onClick={() => void stt.transcribe(language)}
              disabled={!stt.source || stt.busy}
              aria-describedby="stt-error"
              data-testid="stt-transcribe"
            >
              {stt.busy ? 'Transcribing…' : 'Transcribe'}
            </button>
            {stt.busy && (
              <button type="button" className="button secondary" onClick={stt.cancel}>
                Cancel
              </button>
            )}
          </div>
          <ErrorMessage id="stt-error" message={stt.error} testId="stt-error" />
        </div>

        <TranscriptPanel result={stt.result} busy={stt.busy} language={language} languageName={langName} sourceName={stt.source?.name ?? null} />
      </div>
    </section>
  );
}

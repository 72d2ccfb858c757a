import { ErrorMessage } from '../../components/ErrorMessage';
import { LanguagePicker, VoiceSelect } from '../../components/Pickers';
import { usableVoices, type Catalog } from '../../hooks/useCatalog';

interface Props {
  catalog: Catalog;
  language: string;
  voice: string;
  onLanguageChange(code: string): void;
  onVoiceChange(id: string): void;
  error: string | null;
  sessionId: string;
  onNewConversation(): void;
}

/** Language and voice of the conversation, and the conversation's id. */
export function SettingsPanel({ catalog, language, voice, onLanguageChange, onVoiceChange, error, sessionId, onNewConversation }: Props) {
  return (
    <aside className="panel settings-panel" aria-label="Conversation settings">
      <div className="pickers">
        <LanguagePicker
          id="voice-language"
          label="Language"
          languages={catalog.languages}
          value={language}
          onChange={onLanguageChange}
          anyOption={{ value: 'auto', label: 'Detect automatically' }}
          showStt
          describedBy="settings-error"
        />
        <VoiceSelect
          id="voice-voice"
          label="Voice"
          voices={usableVoices(catalog.voices, language)}
          languages={catalog.languages}
          value={voice}
          onChange={onVoiceChange}
          defaultLabel="Default for the language"
          describedBy="settings-error"
          testId="voice-select"
        />
        <ErrorMessage id="settings-error" message={error ?? catalog.error} testId="settings-error" />
      </div>

      <div className="session-box">
        <div className="muted small">
          Conversation <code title={sessionId} data-testid="session-id">{sessionId}</code>
        </div>
        <p className="muted small">Mithi remembers this conversation, also after a reload.</p>
        <button type="button" className="button secondary" onClick={onNewConversation} data-testid="new-conversation">
          New conversation
        </button>
      </div>
    </aside>
  );
}

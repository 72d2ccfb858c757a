import { useCallback, useState } from 'react';
import { useCatalog } from '../hooks/useCatalog';
import { useMicrophone } from '../hooks/useMicrophone';
import { usePushToTalk } from '../hooks/usePushToTalk';
import { useSessionId, useStoredState } from '../hooks/useSessionId';
import { useVoiceConversation } from '../hooks/useVoiceConversation';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { floatToPcm16Bytes } from '../lib/pcm';
import { KEYS } from '../lib/storage';
import { ChatForm } from './voice/ChatForm';
import { ConversationPanel } from './voice/ConversationPanel';
import { SettingsPanel } from './voice/SettingsPanel';
import { TalkPanel, type Mode } from './voice/TalkPanel';

const SETTINGS_ERRORS = new Set(['unknown_voice', 'voice_language_mismatch', 'unsupported_language', 'invalid_speed', 'no_voice_for_language']);
const TEXT_ERRORS = new Set(['empty_text', 'text_too_long']);

export function VoiceChatPage() {
  const catalog = useCatalog();
  const [sessionId, renewSession] = useSessionId();
  const [language, setLanguage] = useStoredState(KEYS.language, 'auto');
  const [voice, setVoice] = useStoredState(KEYS.voice, '');
  const [storedMode, setMode] = useStoredState(KEYS.mode, 'handsfree');
  const mode: Mode = storedMode === 'ptt' ? 'ptt' : 'handsfree';
  const [active, setActive] = useState(false);
  const chat = useVoiceConversation({ sessionId, language: language === 'auto' ? null : language, voice, ptt: mode === 'ptt' });
  const { state, dispatch, player, socket } = chat;

  const ptt = usePushToTalk({
    enabled: mode === 'ptt',
    onPress: () => {
      chat.interrupt(); // talking over the bot stops it
      if (mic.state !== 'on') {
        void player.start().catch(() => undefined);
        void mic.start().then((ok) => setActive(ok));
      }
    },
    onCommit: () => socket.send({ type: 'input_audio.commit' }),
  });
  const { isOpen } = ptt;

  const mic = useMicrophone(
    useCallback(
      (samples: Float32Array) => {
        if (mode === 'ptt' && !isOpen()) return;
        socket.sendAudio(floatToPcm16Bytes(samples));
      },
      [socket.sendAudio, mode, isOpen],
    ),
  );

  const startConversation = async () => {
    void player.start().catch(() => undefined);
    const ok = await mic.start();
    setActive(ok);
  };

  const stopConversation = () => {
    mic.stop();
    setActive(false);
    ptt.release();
  };

  const changeLanguage = (code: string) => {
    setLanguage(code);
    const keep = voice && catalog.voices.some((v) => v.id === voice && (code === 'auto' || v.language === code));
    if (!keep) setVoice('');
    chat.update({ language: code, ...(keep ? {} : { voice: '' }) });
    // a refused connection (e.g. a stored language the server no longer enables) retries with the new one
    if (socket.status === 'failed') socket.reconnect();
  };

  const changeVoice = (id: string) => {
    setVoice(id);
    chat.update({ voice: id });
  };

  const changeMode = (m: Mode) => {
    setMode(m);
    chat.update({ vad: m === 'handsfree' });
  };

  const newConversation = () => {
    player.clear();
    const id = renewSession();
    dispatch({ type: 'local.reset', sessionId: id });
  };

  const sendText = (t: string): string | null => {
    if (t.length > catalog.limits.max_text_chars) return `The message is ${t.length} characters; the limit is ${catalog.limits.max_text_chars}.`;
    void player.start().catch(() => undefined);
    dispatch({ type: 'local.clear_error' });
    if (!socket.send({ type: 'text.input', text: t })) return 'Not connected to the voice server; the message was not sent. Wait for the connection to come back.';
    dispatch({ type: 'local.text', text: t });
    return null;
  };

  const err = state.error;
  const settingsError = err && SETTINGS_ERRORS.has(err.code) && !err.fatal ? err.message : null;
  const textError = err && TEXT_ERRORS.has(err.code) ? err.message : null;
  const generalError = err && !SETTINGS_ERRORS.has(err.code) && !TEXT_ERRORS.has(err.code) ? err.message : null;
  const lastTurn = state.turns[state.turns.length - 1];
  const busy = !!lastTurn?.bot && (lastTurn.bot.status === 'thinking' || lastTurn.bot.status === 'streaming');

  return (
    <section className="page voice-page" aria-labelledby="voice-title">
      <div className="page-head">
        <h1 id="voice-title">Voice chat</h1>
        <ConnectionBadge status={socket.status} attempt={socket.attempt} retryAt={socket.retryAt} problem={socket.problem} needsKey={socket.needsKey} onReconnect={socket.reconnect} />
      </div>

      <div className="voice-layout">
        <TalkPanel
          mode={mode}
          onModeChange={changeMode}
          active={active}
          micState={mic.state}
          levelRef={mic.levelRef}
          error={mic.error ?? player.error}
          ptt={ptt}
          onStart={() => void startConversation()}
          onStop={stopConversation}
        />
        <SettingsPanel
          catalog={catalog}
          language={language}
          voice={voice}
          onLanguageChange={changeLanguage}
          onVoiceChange={changeVoice}
          error={settingsError}
          sessionId={sessionId}
          onNewConversation={newConversation}
        />
        <ConversationPanel state={state} playerStats={player.stats} busy={busy} onInterrupt={chat.interrupt} error={generalError} historyNote={chat.historyNote}>
          <ChatForm connected={socket.status === 'open'} serverError={textError} onSend={sendText} />
        </ConversationPanel>
      </div>
    </section>
  );
}

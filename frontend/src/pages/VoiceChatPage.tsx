import { useCallback, useEffect, useReducer, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { ConversationLog } from '../components/ConversationLog';
import { ErrorMessage } from '../components/ErrorMessage';
import { MicIcon } from '../components/Icons';
import { LevelMeter } from '../components/LevelMeter';
import { LanguageSelect, VoiceSelect } from '../components/Pickers';
import { useAudioPlayer } from '../hooks/useAudioPlayer';
import { usableVoices, useCatalog } from '../hooks/useCatalog';
import { useMicrophone } from '../hooks/useMicrophone';
import { useSessionId, useStoredState } from '../hooks/useSessionId';
import { useVoiceSocket } from '../hooks/useVoiceSocket';
import { floatToPcm16Bytes } from '../lib/pcm';
import { KEYS } from '../lib/storage';
import { conversationReducer, initialConversation, type ClientEvent, type ServerEvent, type SessionUpdateConfig } from '../protocol';

type Mode = 'handsfree' | 'ptt';

const SETTINGS_ERRORS = new Set(['unknown_voice', 'voice_language_mismatch', 'unsupported_language', 'invalid_speed', 'no_voice_for_language']);
const TEXT_ERRORS = new Set(['empty_text', 'text_too_long']);
/** after releasing push-to-talk, frames still in the pipeline are sent before the commit */
const PTT_TAIL_MS = 120;

function isTextTarget(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  const tag = el.tagName;
  return el.isContentEditable || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'BUTTON' && !el.dataset.ptt) || tag === 'A';
}

export function VoiceChatPage() {
  const catalog = useCatalog();
  const [sessionId, renewSession] = useSessionId();
  const [language, setLanguage] = useStoredState(KEYS.language, 'auto');
  const [voice, setVoice] = useStoredState(KEYS.voice, '');
  const [storedMode, setMode] = useStoredState(KEYS.mode, 'handsfree');
  const mode: Mode = storedMode === 'ptt' ? 'ptt' : 'handsfree';
  const [state, dispatch] = useReducer(conversationReducer, { ...initialConversation, sessionId });
  const player = useAudioPlayer();
  const [active, setActive] = useState(false);
  const [pttHeld, setPttHeld] = useState(false);
  const [text, setText] = useState('');
  const [textError, setTextError] = useState<string | null>(null);
  const [historyNote, setHistoryNote] = useState<string | null>(null);

  const outputRate = useRef(22050);
  const settings = useRef({ voice, mode });
  settings.current = { voice, mode };
  const ptt = useRef({ held: false, tailUntil: 0 });
  const sendRef = useRef<(e: ClientEvent) => boolean>(() => false);

  const onEvent = useCallback(
    (event: ServerEvent) => {
      dispatch(event);
      switch (event.type) {
        case 'session.started': {
          outputRate.current = event.output_sample_rate;
          // the connection starts with the server's defaults: re-apply this page's choices
          const config: SessionUpdateConfig = {};
          if (settings.current.voice) config.voice = settings.current.voice;
          if (settings.current.mode === 'ptt') config.vad = false;
          if (Object.keys(config).length > 0) sendRef.current({ type: 'session.update', config });
          break;
        }
        case 'response.audio.started':
          outputRate.current = event.sample_rate;
          break;
        case 'response.interrupted':
          player.clear(); // barge-in: stop at once
          break;
        default:
          break;
      }
    },
    [player],
  );

  const onAudio = useCallback(
    (pcm: ArrayBuffer) => {
      player.enqueue(pcm, outputRate.current);
      dispatch({ type: 'local.audio', bytes: pcm.byteLength });
    },
    [player],
  );

  const socket = useVoiceSocket({ sessionId, language: language === 'auto' ? null : language, enabled: true, onEvent, onAudio });
  sendRef.current = socket.send;

  const mic = useMicrophone(
    useCallback(
      (samples: Float32Array) => {
        const p = ptt.current;
        if (settings.current.mode === 'ptt' && !p.held && performance.now() > p.tailUntil) return;
        socket.sendAudio(floatToPcm16Bytes(samples));
      },
      [socket.sendAudio],
    ),
  );

  // the stored conversation (memory survives a reload): show what was said before
  useEffect(() => {
    const controller = new AbortController();
    setHistoryNote(null);
    api
      .session(sessionId, controller.signal)
      .then((history) => {
        if (history && history.messages.length > 0) dispatch({ type: 'local.history', messages: history.messages });
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setHistoryNote(`Earlier messages could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
      });
    return () => controller.abort();
  }, [sessionId]);

  const startConversation = async () => {
    void player.start().catch(() => undefined);
    const ok = await mic.start();
    setActive(ok);
  };

  const stopConversation = () => {
    mic.stop();
    setActive(false);
    if (ptt.current.held) releasePtt();
  };

  const interrupt = () => {
    player.clear();
    socket.send({ type: 'response.cancel' });
  };

  const pressPtt = () => {
    if (ptt.current.held) return;
    ptt.current.held = true;
    setPttHeld(true);
    interrupt(); // talking over the bot stops it
    if (mic.state !== 'on') {
      void player.start().catch(() => undefined);
      void mic.start().then((ok) => setActive(ok));
    }
  };

  const releasePtt = () => {
    if (!ptt.current.held) return;
    ptt.current.held = false;
    ptt.current.tailUntil = performance.now() + PTT_TAIL_MS;
    setPttHeld(false);
    setTimeout(() => socket.send({ type: 'input_audio.commit' }), PTT_TAIL_MS);
  };
  const pttHandlers = useRef({ pressPtt, releasePtt });
  pttHandlers.current = { pressPtt, releasePtt };

  // hold Space to talk (push-to-talk mode), unless typing in a field
  useEffect(() => {
    if (mode !== 'ptt') return;
    const down = (e: KeyboardEvent) => {
      if (e.code !== 'Space' || isTextTarget(e.target)) return;
      e.preventDefault();
      if (!e.repeat) pttHandlers.current.pressPtt();
    };
    const up = (e: KeyboardEvent) => {
      if (e.code !== 'Space' || isTextTarget(e.target)) return;
      e.preventDefault();
      pttHandlers.current.releasePtt();
    };
    const blur = () => pttHandlers.current.releasePtt();
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [mode]);

  const update = (config: SessionUpdateConfig) => {
    dispatch({ type: 'local.clear_error' });
    socket.send({ type: 'session.update', config });
  };

  const changeLanguage = (code: string) => {
    setLanguage(code);
    const keep = voice && catalog.voices.some((v) => v.id === voice && (code === 'auto' || v.language === code));
    if (!keep) setVoice('');
    update({ language: code, ...(keep ? {} : { voice: '' }) });
    // a refused connection (e.g. a stored language the server no longer enables) retries with the new one
    if (socket.status === 'failed') socket.reconnect();
  };

  const changeVoice = (id: string) => {
    setVoice(id);
    update({ voice: id });
  };

  const changeMode = (m: Mode) => {
    setMode(m);
    update({ vad: m === 'handsfree' });
  };

  const newConversation = () => {
    player.clear();
    const id = renewSession();
    dispatch({ type: 'local.reset', sessionId: id });
  };

  const submitText = (e: FormEvent) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    if (t.length > catalog.limits.max_text_chars) {
      setTextError(`The message is ${t.length} characters; the limit is ${catalog.limits.max_text_chars}.`);
      return;
    }
    void player.start().catch(() => undefined);
    dispatch({ type: 'local.clear_error' });
    if (!socket.send({ type: 'text.input', text: t })) {
      setTextError('Not connected to the voice server; the message was not sent. Wait for the connection to come back.');
      return;
    }
    setTextError(null);
    dispatch({ type: 'local.text', text: t });
    setText('');
  };

  const err = state.error;
  const settingsError = err && SETTINGS_ERRORS.has(err.code) && !err.fatal ? err.message : null;
  const sendError = err && TEXT_ERRORS.has(err.code) ? err.message : textError;
  const generalError = err && !SETTINGS_ERRORS.has(err.code) && !TEXT_ERRORS.has(err.code) ? err.message : null;
  const lastTurn = state.turns[state.turns.length - 1];
  const busy = !!lastTurn?.bot && (lastTurn.bot.status === 'thinking' || lastTurn.bot.status === 'streaming');
  const voices = usableVoices(catalog.voices, language);
  const connected = socket.status === 'open';

  return (
    <section className="page voice-page" aria-labelledby="voice-title">
      <div className="page-head">
        <h1 id="voice-title">Voice chat</h1>
        <ConnectionBadge status={socket.status} attempt={socket.attempt} retryAt={socket.retryAt} problem={socket.problem} onReconnect={socket.reconnect} />
      </div>

      <div className="voice-layout">
        <div className="panel talk-panel">
          <div className="talk">
            {mode === 'handsfree' ? (
              <button
                type="button"
                className={`talk-button${active ? ' is-live' : ''}`}
                onClick={active ? stopConversation : () => void startConversation()}
                aria-pressed={active}
                disabled={mic.state === 'starting'}
                data-testid="start-button"
              >
                <MicIcon />
                <span>{active ? 'Stop conversation' : mic.state === 'starting' ? 'Starting…' : 'Start conversation'}</span>
              </button>
            ) : (
              <button
                type="button"
                data-ptt="true"
                className={`talk-button ptt${pttHeld ? ' is-live' : ''}`}
                onPointerDown={(e) => {
                  e.currentTarget.setPointerCapture?.(e.pointerId);
                  pressPtt();
                }}
                onPointerUp={releasePtt}
                onPointerCancel={releasePtt}
                onKeyDown={(e) => {
                  if ((e.key === 'Enter' || e.key === ' ') && !e.repeat) {
                    e.preventDefault();
                    pressPtt();
                  }
                }}
                onKeyUp={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    releasePtt();
                  }
                }}
                onContextMenu={(e) => e.preventDefault()}
                aria-pressed={pttHeld}
                data-testid="ptt-button"
              >
                <MicIcon />
                <span>{pttHeld ? 'Listening… release to send' : 'Hold to talk (or hold Space)'}</span>
              </button>
            )}
            <LevelMeter levelRef={mic.levelRef} active={mic.state === 'on'} />
            <ErrorMessage message={mic.error ?? player.error} testId="mic-error" />
          </div>

          <fieldset className="mode-field">
            <legend>Turn taking</legend>
            <div className="segmented">
              <label>
                <input type="radio" name="mode" value="handsfree" checked={mode === 'handsfree'} onChange={() => changeMode('handsfree')} data-testid="mode-handsfree" />
                <span>Hands-free</span>
              </label>
              <label>
                <input type="radio" name="mode" value="ptt" checked={mode === 'ptt'} onChange={() => changeMode('ptt')} data-testid="mode-ptt" />
                <span>Push-to-talk</span>
              </label>
            </div>
          </fieldset>
          {mode === 'ptt' && active && (
            <button type="button" className="button secondary small" onClick={stopConversation}>
              Turn microphone off
            </button>
          )}
        </div>

        <aside className="panel settings-panel" aria-label="Conversation settings">
          <div className="pickers">
            <LanguageSelect
              id="voice-language"
              label="Language"
              languages={catalog.languages}
              value={language}
              onChange={changeLanguage}
              anyOption={{ value: 'auto', label: 'Detect automatically' }}
              describedBy="settings-error"
            />
            <VoiceSelect
              id="voice-voice"
              label="Voice"
              voices={voices}
              languages={catalog.languages}
              value={voice}
              onChange={changeVoice}
              defaultLabel="Default for the language"
              describedBy="settings-error"
              testId="voice-select"
            />
            <ErrorMessage id="settings-error" message={settingsError ?? catalog.error} testId="settings-error" />
          </div>

          <div className="session-box">
            <div className="muted small">
              Conversation <code title={sessionId} data-testid="session-id">{sessionId}</code>
            </div>
            <p className="muted small">Mithi remembers this conversation, also after a reload.</p>
            <button type="button" className="button secondary" onClick={newConversation} data-testid="new-conversation">
              New conversation
            </button>
          </div>
        </aside>

        <div className="panel conversation-panel" data-testid="conversation-panel" data-vad={state.vad ? 'true' : 'false'} data-session-voice={state.config?.voice ?? ''}>
          <div className="conversation-head">
            <span className="player-state" data-testid="player-state" data-frames-played={player.stats.framesPlayed} data-playing={player.stats.playing ? 'true' : 'false'}>
              <span className={`speaker-dot${player.stats.playing ? ' is-on' : ''}`} aria-hidden="true" />
              {player.stats.playing ? 'Mithi is speaking' : state.speaking ? 'You are speaking' : busy ? 'Mithi is thinking' : 'Idle'}
            </span>
            {(busy || player.stats.playing) && (
              <button type="button" className="button secondary small" onClick={interrupt} data-testid="interrupt">
                Interrupt
              </button>
            )}
          </div>
          <div aria-live="polite" aria-relevant="additions text" className="live-region">
            <ConversationLog turns={state.turns} partial={state.partial} speaking={state.speaking} />
          </div>
          <ErrorMessage message={generalError} testId="voice-error" />
          {historyNote && <p className="muted small">{historyNote}</p>}
          <form className="chat-form" onSubmit={submitText}>
            <label htmlFor="chat-text" className="visually-hidden">
              Type a message
            </label>
            <input
              id="chat-text"
              type="text"
              value={text}
              onChange={(e) => {
                setText(e.target.value);
                if (textError) setTextError(null);
              }}
              placeholder={connected ? 'Type a message…' : 'Type a message (waiting for the connection)…'}
              autoComplete="off"
              aria-describedby="chat-error"
              aria-invalid={sendError ? true : undefined}
              data-testid="chat-input"
            />
            <button type="submit" className="button" disabled={!text.trim()} data-testid="chat-send">
              Send
            </button>
          </form>
          <ErrorMessage id="chat-error" message={sendError} testId="chat-error" />
        </div>
      </div>
    </section>
  );
}

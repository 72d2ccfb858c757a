import { useCallback, useEffect, useReducer, useRef, useState, type Dispatch } from 'react';
import { api } from '../api';
import { duckStep, initialDuck, type DuckEvent } from '../lib/ducking';
import { conversationReducer, initialConversation, type ClientEvent, type ConversationAction, type ConversationState, type ServerEvent, type SessionUpdateConfig } from '../protocol';
import { useAudioPlayer, type AudioPlayer } from './useAudioPlayer';
import { useVoiceSocket, type VoiceSocket } from './useVoiceSocket';

export interface VoiceConversationOptions {
  sessionId: string;
  /** connect parameter; null: detect automatically */
  language: string | null;
  /** this page's choices, re-applied on every session.started */
  voice: string;
  ptt: boolean;
}

export interface VoiceConversation {
  state: ConversationState;
  dispatch: Dispatch<ConversationAction>;
  player: AudioPlayer;
  socket: VoiceSocket;
  /** the earlier messages of the stored conversation could not be loaded */
  historyNote: string | null;
  /** stop the reply at once and cancel it on the server */
  interrupt(): void;
  /** send a session.update (clearing the shown error) */
  update(config: SessionUpdateConfig): void;
}

/**
 * The conversation over /voice: the reducer's state, the socket, reply playback and the stored
 * conversation's earlier messages. Playback ducks while the user talks over the reply (`speech.started`
 * while it plays: gain 0.3; back to 1 on `speech.stopped`, e.g. a backchannel, or at the next reply) and
 * is cleared at once on `response.interrupted` (barge-in); see lib/ducking.ts.
 */
export function useVoiceConversation({ sessionId, language, voice, ptt }: VoiceConversationOptions): VoiceConversation {
  const [state, dispatch] = useReducer(conversationReducer, { ...initialConversation, sessionId });
  const player = useAudioPlayer();
  const [historyNote, setHistoryNote] = useState<string | null>(null);
  const outputRate = useRef(22050);
  const settings = useRef({ voice, ptt });
  settings.current = { voice, ptt };
  const sendRef = useRef<(e: ClientEvent) => boolean>(() => false);
  const duckRef = useRef(initialDuck);
  /** between response.audio.started and the reply's end: its audio is coming (maybe not queued yet) */
  const replyAudioRef = useRef(false);

  const duck = useCallback(
    (event: DuckEvent) => {
      const step = duckStep(duckRef.current, event);
      duckRef.current = step.state;
      for (const c of step.commands) {
        if (c.type === 'flush') player.clear();
        else player.setGain(c.gain, c.ms);
      }
    },
    [player],
  );

  const onEvent = useCallback(
    (event: ServerEvent) => {
      dispatch(event);
      switch (event.type) {
        case 'session.started': {
          outputRate.current = event.output_sample_rate;
          // the connection starts with the server's defaults: re-apply this page's choices
          const config: SessionUpdateConfig = {};
          if (settings.current.voice) config.voice = settings.current.voice;
          if (settings.current.ptt) config.vad = false;
          if (Object.keys(config).length > 0) sendRef.current({ type: 'session.update', config });
          replyAudioRef.current = false;
          duck({ type: 'reset' });
          break;
        }
        case 'response.audio.started':
          outputRate.current = event.sample_rate;
          replyAudioRef.current = true;
          duck({ type: 'response.audio.started' });
          break;
        case 'response.done':
          replyAudioRef.current = false;
          break;
        case 'speech.started':
          // the server interrupts only after realtime.barge_in_ms of speech (a backchannel never): duck meanwhile
          duck({ type: 'speech.started', playing: replyAudioRef.current || player.isPlaying() });
          break;
        case 'speech.stopped':
          duck({ type: 'speech.stopped' });
          break;
        case 'response.interrupted':
          replyAudioRef.current = false;
          duck({ type: 'response.interrupted' }); // barge-in: stop and flush at once
          break;
        default:
          break;
      }
    },
    [player, duck],
  );

  const onAudio = useCallback(
    (pcm: ArrayBuffer) => {
      player.enqueue(pcm, outputRate.current);
      dispatch({ type: 'local.audio', bytes: pcm.byteLength });
    },
    [player],
  );

  const socket = useVoiceSocket({ sessionId, language, enabled: true, onEvent, onAudio });
  sendRef.current = socket.send;

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

  const interrupt = () => {
    replyAudioRef.current = false;
    duck({ type: 'response.interrupted' }); // stops and flushes the player
    socket.send({ type: 'response.cancel' });
  };

  const update = (config: SessionUpdateConfig) => {
    dispatch({ type: 'local.clear_error' });
    socket.send({ type: 'session.update', config });
  };

  return { state, dispatch, player, socket, historyNote, interrupt, update };
}

/**
 * The /voice WebSocket protocol (docs/PROTOCOL.md, backend/engine/events.py, backend/realtime/protocol.py): event types, parsing,
 * the client events, and a pure reducer that turns server events into the conversation view's state.
 * Shared by the hooks, the voice chat page and the unit tests.
 */

// ----------------------------------------------------------------------------- server → client

export interface LatencyMs {
  /** end of the user's turn → transcript ready (0 when it was made during the pause) */
  stt?: number;
  /** transcript → first reply text */
  llm_first_token?: number;
  /** first speakable phrase → its first audio synthesized */
  tts_first_audio?: number;
  /** end of the user's turn → first reply audio sent */
  first_audio?: number;
  /** end of the user's turn → response.done */
  total?: number;
}

// The server's event types are generated from the engine's typed events (backend/engine/events.py)
// by scripts/gen_protocol_types.py; `make test` checks they have not drifted.
import type { ServerEvent, SessionConfig } from './protocol.generated';
import { SERVER_EVENT_TYPES } from './protocol.generated';

export type {
  ErrorEvent,
  ProviderFailoverEvent,
  ResponseAudioStartedEvent,
  ResponseDoneEvent,
  ResponseInterruptedEvent,
  ResponseSentenceEvent,
  ResponseTextDeltaEvent,
  ServerEvent,
  SessionConfig,
  SessionStartedEvent,
  SessionUpdatedEvent,
  SpeechStartedEvent,
  SpeechStoppedEvent,
  TranscriptFinalEvent,
  TranscriptPartialEvent,
} from './protocol.generated';
export { SERVER_EVENT_TYPES };

/** A text message from the server → a typed event, or null for anything unknown or malformed. */
export function parseServerEvent(raw: string): ServerEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const type = (data as { type?: unknown }).type;
  if (typeof type !== 'string' || !(SERVER_EVENT_TYPES as readonly string[]).includes(type)) return null;
  return data as ServerEvent;
}

// ----------------------------------------------------------------------------- client → server

export interface SessionUpdateConfig {
  voice?: string; // "" = the language's default voice
  language?: string; // "auto" = detect
  vad?: boolean;
  speed?: number;
  hangover_ms?: number;
}

export type ClientEvent =
  | { type: 'input_audio.commit' }
  | { type: 'text.input'; text: string }
  | { type: 'response.cancel' }
  | { type: 'session.update'; config: SessionUpdateConfig };

export interface ConnectParams {
  sessionId?: string | null;
  sampleRate?: number;
  language?: string | null; // null / "auto" = detect
  /** a short-lived token from POST /api/auth/token (browsers cannot set headers on a WebSocket) */
  token?: string | null;
}

/** ws(s)://<this host>/voice?session_id=…&sample_rate=…&language=…&token=… */
export function voiceUrl(location: Pick<Location, 'protocol' | 'host'>, params: ConnectParams): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams();
  if (params.sessionId) q.set('session_id', params.sessionId);
  q.set('sample_rate', String(params.sampleRate ?? 16000));
  if (params.language && params.language !== 'auto') q.set('language', params.language);
  if (params.token) q.set('token', params.token);
  return `${scheme}//${location.host}/voice?${q.toString()}`;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
export function isValidSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

// ----------------------------------------------------------------------------- conversation state

export type BotStatus = 'thinking' | 'streaming' | 'done' | 'interrupted' | 'failed';

export interface BotReply {
  /** the reply as streamed (the model's raw deltas), replaced by the spoken text at response.done */
  text: string;
  status: BotStatus;
  audioStarted: boolean;
  /** seconds of reply audio received */
  audioSeconds: number;
  sampleRate: number | null;
  latency: LatencyMs | null;
  action: Record<string, unknown> | null;
  speculative: boolean;
  /** response.interrupted: what the user had heard */
  spoken: string | null;
  error: string | null;
}

export interface ConversationTurn {
  /** local key (stable across renders) */
  key: string;
  /** server turn_id, once known */
  turnId: string | null;
  source: 'voice' | 'text' | 'history';
  user: { text: string; language: string | null } | null;
  bot: BotReply | null;
}

export interface ConversationState {
  sessionId: string | null;
  outputSampleRate: number;
  inputSampleRate: number;
  language: string | null;
  vad: boolean;
  config: SessionConfig | null;
  /** the user is talking (speech.started … speech.stopped) */
  speaking: boolean;
  /** the latest partial transcript of the turn in progress */
  partial: string;
  turns: ConversationTurn[];
  /** the latest error that is not attached to a turn */
  error: { code: string; message: string; fatal: boolean } | null;
  /** turn_id of the reply whose audio is arriving (binary frames carry no id) */
  audioTurn: string | null;
  counter: number;
}

/** Local actions: things the page does that the server does not echo. */
export type LocalAction =
  | { type: 'local.text'; text: string }
  | { type: 'local.audio'; bytes: number }
  | { type: 'local.reset'; sessionId: string | null }
  | { type: 'local.history'; messages: HistoryMessage[] }
  | { type: 'local.clear_error' };

export interface HistoryMessage {
  /** 'tool': the output of a tool a Realtime API client ran (not shown) */
  role: 'user' | 'assistant' | 'tool';
  content: string;
  interrupted?: boolean;
  /** an assistant message that only called a Realtime API client's tool (not shown) */
  tool_calls?: unknown[];
}

export type ConversationAction = ServerEvent | LocalAction;

export const initialConversation: ConversationState = {
  sessionId: null,
  outputSampleRate: 22050,
  inputSampleRate: 16000,
  language: null,
  vad: true,
  config: null,
  speaking: false,
  partial: '',
  turns: [],
  error: null,
  audioTurn: null,
  counter: 0,
};

function newBot(status: BotStatus = 'thinking'): BotReply {
  return {
    text: '',
    status,
    audioStarted: false,
    audioSeconds: 0,
    sampleRate: null,
    latency: null,
    action: null,
    speculative: false,
    spoken: null,
    error: null,
  };
}

function isOpen(turn: ConversationTurn): boolean {
  return turn.bot === null || turn.bot.status === 'thinking' || turn.bot.status === 'streaming';
}

/** Index of the turn a server event with `turnId` belongs to: its own, else the newest open one. */
function findTurn(turns: ConversationTurn[], turnId: string | null): number {
  if (turnId !== null) {
    for (let i = turns.length - 1; i >= 0; i--) if (turns[i]?.turnId === turnId) return i;
  }
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i] as ConversationTurn;
    if (t.source === 'history') break;
    if (t.turnId === null && isOpen(t)) return i;
  }
  return -1;
}

function replaceTurn(state: ConversationState, index: number, turn: ConversationTurn): ConversationState {
  const turns = state.turns.slice();
  turns[index] = turn;
  return { ...state, turns };
}

function appendTurn(state: ConversationState, turn: Omit<ConversationTurn, 'key'>): ConversationState {
  const counter = state.counter + 1;
  return { ...state, counter, turns: [...state.turns, { ...turn, key: `t${counter}` }] };
}

/** The turn `turnId` refers to, created (with no user part) if there is none. */
function withTurn(
  state: ConversationState,
  turnId: string,
  update: (turn: ConversationTurn) => ConversationTurn,
): ConversationState {
  const i = findTurn(state.turns, turnId);
  if (i < 0) {
    const created = appendTurn(state, { turnId, source: 'voice', user: null, bot: newBot() });
    const j = created.turns.length - 1;
    return replaceTurn(created, j, update(created.turns[j] as ConversationTurn));
  }
  const turn = state.turns[i] as ConversationTurn;
  return replaceTurn(state, i, update({ ...turn, turnId, bot: turn.bot ?? newBot() }));
}

/** A new turn clears the previous turn's non-fatal error. */
function keepFatal(error: ConversationState['error']): ConversationState['error'] {
  return error && error.fatal ? error : null;
}

/** (state, event) → state for the conversation view. Pure: no I/O, no clock, no randomness. */
export function conversationReducer(state: ConversationState, action: ConversationAction): ConversationState {
  switch (action.type) {
    case 'session.started':
      return {
        ...state,
        sessionId: action.session_id,
        inputSampleRate: action.input_sample_rate,
        outputSampleRate: action.output_sample_rate,
        language: action.language,
        vad: action.vad,
        speaking: false,
        partial: '',
        error: null,
        // a reconnect drops what was in flight: nothing more will arrive for it
        turns: state.turns.map((t) =>
          t.bot && isOpen(t) ? { ...t, bot: { ...t.bot, status: 'failed', error: 'connection lost' } } : t,
        ),
      };
    case 'session.updated':
      return { ...state, config: action.config, vad: action.config.vad, language: action.config.language };
    case 'speech.started':
      return { ...state, speaking: true, partial: '' };
    case 'speech.stopped':
      return { ...state, speaking: false };
    case 'transcript.partial':
      return { ...state, partial: action.text };
    case 'transcript.final':
      return {
        ...appendTurn(state, {
          turnId: null,
          source: 'voice',
          user: { text: action.text, language: action.language },
          bot: action.text.trim() ? newBot() : null,
        }),
        partial: '',
        speaking: false,
        error: keepFatal(state.error),
      };
    case 'response.text.delta':
      return withTurn(state, action.turn_id, (t) => ({
        ...t,
        bot: { ...(t.bot as BotReply), text: (t.bot as BotReply).text + action.text, status: 'streaming' },
      }));
    case 'response.audio.started':
      return withTurn({ ...state, audioTurn: action.turn_id }, action.turn_id, (t) => ({
        ...t,
        bot: { ...(t.bot as BotReply), audioStarted: true, sampleRate: action.sample_rate, status: 'streaming' },
      }));
    case 'response.done': {
      const i = findTurn(state.turns, action.turn_id);
      const empty = !action.text && !action.transcript;
      if (empty && i < 0) return state; // nothing was heard: no turn to show
      return withTurn(state, action.turn_id, (t) => ({
        ...t,
        user: t.user ?? (action.transcript ? { text: action.transcript, language: null } : null),
        bot: empty
          ? null
          : {
              ...(t.bot as BotReply),
              text: action.text || (t.bot as BotReply).text,
              status: 'done',
              latency: action.latency_ms,
              action: action.action,
              speculative: action.speculative,
            },
      }));
    }
    case 'response.interrupted': {
      const i = findTurn(state.turns, action.turn_id);
      if (i < 0) return state;
      if (action.continued) {
        // the user went on with the same turn: it is withdrawn, the next transcript.final has its words
        return { ...state, turns: state.turns.filter((_, j) => j !== i) };
      }
      return withTurn(state, action.turn_id, (t) => ({
        ...t,
        bot: { ...(t.bot as BotReply), status: 'interrupted', spoken: action.spoken },
      }));
    }
    case 'error': {
      const err = { code: action.code, message: action.message, fatal: action.fatal };
      if (!action.fatal) {
        // a failed turn: attach the message to the reply that was being made
        const i = findTurn(state.turns, null);
        const turn = i >= 0 ? (state.turns[i] as ConversationTurn) : null;
        if (turn && turn.bot && (action.code === 'turn_failed' || action.code === 'provider_unavailable')) {
          return replaceTurn(state, i, { ...turn, bot: { ...turn.bot, status: 'failed', error: action.message } });
        }
      }
      return { ...state, error: err, speaking: false };
    }
    case 'local.text':
      return {
        ...appendTurn(state, { turnId: null, source: 'text', user: { text: action.text, language: null }, bot: newBot() }),
        error: keepFatal(state.error),
      };
    case 'local.audio': {
      const i = state.audioTurn === null ? -1 : findTurn(state.turns, state.audioTurn);
      const turn = i >= 0 ? state.turns[i] : undefined;
      if (!turn || !turn.bot) return state;
      const rate = turn.bot.sampleRate ?? state.outputSampleRate;
      return replaceTurn(state, i, {
        ...turn,
        bot: { ...turn.bot, audioSeconds: turn.bot.audioSeconds + action.bytes / 2 / rate },
      });
    }
    case 'local.reset':
      return { ...initialConversation, sessionId: action.sessionId, counter: state.counter };
    case 'local.history': {
      let next: ConversationState = { ...state, turns: state.turns.filter((t) => t.source !== 'history') };
      const history: ConversationState = { ...next, turns: [] };
      let acc = history;
      for (const m of action.messages) {
        if (m.role === 'tool' || (m.tool_calls?.length && !m.content)) continue;
        if (m.role === 'user') {
          acc = appendTurn(acc, { turnId: null, source: 'history', user: { text: m.content, language: null }, bot: null });
        } else {
          const last = acc.turns[acc.turns.length - 1];
          const bot: BotReply = { ...newBot(m.interrupted ? 'interrupted' : 'done'), text: m.content };
          if (last && last.source === 'history' && last.bot === null) {
            acc = replaceTurn(acc, acc.turns.length - 1, { ...last, bot });
          } else {
            acc = appendTurn(acc, { turnId: null, source: 'history', user: null, bot });
          }
        }
      }
      next = { ...acc, turns: [...acc.turns, ...next.turns] };
      return next;
    }
    case 'local.clear_error':
      return { ...state, error: null };
    default:
      return state;
  }
}

/** The per-stage numbers shown under a reply, in display order. */
export const LATENCY_STAGES: ReadonlyArray<{ key: keyof LatencyMs; label: string }> = [
  { key: 'stt', label: 'STT' },
  { key: 'llm_first_token', label: 'LLM first token' },
  { key: 'tts_first_audio', label: 'TTS first audio' },
  { key: 'first_audio', label: 'First audio' },
  { key: 'total', label: 'Total' },
];

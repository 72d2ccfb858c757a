import { describe, expect, it } from 'vitest';
import {
  conversationReducer,
  initialConversation,
  parseServerEvent,
  type ConversationAction,
  type ConversationState,
  type ServerEvent,
} from './protocol';

const run = (actions: ConversationAction[], from: ConversationState = initialConversation) => actions.reduce(conversationReducer, from);

/** Server messages as the backend sends them (JSON text), parsed like the socket hook does. */
function events(...raw: object[]): ServerEvent[] {
  return raw.map((r) => {
    const e = parseServerEvent(JSON.stringify(r));
    if (!e) throw new Error(`unparsed ${JSON.stringify(r)}`);
    return e;
  });
}

const started = {
  type: 'session.started',
  session_id: 'demo',
  input_sample_rate: 16000,
  output_sample_rate: 22050,
  output_format: 'pcm16',
  language: null,
  vad: true,
};

const latency = { stt: 0.9, llm_first_token: 27.2, tts_first_audio: 98.6, first_audio: 127.5, total: 326.1 };

describe('parseServerEvent', () => {
  it('accepts the known event types', () => {
    expect(parseServerEvent(JSON.stringify(started))?.type).toBe('session.started');
  });

  it('rejects non-JSON, non-objects and unknown types', () => {
    expect(parseServerEvent('not json')).toBeNull();
    expect(parseServerEvent('[1,2]')).toBeNull();
    expect(parseServerEvent('{"type":"mystery"}')).toBeNull();
    expect(parseServerEvent('{"text":"no type"}')).toBeNull();
  });
});

describe('conversationReducer: a spoken turn', () => {
  const sequence = events(
    started,
    { type: 'speech.started' },
    { type: 'transcript.partial', text: 'What time' },
    { type: 'transcript.partial', text: 'What time is' },
    { type: 'speech.stopped', reason: 'vad' },
    { type: 'transcript.final', text: 'What time is it?', language: 'en' },
    { type: 'response.text.delta', turn_id: 'cbd15b8e', text: "It's 8:01" },
    { type: 'response.text.delta', turn_id: 'cbd15b8e', text: ' a.m.' },
    { type: 'response.audio.started', turn_id: 'cbd15b8e', sample_rate: 22050 },
  );

  it('tracks the session', () => {
    const s = run(sequence.slice(0, 1));
    expect(s.sessionId).toBe('demo');
    expect(s.outputSampleRate).toBe(22050);
    expect(s.vad).toBe(true);
  });

  it('shows the partial transcript while the user speaks', () => {
    const s = run(sequence.slice(0, 4));
    expect(s.speaking).toBe(true);
    expect(s.partial).toBe('What time is');
    expect(s.turns).toHaveLength(0);
  });

  it('turns the final transcript into a user turn and clears the partial', () => {
    const s = run(sequence.slice(0, 6));
    expect(s.speaking).toBe(false);
    expect(s.partial).toBe('');
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]?.user).toEqual({ text: 'What time is it?', language: 'en' });
    expect(s.turns[0]?.bot?.status).toBe('thinking');
  });

  it('streams the reply text into the same turn', () => {
    const s = run(sequence);
    expect(s.turns).toHaveLength(1);
    const t = s.turns[0];
    expect(t?.turnId).toBe('cbd15b8e');
    expect(t?.bot?.text).toBe("It's 8:01 a.m.");
    expect(t?.bot?.status).toBe('streaming');
    expect(t?.bot?.audioStarted).toBe(true);
    expect(s.audioTurn).toBe('cbd15b8e');
  });

  it('counts the reply audio that arrives as binary frames', () => {
    // 100 ms frames at 22050 Hz: 2205 samples = 4410 bytes
    const s = run([...sequence, { type: 'local.audio', bytes: 4410 }, { type: 'local.audio', bytes: 4410 }]);
    expect(s.turns[0]?.bot?.audioSeconds).toBeCloseTo(0.2, 6);
  });

  it('completes the turn with the spoken text and the latency breakdown', () => {
    const [done] = events({
      type: 'response.done',
      turn_id: 'cbd15b8e',
      transcript: 'What time is it?',
      text: "It's 8:01 a.m. on Tuesday, 24 November 2026.",
      action: { tool: 'get_current_datetime', ok: true },
      speculative: false,
      latency_ms: latency,
    });
    const s = run([...sequence, done as ServerEvent]);
    const bot = s.turns[0]?.bot;
    expect(bot?.status).toBe('done');
    expect(bot?.text).toBe("It's 8:01 a.m. on Tuesday, 24 November 2026.");
    expect(bot?.latency).toEqual(latency);
    expect(bot?.action).toEqual({ tool: 'get_current_datetime', ok: true });
  });

  it('does not mutate the previous state', () => {
    const before = run(sequence.slice(0, 6));
    const snapshot = JSON.stringify(before);
    conversationReducer(before, { type: 'response.text.delta', turn_id: 'x', text: 'hi' });
    expect(JSON.stringify(before)).toBe(snapshot);
  });
});

describe('conversationReducer: typed turns', () => {
  it('adds the typed text at once and attaches the reply to it', () => {
    const s = run([
      ...events(started),
      { type: 'local.text', text: 'Hello, my name is Anna.' },
      ...events(
        { type: 'response.text.delta', turn_id: 't1', text: 'Nice to meet you, Anna.' },
        { type: 'response.done', turn_id: 't1', transcript: 'Hello, my name is Anna.', text: 'Nice to meet you, Anna.', action: null, speculative: false, latency_ms: { llm_first_token: 500, tts_first_audio: 90, first_audio: 620, total: 900 } },
      ),
    ]);
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]?.source).toBe('text');
    expect(s.turns[0]?.user?.text).toBe('Hello, my name is Anna.');
    expect(s.turns[0]?.bot?.status).toBe('done');
    expect(s.turns[0]?.bot?.latency?.total).toBe(900);
    expect(s.turns[0]?.bot?.latency?.stt).toBeUndefined();
  });
});

describe('conversationReducer: barge-in', () => {
  it('marks the reply interrupted with what was heard, and the next turn is separate', () => {
    const s = run([
      ...events(
        started,
        { type: 'transcript.final', text: 'Tell me a story', language: 'en' },
        { type: 'response.text.delta', turn_id: 'a1', text: 'Once upon a time there was a fox. It lived' },
        { type: 'response.audio.started', turn_id: 'a1', sample_rate: 22050 },
        { type: 'speech.started' },
        { type: 'response.interrupted', turn_id: 'a1', spoken: 'Once upon a time there was a fox.' },
        { type: 'transcript.final', text: 'Stop', language: 'en' },
        { type: 'response.text.delta', turn_id: 'b2', text: 'Okay.' },
      ),
    ]);
    expect(s.turns).toHaveLength(2);
    expect(s.turns[0]?.bot?.status).toBe('interrupted');
    expect(s.turns[0]?.bot?.spoken).toBe('Once upon a time there was a fox.');
    expect(s.turns[1]?.user?.text).toBe('Stop');
    expect(s.turns[1]?.bot?.text).toBe('Okay.');
    expect(s.turns[1]?.turnId).toBe('b2');
  });

  it('drops a turn the user continued: one turn shows both halves', () => {
    const s = run([
      ...events(
        started,
        { type: 'transcript.final', text: 'What is the capital of France?', language: 'en' },
        { type: 'response.text.delta', turn_id: 'a1', text: 'Paris.' },
        { type: 'speech.started' },
        { type: 'response.interrupted', turn_id: 'a1', spoken: '', continued: true },
        { type: 'transcript.final', text: 'What is the capital of France? And of Germany?', language: 'en' },
        { type: 'response.text.delta', turn_id: 'b2', text: 'Paris and Berlin.' },
      ),
    ]);
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]?.user?.text).toBe('What is the capital of France? And of Germany?');
    expect(s.turns[0]?.bot?.text).toBe('Paris and Berlin.');
  });

  it('ignores an interruption of a turn it does not know', () => {
    const s0 = run(events(started));
    expect(run(events({ type: 'response.interrupted', turn_id: 'zz', spoken: '' }), s0)).toBe(s0);
  });
});

describe('conversationReducer: errors', () => {
  it('attaches a failed turn to its reply', () => {
    const s = run(
      events(
        started,
        { type: 'transcript.final', text: 'Hello', language: 'en' },
        { type: 'error', code: 'provider_unavailable', message: 'openai: cannot connect', fatal: false },
      ),
    );
    expect(s.turns[0]?.bot?.status).toBe('failed');
    expect(s.turns[0]?.bot?.error).toBe('openai: cannot connect');
    expect(s.error).toBeNull();
  });

  it('keeps other errors for the page to show next to their control', () => {
    const s = run(events(started, { type: 'error', code: 'unknown_voice', message: "voice 'x' is unknown", fatal: false }));
    expect(s.error).toEqual({ code: 'unknown_voice', message: "voice 'x' is unknown", fatal: false });
    expect(run([{ type: 'local.clear_error' }], s).error).toBeNull();
  });

  it('clears a non-fatal error when the next turn starts', () => {
    const s = run(events(started, { type: 'error', code: 'empty_audio', message: 'the utterance has no audio to transcribe', fatal: false }));
    expect(s.error?.code).toBe('empty_audio');
    expect(run(events({ type: 'transcript.final', text: 'Hi', language: 'en' }), s).error).toBeNull();
    expect(run([{ type: 'local.text', text: 'Hi' }], s).error).toBeNull();
  });

  it('records fatal errors', () => {
    const s = run(events({ type: 'error', code: 'invalid_session_id', message: 'bad id', fatal: true }));
    expect(s.error?.fatal).toBe(true);
  });

  it('marks an unfinished reply failed when the connection starts again', () => {
    const s = run(events(started, { type: 'transcript.final', text: 'Hi', language: 'en' }, { type: 'response.text.delta', turn_id: 'q', text: 'Hel' }, started));
    expect(s.turns[0]?.bot?.status).toBe('failed');
    expect(s.turns[0]?.bot?.error).toBe('connection lost');
  });
});

describe('conversationReducer: nothing heard, history, reset', () => {
  it('shows an empty transcript without a reply', () => {
    const s = run(
      events(
        started,
        { type: 'transcript.final', text: '', language: 'en' },
        { type: 'response.done', turn_id: 'e', transcript: '', text: '', action: null, speculative: false, latency_ms: { stt: 200, total: 210 } },
      ),
    );
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]?.user?.text).toBe('');
    expect(s.turns[0]?.bot).toBeNull();
  });

  it('puts the stored conversation before this visit’s turns', () => {
    const s = run([
      { type: 'local.text', text: 'new question' },
      {
        type: 'local.history',
        messages: [
          { role: 'user', content: 'My name is Anna' },
          { role: 'assistant', content: 'Hello Anna!' },
          { role: 'user', content: 'Tell me a story' },
          { role: 'assistant', content: 'Once', interrupted: true },
        ],
      },
    ]);
    expect(s.turns.map((t) => [t.source, t.user?.text ?? null, t.bot?.text ?? null, t.bot?.status ?? null])).toEqual([
      ['history', 'My name is Anna', 'Hello Anna!', 'done'],
      ['history', 'Tell me a story', 'Once', 'interrupted'],
      ['text', 'new question', '', 'thinking'],
    ]);
    // deltas of this visit's reply must not land in a history turn
    const after = run(events({ type: 'response.text.delta', turn_id: 'n', text: 'Answer' }), s);
    expect(after.turns[2]?.bot?.text).toBe('Answer');
    expect(after.turns[1]?.bot?.text).toBe('Once');
  });

  it('leaves out the tool calls and outputs of a Realtime API client', () => {
    const s = run([
      {
        type: 'local.history',
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'get_weather' }] },
          { role: 'tool', content: '{"temp_c": 21}' },
          { role: 'assistant', content: 'It is 21 degrees.' },
        ],
      },
    ]);
    expect(s.turns.map((t) => [t.user?.text ?? null, t.bot?.text ?? null])).toEqual([
      ['Weather in Paris?', 'It is 21 degrees.'],
    ]);
  });

  it('clears everything on a new conversation', () => {
    const s = run([{ type: 'local.text', text: 'x' }, { type: 'local.reset', sessionId: 'web-2' }]);
    expect(s.turns).toHaveLength(0);
    expect(s.sessionId).toBe('web-2');
  });

  it('applies session.updated', () => {
    const s = run(events({ type: 'session.updated', config: { voice: 'espeak-en', language: 'en', vad: false, speed: 1, hangover_ms: 300 } }));
    expect(s.vad).toBe(false);
    expect(s.language).toBe('en');
    expect(s.config?.voice).toBe('espeak-en');
  });
});

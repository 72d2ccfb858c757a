import { describe, expect, it } from 'vitest';
import { DUCK_GAIN, DUCK_RAMP_MS, RESTORE_RAMP_MS, duckStep, initialDuck, type DuckEvent, type DuckState, type DuckStep } from './ducking';

/** Runs the events from the initial state; returns the last step and every command issued. */
function run(...events: DuckEvent[]): DuckStep & { all: DuckStep['commands'] } {
  let step: DuckStep = { state: initialDuck, commands: [] };
  const all: DuckStep['commands'] = [];
  for (const e of events) {
    step = duckStep(step.state, e);
    all.push(...step.commands);
  }
  return { ...step, all };
}

const duck = { type: 'ramp', gain: DUCK_GAIN, ms: DUCK_RAMP_MS } as const;
const restore = { type: 'ramp', gain: 1, ms: RESTORE_RAMP_MS } as const;
const talkOverReply: DuckEvent = { type: 'speech.started', playing: true };

describe('duckStep: the reply ducks while the user talks over it', () => {
  it('speech.started while the reply plays ducks it to about 0.3 within ~50 ms', () => {
    const s = run({ type: 'response.audio.started' }, talkOverReply);
    expect(s.commands).toEqual([duck]);
    expect(s.state).toEqual({ mode: 'ducked', gain: DUCK_GAIN });
    expect(DUCK_GAIN).toBeCloseTo(0.3);
    expect(DUCK_RAMP_MS).toBeLessThanOrEqual(50);
  });

  it('speech.started over silence does nothing (a new turn, nothing to duck)', () => {
    const s = run({ type: 'speech.started', playing: false });
    expect(s.all).toEqual([]);
    expect(s.state).toEqual(initialDuck);
  });

  it.each(['vad', 'commit', 'max_length', 'backchannel'])('speech.stopped (%s) without an interruption restores the gain', () => {
    const s = run(talkOverReply, { type: 'speech.stopped' });
    expect(s.commands).toEqual([restore]);
    expect(s.state).toEqual(initialDuck);
  });

  it('a backchannel leaves the reply playing: duck, then restore, never a flush', () => {
    const s = run({ type: 'response.audio.started' }, talkOverReply, { type: 'speech.stopped' });
    expect(s.all).toEqual([duck, restore]);
  });

  it('response.interrupted flushes; the following speech.stopped does not restore', () => {
    const cut = run(talkOverReply, { type: 'response.interrupted' });
    expect(cut.commands).toEqual([{ type: 'flush' }]);
    expect(cut.state).toEqual({ mode: 'interrupted', gain: DUCK_GAIN });
    const after = duckStep(cut.state, { type: 'speech.stopped' });
    expect(after.commands).toEqual([]);
    expect(after.state.gain).toBe(DUCK_GAIN);
  });

  it('the next reply after an interruption starts at full volume at once', () => {
    const s = run(talkOverReply, { type: 'response.interrupted' }, { type: 'speech.stopped' }, { type: 'response.audio.started' });
    expect(s.commands).toEqual([{ type: 'ramp', gain: 1, ms: 0 }]);
    expect(s.state).toEqual(initialDuck);
  });

  it('response.audio.started while ducked ramps back to 1', () => {
    const s = run(talkOverReply, { type: 'response.audio.started' });
    expect(s.commands).toEqual([restore]);
    expect(s.state).toEqual(initialDuck);
  });

  it('an interruption without a duck (response.cancel) flushes and keeps full volume', () => {
    const s = run({ type: 'response.audio.started' }, { type: 'response.interrupted' });
    expect(s.all).toEqual([{ type: 'flush' }]);
    expect(s.state).toEqual({ mode: 'interrupted', gain: 1 });
    expect(duckStep(s.state, { type: 'response.audio.started' }).commands).toEqual([]);
  });

  it('a second speech.started while ducked issues nothing more', () => {
    const s = run(talkOverReply, talkOverReply);
    expect(s.all).toEqual([duck]);
  });

  it('speech.stopped at full volume issues nothing', () => {
    expect(run({ type: 'speech.stopped' }).all).toEqual([]);
  });

  it('reset goes back to full volume at once', () => {
    const ducked: DuckState = { mode: 'ducked', gain: DUCK_GAIN };
    expect(duckStep(ducked, { type: 'reset' })).toEqual({ state: initialDuck, commands: [{ type: 'ramp', gain: 1, ms: 0 }] });
    expect(duckStep(initialDuck, { type: 'reset' }).commands).toEqual([]);
  });
});

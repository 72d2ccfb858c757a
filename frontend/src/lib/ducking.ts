/**
 * Ducking of the reply while the user talks over it (pure: no audio, no React).
 *
 * The server no longer cuts a reply the moment the user speaks: it waits until the speech has lasted
 * `realtime.barge_in_ms`, then sends `response.interrupted`; shorter speech that is only backchannels
 * ("haan", "ok", "uh-huh") ends with `speech.stopped` (`reason: backchannel`) and the reply goes on.
 * Meanwhile the client lowers the reply: `speech.started` while reply audio is playing ducks it
 * (gain DUCK_GAIN within DUCK_RAMP_MS); `speech.stopped` (any reason) brings it back, unless
 * `response.interrupted` came first (then the audio was flushed, and the gain stays down until the next
 * reply's `response.audio.started`, so nothing left of the cut reply can blip out at full volume).
 */

/** playback gain while the user talks over the reply */
export const DUCK_GAIN = 0.3;
/** how fast the reply ducks */
export const DUCK_RAMP_MS = 50;
/** how fast it comes back */
export const RESTORE_RAMP_MS = 120;

/**
 * `normal`: full volume. `ducked`: the user talks over the playing reply. `interrupted`: the reply was
 * cut and flushed; the gain is left where it was until the next reply starts.
 */
export type DuckMode = 'normal' | 'ducked' | 'interrupted';

export interface DuckState {
  mode: DuckMode;
  /** the gain last asked of the player (1 or DUCK_GAIN) */
  gain: number;
}

export const initialDuck: DuckState = { mode: 'normal', gain: 1 };

export type DuckEvent =
  /** `speech.started`; `playing`: reply audio is playing (or queued to play) right now */
  | { type: 'speech.started'; playing: boolean }
  /** `speech.stopped`, whatever its reason (`vad`, `commit`, `max_length`, `backchannel`) */
  | { type: 'speech.stopped' }
  /** `response.interrupted` (or a local interrupt): the player is stopped and flushed */
  | { type: 'response.interrupted' }
  /** `response.audio.started`: a new reply begins */
  | { type: 'response.audio.started' }
  /** a new connection (`session.started`) or a new conversation: back to full volume */
  | { type: 'reset' };

/** What the player must do: ramp its gain (`ramp`), or stop and drop all it has queued (`flush`). */
export type DuckCommand = { type: 'ramp'; gain: number; ms: number } | { type: 'flush' };

export interface DuckStep {
  state: DuckState;
  commands: DuckCommand[];
}

function rampTo(state: DuckState, mode: DuckMode, gain: number, ms: number): DuckStep {
  return { state: { mode, gain }, commands: state.gain === gain ? [] : [{ type: 'ramp', gain, ms }] };
}

export function duckStep(state: DuckState, event: DuckEvent): DuckStep {
  switch (event.type) {
    case 'speech.started':
      // speech over silence is a new turn: nothing to duck
      if (!event.playing || state.mode === 'ducked') return { state, commands: [] };
      return rampTo(state, 'ducked', DUCK_GAIN, DUCK_RAMP_MS);
    case 'speech.stopped':
      // a backchannel (or a turn that ended without cutting the reply): the reply goes on at full volume
      if (state.mode !== 'ducked') return { state, commands: [] };
      return rampTo(state, 'normal', 1, RESTORE_RAMP_MS);
    case 'response.interrupted':
      return { state: { mode: 'interrupted', gain: state.gain }, commands: [{ type: 'flush' }] };
    case 'response.audio.started':
      // after an interruption the player is silent (flushed): full volume at once for the new reply
      return rampTo(state, 'normal', 1, state.mode === 'interrupted' ? 0 : RESTORE_RAMP_MS);
    case 'reset':
      return rampTo(state, 'normal', 1, 0);
  }
}

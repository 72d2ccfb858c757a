import type { RefObject } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';
import { MicIcon } from '../../components/Icons';
import { LevelMeter } from '../../components/LevelMeter';
import type { MicState } from '../../hooks/useMicrophone';
import type { PushToTalk } from '../../hooks/usePushToTalk';

export type Mode = 'handsfree' | 'ptt';

interface Props {
  mode: Mode;
  onModeChange(mode: Mode): void;
  /** the conversation (microphone) is on */
  active: boolean;
  micState: MicState;
  levelRef: RefObject<number>;
  error: string | null;
  ptt: PushToTalk;
  onStart(): void;
  onStop(): void;
}

function PttButton({ ptt }: { ptt: PushToTalk }) {
  return (
    <button
      type="button"
      data-ptt="true"
      className={`talk-button ptt${ptt.held ? ' is-live' : ''}`}
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture?.(e.pointerId);
        ptt.press();
      }}
      onPointerUp={ptt.release}
      onPointerCancel={ptt.release}
      onKeyDown={(e) => {
        if ((e.key === 'Enter' || e.key === ' ') && !e.repeat) {
          e.preventDefault();
          ptt.press();
        }
      }}
      onKeyUp={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          ptt.release();
        }
      }}
      onContextMenu={(e) => e.preventDefault()}
      aria-pressed={ptt.held}
      data-testid="ptt-button"
    >
      <MicIcon />
      <span>{ptt.held ? 'Listening… release to send' : 'Hold to talk (or hold Space)'}</span>
    </button>
  );
}

/** The talk button (hands-free) or push-to-talk button, the level meter and the turn-taking mode. */
export function TalkPanel({ mode, onModeChange, active, micState, levelRef, error, ptt, onStart, onStop }: Props) {
  return (
    <div className="panel talk-panel">
      <div className="talk">
        {mode === 'handsfree' ? (
          <button
            type="button"
            className={`talk-button${active ? ' is-live' : ''}`}
            onClick={active ? onStop : onStart}
            aria-pressed={active}
            disabled={micState === 'starting'}
            data-testid="start-button"
          >
            <MicIcon />
            <span>{active ? 'Stop conversation' : micState === 'starting' ? 'Starting…' : 'Start conversation'}</span>
          </button>
        ) : (
          <PttButton ptt={ptt} />
        )}
        <LevelMeter levelRef={levelRef} active={micState === 'on'} />
        <ErrorMessage message={error} testId="mic-error" />
      </div>

      <fieldset className="mode-field">
        <legend>Turn taking</legend>
        <div className="segmented">
          <label>
            <input type="radio" name="mode" value="handsfree" checked={mode === 'handsfree'} onChange={() => onModeChange('handsfree')} data-testid="mode-handsfree" />
            <span>Hands-free</span>
          </label>
          <label>
            <input type="radio" name="mode" value="ptt" checked={mode === 'ptt'} onChange={() => onModeChange('ptt')} data-testid="mode-ptt" />
            <span>Push-to-talk</span>
          </label>
        </div>
      </fieldset>
      {mode === 'ptt' && active && (
        <button type="button" className="button secondary small" onClick={onStop}>
          Turn microphone off
        </button>
      )}
    </div>
  );
}

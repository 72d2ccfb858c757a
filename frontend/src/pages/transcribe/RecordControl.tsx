import { ErrorMessage } from '../../components/ErrorMessage';
import { LevelMeter } from '../../components/LevelMeter';
import type { Recorder } from '../../hooks/useRecorder';
import { formatClock } from '../../lib/subtitles';

interface Props {
  recorder: Recorder;
  onStart(): void;
  onStop(): void;
}

/** Record from the microphone: the toggle button with the elapsed time, the level and mic errors. */
export function RecordControl({ recorder, onStart, onStop }: Props) {
  const { recording, elapsed, mic } = recorder;
  return (
    <>
      <div className="record">
        <button
          type="button"
          className={`button ${recording ? 'danger' : 'secondary'}`}
          onClick={recording ? onStop : onStart}
          aria-pressed={recording}
          disabled={mic.state === 'starting'}
          data-testid="record-button"
        >
          {recording ? `Stop recording (${formatClock(elapsed)})` : 'Record from microphone'}
        </button>
        {recording && <LevelMeter levelRef={mic.levelRef} active={recording} label="Recording level" />}
      </div>
      <ErrorMessage message={mic.error} />
    </>
  );
}

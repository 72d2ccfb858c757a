import type { ReactNode } from 'react';
import { ConversationLog } from '../../components/ConversationLog';
import { ErrorMessage } from '../../components/ErrorMessage';
import type { PlayerStats } from '../../hooks/useAudioPlayer';
import type { ConversationState } from '../../protocol';

interface Props {
  state: ConversationState;
  playerStats: PlayerStats;
  /** a reply is being thought of or streamed */
  busy: boolean;
  onInterrupt(): void;
  error: string | null;
  historyNote: string | null;
  /** the chat form */
  children: ReactNode;
}

/** What is being said: who speaks, the Interrupt button, the conversation (aria-live) and the chat form. */
export function ConversationPanel({ state, playerStats, busy, onInterrupt, error, historyNote, children }: Props) {
  const status = playerStats.playing ? 'Mithi is speaking' : state.speaking ? 'You are speaking' : busy ? 'Mithi is thinking' : 'Idle';
  return (
    <div className="panel conversation-panel" data-testid="conversation-panel" data-vad={state.vad ? 'true' : 'false'} data-session-voice={state.config?.voice ?? ''}>
      <div className="conversation-head">
        <span className="player-state" data-testid="player-state" data-frames-played={playerStats.framesPlayed} data-playing={playerStats.playing ? 'true' : 'false'}>
          <span className={`speaker-dot${playerStats.playing ? ' is-on' : ''}`} aria-hidden="true" />
          {status}
        </span>
        {(busy || playerStats.playing) && (
          <button type="button" className="button secondary small" onClick={onInterrupt} data-testid="interrupt">
            Interrupt
          </button>
        )}
      </div>
      <div aria-live="polite" aria-relevant="additions text" className="live-region">
        <ConversationLog turns={state.turns} partial={state.partial} speaking={state.speaking} />
      </div>
      <ErrorMessage message={error} testId="voice-error" />
      {historyNote && <p className="muted small">{historyNote}</p>}
      {children}
    </div>
  );
}

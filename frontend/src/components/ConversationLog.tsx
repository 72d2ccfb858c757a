import { useEffect, useRef } from 'react';
import type { ConversationTurn } from '../protocol';
import { SpeakerIcon } from './Icons';
import { LatencyBreakdown } from './LatencyBreakdown';

interface Props {
  turns: ConversationTurn[];
  partial: string;
  speaking: boolean;
}

function botLabel(status: string): string | null {
  switch (status) {
    case 'thinking':
      return 'thinking…';
    case 'interrupted':
      return 'interrupted';
    case 'failed':
      return 'failed';
    default:
      return null;
  }
}

/** The conversation: user turns (with the live partial transcript), replies as they stream, timings. */
export function ConversationLog({ turns, partial, speaking }: Props) {
  const endRef = useRef<HTMLDivElement>(null);
  const last = turns[turns.length - 1];
  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: 'nearest' });
  }, [turns.length, last?.bot?.text, partial]);

  const hasHistory = turns.some((t) => t.source === 'history');
  const firstLive = turns.findIndex((t) => t.source !== 'history');

  return (
    <div className="conversation" data-testid="conversation">
      {turns.length === 0 && !speaking && !partial && (
        <p className="empty-hint">Press <strong>Start conversation</strong> and talk, or type a message below.</p>
      )}
      <ol className="turns" aria-label="Conversation">
        {turns.map((t, i) => (
          <li key={t.key} className={`turn turn-${t.source}`} data-testid="turn" data-turn-id={t.turnId ?? ''}>
            {hasHistory && i === firstLive && <div className="divider" role="separator">this visit</div>}
            {t.user && (
              <div className="bubble user" data-testid="user-transcript">
                <span className="visually-hidden">You said: </span>
                {t.user.text || <em className="muted">(nothing heard)</em>}
                {t.source === 'text' && <span className="badge">typed</span>}
              </div>
            )}
            {t.bot && (
              <div className={`bubble bot status-${t.bot.status}`}>
                <span className="visually-hidden">Mithi: </span>
                <BotText text={t.bot.text} status={t.bot.status} spoken={t.bot.spoken} />
                {botLabel(t.bot.status) && <span className={`badge badge-${t.bot.status}`}>{botLabel(t.bot.status)}</span>}
                {t.bot.audioStarted && t.bot.status !== 'interrupted' && (
                  <span className="badge badge-audio" title="seconds of reply audio received">
                    <SpeakerIcon /> {t.bot.audioSeconds.toFixed(1)} s
                    <span className="visually-hidden"> of audio</span>
                  </span>
                )}
                {t.bot.error && <p className="error-message" role="alert">{t.bot.error}</p>}
                {t.bot.latency && <LatencyBreakdown latency={t.bot.latency} />}
              </div>
            )}
          </li>
        ))}
        {(speaking || partial) && (
          <li className="turn turn-live">
            <div className="bubble user live" data-testid="partial-transcript">
              <span className="visually-hidden">You are saying: </span>
              {partial || <span className="listening-dots" aria-label="listening">listening</span>}
            </div>
          </li>
        )}
      </ol>
      <div ref={endRef} />
    </div>
  );
}

/** The reply; for an interrupted one, what was heard, then the rest (not heard) struck through. */
function BotText({ text, status, spoken }: { text: string; status: string; spoken: string | null }) {
  if (status !== 'interrupted') return <span data-testid="bot-text">{text}</span>;
  const heard = spoken ?? text;
  const rest = spoken !== null && text.startsWith(spoken) ? text.slice(spoken.length) : spoken === null ? '' : text;
  return (
    <span data-testid="bot-text">
      {heard || (!rest && <em className="muted">(cut off before anything was heard)</em>)}
      {rest && (
        <s className="unheard" title="not heard: the reply was interrupted">
          <span className="visually-hidden"> (not heard:) </span>
          {rest}
        </s>
      )}
    </span>
  );
}

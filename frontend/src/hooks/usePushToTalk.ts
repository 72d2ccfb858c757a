import { useCallback, useEffect, useRef, useState } from 'react';

/** after releasing push-to-talk, frames still in the pipeline are sent before the commit */
export const PTT_TAIL_MS = 120;

export interface PushToTalkOptions {
  /** listen to the Space key (push-to-talk mode) */
  enabled: boolean;
  /** the talk key/button went down */
  onPress(): void;
  /** released: called PTT_TAIL_MS later, when the last frames are sent (send `input_audio.commit`) */
  onCommit(): void;
}

export interface PushToTalk {
  held: boolean;
  press(): void;
  release(): void;
  /** whether microphone frames should be sent now: held, or within the tail after the release */
  isOpen(): boolean;
}

/** Elements where Space keeps its usual meaning (typing, activating a control). */
export function isTextTarget(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  const tag = el.tagName;
  return el.isContentEditable || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'BUTTON' && !el.dataset.ptt) || tag === 'A';
}

/** Push-to-talk: press/release (button, pointer or held Space) with a short tail before the commit. */
export function usePushToTalk({ enabled, onPress, onCommit }: PushToTalkOptions): PushToTalk {
  const state = useRef({ held: false, tailUntil: 0 });
  const [held, setHeld] = useState(false);

  const press = () => {
    if (state.current.held) return;
    state.current.held = true;
    setHeld(true);
    onPress();
  };

  const release = () => {
    if (!state.current.held) return;
    state.current.held = false;
    state.current.tailUntil = performance.now() + PTT_TAIL_MS;
    setHeld(false);
    setTimeout(onCommit, PTT_TAIL_MS);
  };

  const handlers = useRef({ press, release });
  handlers.current = { press, release };

  // hold Space to talk (push-to-talk mode), unless typing in a field
  useEffect(() => {
    if (!enabled) return;
    const down = (e: KeyboardEvent) => {
      if (e.code !== 'Space' || isTextTarget(e.target)) return;
      e.preventDefault();
      if (!e.repeat) handlers.current.press();
    };
    const up = (e: KeyboardEvent) => {
      if (e.code !== 'Space' || isTextTarget(e.target)) return;
      e.preventDefault();
      handlers.current.release();
    };
    const blur = () => handlers.current.release();
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [enabled]);

  const isOpen = useCallback(() => state.current.held || performance.now() <= state.current.tailUntil, []);

  return { held, press, release, isOpen };
}

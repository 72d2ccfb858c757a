import { useCallback, useState } from 'react';
import { newSessionId } from '../lib/ids';
import { KEYS, load, save } from '../lib/storage';
import { isValidSessionId } from '../protocol';

/** The conversation id, kept in localStorage so the agent's memory carries over a page reload. */
export function useSessionId(): [string, () => string] {
  const [id, setId] = useState<string>(() => {
    const stored = load(KEYS.sessionId);
    if (stored && isValidSessionId(stored)) return stored;
    const fresh = newSessionId();
    save(KEYS.sessionId, fresh);
    return fresh;
  });
  const renew = useCallback(() => {
    const fresh = newSessionId();
    save(KEYS.sessionId, fresh);
    setId(fresh);
    return fresh;
  }, []);
  return [id, renew];
}

/** A string setting persisted in localStorage. */
export function useStoredState(key: string, initial: string): [string, (value: string) => void] {
  const [value, setValue] = useState<string>(() => load(key) ?? initial);
  const set = useCallback(
    (v: string) => {
      save(key, v);
      setValue(v);
    },
    [key],
  );
  return [value, set];
}

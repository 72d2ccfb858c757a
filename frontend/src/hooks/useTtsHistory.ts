import { useCallback, useEffect, useState } from 'react';
import { addGeneration, clearGenerations, deleteGeneration, listGenerations, type Generation } from '../lib/historyDb';

export interface TtsHistory {
  items: Generation[];
  error: string | null;
  add(g: Generation): Promise<void>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
}

/** The TTS studio's generations, persisted in IndexedDB. */
export function useTtsHistory(): TtsHistory {
  const [items, setItems] = useState<Generation[]>([]);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setItems(await listGenerations());
      setError(null);
    } catch (err) {
      setError(`The history is unavailable in this browser (${err instanceof Error ? err.message : String(err)}).`);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const wrap = useCallback(
    (fn: () => Promise<void>) => async () => {
      try {
        await fn();
      } catch (err) {
        setError(`Could not update the history (${err instanceof Error ? err.message : String(err)}).`);
      }
      await refresh();
    },
    [refresh],
  );

  return {
    items,
    error,
    add: (g) => wrap(() => addGeneration(g))(),
    remove: (id) => wrap(() => deleteGeneration(id))(),
    clear: () => wrap(() => clearGenerations())(),
  };
}

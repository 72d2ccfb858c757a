import { useMemo } from 'react';
import { api, limitsOf, type Health, type Language, type Limits, type Voice } from '../api';
import { useAsync } from './useAsync';

export interface Catalog {
  health: Health | null;
  voices: Voice[];
  languages: Language[];
  limits: Limits;
  loading: boolean;
  error: string | null;
  reload(): void;
}

interface Loaded {
  health: Health;
  voices: Voice[];
  languages: Language[];
}

/** /health, /api/voices and /api/languages together: what the pickers and limits are built from. */
export function useCatalog(): Catalog {
  const state = useAsync<Loaded>(async (signal) => {
    const [health, voices, languages] = await Promise.all([api.health(signal), api.voices(signal), api.languages(signal)]);
    return { health, voices, languages };
  });
  const data = state.data;
  return useMemo(
    () => ({
      health: data?.health ?? null,
      voices: data?.voices ?? [],
      languages: data?.languages ?? [],
      limits: limitsOf(data?.health ?? null),
      loading: state.loading,
      error: state.error,
      reload: state.reload,
    }),
    [data, state.loading, state.error, state.reload],
  );
}

/** Voices a request can use now (installed, engine enabled), optionally of one language. */
export function usableVoices(voices: Voice[], language: string | null): Voice[] {
  return voices.filter((v) => v.available && v.installed && (!language || language === 'auto' || v.language === language));
}

import { useSyncExternalStore } from 'react';
import { auth, type AuthSnapshot } from '../lib/auth';

/** The API-key state (is auth on, is a key stored, is the key dialog open) — see lib/auth.ts. */
export function useAuth(): AuthSnapshot {
  return useSyncExternalStore(auth.subscribe, auth.getSnapshot, auth.getSnapshot);
}

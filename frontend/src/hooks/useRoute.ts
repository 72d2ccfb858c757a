import { useCallback, useEffect, useState } from 'react';

export const ROUTES = [
  { path: '/', label: 'Voice chat' },
  { path: '/tts', label: 'TTS studio' },
  { path: '/transcribe', label: 'Transcribe' },
  { path: '/status', label: 'Status' },
] as const;

export type RoutePath = (typeof ROUTES)[number]['path'];

function current(): RoutePath {
  const p = window.location.pathname.replace(/\/+$/, '') || '/';
  return (ROUTES.find((r) => r.path === p)?.path ?? '/') as RoutePath;
}

/** History-API routing for the four pages (the server answers every page path with index.html). */
export function useRoute(): [RoutePath, (path: RoutePath) => void] {
  const [path, setPath] = useState<RoutePath>(current);
  useEffect(() => {
    const onPop = () => setPath(current());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: RoutePath) => {
    if (to !== window.location.pathname) window.history.pushState(null, '', to);
    setPath(to);
  }, []);
  return [path, navigate];
}

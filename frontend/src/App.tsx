import { Fragment, useEffect, useRef } from 'react';
import { authEnabled } from './api';
import { ApiKeyDialog } from './components/ApiKeyDialog';
import { NavBar } from './components/NavBar';
import { useAuth } from './hooks/useAuth';
import { useRoute, ROUTES } from './hooks/useRoute';
import { StatusPage } from './pages/StatusPage';
import { TranscribePage } from './pages/TranscribePage';
import { TtsStudioPage } from './pages/TtsStudioPage';
import { VoiceChatPage } from './pages/VoiceChatPage';

export function App() {
  const [path, navigate] = useRoute();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  // a saved or forgotten API key restarts the pages (their requests and the /voice socket use the new one)
  const { version } = useAuth();

  useEffect(() => {
    // learn from /health whether the server needs a key (the key dialog opens if none is stored)
    authEnabled().catch(() => undefined);
  }, []);

  useEffect(() => {
    const label = ROUTES.find((r) => r.path === path)?.label ?? '';
    document.title = `${label} · Mithivoices`;
    // after a navigation, move focus to the page (screen readers announce it; keyboard users start there)
    if (first.current) first.current = false;
    else mainRef.current?.focus();
  }, [path]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <NavBar path={path} navigate={navigate} />
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Fragment key={version}>
          {path === '/' && <VoiceChatPage />}
          {path === '/tts' && <TtsStudioPage />}
          {path === '/transcribe' && <TranscribePage />}
          {path === '/status' && <StatusPage />}
        </Fragment>
      </main>
      <ApiKeyDialog />
    </>
  );
}

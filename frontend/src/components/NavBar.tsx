import type { MouseEvent } from 'react';
import { ROUTES, type RoutePath } from '../hooks/useRoute';
import { ApiKeyControl } from './ApiKeyDialog';

interface Props {
  path: RoutePath;
  navigate: (path: RoutePath) => void;
}

export function NavBar({ path, navigate }: Props) {
  const onClick = (to: RoutePath) => (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <header className="topbar">
      <a className="brand" href="/" onClick={onClick('/')} aria-label="Mithivoices home">
        <span className="brand-mark" aria-hidden="true">
          <svg viewBox="0 0 24 24" width="22" height="22">
            <path d="M3 12h2M7 8v8M11 4v16M15 7v10M19 10v4M21 12h0" stroke="currentColor" strokeWidth="2" strokeLinecap="round" fill="none" />
          </svg>
        </span>
        Mithivoices
      </a>
      <nav aria-label="Main">
        <ul>
          {ROUTES.map((r) => (
            <li key={r.path}>
              <a href={r.path} onClick={onClick(r.path)} aria-current={path === r.path ? 'page' : undefined} data-testid={`nav-${r.path === '/' ? 'voice' : r.path.slice(1)}`}>
                {r.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <ApiKeyControl />
    </header>
  );
}

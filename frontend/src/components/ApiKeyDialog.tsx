import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, api, errorMessage } from '../api';
import { UNAUTHORIZED_MESSAGE, auth, normalizeApiKey } from '../lib/auth';
import { useAuth } from '../hooks/useAuth';
import { ErrorMessage } from './ErrorMessage';

/**
 * The API key dialog (a modal <dialog>): opens when the server needs a key and none is stored, or when a
 * request answers 401. The key typed is checked with `POST /api/auth/token` before it is saved; once saved it
 * is never shown again (the input is emptied, and the app only ever says "key saved").
 */
export function ApiKeyDialog() {
  const { prompt, enabled } = useAuth();
  const ref = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const titleId = useId();
  const hintId = useId();
  const reasonId = useId();
  const errorId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (prompt !== null && !dialog.open) {
      setError(null);
      dialog.showModal();
    } else if (prompt === null && dialog.open) dialog.close();
  }, [prompt]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (checking) return;
    const key = normalizeApiKey(value);
    if (key === null) {
      setError('Enter the key: printable characters, no spaces.');
      return;
    }
    setChecking(true);
    setError(null);
    try {
      // a key for a server without keys needs no check; otherwise try it before keeping it
      if (enabled !== false) await api.authToken(undefined, key);
    } catch (err) {
      const rejected = err instanceof ApiError && err.status === 401;
      // a server without keys (or without the token route) has nothing to check the key against
      const unknownRoute = err instanceof ApiError && (err.code === 'auth_disabled' || err.status === 404 || err.status === 405);
      const limited = err instanceof ApiError && err.status === 429; // the key was accepted, then limited
      if (!unknownRoute && !limited) {
        setError(rejected ? UNAUTHORIZED_MESSAGE : `The key could not be checked: ${errorMessage(err)}`);
        setChecking(false);
        return;
      }
    }
    setChecking(false);
    setValue('');
    auth.saveKey(key);
  };

  return (
    <dialog
      ref={ref}
      className="key-dialog"
      aria-labelledby={titleId}
      aria-describedby={prompt ? `${reasonId} ${hintId}` : hintId}
      data-testid="api-key-dialog"
      onCancel={(e) => {
        e.preventDefault();
        setValue('');
        auth.dismiss();
      }}
    >
      <form method="dialog" onSubmit={(e) => void submit(e)}>
        <h2 id={titleId}>API key</h2>
        {prompt && (
          <p id={reasonId} className="key-reason" data-testid="api-key-reason">
            {prompt}
          </p>
        )}
        <div className="field">
          <label htmlFor={`${titleId}-input`}>API key</label>
          <input
            id={`${titleId}-input`}
            type="password"
            name="api-key"
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={`${hintId}${error ? ` ${errorId}` : ''}`}
            data-testid="api-key-input"
            autoFocus
          />
        </div>
        <p id={hintId} className="muted small">
          Keys are set on the server: <code>MITHI_API_KEYS=name:secret,…</code> (<code>auth.api_keys</code> in config.yml). Ask whoever runs this
          server for one. The key stays in this browser and is sent with every request; “Forget key” in the top bar removes it.
        </p>
        <ErrorMessage id={errorId} message={error} testId="api-key-error" />
        <div className="actions">
          <button type="submit" className="button primary" disabled={checking} data-testid="api-key-save">
            {checking ? 'Checking…' : 'Save key'}
          </button>
          <button
            type="button"
            className="button secondary"
            onClick={() => {
              setValue('');
              auth.dismiss();
            }}
            data-testid="api-key-dismiss"
          >
            Not now
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** The top bar's key control: "API key" (opens the dialog) while none is stored, else "Forget key". */
export function ApiKeyControl() {
  const { enabled, hasKey } = useAuth();
  if (hasKey) {
    return (
      <div className="key-control">
        <span className="muted small" data-testid="api-key-state">
          Key saved
        </span>
        <button type="button" className="button secondary small" onClick={() => auth.forgetKey()} data-testid="api-key-forget">
          Forget key
        </button>
      </div>
    );
  }
  if (!enabled) return null;
  return (
    <div className="key-control">
      <button type="button" className="button small" onClick={() => auth.open()} data-testid="api-key-open">
        API key
      </button>
    </div>
  );
}

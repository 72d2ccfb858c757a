import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';

interface Props {
  connected: boolean;
  /** the server's error about a sent message (shown instead of a local one) */
  serverError: string | null;
  /** send the (trimmed, non-empty) message; returns why it was not sent, or null */
  onSend(text: string): string | null;
}

/** Type a message instead of speaking. */
export function ChatForm({ connected, serverError, onSend }: Props) {
  const [text, setText] = useState('');
  const [textError, setTextError] = useState<string | null>(null);
  const sendError = serverError ?? textError;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    const problem = onSend(t);
    setTextError(problem);
    if (!problem) setText('');
  };

  return (
    <>
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor="chat-text" className="visually-hidden">
          Type a message
        </label>
        <input
          id="chat-text"
          type="text"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            if (textError) setTextError(null);
          }}
          placeholder={connected ? 'Type a message…' : 'Type a message (waiting for the connection)…'}
          autoComplete="off"
          aria-describedby="chat-error"
          aria-invalid={sendError ? true : undefined}
          data-testid="chat-input"
        />
        <button type="submit" className="button" disabled={!text.trim()} data-testid="chat-send">
          Send
        </button>
      </form>
      <ErrorMessage id="chat-error" message={sendError} testId="chat-error" />
    </>
  );
}

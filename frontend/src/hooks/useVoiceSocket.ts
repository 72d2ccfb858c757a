import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, errorMessage, voiceToken } from '../api';
import { UNAUTHORIZED_MESSAGE, auth } from '../lib/auth';
import { decideRetry, retryDelay, type LastError, type RetryAction } from '../lib/voiceRetry';
import { parseServerEvent, voiceUrl, type ClientEvent, type ServerEvent } from '../protocol';

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed';

export interface VoiceSocketOptions {
  /** the conversation to continue; a change reconnects with the new id */
  sessionId: string;
  /** `language` connect parameter (read at each (re)connect; a change alone does not reconnect) */
  language: string | null;
  /** connect while true */
  enabled: boolean;
  onEvent: (event: ServerEvent) => void;
  onAudio: (pcm: ArrayBuffer) => void;
  /** ms to wait for session.started before giving up on an attempt */
  connectTimeoutMs?: number;
}

export interface VoiceSocket {
  status: ConnectionStatus;
  /** reconnect attempts since the last successful connection */
  attempt: number;
  /** when the next reconnect attempt is due (Date.now() ms), while reconnecting */
  retryAt: number | null;
  /** why the socket failed for good (a fatal error event), or the last close reason */
  problem: string | null;
  /** stopped because the API key is missing or wrong (saving a key starts it again) */
  needsKey: boolean;
  send(event: ClientEvent): boolean;
  sendAudio(pcm: ArrayBuffer): boolean;
  /** reconnect now (after a failure, or to skip the backoff wait) */
  reconnect(): void;
}

/**
 * The /voice WebSocket with automatic reconnection: exponential backoff with jitter (0.5 s … 10 s),
 * the same session id on every attempt (so the conversation goes on), a connect timeout, and an
 * immediate retry when the browser comes back online. When the server has API keys, every attempt first
 * gets a fresh token (`POST /api/auth/token`) and connects with `?token=`. How a connection's end is
 * handled is `decideRetry` (lib/voiceRetry.ts): `unauthorized` stops and opens the key dialog;
 * `rate_limited` / `too_many_sessions` retry with a slow backoff (5 s … 60 s); `server_busy` / close 1013
 * and close 1012 (restart) reconnect; any other fatal error event (bad parameters, close 1008) stops
 * retrying until `reconnect()` is called.
 */
export function useVoiceSocket(options: VoiceSocketOptions): VoiceSocket {
  const { sessionId, enabled } = options;
  const [status, setStatus] = useState<ConnectionStatus>('idle');
  const [attempt, setAttempt] = useState(0);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [needsKey, setNeedsKey] = useState(false);
  const [kick, setKick] = useState(0);

  const latest = useRef(options);
  latest.current = options;
  const wsRef = useRef<WebSocket | null>(null);
  /** session.started received on the current socket: events may be sent */
  const readyRef = useRef(false);

  useEffect(() => {
    if (!enabled) {
      setStatus('idle');
      return;
    }
    let disposed = false;
    let tries = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let connectTimer: ReturnType<typeof setTimeout> | undefined;
    /** the token request of the attempt in progress */
    const tokenRequest = new AbortController();
    setNeedsKey(false);

    const scheduleRetry = (action: RetryAction = 'reconnect') => {
      if (disposed) return;
      const delay = retryDelay(action, tries);
      tries += 1;
      setAttempt(tries);
      setStatus('reconnecting');
      setRetryAt(Date.now() + delay);
      retryTimer = setTimeout(() => void open(), delay);
    };

    const stopForKey = () => {
      auth.rejected();
      setNeedsKey(true);
      setProblem(UNAUTHORIZED_MESSAGE);
      setStatus('failed');
    };

    const onOnline = () => {
      if (wsRef.current === null && retryTimer !== undefined) {
        clearTimeout(retryTimer);
        void open();
      }
    };

    async function open(): Promise<void> {
      if (disposed) return;
      retryTimer = undefined;
      setRetryAt(null);
      setStatus(tries === 0 ? 'connecting' : 'reconnecting');
      // with API keys on: a fresh short-lived token for each attempt (auth off: no request at all)
      let token: string | null;
      try {
        token = await voiceToken(tokenRequest.signal);
      } catch (err) {
        if (disposed) return;
        if (err instanceof ApiError && err.status === 401) return stopForKey();
        if (err instanceof ApiError && err.status === 429) {
          setProblem(err.message);
          return scheduleRetry('later');
        }
        setProblem(`Cannot get a token for the voice connection (${errorMessage(err)}).`);
        return scheduleRetry();
      }
      if (disposed) return;
      let lastError: LastError | null = null;
      let started = false;
      let ws: WebSocket;
      try {
        ws = new WebSocket(voiceUrl(window.location, { sessionId, sampleRate: 16000, language: latest.current.language, token }));
      } catch (err) {
        setProblem(`Cannot open the voice connection (${err instanceof Error ? err.message : String(err)}).`);
        scheduleRetry();
        return;
      }
      ws.binaryType = 'arraybuffer';
      wsRef.current = ws;
      readyRef.current = false;
      connectTimer = setTimeout(() => {
        if (!started) {
          setProblem('The server did not start the voice session in time.');
          ws.close();
        }
      }, latest.current.connectTimeoutMs ?? 10000);

      ws.onmessage = (msg: MessageEvent<string | ArrayBuffer>) => {
        if (disposed) return;
        if (typeof msg.data !== 'string') {
          latest.current.onAudio(msg.data);
          return;
        }
        const event = parseServerEvent(msg.data);
        if (!event) return;
        if (event.type === 'session.started') {
          started = true;
          readyRef.current = true;
          clearTimeout(connectTimer);
          tries = 0;
          setAttempt(0);
          setProblem(null);
          setStatus('open');
        } else if (event.type === 'error') {
          lastError = { code: event.code, message: event.message, fatal: event.fatal };
        }
        latest.current.onEvent(event);
      };
      ws.onclose = (e: CloseEvent) => {
        clearTimeout(connectTimer);
        if (wsRef.current === ws) {
          wsRef.current = null;
          readyRef.current = false;
        }
        if (disposed) return;
        const decision = decideRetry(e.code, lastError, e.reason);
        switch (decision.action) {
          case 'key':
            return stopForKey();
          case 'stop':
            setProblem(decision.message);
            setStatus('failed');
            return;
          case 'later':
            setProblem(decision.message);
            return scheduleRetry('later');
          case 'reconnect':
            // a socket that never started and said nothing: keep the earlier reason (e.g. the connect timeout)
            if (!started && lastError === null && e.code !== 1012 && e.code !== 1013) setProblem((p) => p ?? 'Cannot reach the voice server.');
            else setProblem(decision.message);
            return scheduleRetry();
        }
      };
      ws.onerror = () => {
        /* onclose follows and handles it */
      };
    }

    window.addEventListener('online', onOnline);
    // deferred: a mount that is undone at once (React StrictMode in dev) never opens a socket
    const first = setTimeout(() => void open(), 0);
    return () => {
      disposed = true;
      tokenRequest.abort();
      clearTimeout(first);
      window.removeEventListener('online', onOnline);
      clearTimeout(retryTimer);
      clearTimeout(connectTimer);
      const ws = wsRef.current;
      wsRef.current = null;
      if (ws) {
        ws.onmessage = null;
        ws.onclose = null;
        ws.close(1000, 'client closed');
      }
      setStatus('closed');
      setRetryAt(null);
    };
  }, [sessionId, enabled, kick]);

  const send = useCallback((event: ClientEvent): boolean => {
    const ws = wsRef.current;
    if (!ws || ws.readyState !== WebSocket.OPEN || !readyRef.current) return false;
    ws.send(JSON.stringify(event));
    return true;
  }, []);

  const sendAudio = useCallback((pcm: ArrayBuffer): boolean => {
    const ws = wsRef.current;
    if (!ws || ws.readyState !== WebSocket.OPEN || !readyRef.current) return false;
    // do not let a stalled socket pile up audio in memory: drop frames past ~2 s of backlog
    if (ws.bufferedAmount > 64000) return false;
    ws.send(pcm);
    return true;
  }, []);

  const reconnect = useCallback(() => setKick((k) => k + 1), []);

  return { status, attempt, retryAt, problem, needsKey, send, sendAudio, reconnect };
}

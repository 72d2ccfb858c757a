"""A small Python client for the /voice protocol, used by the tests and `bench/voice_latency.py`, and
usable on its own: stream a recording at real-time pace and collect the events and audio of the reply.

    async with VoiceClient.connect("ws://127.0.0.1:8000/voice") as client:
        await client.stream_pcm(pcm16_16k, trailing_silence_s=1.0)
        reply = await client.wait_for("response.done")

With `reconnect=True` (or a `Backoff`) the client reconnects by itself: a handshake that fails for a
reason that may pass (connection refused, HTTP 502/503/504, close 1013 `server_busy` before
`session.started`) is retried with exponential backoff and jitter, and a connection that drops
(close 1001/1006/1011/1012/1013/1014: a restarted, killed or draining server) is reopened with the same
`session_id`, so another worker behind the load balancer continues the conversation with its memory.
Each new connection adds a `session.started` event; `reconnects` lists the drops. A fatal refusal (close
1008: bad parameters, unauthorized, over a limit; HTTP 4xx) is never retried. A turn that was in flight
when the connection dropped is not re-sent: send it again after `wait_connected()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

logger = logging.getLogger(__name__)

# close codes after which another connection may succeed (going away, abnormal, internal error,
# service restart, try again later, bad gateway); 1008 (policy: auth, limits, bad parameters) is final
RETRY_CLOSE_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 1014})
RETRY_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: before retry n (0-based) wait a random time between half and all
    of `min(maximum, initial * factor**n)` seconds; give up after `attempts` tries (0 = never)."""

    initial: float = 0.25
    maximum: float = 8.0
    factor: float = 2.0
    attempts: int = 10

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * self.factor**attempt)
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class Received:
    """Everything the server sent, with arrival times (perf_counter seconds)."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    audio: list[tuple[float, bytes]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for _, e in self.events if e.get("type") == kind]

    def first_time(self, kind: str, after: float = 0.0) -> float | None:
        return next((t for t, e in self.events if e.get("type") == kind and t >= after), None)

    def first_audio_after(self, after: float) -> float | None:
        return next((t for t, _ in self.audio if t >= after), None)

    def audio_bytes(self, after: float = 0.0) -> bytes:
        return b"".join(chunk for t, chunk in self.audio if t >= after)


class VoiceClient:
    """One /voice conversation. Build it with `connect()`; `VoiceClient(ws)` wraps an open connection."""

    def __init__(
        self,
        ws: websockets.ClientConnection | None = None,
        *,
        url: str = "",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.ws = ws
        self.received = Received()
        self.speech_ended_at: float | None = None
        self.reconnects: list[dict[str, Any]] = []  # {"at": perf_counter, "code": close code} per drop
        self.retries: list[str] = []  # why each failed handshake was retried ("HTTP 503", ...)
        self._url, self._params, self._headers = url, dict(params or {}), dict(headers or {})
        self._backoff = backoff
        self._changed = asyncio.Condition()
        self._connected = asyncio.Event()
        self._closing = False
        self._reader = asyncio.create_task(self._run())

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        url: str,
        session_id: str | None = None,
        sample_rate: int = 16000,
        language: str | None = None,
        *,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        reconnect: bool | Backoff = False,
    ) -> AsyncIterator[VoiceClient]:
        """Open `url` (ws://host/voice) and wait for `session.started`. `api_key` is sent as
        `Authorization: Bearer`; `reconnect` turns on the reconnection described in the module doc."""
        params: dict[str, Any] = {"sample_rate": sample_rate}
        if session_id:
            params["session_id"] = session_id
        if language:
            params["language"] = language
        headers = dict(headers or {})
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        backoff = reconnect if isinstance(reconnect, Backoff) else Backoff() if reconnect else None
        client = cls(url=url, params=params, headers=headers, backoff=backoff)
        try:
            try:
                await client.wait_for("session.started", timeout=30 if backoff is None else None)
            except ConnectionError as exc:  # the handshake's own error (e.g. HTTP 401) says more
                if isinstance(exc.__cause__, Exception):
                    raise exc.__cause__ from None
                raise
            yield client
        finally:
            await client.close()

    async def close(self) -> None:
        """Close the connection (no reconnect) and stop reading."""
        self._closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader

    def _full_url(self) -> str:
        params = dict(self._params)
        started = self.received.of("session.started")
        if started:  # a reconnection continues the conversation the server named
            params["session_id"] = started[-1]["session_id"]
        return f"{self._url}?{urlencode(params)}"

    async def _run(self) -> None:
        try:
            if self.ws is None:
                await self._open()
            while True:
                self._connected.set()
                code = await self._read(self.ws)
                self._connected.clear()
                if self._closing or self._backoff is None or code not in RETRY_CLOSE_CODES:
                    return
                self.reconnects.append({"at": time.perf_counter(), "code": code})
                logger.info("/voice connection closed (%s); reconnecting", code)
                await self._open()
        finally:
            self._connected.clear()
            async with self._changed:
                self._changed.notify_all()

    async def _open(self) -> None:
        """Connect until a `session.started` arrives; retried with backoff where that may help."""
        attempt = 0
        while True:
            before = len(self.received.of("session.started"))
            seen = len(self.received.events)
            retry: str
            try:
                ws = await websockets.connect(
                    self._full_url(), max_size=None, additional_headers=self._headers or None, open_timeout=30
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                if self._backoff is None or status not in RETRY_HTTP_STATUSES:
                    raise
                retry = f"HTTP {status}"
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                if self._backoff is None:
                    raise
                retry = f"{type(exc).__name__}: {exc}"
            else:
                self.ws = ws
                code = await self._read(ws, until_started=before + 1)
                if code is None:
                    return  # session.started arrived: the reader continues in _run
                said = self._last_error(since=seen)
                if self._backoff is None or code not in RETRY_CLOSE_CODES:
                    raise ConnectionError(f"/voice closed with {code} before session.started{said}")
                retry = f"closed with {code} before session.started{said}"
            assert self._backoff is not None
            if self._backoff.attempts and attempt + 1 >= self._backoff.attempts:
                raise ConnectionError(f"/voice: gave up after {attempt + 1} attempts (last: {retry})")
            self.retries.append(retry)
            delay = self._backoff.delay(attempt)
            logger.info("/voice handshake failed (%s); retrying in %.2f s", retry, delay)
            await asyncio.sleep(delay)
            attempt += 1

    async def _read(self, ws: websockets.ClientConnection, until_started: int | None = None) -> int | None:
        """Record what `ws` sends until it closes (→ its close code) or, with `until_started`, until that
        many `session.started` events have arrived (→ None, the socket stays open)."""
        try:
            async for message in ws:
                now = time.perf_counter()
                if isinstance(message, bytes):
                    self.received.audio.append((now, message))
                else:
                    self.received.events.append((now, json.loads(message)))
                async with self._changed:
                    self._changed.notify_all()
                if until_started is not None and len(self.received.of("session.started")) >= until_started:
                    return None
        except ConnectionClosed:
            pass
        return ws.close_code if ws.close_code is not None else 1006

    async def wait_connected(self, timeout: float | None = 60) -> None:  # noqa: ASYNC109
        """Until a connection is open (after a reconnect: its `session.started` has arrived)."""
        waiter = asyncio.ensure_future(self._connected.wait())
        done, _ = await asyncio.wait(
            {waiter, self._reader}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if self._connected.is_set():
            return
        if self._reader in done:
            self._reader.result()  # the reason it gave up
            raise ConnectionError("/voice connection closed")
        raise TimeoutError("/voice: not reconnected in time")

    @property
    def session(self) -> dict[str, Any]:
        """The latest `session.started` (after a reconnect: the new connection's)."""
        return self.received.of("session.started")[-1]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_for(self, kind: str, count: int = 1, timeout: float | None = 60) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until `count` events of `kind` have arrived; returns the last one."""

        async def ready() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: len(self.received.of(kind)) >= count or self._reader.done()
                )
            found = self.received.of(kind)
            if len(found) < count:
                if self._reader.done() and not self._reader.cancelled() and self._reader.exception():
                    raise ConnectionError(
                        f"connection closed before {kind!r}: {self._reader.exception()}"
                    ) from self._reader.exception()
                raise ConnectionError(f"connection closed before {kind!r} (got {self._types()})")
            return found[count - 1]

        return await asyncio.wait_for(ready(), timeout)

    def _last_error(self, since: int) -> str:
        """The server's last `error` event among the events from index `since`, for a message."""
        errors = [e for _, e in self.received.events[since:] if e.get("type") == "error"]
        return f" ({errors[-1].get('code')}: {errors[-1].get('message')})" if errors else ""

    def _types(self) -> list[str]:
        return [e.get("type", "?") for _, e in self.received.events]

    def _socket(self) -> websockets.ClientConnection:
        if self.ws is None:
            raise ConnectionError("/voice is not connected")
        return self.ws

    async def send_json(self, **message: Any) -> None:
        await self._socket().send(json.dumps(message))

    async def send_bytes(self, data: bytes) -> None:
        await self._socket().send(data)

    async def stream_pcm(
        self,
        pcm: bytes,
        sample_rate: int = 16000,
        frame_ms: int = 20,
        trailing_silence_s: float = 0.0,
        pace: float = 1.0,
    ) -> None:
        """Send PCM16 mono in `frame_ms` frames at real-time pace (`pace` 2.0 = twice as fast), then
        silence. `speech_ended_at` is set to when the last frame of `pcm` was sent."""
        frame = int(sample_rate * frame_ms / 1000) * 2
        start = time.perf_counter()
        sent = 0.0
        ws = self._socket()
        for offset in range(0, len(pcm), frame):
            await ws.send(pcm[offset : offset + frame])
            sent += frame_ms / 1000 / pace
            delay = start + sent - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        self.speech_ended_at = time.perf_counter()
        silence = bytes(frame)
        for _ in range(int(trailing_silence_s * 1000 / frame_ms)):
            await ws.send(silence)
            sent += frame_ms / 1000 / pace
            delay = start + sent - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

"""The machinery every fake vendor server shares: lifecycle, request recording, the fault FIFO, key checks.

* :class:`VendorFake` — ``api_key`` (None accepts any key), :attr:`~VendorFake.requests` (recorded under
  a lock), a FIFO of scripted faults (each request takes the next one), ``with fake:`` start/stop.
* :class:`ThreadedVendorFake` — a :class:`VendorFake` served by a real HTTP/1.1 ``ThreadingHTTPServer``
  in a daemon thread on 127.0.0.1 and a free port (:class:`QuietHTTPServer` + a :class:`QuietHandler`).
* :func:`openai_error_body` / :func:`openai_key_error` — OpenAI's (and Groq's) error body and its answer
  to a missing or wrong ``Authorization: Bearer`` key.

The vendor modules (:mod:`tests.fakes.openai_chat`, :mod:`tests.fakes.openai_transcriptions`,
:mod:`tests.fakes.deepgram`, and the TTS fakes through :mod:`tests.fakes.tts_vendor`) add the vendor's
paths, bodies and error shapes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.core.net import free_port

R = TypeVar("R")
"""A recorded request."""
F = TypeVar("F")
"""A scripted fault (or reply)."""


def openai_error_body(
    message: str, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's (and Groq's) error body."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def mask_key(key: str) -> str:
    """The way OpenAI echoes a wrong key: first and last few characters only."""
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "*" * len(key)


def openai_key_error(expected: str | None, headers: dict[str, str]) -> str | None:
    """OpenAI's 401 message when ``Authorization: Bearer`` is not ``expected`` (None: any key is fine)."""
    if expected is None:
        return None
    auth = headers.get("authorization", "")
    given = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    if given == expected:
        return None
    if not given:
        return "You didn't provide an API key."
    return (
        f"Incorrect API key provided: {mask_key(given)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )


class VendorFake(Generic[R, F]):
    """Base of the vendor fakes: ``api_key``, recorded requests, the fault FIFO, ``with`` start/stop."""

    thread_name = "fake-vendor"

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key
        self.requests: list[R] = []
        self._faults: deque[F] = deque()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _clear(self) -> None:
        """Forget scripted faults and recorded requests."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    # ------------------------------------------------------------------ scripting
    def enqueue(self, fault: F, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def _pop_fault(self, default: F) -> F:
        """The next scripted fault, or ``default`` when none is left."""
        with self._lock:
            return self._faults.popleft() if self._faults else default

    # ------------------------------------------------------------------ inspection
    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> R:
        return self.requests[-1]

    def _record(self, record: R) -> R:
        with self._lock:
            self.requests.append(record)
        return record


FaultKind = Literal["ok", "error", "slow", "drop", "malformed"]


@dataclass
class KindFault:
    """A scripted fault of the STT fakes: its kind, and the details of an "error" or a "slow" one."""

    kind: FaultKind
    status: int = 200
    retry_after: float | None = None
    message: str | None = None
    seconds: float = 0.0


class KindFaults(VendorFake[R, KindFault]):
    """Scripting by :class:`KindFault` (the STT fakes); what "drop" and "malformed" send is the vendor's."""

    def fail(
        self, status: int, times: int = 1, retry_after: float | None = None, message: str | None = None
    ) -> None:
        """Answer the next ``times`` requests (or live handshakes) with ``status`` and the vendor's error."""
        self.enqueue(KindFault("error", status=status, retry_after=retry_after, message=message), times)

    def slow(self, seconds: float, times: int = 1) -> None:
        """Wait ``seconds`` before answering the next ``times`` requests."""
        self.enqueue(KindFault("slow", seconds=seconds), times)

    def drop(self, times: int = 1) -> None:
        """Send a 200 status line and part of the answer, then close the connection."""
        self.enqueue(KindFault("drop"), times)

    def malformed(self, times: int = 1) -> None:
        """Answer 200 with a body that is not what the vendor documents."""
        self.enqueue(KindFault("malformed"), times)

    def _next_fault(self) -> KindFault:
        return self._pop_fault(KindFault("ok"))


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded server that keeps quiet about clients hanging up (timeouts, dropped streams)."""

    daemon_threads = True
    allow_reuse_address = True
    fake: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose; the tests assert on outcomes


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, chunked), no access log."""

    protocol_version = "HTTP/1.1"
    server: QuietHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadedVendorFake(VendorFake[R, F]):
    """A :class:`VendorFake` served by ``handler`` on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, api_key: str | None, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(api_key)
        self._server = QuietHTTPServer(("127.0.0.1", 0), handler)
        self._server.fake = self

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class UvicornVendorFake(VendorFake[R, F]):
    """A :class:`VendorFake` whose ASGI ``routes`` (HTTP and WebSocket) uvicorn serves on 127.0.0.1 and a
    free port, in a daemon thread (for vendors with a WebSocket API: Deepgram, Sarvam)."""

    def __init__(self, api_key: str | None, routes: list[BaseRoute]) -> None:
        super().__init__(api_key)
        self.port = free_port()
        config = uvicorn.Config(
            Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="critical", lifespan="off"
        )
        self._server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.run, name=self.thread_name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.thread_name} server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class DroppedSocket(Exception):
    """A stand-in closed a live socket on purpose (a "drop" fault)."""


class FakeLiveSession:
    """One live WebSocket of a stand-in: :meth:`run` reads the client's messages (the subclass's
    ``_receive``, with :meth:`next_message`) while ``_worker`` answers from ``work``, until the client
    leaves, the socket idles for ``fake.idle_timeout`` (closed with :attr:`idle_close`) or the stand-in
    drops it."""

    idle_close: tuple[int, str] = (1000, "idle timeout")  # the vendor's close code and reason
    fake: Any
    ws: WebSocket
    record: Any  # the session's RecordedRequest: closed_by is set here
    work: asyncio.Queue[Any]

    async def _receive(self) -> None:
        raise NotImplementedError

    async def _worker(self) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        worker = asyncio.create_task(self._worker())
        try:
            await self._receive()
        finally:
            await self.work.put(None)
            try:
                await worker
            except (WebSocketDisconnect, RuntimeError, DroppedSocket):
                pass

    async def next_message(self) -> dict[str, Any] | None:
        """The client's next message; None when it left or the socket idled (then closed here)."""
        try:
            message = await asyncio.wait_for(self.ws.receive(), self.fake.idle_timeout)
        except TimeoutError:
            self.record.closed_by = "idle"
            await self.ws.close(*self.idle_close)
            return None
        if message["type"] == "websocket.disconnect":
            self.record.closed_by = self.record.closed_by or "client"
            return None
        return dict(message)

"""Capacity, readiness and a graceful drain, per process.

- **Capacity**: at most ``server.max_voice_sessions`` open ``/voice`` sessions in this process; one more
  gets ``server_busy`` and close code 1013 (try again later), so a load balancer or client goes elsewhere.
- **Readiness** (``GET /health/ready``): 503 while the process is starting, draining, or cannot reach
  Redis; 200 otherwise. ``/health`` stays the liveness check.
- **Drain** (SIGTERM): stop accepting new sessions (``server_busy``) and mark the process not ready, let
  each session finish the turn in flight for up to ``server.drain_seconds``, then close every socket with
  1012 (service restart) so clients reconnect elsewhere, and only then let uvicorn shut down.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_SERVICE_RESTART = 1012


class Drainable(Protocol):
    """What a door's session offers the drain: wait for the turn in flight, then close."""

    async def finish_turn(self, within: float) -> None: ...

    async def close_for_restart(self) -> None: ...


class Lifecycle:
    def __init__(self, max_voice_sessions: int, drain_seconds: float) -> None:
        self.max_voice_sessions = max_voice_sessions
        self.drain_seconds = drain_seconds
        self.ready = False
        self.draining = False
        self.sessions: set[Drainable] = set()
        self._drained = asyncio.Event()

    # ------------------------------------------------------------------ capacity
    def admission_error(self) -> str | None:
        """Why a new voice session cannot start here now, or None."""
        if self.draining:
            return "this server is shutting down; connect again (another worker will answer)"
        if len(self.sessions) >= self.max_voice_sessions:
            return (
                f"this server holds its maximum of {self.max_voice_sessions} voice sessions "
                "(server.max_voice_sessions); try again later"
            )
        return None

    def add(self, session: Drainable) -> None:
        self.sessions.add(session)

    def discard(self, session: Drainable) -> None:
        self.sessions.discard(session)

    # ------------------------------------------------------------------ drain
    async def drain(self) -> None:
        """Refuse new sessions, let turns in flight finish (bounded), close the rest with 1012."""
        if self.draining:
            await self._drained.wait()
            return
        self.draining = True
        start = time.monotonic()
        sessions = list(self.sessions)
        logger.info("draining: %d voice session(s), up to %.0f s", len(sessions), self.drain_seconds)
        if sessions:
            await asyncio.gather(
                *(s.finish_turn(self.drain_seconds) for s in sessions), return_exceptions=True
            )
            await asyncio.gather(
                *(s.close_for_restart() for s in list(self.sessions)), return_exceptions=True
            )
        logger.info("drained in %.1f s", time.monotonic() - start)
        self._drained.set()

    def install_sigterm(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """On SIGTERM drain first, then hand the signal to the server's own handler (uvicorn's exit).

        Only possible from the main thread (signal handlers); elsewhere (tests running the app in a
        thread) nothing is installed and `drain()` can be called directly. Returns an uninstaller.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGTERM)

        def handed_on(signum: int, frame: Any) -> None:
            if callable(previous):
                previous(signum, frame)
            else:
                signal.raise_signal(signum)  # pragma: no cover - default disposition

        async def drain_then_exit(signum: int) -> None:
            try:
                await self.drain()
            finally:
                handed_on(signum, None)

        def on_signal(signum: int, frame: Any) -> None:
            if self.draining:  # a second SIGTERM: stop now
                handed_on(signum, frame)
                return
            loop.call_soon_threadsafe(lambda: loop.create_task(drain_then_exit(signum)))

        signal.signal(signal.SIGTERM, on_signal)

        def uninstall() -> None:
            if signal.getsignal(signal.SIGTERM) is on_signal:
                signal.signal(signal.SIGTERM, previous)

        return uninstall

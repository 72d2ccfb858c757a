"""Run the app in a background thread on a loopback port: used by the tests and the benchmarks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn

from backend.core.config import Settings
from backend.core.net import free_port

T = TypeVar("T")


class BackgroundServer:
    """uvicorn serving create_app(settings) in a thread: `with BackgroundServer(s) as srv: srv.url`."""

    def __init__(self, settings: Settings, start_timeout: float = 120, host: str = "127.0.0.1") -> None:
        from backend.app.main import create_app

        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.start_timeout = start_timeout
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.exit_code: int | str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        try:
            with asyncio.Runner(
                loop_factory=self.server.config.get_loop_factory()
            ) as runner:  # as uvicorn.run
                runner.run(self._serve())
        except SystemExit as exc:  # uvicorn exits with 3 when the app's startup fails
            self.exit_code = exc.code

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.server.serve()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run `coro` on the server's event loop (where the app's providers live) and return its result."""
        assert self.loop is not None, "the server is not running"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive():
                error = getattr(self.app.state, "startup_error", None)
                reason = getattr(error, "message", None) or f"exit code {self.exit_code}; see the log"
                raise RuntimeError(f"server failed to start: {reason}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server did not start in {self.start_timeout:g} s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

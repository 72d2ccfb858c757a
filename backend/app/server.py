"""Run the app in a background thread on a loopback port: used by the tests and the benchmarks."""

from __future__ import annotations

import threading
import time

import uvicorn

from backend.core.config import Settings
from backend.core.net import free_port


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

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit as exc:  # uvicorn exits with 3 when the app's startup fails
            self.exit_code = exc.code

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

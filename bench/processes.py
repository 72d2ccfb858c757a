"""Real subprocesses for multi-process tests and benchmarks, each on a free loopback port:

- :class:`LlamaServer`: a shared model server, `python -m llama_cpp.server` (llama-cpp-python[server])
  serving one GGUF, what the app workers' `llm.provider: openai` points at;
- :class:`RedisServer`: one redis-server (the embedded binary and its JSON/Search modules) for `redis.url`;
- :class:`AppProcess`: `python -m backend --config FILE --port P`, as a user or systemd starts the app.

Used by tests/integration/test_shared_llm_server.py and bench/capacity.py (`--llm shared`); the commands
are those of docs/DEPLOY.md ("Serving the models apart from the app").

llama_cpp.server (0.3.x) holds one `Llama` context behind a global lock, so it generates for one request
at a time and queues the rest (a `--config_file` with several model aliases does not change that: it keeps
one model loaded and swaps on demand). Parallel slots come from several such processes behind a load
balancer, or from a server with continuous batching (llama.cpp's C++ `llama-server --parallel N`, vLLM).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

from backend.core.config import PROJECT_ROOT
from backend.core.net import free_port
from backend.core.redis import embedded_modules, embedded_server_binary

DEFAULT_ALIAS = "gemma"


def server_command(
    model: Path, port: int, *, threads: int = 1, context_tokens: int = 2048, alias: str = DEFAULT_ALIAS
) -> list[str]:
    """The command line of one llama_cpp.server on 127.0.0.1:`port` serving `model` as `alias`."""
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", alias,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(context_tokens),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        # the default (True) ends a streaming reply early whenever another request arrives: with several
        # app workers that cuts replies off mid-sentence; False queues the requests instead
        "--interrupt_requests", "False",
    ]  # fmt: skip


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _log_tail(log: Path | None, lines: int = 12) -> str:
    if log is None or not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


class _Subprocess:
    """start() + wait_ready() as a context manager, stopped on the way out (also when startup fails)."""

    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    stop_timeout: float = 15

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self) -> None:
        raise NotImplementedError

    def wait_ready(self) -> None:
        raise NotImplementedError

    def log_tail(self, lines: int = 15) -> str:
        return _log_tail(self.log, lines)

    def stop(self) -> None:
        _stop(self.proc, timeout=self.stop_timeout)

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LlamaServer(_Subprocess):
    """One `python -m llama_cpp.server` subprocess: `with LlamaServer(model) as llm: llm.base_url`."""

    def __init__(
        self,
        model: Path,
        *,
        threads: int = 1,
        context_tokens: int = 2048,
        alias: str = DEFAULT_ALIAS,
        log: Path | None = None,
        start_timeout: float = 60,
    ) -> None:
        if not model.is_file():
            raise FileNotFoundError(f"{model} not found; run `python download_models.py`")
        self.model, self.alias, self.log, self.start_timeout = model, alias, log, start_timeout
        self.port = free_port()
        self.command = server_command(
            model, self.port, threads=threads, context_tokens=context_tokens, alias=alias
        )
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]

    def wait_ready(self) -> None:
        """Until GET /v1/models lists the alias (the model is loaded), or the process exits."""
        assert self.proc is not None, "not started"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                models = httpx.get(f"{self.base_url}/models", timeout=2).json()
                if any(m.get("id") == self.alias for m in models.get("data", [])):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"llama_cpp.server not ready in {self.start_timeout:g} s: {self.log_tail()}")


class RedisServer:
    """One redis-server with the JSON and Search modules (what `redis.url` of every worker points at),
    data (AOF) in `data_dir`: `with RedisServer(dir) as redis: redis.url`."""

    def __init__(self, data_dir: Path, start_timeout: float = 20) -> None:
        self.data_dir, self.start_timeout = data_dir, start_timeout
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(embedded_server_binary()), "--bind", "127.0.0.1", "--port", str(self.port)]
        args += ["--dir", str(self.data_dir), "--save", "", "--appendonly", "yes"]
        args += ["--appendfsync", "everysec"]
        for module in embedded_modules():
            args += ["--loadmodule", str(module)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return self
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                _stop(self.proc)
                raise TimeoutError(f"redis-server did not answer in {self.start_timeout:g} s")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        _stop(self.proc)


def app_config(path: Path, overrides: dict[str, dict[str, Any]]) -> Path:
    """The repo's config.yml with `overrides` merged in section by section, written to `path`."""
    data = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class AppProcess(_Subprocess):
    """`python -m backend --config <file> --port <port>`: `with AppProcess(cfg, log) as app: app.url`."""

    def __init__(self, config: Path, log: Path, start_timeout: float = 240, port: int | None = None) -> None:
        self.config, self.log, self.start_timeout = config, log, start_timeout
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/voice"
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop_timeout = 30

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def worker(self) -> str:
        """What its responses say in X-Mithi-Worker (and /voice session.started `worker`)."""
        return f"{socket.gethostname()}:{self.pid}"

    def kill9(self) -> None:
        """Die without a goodbye, as a crash or the OOM killer does."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(10)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend", "--config", str(self.config), "--port", str(self.port)],
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        """Until GET /health answers 200 (startup done: models loaded, agent warmed up)."""
        assert self.proc is not None, "not started"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app on port {self.port} exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError(
            f"app on port {self.port} not ready in {self.start_timeout:g} s: {self.log_tail()}"
        )

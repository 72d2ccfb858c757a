"""The embedded Redis (start, persistence, one owner per data dir) and an external one (modules checked)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis.exceptions import OutOfMemoryError, RedisError

from backend.core.config import parse_config
from backend.core.errors import ConfigError, storage_error
from backend.core.net import free_port
from backend.core.redis import PASSWORD_FILE, RedisService, embedded_modules, embedded_server_binary
from backend.core.urls import install_log_masking


def settings_for(data_dir: Path, url: str = "") -> object:
    return parse_config({"paths": {"data_dir": str(data_dir)}, "redis": {"url": url}})


async def test_embedded_redis_has_modules_and_persists(tmp_path: Path) -> None:
    first = RedisService(settings_for(tmp_path))
    await first.start()
    try:
        status = first.status()
        assert status["mode"] == "embedded" and status["url"].startswith("redis://127.0.0.1:")
        assert str(status["version"]).startswith("8.")
        assert await first.client.execute_command("JSON.SET", "doc", "$", '{"a": 1}')
        await first.client.set("remember", "me")
        pid = status["pid"]
    finally:
        await first.stop()
    assert not os.path.exists(f"/proc/{pid}")  # noqa: ASYNC240 - really stopped
    assert (tmp_path / "redis" / "appendonlydir").is_dir()

    second = RedisService(settings_for(tmp_path))
    await second.start()
    try:
        assert await second.client.get("remember") == b"me"
    finally:
        await second.stop()


async def test_one_embedded_redis_per_data_dir(tmp_path: Path) -> None:
    owner = RedisService(settings_for(tmp_path))
    await owner.start()
    try:
        with pytest.raises(ConfigError, match="another Mithivoices process is using"):
            await RedisService(settings_for(tmp_path)).start()
    finally:
        await owner.stop()


@contextmanager
def redis_server(data_dir: Path, modules: list[Path]) -> Iterator[str]:
    """A separate redis-server process standing in for an 'external' Redis."""
    port = free_port()
    args = [str(embedded_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--dir", str(data_dir)]
    for module in modules:
        args += ["--loadmodule", str(module)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def plain_redis(tmp_path: Path) -> Iterator[str]:
    """Redis 8 *without* the JSON/Search modules."""
    with redis_server(tmp_path, []) as url:
        yield url


async def test_external_redis_without_modules_is_refused_clearly(tmp_path: Path, plain_redis: str) -> None:
    service = RedisService(settings_for(tmp_path, plain_redis))
    with pytest.raises(ConfigError) as err:
        await service.start()
    assert "lacks the JSON (RedisJSON), Search (RediSearch) module(s)" in err.value.message


@pytest.fixture
def stack_redis(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path, embedded_modules()) as url:
        yield url


async def test_external_redis_with_modules(tmp_path: Path, stack_redis: str) -> None:
    service = RedisService(settings_for(tmp_path / "unused", stack_redis))
    await service.start()
    try:
        assert service.status()["mode"] == "external" and service.process is None
        assert not (tmp_path / "unused").exists()  # nothing embedded was started
    finally:
        await service.stop()


async def test_unreachable_external_redis(tmp_path: Path) -> None:
    service = RedisService(settings_for(tmp_path, f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(ConfigError, match="cannot connect to Redis at redis://127.0.0.1"):
        await service.start()


# --------------------------------------------------------------------------- faults, password, memory


def start_server(port: int, data_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    args = [str(embedded_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--dir", str(data_dir), "--appendonly", "yes", *extra]
    for module in embedded_modules():
        args += ["--loadmodule", str(module)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL)


async def wait_for(predicate, timeout: float = 15) -> None:  # noqa: ANN001, ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_external_redis_reconnects_by_itself_and_its_password_is_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_masking()
    caplog.set_level(logging.INFO)
    port, password = free_port(), "ext-pass-4242"
    server = start_server(port, tmp_path, "--requirepass", password)
    settings = parse_config(
        {
            "paths": {"data_dir": str(tmp_path / "unused")},
            "redis": {"url": f"redis://:{password}@127.0.0.1:{port}/0", "reconnect_max_seconds": 0.5},
        }
    )
    service = RedisService(settings)
    try:
        await wait_for(lambda: _answers(port, password))
        await service.start()
        assert service.status()["url"] == f"redis://:***@127.0.0.1:{port}/0"
        await service.client.set("kept", "yes")
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        await wait_for(lambda: _false(service.ping))
        await wait_for(lambda: _false(lambda: _reachable(service)))  # the supervisor saw it go
        with pytest.raises(RedisError):
            await service.client.get("kept")  # fails fast, no hang
        server = start_server(port, tmp_path, "--requirepass", password)  # back on the same port, AOF
        await wait_for(service.ping)
        assert await service.client.get("kept") == b"yes"  # the same client, reconnected
        await wait_for(lambda: _reachable(service))
    finally:
        await service.stop()
        server.terminate()
        server.wait(10)
    assert password not in caplog.text
    assert "unreachable" in caplog.text and "reachable again" in caplog.text


async def _answers(port: int, password: str) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis(port=port, password=password)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _false(check) -> bool:  # noqa: ANN001
    return not await check()


async def _reachable(service: RedisService) -> bool:
    return service.reachable


async def test_password_file_is_private_and_reused(tmp_path: Path) -> None:
    first = RedisService(settings_for(tmp_path))
    await first.start()
    try:
        path = tmp_path / "redis" / PASSWORD_FILE
        password = path.read_text().strip()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(password) == 64
        assert first.password == password and password not in str(first.status())
    finally:
        await first.stop()
    path.chmod(0o644)  # widened by someone: narrowed again, and the same password is used
    second = RedisService(settings_for(tmp_path))
    await second.start()
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert second.password == password and await second.client.ping()
    finally:
        await second.stop()


async def test_full_redis_refuses_writes_and_evicts_nothing(tmp_path: Path) -> None:
    settings = parse_config({"paths": {"data_dir": str(tmp_path)}, "redis": {"max_memory_mb": 8}})
    service = RedisService(settings)
    await service.start()
    try:
        config = {_text(k): _text(v) for k, v in (await service.client.config_get("maxmemory*")).items()}
        assert config["maxmemory"] == str(8 * 1024 * 1024) and config["maxmemory-policy"] == "noeviction"
        value = b"x" * 100_000
        written = 0
        with pytest.raises(OutOfMemoryError) as full:
            for written in range(1000):  # noqa: B007 - how many fitted
                await service.client.set(f"fill:{written}", value)
        storage = storage_error(full.value)
        assert storage is not None and storage.status_code == 503 and "full" in storage.message
        assert written > 5
        for i in range(written):  # everything written before it was full is still there
            assert await service.client.exists(f"fill:{i}")
    finally:
        await service.stop()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value

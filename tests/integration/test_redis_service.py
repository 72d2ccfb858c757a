"""The embedded Redis (start, persistence, one owner per data dir) and an external one (modules checked)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.core.config import parse_config
from backend.core.errors import ConfigError
from backend.core.net import free_port
from backend.core.redis import RedisService, embedded_modules, embedded_server_binary


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

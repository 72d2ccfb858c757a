"""Workers that start together on a fresh Redis all get a working checkpointer (CI once saw the second
of two workers die at startup: "Failed to create index 'checkpoint' on Redis: Index already exists")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.agents.checkpoints import open_checkpoints
from bench.processes import RedisServer


@pytest.fixture
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RedisServer(tmp_path_factory.mktemp("setup-redis")) as redis_server:  # fresh: no index yet
        yield redis_server.url


async def connected(url: str) -> aioredis.Redis:
    client = aioredis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            await client.ping()
            return client
        except (OSError, RedisError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_four_workers_setting_up_at_once_all_succeed(redis_url: str) -> None:
    clients = [await connected(redis_url) for _ in range(4)]  # one connection pool each, like processes
    try:
        savers = await asyncio.gather(*(open_checkpoints(c) for c in clients))
        indexes = {name.decode() for name in await clients[0].execute_command("FT._LIST")}
        assert "checkpoint" in indexes and len(indexes) >= 2, indexes
        config = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
        assert all([await saver.aget_tuple(config) is None for saver in savers])  # each can read
        assert not await clients[0].exists("mithi:checkpoint-setup-lock")  # released
    finally:
        for c in clients:
            await c.aclose()

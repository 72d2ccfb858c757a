"""The conversation memory's store: LangGraph's Redis checkpointer, set up once per Redis.

``AsyncRedisSaver.asetup()`` checks whether its search indexes exist and then creates them; workers that
start together on a fresh Redis race between the two and all but one fail with "Index already exists".
A Redis lock makes the check-and-create one step across processes: the first worker creates the
indexes, the others find them made."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.redis.aio import AsyncRedisSaver

SETUP_LOCK = "mithi:checkpoint-setup-lock"


async def open_checkpoints(client: Any, ttl: dict[str, Any] | None = None) -> AsyncRedisSaver:
    """A checkpointer on ``client`` whose indexes exist, whoever else is starting at the same moment."""
    saver = AsyncRedisSaver(redis_client=client, ttl=ttl)
    async with client.lock(SETUP_LOCK, timeout=60, blocking_timeout=90):
        await saver.asetup()
    return saver

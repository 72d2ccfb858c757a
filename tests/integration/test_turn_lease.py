"""The turn lease (backend/agents/lease.py) against a real Redis: exclusive, renewed while held, released
only by its holder, expiring when its holder dies, and bounded for waiters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from backend.agents.lease import ConversationBusy, TurnLease
from bench.processes import RedisServer


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RedisServer(tmp_path_factory.mktemp("lease-redis")) as redis_server:
        yield redis_server.url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 10
    while True:
        try:
            await redis.ping()
            break
        except (OSError, RedisError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    yield redis
    await redis.aclose()


def sid(name: str) -> str:
    return f"{name}-{time.monotonic_ns()}"


async def test_turns_of_one_conversation_never_overlap(client: aioredis.Redis) -> None:
    # two "processes": separate TurnLease objects, no shared memory but Redis
    a, b = TurnLease(lambda: client, ttl_s=2), TurnLease(lambda: client, ttl_s=2)
    session = sid("overlap")
    inside = 0
    overlaps = 0
    order: list[int] = []

    async def turn(lease: TurnLease, n: int) -> None:
        nonlocal inside, overlaps
        async with lease.hold(session):
            inside += 1
            overlaps += inside > 1
            await asyncio.sleep(0.05)
            order.append(n)
            inside -= 1

    await asyncio.gather(*(turn(a if n % 2 else b, n) for n in range(8)))
    assert overlaps == 0 and sorted(order) == list(range(8))
    assert await client.exists(TurnLease.key(session)) == 0  # released at the end


async def test_other_conversations_are_not_blocked(client: aioredis.Redis) -> None:
    lease = TurnLease(lambda: client, ttl_s=5, wait_s=0.2)
    async with lease.hold(sid("one")):
        async with lease.hold(sid("two")):  # a different conversation: no wait
            pass


async def test_a_held_lease_is_renewed_past_its_ttl(client: aioredis.Redis) -> None:
    lease = TurnLease(lambda: client, ttl_s=0.3, wait_s=0.1)
    session = sid("renew")
    async with lease.hold(session):
        await asyncio.sleep(0.9)  # three ttls: still ours, because it is renewed every ttl/3
        assert await lease.try_acquire(session) is None
    assert await lease.try_acquire(session) is not None


async def test_only_the_holder_releases(client: aioredis.Redis) -> None:
    lease = TurnLease(lambda: client, ttl_s=5)
    session = sid("holder")
    token = await lease.try_acquire(session)
    assert token is not None
    assert not await lease.release(session, "someone-elses-token")
    assert await client.get(TurnLease.key(session)) == token.encode()
    assert not await lease.renew(session, "someone-elses-token")
    assert await lease.release(session, token)
    assert not await lease.release(session, token)  # already free


async def test_a_crashed_holder_blocks_only_until_its_lease_expires(client: aioredis.Redis) -> None:
    crashed = TurnLease(lambda: client, ttl_s=0.5)
    session = sid("crash")
    assert await crashed.try_acquire(session) is not None  # acquired, then never renewed nor released
    waiter = TurnLease(lambda: client, ttl_s=5, wait_s=5)
    start = time.monotonic()
    async with waiter.hold(session):
        waited = time.monotonic() - start
    assert 0.2 < waited < 2.0, waited


async def test_a_waiter_gives_up_with_conversation_busy(client: aioredis.Redis) -> None:
    holder = TurnLease(lambda: client, ttl_s=5)
    session = sid("busy")
    waiter = TurnLease(lambda: client, ttl_s=5, wait_s=0.3)
    async with holder.hold(session):
        start = time.monotonic()
        with pytest.raises(ConversationBusy) as err:
            await waiter.acquire(session)
        assert 0.25 < time.monotonic() - start < 1.5
    assert err.value.status_code == 409 and err.value.code == "conversation_busy"


async def test_a_cancelled_turn_frees_the_conversation_at_once(client: aioredis.Redis) -> None:
    lease = TurnLease(lambda: client, ttl_s=30)
    session = sid("cancel")
    entered = asyncio.Event()

    async def turn() -> None:
        async with lease.hold(session):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(turn())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await client.exists(TurnLease.key(session)) == 0  # not left to expire in 30 s


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        TurnLease(lambda: None, ttl_s=0)  # type: ignore[arg-type, return-value]

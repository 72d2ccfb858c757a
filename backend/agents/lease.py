"""A conversation's turns run one at a time across every worker: a lease in Redis.

Two app processes answering the same conversation at once would both read its checkpoint, both append a
turn, and the later write would drop the earlier turn. The agent therefore holds, for the length of a
turn, a lease on the conversation:

    acquire   SET <key> <token> NX PX <ttl>            (token: random, names this holder)
    renew     every ttl/3, PEXPIRE only if GET == token (Lua, atomic)
    release   DEL only if GET == token                 (Lua, atomic: never frees someone else's lease)

A waiter polls with a short, growing, jittered delay (20 ms doubling up to 250 ms) and gives up after a
bounded wait with `conversation_busy` (409). A holder that crashed (kill -9, lost host) stops renewing, so
its lease expires after at most `ttl` and the next waiter proceeds. A holder whose renewal finds the lease
gone (it stalled for longer than the ttl) logs a warning: the turn finishes, but was not exclusive.

Within one process the agent keeps its asyncio.Lock per conversation as well, so local waiters queue on
the lock and only one of them at a time polls Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable

import redis.asyncio as aioredis

from backend.core.errors import MithiError

logger = logging.getLogger(__name__)

LEASE_PREFIX = "mithi:turn-lease:"
DEFAULT_TTL_S = 10.0  # a crashed holder blocks its conversation at most this long
DEFAULT_WAIT_S = 60.0  # a turn waits this long for the conversation's earlier turns, then 409
_POLL_FIRST_S = 0.02
_POLL_MAX_S = 0.25

# KEYS[1] = lease key, ARGV[1] = token (, ARGV[2] = ttl ms): act only while we still hold the lease
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)


class ConversationBusy(MithiError):
    """Another turn of the same conversation (on any worker) did not finish within the wait."""

    status_code = 409
    code = "conversation_busy"


class TurnLease:
    """The Redis lease that serializes the turns of conversations across processes.

    `client` returns the current Redis client (looked up on each use, so a reconnected client is used).
    """

    def __init__(
        self,
        client: Callable[[], aioredis.Redis],
        ttl_s: float = DEFAULT_TTL_S,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> None:
        if ttl_s <= 0 or wait_s < 0:
            raise ValueError("ttl_s must be positive and wait_s not negative")
        self._client = client
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.wait_s = wait_s

    @staticmethod
    def key(session_id: str) -> str:
        return LEASE_PREFIX + session_id

    async def try_acquire(self, session_id: str) -> str | None:
        """One attempt: the new lease's token, or None while another holder has it."""
        token = secrets.token_hex(16)
        ok = await self._client().set(self.key(session_id), token, nx=True, px=self.ttl_ms)
        return token if ok else None

    async def acquire(self, session_id: str) -> str:
        """Wait (bounded) until this conversation is free; returns the token that releases it."""
        deadline = time.monotonic() + self.wait_s
        delay = _POLL_FIRST_S
        while True:
            token = await self.try_acquire(session_id)
            if token is not None:
                return token
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConversationBusy(
                    f"another turn of conversation '{session_id}' is still running after {self.wait_s:g} s; "
                    "send this turn again when it has finished"
                )
            await asyncio.sleep(min(left, random.uniform(delay / 2, delay)))
            delay = min(_POLL_MAX_S, delay * 2)

    async def renew(self, session_id: str, token: str) -> bool:
        """Extend our lease to a full ttl again; False when it is no longer ours."""
        return bool(await self._client().eval(_RENEW, 1, self.key(session_id), token, self.ttl_ms))

    async def release(self, session_id: str, token: str) -> bool:
        """Free the lease if it is still ours (compare-and-delete); False when it had expired."""
        return bool(await self._client().eval(_RELEASE, 1, self.key(session_id), token))

    async def _keep_alive(self, session_id: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                if not await self.renew(session_id, token):
                    logger.warning(
                        "the turn lease of conversation %s expired while its turn ran (a stall longer "
                        "than %d ms); the turn continues without exclusivity",
                        session_id,
                        self.ttl_ms,
                    )
                    return
            except Exception as exc:  # Redis away for a moment: keep trying until the turn ends
                logger.warning("could not renew the turn lease of conversation %s: %s", session_id, exc)

    @contextlib.asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[str]:
        """`async with lease.hold(session_id):` the turn runs while no other holder can enter."""
        token = await self.acquire(session_id)
        keeper = asyncio.create_task(self._keep_alive(session_id, token), name=f"turn-lease-{session_id}")
        try:
            yield token
        finally:
            keeper.cancel()  # not awaited: a late renewal of a released lease is a no-op (token check)
            try:
                # shielded: a cancelled turn (client gone) still frees the conversation at once
                await asyncio.shield(self.release(session_id, token))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the lease then expires by itself within ttl
                logger.warning("could not release the turn lease of conversation %s: %s", session_id, exc)

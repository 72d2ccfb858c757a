"""Inbound audio frames go through a Redis Stream per connection, between the socket reader and the
pipeline: the reader never waits for a slow stage, and the buffered audio lives outside the process.
The backlog is bounded: audio beyond `max_backlog` unread entries is dropped (`add_audio` returns False;
the session tells the client `input_overflow`), a commit waits for the pipeline instead (backpressure
on the socket). Every write refreshes the key's expiry (`STREAM_TTL_S`), so the stream of a worker that
died without cleaning up (kill -9) goes away by itself; a live connection deletes it when it ends.

Entries: {"a": <PCM16 bytes>} for audio, {"c": "commit"} for a push-to-talk commit and {"x": "clear"}
to forget the utterance so far (both kept in order with the audio around them). With no Redis client
(in-process engine tests) the stream lives in process from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

STREAM_TTL_S = 120  # a stream nobody writes to for this long expires (its worker is gone)
_cleanups: set[asyncio.Task[None]] = set()  # deletions under way (see FrameStream.delete)


class FrameStream:
    def __init__(self, client: aioredis.Redis | None, key: str, max_backlog: int = 1500) -> None:
        self.r = client
        self.key = key
        self.max_backlog = max_backlog  # entries written but not yet read (~30 s of 20 ms frames)
        self._last_id = "0-0"
        self.written = 0
        self.read = 0
        self._drained = asyncio.Event()
        self._drained.set()
        # Redis failed (down, restarting, full): from then on this connection's frames stay in process
        self.local: deque[dict[bytes, bytes]] | None = None if client is not None else deque()
        self._local_ready = asyncio.Event()

    def _fall_back(self, exc: BaseException) -> None:
        """Go on in process: the session survives Redis going away. Entries written to Redis and not yet
        read (normally none, or a frame or two) are lost; the rest of the connection never goes back."""
        if self.local is None:
            logger.warning("%s: Redis failed (%s); this connection's audio stays in process", self.key, exc)
            self.local = deque()
            self.read = self.written  # what Redis held is given up

    @property
    def full(self) -> bool:
        """`max_backlog` entries are written and not yet read."""
        return self.written - self.read >= self.max_backlog

    async def _add(self, fields: dict[str, bytes | str]) -> None:
        if self.full:
            self._drained.clear()
            await self._drained.wait()  # backpressure: stop reading the socket until the pipeline catches up
        if self.local is None:
            try:
                async with self.r.pipeline(transaction=False) as pipe:  # one round trip
                    pipe.xadd(self.key, fields)
                    pipe.pexpire(self.key, STREAM_TTL_S * 1000)  # refreshed on every write
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self._fall_back(exc)
        if self.local is not None:
            entry = {k.encode(): v.encode() if isinstance(v, str) else v for k, v in fields.items()}
            self.local.append(entry)
            self._local_ready.set()
        self.written += 1

    async def add_audio(self, pcm: bytes) -> bool:
        """Queue a PCM frame; False (dropped, nothing written) while the backlog is full."""
        if self.full:
            return False
        await self._add({"a": pcm})
        return True

    async def add_commit(self) -> None:
        await self._add({"c": "commit"})

    async def add_clear(self) -> None:
        await self._add({"x": "clear"})

    async def next_entries(self, block_ms: int = 1000) -> list[tuple[str, dict[bytes, bytes]]]:
        """Entries after the last one read (waits up to `block_ms`); read entries are trimmed away."""
        if self.local is not None:
            return await self._next_local(block_ms)
        try:
            reply = await self.r.xread({self.key: self._last_id}, count=200, block=block_ms)
        except (RedisError, OSError) as exc:
            self._fall_back(exc)
            return await self._next_local(block_ms)
        _raise_swallowed_cancel()
        if not reply:
            return []
        entries = reply[0][1]
        self._last_id = entries[-1][0].decode() if isinstance(entries[-1][0], bytes) else entries[-1][0]
        self.read += len(entries)
        try:
            await self.r.xtrim(self.key, minid=self._last_id)
        except (RedisError, OSError) as exc:
            self._fall_back(exc)
        _raise_swallowed_cancel()
        self._maybe_drained()
        return [(eid.decode() if isinstance(eid, bytes) else eid, fields) for eid, fields in entries]

    async def _next_local(self, block_ms: int) -> list[tuple[str, dict[bytes, bytes]]]:
        assert self.local is not None
        if not self.local:
            self._local_ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._local_ready.wait(), block_ms / 1000)
        entries = [self.local.popleft() for _ in range(min(200, len(self.local)))]
        self.read += len(entries)
        self._maybe_drained()
        return [(f"local-{self.read - len(entries) + i}", fields) for i, fields in enumerate(entries)]

    def _maybe_drained(self) -> None:
        if self.written - self.read < self.max_backlog // 2:
            self._drained.set()

    def release(self) -> None:
        """Let a writer waiting on backpressure go on (the reader has stopped)."""
        self._drained.set()

    async def delete(self) -> None:
        """Remove the stream, whatever is happening to the caller: the deletion runs to its end even if
        the task awaiting it is cancelled, and is tried again once on a fresh connection if Redis
        dropped the first one (a cancelled XREAD can leave a pooled connection broken). Never raises a
        Redis error: the key's expiry is the last resort."""
        task = asyncio.create_task(self._delete())
        _cleanups.add(task)  # held until done, even if nobody awaits it any more
        task.add_done_callback(_cleanups.discard)
        await asyncio.shield(task)

    async def _delete(self) -> None:
        if self.r is None:
            return
        for attempt in (1, 2):
            try:
                await self.r.delete(self.key)
                return
            except (RedisError, OSError) as exc:
                if attempt == 2:
                    logger.warning("could not delete %s (expires in %d s): %s", self.key, STREAM_TTL_S, exc)


def _raise_swallowed_cancel() -> None:
    """Raise again a cancellation the Redis client swallowed. redis-py (8.1) can return a blocking XREAD
    normally although the task awaiting it was cancelled meanwhile (measured: 1 to 3 of every 10 dropped
    sockets): the pipeline read on for ever, so its session never ended and its stream and voice-session
    slot stayed behind."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError

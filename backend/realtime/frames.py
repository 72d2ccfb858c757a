"""Inbound audio frames go through a Redis Stream per connection, between the socket reader and the
pipeline: the reader never waits for a slow stage, frames are never dropped (the stream is bounded by
backpressure on the socket instead), and the buffered audio lives outside the process.

Entries: {"a": <PCM16 bytes>} for audio, {"c": "commit"} for a push-to-talk commit (kept in order
with the audio around it).
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

STREAM_TTL_S = 300


class FrameStream:
    def __init__(self, client: aioredis.Redis, key: str, max_backlog: int = 1500) -> None:
        self.r = client
        self.key = key
        self.max_backlog = max_backlog  # entries written but not yet read (~30 s of 20 ms frames)
        self._last_id = "0-0"
        self.written = 0
        self.read = 0
        self._drained = asyncio.Event()
        self._drained.set()

    async def _add(self, fields: dict[str, bytes | str]) -> None:
        if self.written - self.read >= self.max_backlog:
            self._drained.clear()
            await self._drained.wait()  # backpressure: stop reading the socket until the pipeline catches up
        await self.r.xadd(self.key, fields)
        if self.written % 200 == 0:
            await self.r.expire(self.key, STREAM_TTL_S)
        self.written += 1

    async def add_audio(self, pcm: bytes) -> None:
        await self._add({"a": pcm})

    async def add_commit(self) -> None:
        await self._add({"c": "commit"})

    async def next_entries(self, block_ms: int = 1000) -> list[tuple[str, dict[bytes, bytes]]]:
        """Entries after the last one read (waits up to `block_ms`); read entries are trimmed away."""
        reply = await self.r.xread({self.key: self._last_id}, count=200, block=block_ms)
        if not reply:
            return []
        entries = reply[0][1]
        self._last_id = entries[-1][0].decode() if isinstance(entries[-1][0], bytes) else entries[-1][0]
        self.read += len(entries)
        await self.r.xtrim(self.key, minid=self._last_id)
        if self.written - self.read < self.max_backlog // 2:
            self._drained.set()
        return [(eid.decode() if isinstance(eid, bytes) else eid, fields) for eid, fields in entries]

    def release(self) -> None:
        """Let a writer waiting on backpressure go on (the reader has stopped)."""
        self._drained.set()

    async def delete(self) -> None:
        await self.r.delete(self.key)

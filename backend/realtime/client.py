"""A small Python client for the /voice protocol, used by the tests and `bench/voice_latency.py`, and
usable on its own: stream a recording at real-time pace and collect the events and audio of the reply.

    async with VoiceClient.connect("ws://127.0.0.1:8000/voice") as client:
        await client.stream_pcm(pcm16_16k, trailing_silence_s=1.0)
        reply = await client.wait_for("response.done")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import websockets


@dataclass
class Received:
    """Everything the server sent, with arrival times (perf_counter seconds)."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    audio: list[tuple[float, bytes]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for _, e in self.events if e.get("type") == kind]

    def first_time(self, kind: str, after: float = 0.0) -> float | None:
        return next((t for t, e in self.events if e.get("type") == kind and t >= after), None)

    def first_audio_after(self, after: float) -> float | None:
        return next((t for t, _ in self.audio if t >= after), None)

    def audio_bytes(self, after: float = 0.0) -> bytes:
        return b"".join(chunk for t, chunk in self.audio if t >= after)


class VoiceClient:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.received = Received()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self.speech_ended_at: float | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        url: str,
        session_id: str | None = None,
        sample_rate: int = 16000,
        language: str | None = None,
    ) -> AsyncIterator[VoiceClient]:
        params = {"sample_rate": sample_rate}
        if session_id:
            params["session_id"] = session_id
        if language:
            params["language"] = language
        async with websockets.connect(f"{url}?{urlencode(params)}", max_size=None) as ws:
            client = cls(ws)
            try:
                await client.wait_for("session.started", timeout=30)
                yield client
            finally:
                client._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await client._reader

    async def _read(self) -> None:
        async for message in self.ws:
            now = time.perf_counter()
            if isinstance(message, bytes):
                self.received.audio.append((now, message))
            else:
                self.received.events.append((now, json.loads(message)))
            async with self._changed:
                self._changed.notify_all()

    @property
    def session(self) -> dict[str, Any]:
        return self.received.of("session.started")[0]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 60) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until `count` events of `kind` have arrived; returns the last one."""

        async def ready() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: len(self.received.of(kind)) >= count or self._reader.done()
                )
            found = self.received.of(kind)
            if len(found) < count:
                raise ConnectionError(f"connection closed before {kind!r} (got {self._types()})")
            return found[count - 1]

        return await asyncio.wait_for(ready(), timeout)

    def _types(self) -> list[str]:
        return [e.get("type", "?") for _, e in self.received.events]

    async def send_json(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send(data)

    async def stream_pcm(
        self,
        pcm: bytes,
        sample_rate: int = 16000,
        frame_ms: int = 20,
        trailing_silence_s: float = 0.0,
        pace: float = 1.0,
    ) -> None:
        """Send PCM16 mono in `frame_ms` frames at real-time pace (`pace` 2.0 = twice as fast), then
        silence. `speech_ended_at` is set to when the last frame of `pcm` was sent."""
        frame = int(sample_rate * frame_ms / 1000) * 2
        start = time.perf_counter()
        sent = 0.0
        for offset in range(0, len(pcm), frame):
            await self.ws.send(pcm[offset : offset + frame])
            sent += frame_ms / 1000 / pace
            delay = start + sent - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        self.speech_ended_at = time.perf_counter()
        silence = bytes(frame)
        for _ in range(int(trailing_silence_s * 1000 / frame_ms)):
            await self.ws.send(silence)
            sent += frame_ms / 1000 / pace
            delay = start + sent - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)

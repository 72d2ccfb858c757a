"""Talking to the app's Wyoming door with the `wyoming` package's own client (shared by the tests)."""

from __future__ import annotations

import asyncio

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

from backend.app.server import BackgroundServer

TIMEOUT = 60


def client(server: BackgroundServer) -> AsyncTcpClient:
    return AsyncTcpClient("127.0.0.1", server.app.state.settings.wyoming.port)


async def read(wy: AsyncTcpClient) -> Event:
    event = await asyncio.wait_for(wy.read_event(), TIMEOUT)
    assert event is not None, "the server closed the connection"
    return event


async def read_audio(wy: AsyncTcpClient) -> tuple[int, bytes]:
    """audio-start, audio-chunk*, audio-stop → (rate, PCM16)."""
    start = await read(wy)
    assert AudioStart.is_type(start.type), start
    rate = AudioStart.from_event(start).rate
    pcm = b""
    while not AudioStop.is_type((event := await read(wy)).type):
        assert AudioChunk.is_type(event.type), event
        chunk = AudioChunk.from_event(event)
        assert (chunk.rate, chunk.width, chunk.channels) == (rate, 2, 1)
        pcm += chunk.audio
    return rate, pcm


async def transcribe(wy: AsyncTcpClient, pcm: bytes, rate: int, chunk_bytes: int = 2048) -> Transcript:
    await wy.write_event(Transcribe(language="en").event())
    await wy.write_event(AudioStart(rate=rate, width=2, channels=1).event())
    for offset in range(0, len(pcm), chunk_bytes):
        await wy.write_event(
            AudioChunk(rate=rate, width=2, channels=1, audio=pcm[offset : offset + chunk_bytes]).event()
        )
    await wy.write_event(AudioStop().event())
    event = await read(wy)
    assert Transcript.is_type(event.type), event
    return Transcript.from_event(event)

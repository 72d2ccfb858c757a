"""The /voice door: our WebSocket protocol (docs/PROTOCOL.md) onto the voice engine.

It reads the socket, checks binary frames (size, parity; a whole WAV file is one utterance), parses
JSON client events (backend.realtime.protocol), maps errors to `error` events, serialises the
engine's typed events as JSON and closes the socket with the engine's codes (1008 quota used up,
1011 pipeline failed, 1012 restart). The conversation itself is the engine's.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket, WebSocketDisconnect

from backend.agents.conversation import ConversationAgent
from backend.core.config import Settings
from backend.core.errors import MithiError
from backend.core.usage import UsageMeter
from backend.doors.engine_door import EngineDoor
from backend.engine.events import Error, ServerEvent
from backend.engine.responder import Turn
from backend.engine.session import VoiceEngine
from backend.media.audio import decode_audio
from backend.realtime.protocol import (
    InputAudioCommit,
    ProtocolError,
    ResponseCancel,
    SessionUpdate,
    TextInput,
    parse_client_event,
)
from backend.speech.base import STTProvider
from backend.speech.tts_service import TTSService


class SocketOutput:
    """EngineOutput onto a FastAPI WebSocket: JSON text events and binary PCM frames, in order; what
    cannot be sent any more (the client went away) is dropped."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()

    async def send(self, event: ServerEvent) -> None:
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.ws.send_text(event.to_json())

    async def send_audio(self, pcm: bytes, turn_id: str) -> None:
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.ws.send_bytes(pcm)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=reason)


class VoiceDoor(EngineDoor):
    """One /voice connection (lifecycle drain: `finish_turn` / `close_for_restart`, the engine's)."""

    def __init__(
        self,
        ws: WebSocket,
        settings: Settings,
        tts: TTSService,
        stt: STTProvider,
        agent: ConversationAgent,
        session_id: str,
        input_rate: int,
        language: str | None,
        memory_id: str | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self.ws = ws
        self.settings = settings
        self.cfg = settings.realtime
        self.output = SocketOutput(ws)
        self.engine = VoiceEngine(
            settings,
            tts,
            stt,
            agent,
            self.output,
            session_id=session_id,
            memory_id=memory_id,
            input_rate=input_rate,
            language=language,
            meter=meter,
        )

    @property
    def turn(self) -> Turn | None:
        """The engine's current turn (tests and diagnostics)."""
        return self.engine.turn

    @property
    def response(self) -> asyncio.Task[None] | None:
        """The engine's response task in flight, if any."""
        return self.engine.response

    async def _error(self, code: str, message: str, fatal: bool = False) -> None:
        if not self.engine.closed:
            await self.output.send(Error(code=code, message=message, fatal=fatal))

    async def _read_socket(self) -> None:
        while True:
            failed = self.engine.failed
            if failed is not None:  # the pipeline died (e.g. Redis went away): end the connection
                await self._error("pipeline_failed", f"the voice pipeline stopped: {failed}", fatal=True)
                await self.ws.close(code=1011)
                return
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                if message.get("bytes") is not None:
                    await self._on_binary(message["bytes"])
                elif message.get("text") is not None:
                    await self._on_text(message["text"])
            except ProtocolError as err:
                await self._error(err.code, err.message, err.fatal)
            except MithiError as err:
                await self._error(err.code, err.message)

    async def _on_binary(self, data: bytes) -> None:
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            limit = self.settings.limits
            audio = await asyncio.to_thread(decode_audio, data, max_seconds=limit.max_audio_seconds)
            await self.engine.utterance(audio)
            return
        if len(data) > self.cfg.max_frame_bytes:
            raise ProtocolError(
                "frame_too_large",
                f"binary message of {len(data)} bytes; PCM frames may be up to {self.cfg.max_frame_bytes} "
                "bytes (send 20-100 ms frames, or one WAV file per utterance)",
            )
        if len(data) % 2:
            raise ProtocolError(
                "invalid_frame", f"PCM16 frames need an even number of bytes, got {len(data)}; frame dropped"
            )
        await self.engine.audio(data)

    async def _on_text(self, raw: str) -> None:
        message = parse_client_event(raw, self.cfg.max_frame_bytes)
        if isinstance(message, InputAudioCommit):
            await self.engine.commit()
        elif isinstance(message, TextInput):
            await self.engine.text(message.text)
        elif isinstance(message, ResponseCancel):
            await self.engine.cancel()
        elif isinstance(message, SessionUpdate):
            cfg = message.config
            await self.engine.update(
                language=cfg.language,
                voice=cfg.voice,
                speed=cfg.speed,
                vad=cfg.vad,
                hangover_ms=cfg.hangover_ms,
            )

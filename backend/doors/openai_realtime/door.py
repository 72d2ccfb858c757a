"""The /v1/realtime door: OpenAI Realtime events ⇄ VoiceEngine (route: backend/app/api/realtime_ws.py).

Reads JSON client events (``events.parse_client_event``), decodes client audio to the engine's input
rate (``codecs``), drives the engine, and translates the engine's typed events and PCM into Realtime
server events in the client's dialect (``translate``). Bad events get an ``error`` event; the socket stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from backend.core.errors import MithiError
from backend.doors.engine_door import EngineDoor
from backend.doors.openai_realtime import events as rt
from backend.doors.openai_realtime.codecs import (
    FORMAT_RATES,
    AudioDecodeError,
    InputAudioDecoder,
    OutputAudioEncoder,
)
from backend.doors.openai_realtime.translate import RealtimeTranslator, SessionView, new_id, session_event
from backend.engine import events as engine_events
from backend.engine.events import ServerEvent
from backend.llm.base import ToolSpec

logger = logging.getLogger(__name__)
T = TypeVar("T", str, bytes)
R = TypeVar("R")


class RealtimeOutput:
    """EngineOutput onto the socket: engine events become Realtime events; PCM becomes audio deltas."""

    def __init__(self, ws: WebSocket, translator: RealtimeTranslator) -> None:
        self.ws = ws
        self.translator = translator
        self.encoder: OutputAudioEncoder | None = None
        self.view: SessionView | None = None
        self.input_ms = 0  # client audio received so far (audio_start_ms / audio_end_ms)
        self._lock = asyncio.Lock()

    async def emit(self, events: list[dict[str, Any]]) -> None:
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                for event in events:
                    await self.ws.send_text(json.dumps(event))

    async def send(self, event: ServerEvent) -> None:
        tr = self.translator
        if isinstance(event, engine_events.SessionStarted | engine_events.SessionUpdated):
            if self.view is not None:
                kind = "session.created" if event.type == "session.started" else "session.updated"
                self.view.voice = self.view.voice or (
                    event.config.voice if kind == "session.updated" else None
                )
                await self.emit([session_event(tr.dialect, kind, self.view)])
        elif isinstance(event, engine_events.SpeechStarted):
            await self.emit(tr.speech_started(self.input_ms))
        elif isinstance(event, engine_events.SpeechStopped):
            await self.emit(tr.speech_stopped(self.input_ms, vad=event.reason == "vad"))
        elif isinstance(event, engine_events.TranscriptFinal):
            await self.emit(tr.user_transcript(event.text))
        else:
            if (
                isinstance(event, engine_events.ResponseDone | engine_events.ResponseInterrupted)
                and self.encoder
            ):
                tail = self.encoder.flush()
                if tail:
                    await self.emit(tr.audio_delta(event.turn_id, tail))
            await self.emit(tr.translate(event))

    async def send_audio(self, pcm: bytes, turn_id: str) -> None:
        if self.encoder is None:
            return
        delta = await _off_loop_if_big(self.encoder.encode, pcm)
        if delta:
            await self.emit(self.translator.audio_delta(turn_id, delta))

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=reason)


_INLINE_BYTES = 65536  # audio up to this size is coded on the event loop (~40 µs per 20 ms frame)


async def _off_loop_if_big(code: Callable[[T], R], data: T) -> R:
    """Run a codec call inline for a usual frame (a thread hop costs more, and waits behind STT, LLM
    and TTS work in the pool under load), in a thread for a big payload."""
    if len(data) <= _INLINE_BYTES:  # type: ignore[arg-type]
        return code(data)
    return await asyncio.to_thread(code, data)


_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def client_tools(tools: list[dict[str, Any]], event_id: str | None, own: list[str]) -> tuple[ToolSpec, ...]:
    """``session.tools`` (``{"type": "function", "name", "description", "parameters"}``) → ToolSpecs."""
    specs = []
    for index, tool in enumerate(tools):
        name = tool.get("name")
        if (
            tool.get("type", "function") != "function"
            or not isinstance(name, str)
            or not _TOOL_NAME.fullmatch(name)
        ):
            raise rt.RealtimeProtocolError(
                "invalid_value",
                "Each tool must be {type: 'function', name, description, parameters}, "
                "its name 1-64 of A-Z a-z 0-9 _ -.",
                param=f"session.tools[{index}]",
                event_id=event_id,
            )
        if name in own:
            raise rt.RealtimeProtocolError(
                "invalid_value",
                f"'{name}' is one of the agent's own tools; give yours another name.",
                param=f"session.tools[{index}].name",
                event_id=event_id,
            )
        parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        specs.append(ToolSpec(name, str(tool.get("description") or ""), parameters))
    return tuple(specs)


def protocol_error(code: str, message: str, param: str | None = None, event_id: str | None = None) -> dict:
    """A Realtime ``invalid_request_error`` event."""
    return rt.RealtimeProtocolError(code, message, param=param, event_id=event_id).to_event(new_id("event"))


class RealtimeDoor(EngineDoor):
    """One /v1/realtime connection over an already built VoiceEngine (see backend/app/api/realtime_ws.py)."""

    def __init__(self, ws: WebSocket, engine: Any, output: RealtimeOutput, model: str) -> None:
        self.ws = ws
        self.engine = engine
        self.output = output
        self.model = model
        self.input_format: str = "pcm16"
        self.output_format: str = "pcm16"
        self.decoder = InputAudioDecoder("pcm16", engine.input_rate)
        engine.set_output_rate(FORMAT_RATES["pcm16"])  # the engine speaks at the wire's rate: one resampling
        output.encoder = OutputAudioEncoder("pcm16", engine.output_rate)
        output.view = SessionView(engine.session_id, model, voice=engine.voice_id)
        if engine.vad_enabled:
            output.view.vad = {"type": "server_vad", "create_response": True, "interrupt_response": True}
        # the Realtime API's turn-taking: a committed buffer or a typed item waits for response.create;
        # a new response never cuts the previous one's audio (the client truncates what it stopped)
        engine.answer_commits = False
        engine.interrupt_playing = False
        # server VAD interrupts at speech start (interrupt_response), as OpenAI's does: clients stop their
        # playback at input_audio_buffer.speech_started, so holding the reply for a backchannel would not help
        engine.hold_for_backchannels = False

    async def _read_socket(self) -> None:
        while True:
            if self.engine.failed is not None:
                await self.output.emit([protocol_error("pipeline_failed", str(self.engine.failed))])
                await self.ws.close(code=1011)
                return
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                await self.output.emit(
                    [protocol_error("invalid_event", "Send JSON text events, not binary.")]
                )
                continue
            event_id = None
            try:
                event = rt.parse_client_event(raw)
                event_id = event.event_id
                await self._handle(event)
            except rt.RealtimeProtocolError as err:
                await self.output.emit([err.to_event(new_id("event"))])
            except AudioDecodeError as err:
                await self.output.emit([protocol_error("invalid_value", str(err), "audio", event_id)])
            except MithiError as err:
                await self.output.emit([protocol_error(err.code, err.message, None, event_id)])

    async def _handle(self, event: Any) -> None:
        if isinstance(event, rt.InputAudioBufferAppend):
            pcm = await _off_loop_if_big(self.decoder.decode, event.audio)
            self.output.input_ms += len(pcm) * 1000 // (2 * self.engine.input_rate)
            if pcm:
                await self.engine.audio(pcm)
        elif isinstance(event, rt.InputAudioBufferCommit):
            await self.engine.commit()
        elif isinstance(event, rt.InputAudioBufferClear):
            await self.engine.clear()
            await self.output.emit(self.output.translator.cleared())
        elif isinstance(event, rt.ResponseCancel):
            await self.engine.cancel()
        elif isinstance(event, rt.ConversationItemTruncate):
            tr = self.output.translator
            turn = tr.turn_for_item(event.item_id)
            if turn is None:
                raise rt.RealtimeProtocolError(
                    "item_not_found",
                    f"No assistant item '{event.item_id}' among this session's recent responses.",
                    param="item_id",
                    event_id=event.event_id,
                )
            await self.engine.truncate(turn, event.audio_end_ms)
            await self.output.emit(tr.truncated(event.item_id, event.content_index, event.audio_end_ms))
        elif isinstance(event, rt.ConversationItemCreate):
            await self._add_item(event)
        elif isinstance(event, rt.ResponseCreate):
            turn_id = await self.engine.respond()
            await self.output.emit(self.output.translator.response_started(turn_id))
        elif isinstance(event, rt.SessionUpdate):
            await self._session_update(event)

    async def _add_item(self, event: rt.ConversationItemCreate) -> None:
        """A user message (input_text, or input_audio that our STT transcribes) kept for response.create."""
        item = event.item
        if item.type == "function_call_output":
            if not item.call_id or item.output is None:
                raise rt.RealtimeProtocolError(
                    "missing_required_parameter",
                    "A function_call_output needs call_id and output.",
                    param="item.call_id" if not item.call_id else "item.output",
                    event_id=event.event_id,
                )
            self.engine.add_tool_output(item.call_id, item.output)
            await self.output.emit(self.output.translator.tool_output(item.call_id, item.output, item.id))
            return
        parts = item.content or []
        if item.type != "message" or item.role != "user" or not parts:
            raise rt.RealtimeProtocolError(
                "unsupported_item",
                "Only user messages (input_text or input_audio content) are supported.",
                param="item",
                event_id=event.event_id,
            )
        texts = [p.text for p in parts if p.type in ("input_text", "text") and p.text]
        audio = [p.audio for p in parts if p.type == "input_audio" and p.audio]
        if not texts and not audio:
            raise rt.RealtimeProtocolError(
                "missing_required_parameter",
                "The message has no text and no audio.",
                param="item.content",
                event_id=event.event_id,
            )
        if texts:
            text = " ".join(texts)
            await self.engine.add_text(text)  # checked (length, characters) before it is announced
            await self.output.emit(self.output.translator.user_text(text, item.id))
        for b64 in audio:
            decoder = InputAudioDecoder(self.input_format, self.engine.input_rate)
            pcm = await asyncio.to_thread(decoder.decode, b64)
            pcm += await asyncio.to_thread(decoder.flush)
            self.output.translator.audio_item(item.id)
            self.engine.add_utterance(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768)

    async def _session_update(self, event: rt.SessionUpdate) -> None:
        session = event.session
        if session.tools is not None:
            tools = client_tools(session.tools, event.event_id, self.engine.agent.tools.names())
            if tools and not self.engine.agent.tool_calling:
                raise rt.RealtimeProtocolError(
                    "tools_unsupported",
                    "Client-declared tools need an LLM with tool calls: set llm.provider to openai or groq "
                    "(the local model has none).",
                    param="session.tools",
                    event_id=event.event_id,
                )
            self.engine.options.client_tools = tools
        view = self.output.view
        assert view is not None
        if (fmt := session.effective_input_format()) is not None and fmt != self.input_format:
            self.input_format, self.decoder = fmt, InputAudioDecoder(fmt, self.engine.input_rate)
            view.input_format = fmt
        if (fmt := session.effective_output_format()) is not None and fmt != self.output_format:
            self.output_format = view.output_format = fmt
            self.engine.set_output_rate(FORMAT_RATES[fmt])
            self.output.encoder = OutputAudioEncoder(fmt, self.engine.output_rate)
        if session.instructions is not None:  # given to the agent after its own (docs/REALTIME.md)
            view.instructions = session.instructions
            self.engine.options.instructions = session.instructions or None
        vad = None
        threshold = hangover = preroll = None
        if session.turn_detection_given():
            detection = session.effective_turn_detection()
            vad = detection is not None
            view.vad = None if detection is None else detection.model_dump()
            if detection is not None:
                self.engine.answer_speech = detection.create_response
                self.engine.barge_in = detection.interrupt_response
                threshold, hangover, preroll = (
                    detection.threshold,
                    detection.silence_duration_ms,
                    detection.prefix_padding_ms,
                )
        modalities = session.effective_modalities()
        speak = None if modalities is None else "audio" in modalities
        if speak is not None:
            self.output.translator.audio_output = view.audio_output = speak
        await self.engine.update(
            voice=session.effective_voice(),
            vad=vad,
            vad_threshold=threshold,
            hangover_ms=hangover,
            preroll_ms=preroll,
            speak=speak,
        )

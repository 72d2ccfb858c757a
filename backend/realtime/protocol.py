"""The /voice WebSocket protocol: typed client and server events (see docs/PROTOCOL.md).

Client → server: binary PCM16 LE mono frames at the session's input rate (or one whole WAV file = one
utterance), and JSON events. Server → client: JSON events and binary PCM16 frames at the output rate.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class ClientEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputAudioCommit(ClientEvent):
    """End of utterance now (push-to-talk): transcribe what was sent since the last turn."""

    type: Literal["input_audio.commit"]


class TextInput(ClientEvent):
    """A typed turn: skips STT."""

    type: Literal["text.input"]
    text: str


class ResponseCancel(ClientEvent):
    """Stop the response being generated/spoken."""

    type: Literal["response.cancel"]


class SessionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voice: str | None = Field(None, description="a voice id from GET /api/voices")
    language: str | None = Field(None, description="language code; '' or 'auto' = detect")
    vad: bool | None = Field(None, description="false = push-to-talk only (input_audio.commit)")
    speed: float | None = None
    hangover_ms: float | None = Field(None, ge=100, le=3000, description="silence that ends a turn")


class SessionUpdate(ClientEvent):
    type: Literal["session.update"]
    config: SessionConfig


AnyClientEvent = Annotated[
    InputAudioCommit | TextInput | ResponseCancel | SessionUpdate, Field(discriminator="type")
]
_CLIENT = TypeAdapter(AnyClientEvent)
CLIENT_EVENT_TYPES = ("input_audio.commit", "text.input", "response.cancel", "session.update")


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


def text_size(raw: str) -> int:
    """The UTF-8 size of a text message, in bytes."""
    return len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))


def parse_client_event(
    raw: str, max_bytes: int | None = None
) -> InputAudioCommit | TextInput | ResponseCancel | SessionUpdate:
    """Parse one JSON text message, or raise ProtocolError saying what is wrong and what is allowed.

    A message over `max_bytes` (UTF-8) is refused unread (`frame_too_large`); JSON nested too deep for
    the parser (e.g. 100,000 brackets) is `invalid_json`, like any other text that is not JSON.
    """
    if max_bytes is not None and (size := text_size(raw)) > max_bytes:
        raise ProtocolError(
            "frame_too_large", f"text message of {size} bytes; JSON events may be up to {max_bytes} bytes"
        )
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("invalid_json", "text messages must be JSON objects") from None
    except RecursionError:
        raise ProtocolError("invalid_json", "the JSON text is nested too deeply") from None
    if not isinstance(data, dict) or "type" not in data:
        raise ProtocolError("invalid_event", 'a JSON message needs a "type" field')
    if not isinstance(data["type"], str):
        raise ProtocolError("invalid_event", f'"type" must be one of: {", ".join(CLIENT_EVENT_TYPES)}')
    if data["type"] not in CLIENT_EVENT_TYPES:
        shown = data["type"] if len(data["type"]) <= 40 else data["type"][:40] + "…"
        raise ProtocolError(
            "unknown_event", f"unknown event type {shown!r}; known: {', '.join(CLIENT_EVENT_TYPES)}"
        )
    try:
        return _CLIENT.validate_python(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'event'}: {e['msg']}" for e in exc.errors()
        )
        raise ProtocolError("invalid_event", f"{data['type']}: {details}") from None


def event(kind: str, **fields: Any) -> str:
    """A server → client JSON event."""
    return json.dumps({"type": kind, **fields}, ensure_ascii=False)

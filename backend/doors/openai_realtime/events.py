"""Client events of the OpenAI Realtime API, in both dialects (GA and beta ``OpenAI-Beta: realtime=v1``).

``parse_client_event`` turns one text frame into a typed event, or a ``RealtimeProtocolError`` that the
door sends back as an ``error`` event (``invalid_request_error``) while keeping the socket open.
Shapes follow the installed ``openai`` SDK types (openai/types/realtime and openai/types/beta/realtime).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from backend.doors.openai_realtime.codecs import AudioFormat

Dialect = Literal["ga", "beta"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: str | None = None


class TurnDetection(BaseModel):
    """Server VAD settings; ``None`` in a session means manual turns (commit + response.create)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["server_vad"] = "server_vad"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=5000)
    silence_duration_ms: int | None = Field(default=None, ge=0, le=10000)
    create_response: bool = True
    interrupt_response: bool = True


class InputAudioTranscription(BaseModel):
    """``input_audio_transcription`` (beta) / ``audio.input.transcription`` (GA); our STT does the work."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class GAAudioFormat(BaseModel):
    """GA ``audio/pcm`` (24 kHz only), ``audio/pcmu`` or ``audio/pcma``."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"] = "audio/pcm"
    rate: Literal[24000] | None = None

    def as_format(self) -> AudioFormat:
        return {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}[self.type]  # type: ignore[return-value]


class GAAudioInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: GAAudioFormat | None = None
    transcription: InputAudioTranscription | None = None
    turn_detection: TurnDetection | None = None


class GAAudioOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: GAAudioFormat | None = None
    voice: str | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)


class GAAudio(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: GAAudioInput | None = None
    output: GAAudioOutput | None = None


class SessionConfig(BaseModel):
    """A ``session.update`` ``session`` object in either dialect (fields of both are accepted)."""

    model_config = ConfigDict(extra="ignore")
    # GA
    type: Literal["realtime"] | None = None
    output_modalities: list[Literal["text", "audio"]] | None = None
    audio: GAAudio | None = None
    # beta
    modalities: list[Literal["text", "audio"]] | None = None
    input_audio_format: AudioFormat | None = None
    output_audio_format: AudioFormat | None = None
    input_audio_transcription: InputAudioTranscription | None = None
    turn_detection: TurnDetection | None = None
    voice: str | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    # both
    instructions: str | None = Field(default=None, max_length=20000)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    model: str | None = None

    def turn_detection_given(self) -> bool:
        """Whether the client set turn detection at all (an explicit null means manual turns)."""
        if "turn_detection" in self.model_fields_set:
            return True
        audio_input = self.audio.input if self.audio else None
        return audio_input is not None and "turn_detection" in audio_input.model_fields_set

    def effective_turn_detection(self) -> TurnDetection | None:
        if self.audio and self.audio.input and "turn_detection" in self.audio.input.model_fields_set:
            return self.audio.input.turn_detection
        return self.turn_detection

    def effective_input_format(self) -> AudioFormat | None:
        if self.audio and self.audio.input and self.audio.input.format:
            return self.audio.input.format.as_format()
        return self.input_audio_format

    def effective_output_format(self) -> AudioFormat | None:
        if self.audio and self.audio.output and self.audio.output.format:
            return self.audio.output.format.as_format()
        return self.output_audio_format

    def effective_voice(self) -> str | None:
        """Our voice id, or None for the session's default: OpenAI's own voice names (what SDK examples
        send) mean "the default voice" here; any other name must be one of ours (/api/voices)."""
        voice = (self.audio.output.voice if self.audio and self.audio.output else None) or self.voice
        return None if voice is None or voice.lower() in OPENAI_VOICES else voice

    def effective_modalities(self) -> list[str] | None:
        return self.output_modalities or self.modalities


# The built-in voices of OpenAI's Realtime API: a client written for it may name one
OPENAI_VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "cedar",
        "coral",
        "echo",
        "fable",
        "marin",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
    }
)


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: SessionConfig


class InputAudioBufferAppend(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: str


class InputAudioBufferCommit(_Event):
    type: Literal["input_audio_buffer.commit"]


class InputAudioBufferClear(_Event):
    type: Literal["input_audio_buffer.clear"]


class ContentPart(BaseModel):
    """A user content part: ``input_text`` (text) or ``input_audio`` (base64 audio, optional transcript)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["input_text", "input_audio", "text"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None


class ConversationItem(BaseModel):
    """An item the client adds: a user/system message or a ``function_call_output``."""

    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    type: Literal["message", "function_call_output", "function_call"]
    role: Literal["user", "system", "assistant"] | None = None
    content: list[ContentPart] | None = None
    call_id: str | None = None
    output: str | None = None


class ConversationItemCreate(_Event):
    type: Literal["conversation.item.create"]
    previous_item_id: str | None = None
    item: ConversationItem


class ConversationItemTruncate(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: int = Field(default=0, ge=0)
    audio_end_ms: int = Field(ge=0)


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: dict[str, Any] | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    response_id: str | None = None


ClientEvent = Annotated[
    SessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | ConversationItemCreate
    | ConversationItemTruncate
    | ResponseCreate
    | ResponseCancel,
    Field(discriminator="type"),
]

_CLIENT_EVENT = TypeAdapter(ClientEvent)
KNOWN_TYPES = frozenset(
    {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.truncate",
        "response.create",
        "response.cancel",
    }
)


class RealtimeProtocolError(Exception):
    """A client event we reject; ``to_event`` is the Realtime ``error`` server event."""

    def __init__(self, code: str, message: str, *, param: str | None = None, event_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id

    def to_event(self, server_event_id: str) -> dict[str, Any]:
        return {
            "type": "error",
            "event_id": server_event_id,
            "error": {
                "type": "invalid_request_error",
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "event_id": self.event_id,
            },
        }


def parse_client_event(raw: str | bytes) -> ClientEvent:
    """One WebSocket text frame → a typed client event; RealtimeProtocolError if malformed or unknown."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RealtimeProtocolError("invalid_json", f"The event is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RealtimeProtocolError("invalid_json", "The event must be a JSON object.")
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if not isinstance(kind, str):
        raise RealtimeProtocolError(
            "missing_required_parameter", "Missing 'type'.", param="type", event_id=event_id
        )
    if kind not in KNOWN_TYPES:
        raise RealtimeProtocolError(
            "invalid_value",
            f"Invalid value: '{kind}'. Unknown or unsupported event type.",
            param="type",
            event_id=event_id,
        )
    try:
        return _CLIENT_EVENT.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(part) for part in first["loc"] if part != kind) or None
        code = "missing_required_parameter" if first["type"] == "missing" else "invalid_value"
        raise RealtimeProtocolError(
            code, f"{param or kind}: {first['msg']}", param=param, event_id=event_id
        ) from exc

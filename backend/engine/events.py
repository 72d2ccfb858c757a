"""The engine's server events, typed: one pydantic model per event of the /voice protocol.

`event.wire()` is the JSON object /voice sends (docs/PROTOCOL.md), `type` first; other doors translate
the same events into their own wire format. `server_event_schema()` is the JSON schema the web app's
TypeScript types are generated from (scripts/gen_protocol_types.py).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from backend.providers.failover import FailoverEvent


class ServerEventBase(BaseModel):
    """A server → client event; subclasses declare `type` and their fields in wire order."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True
    )
    # optional fields left out of the wire form when None (the protocol adds them only when they apply)
    omit_if_none: ClassVar[tuple[str, ...]] = ()

    def wire(self) -> dict[str, Any]:
        """The event as /voice sends it."""
        data = self.model_dump(mode="json", by_alias=True)
        for name in self.omit_if_none:
            if data.get(name) is None:
                data.pop(name, None)
        return data

    def to_json(self) -> str:
        return json.dumps(self.wire(), ensure_ascii=False)


class SessionStarted(ServerEventBase):
    """The session is ready: its id, sample rates, language and VAD mode."""

    type: Literal["session.started"] = "session.started"
    session_id: str
    input_sample_rate: int
    output_sample_rate: int
    output_format: Literal["pcm16"] = "pcm16"
    language: str | None
    vad: bool
    worker: str = Field(description="the worker process serving this connection")


class SessionConfigView(BaseModel):
    """The session's settings after a `session.update`."""

    voice: str | None
    language: str | None
    vad: bool
    speed: float | None
    hangover_ms: float


class SessionUpdated(ServerEventBase):
    """A `session.update` was applied."""

    type: Literal["session.updated"] = "session.updated"
    config: SessionConfigView


class SpeechStarted(ServerEventBase):
    """The user started speaking (VAD)."""

    type: Literal["speech.started"] = "speech.started"


class SpeechStopped(ServerEventBase):
    """The utterance ended: end of speech (vad), push-to-talk commit, or the length limit; or it was a
    backchannel said over the reply ("haan", "uh-huh"), which is not a turn and did not interrupt it."""

    type: Literal["speech.stopped"] = "speech.stopped"
    reason: Literal["vad", "commit", "max_length", "backchannel"]


class TranscriptPartial(ServerEventBase):
    """What the user has said so far in the utterance in progress."""

    type: Literal["transcript.partial"] = "transcript.partial"
    text: str


class TranscriptFinal(ServerEventBase):
    """The transcript of the user's turn."""

    type: Literal["transcript.final"] = "transcript.final"
    text: str
    language: str | None
    provider: str


class ResponseTextDelta(ServerEventBase):
    """A piece of the reply's text as the agent generates it."""

    type: Literal["response.text.delta"] = "response.text.delta"
    turn_id: str
    text: str


class ResponseAudioStarted(ServerEventBase):
    """The reply's audio starts: binary PCM16 frames at `sample_rate` follow."""

    type: Literal["response.audio.started"] = "response.audio.started"
    turn_id: str
    sample_rate: int


class ResponseSentence(ServerEventBase):
    """A sentence's audio has been sent (the text it spoke, and which TTS engine spoke it)."""

    type: Literal["response.sentence"] = "response.sentence"
    turn_id: str
    text: str
    provider: str


class ResponseInterrupted(ServerEventBase):
    """The reply was cut (barge-in or cancel); `spoken` is what the user had heard, as memory keeps it.
    `continued`: the user went on with the same turn (`realtime.continuation_ms`), so the turn is
    withdrawn, from memory too, and the next `transcript.final` has its words and the new ones."""

    type: Literal["response.interrupted"] = "response.interrupted"
    turn_id: str
    spoken: str
    continued: bool = False


class ResponseDone(ServerEventBase):
    """The turn is over: transcript, reply text, the agent's action, latency and who served."""

    type: Literal["response.done"] = "response.done"
    turn_id: str
    transcript: str
    text: str
    action: dict[str, Any] | None
    speculative: bool
    latency_ms: dict[str, float] = Field(
        description="per-stage milliseconds (stt, llm_first_token, tts_first_audio, first_audio, total)"
    )
    providers: dict[str, Any] = Field(description="stt / llm: a provider name; tts: the names, in order")


class ProviderFailover(ServerEventBase):
    """A provider failed (or its circuit was open) and the next one in the chain took over."""

    type: Literal["provider.failover"] = "provider.failover"
    turn_id: str
    service: str = Field(description="tts, stt or llm")
    from_: str = Field(alias="from")
    to: str
    reason: str
    message: str = ""

    @classmethod
    def of(cls, turn_id: str, item: FailoverEvent) -> ProviderFailover:
        return cls.model_validate({"turn_id": turn_id, **item.to_dict()})


class Error(ServerEventBase):
    """Something went wrong; `fatal` means the server closes the connection after it."""

    type: Literal["error"] = "error"
    omit_if_none: ClassVar[tuple[str, ...]] = ("dropped_frames", "dropped_seconds")
    code: str
    message: str
    fatal: bool = False
    dropped_frames: int | None = Field(None, description="input_overflow: audio frames dropped")
    dropped_seconds: float | None = Field(None, description="input_overflow: seconds of audio dropped")


ServerEvent = Annotated[
    SessionStarted
    | SessionUpdated
    | SpeechStarted
    | SpeechStopped
    | TranscriptPartial
    | TranscriptFinal
    | ResponseTextDelta
    | ResponseAudioStarted
    | ResponseSentence
    | ResponseInterrupted
    | ResponseDone
    | ProviderFailover
    | Error,
    Field(discriminator="type"),
]
_SERVER = TypeAdapter(ServerEvent)


def server_event_schema() -> dict[str, Any]:
    """The JSON schema of every server event (a discriminated union on `type`), in serialisation mode."""
    schema = _SERVER.json_schema(mode="serialization", by_alias=True)
    for model in (Error,):  # fields the wire form leaves out when None are optional
        definition = schema["$defs"][model.__name__]
        definition["required"] = [f for f in definition["required"] if f not in model.omit_if_none]
    return schema


def parse_server_event(data: dict[str, Any]) -> ServerEvent:
    """A wire object → its typed event (used by tests and clients of the engine)."""
    return _SERVER.validate_python(data)

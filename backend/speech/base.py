"""Provider interfaces for speech: every TTS/STT engine, local or hosted, implements these.

Streaming is the primitive: `TTSProvider.stream` yields PCM16 chunks (one per sentence or finer) and
`synthesize` is built on it. `STTProvider.transcribe` takes 16 kHz mono float32 samples (see
`backend.media.audio.decode_audio`) and returns a `Transcription`.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.media.audio import pcm16_to_wav
from backend.media.text import speech_pieces

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioChunk:
    """A piece of synthesized speech: PCM16 little-endian mono at `sample_rate`."""

    pcm: bytes
    sample_rate: int
    text: str = ""
    provider: str = ""  # the engine that spoke it (set by the TTS fallback chain)

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True)
class TTSConfig:
    """What one synthesis request asks for. `voice_id` is already resolved to an installed voice."""

    voice_id: str
    language: str
    speed: float = 1.0
    eager_first: bool = False  # cut a short first phrase off for lower first-audio latency (streaming)
    # the text spoken just before / after this request, when a reply is synthesized piece by piece:
    # engines that take context (ElevenLabs' previous_text / next_text) keep the prosody continuous
    previous_text: str = ""
    next_text: str = ""


@dataclass(frozen=True)
class STTConfig:
    """What one transcription request asks for."""

    language: str | None = None  # None = detect
    # detection picks among these (a conversation's configured `languages`); () = any the engine knows
    languages: tuple[str, ...] = ()
    model: str | None = None  # None = the provider's configured model
    beam_size: int = 1
    vad: bool = False
    temperature_fallback: bool = False
    word_timestamps: bool = False
    prompt: str | None = None  # vocabulary/context hint for the decoder


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str
    language_probability: float
    duration: float
    segments: list[Segment] = field(default_factory=list)
    model: str = ""
    provider: str = ""  # the engine that produced it (set by the STT fallback chain)


@dataclass(frozen=True)
class TTSCapabilities:
    streaming: bool
    sample_rate: int
    languages: tuple[str, ...]


@dataclass(frozen=True)
class STTCapabilities:
    streaming: bool  # `open_stream` works: live recognition with interim results (e.g. deepgram)
    languages: tuple[str, ...]  # empty = any language the model knows
    models: tuple[str, ...]


@dataclass(frozen=True)
class StreamResult:
    """One message of live recognition (`STTStream`): the text of the audio since the last final result.

    `is_final`: this span will not be revised again (the next result starts after it); an interim result
    (`is_final` false) is replaced by the next one. `speech_final`: the engine heard the speaker pause.
    """

    text: str
    is_final: bool
    speech_final: bool = False
    start: float = 0.0  # seconds since the stream opened
    end: float = 0.0
    confidence: float = 0.0


class STTStream(abc.ABC):
    """Live recognition of one stream of audio: `send` PCM16 16 kHz mono, iterate over the results.

    The iteration ends after `finalize()` / `aclose()` once the engine has sent everything; a failure of the
    engine (dropped connection, malformed message) ends it with a `ProviderError`.
    """

    @abc.abstractmethod
    async def send(self, pcm16: bytes) -> None:
        """Queue PCM16 little-endian mono audio at 16 kHz (any length)."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[StreamResult]: ...

    @abc.abstractmethod
    async def finalize(self) -> None:
        """No more audio: ask for the final results of everything sent; the iteration ends after them."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close now (idempotent); results not yet received are dropped."""


class Provider(abc.ABC):  # noqa: B024 - the ABCs below add the abstract methods
    """Common lifecycle: constructed from settings, `load()` once at startup, `close()` at shutdown."""

    name: str = ""

    async def load(self) -> None:  # noqa: B027 - optional hook
        """Load models or open clients. Called once, in the app lifespan."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what `load` acquired."""

    def status(self) -> dict[str, object]:
        """Health details for /health."""
        return {}


class TTSProvider(Provider):
    """Text in, PCM16 out."""

    @abc.abstractmethod
    def capabilities(self) -> TTSCapabilities: ...

    @abc.abstractmethod
    def voice_ids(self) -> list[str]:
        """The voices this provider can speak with right now (installed or built in)."""

    @classmethod
    def installed_voice_ids(cls, settings: Any) -> list[str]:
        """Voices present on this machine, checked without loading anything (for the catalogue)."""
        return []

    @classmethod
    def describe_voice(cls, settings: Any, voice_id: str) -> dict[str, Any] | None:
        """Catalogue fields for an installed voice that is not in voices.manifest.json."""
        return None

    @abc.abstractmethod
    def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        """Yield audio as it is produced; the first chunk must not wait for the whole text."""

    async def synthesize_pcm(self, text: str, config: TTSConfig) -> AudioChunk:
        chunks = [chunk async for chunk in self.stream(text, config)]
        rate = chunks[0].sample_rate if chunks else self.capabilities().sample_rate
        return AudioChunk(b"".join(c.pcm for c in chunks), rate, text)

    async def synthesize(self, text: str, config: TTSConfig) -> bytes:
        """The whole text as one WAV file."""
        audio = await self.synthesize_pcm(text, config)
        return pcm16_to_wav(audio.pcm, audio.sample_rate)


class SentenceTTSProvider(TTSProvider):
    """For engines that synthesize a whole sentence at once (Piper, eSpeak NG): `stream` yields one
    chunk per sentence, each synthesized in a worker thread, so the event loop never blocks and the
    first sentence is heard while the rest are still being made."""

    async def prepare(self, config: TTSConfig) -> Any:
        """Per-request setup (e.g. load the voice); the result is passed to `synthesize_piece`."""
        return None

    @abc.abstractmethod
    def synthesize_piece(self, handle: Any, text: str, config: TTSConfig) -> AudioChunk:
        """Blocking synthesis of one sentence or phrase; runs in a thread."""

    async def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        handle = await self.prepare(config)
        for piece in speech_pieces(text, config.language, config.eager_first):
            chunk = await asyncio.to_thread(self.synthesize_piece, handle, piece, config)
            if chunk.pcm:
                yield chunk


class STTProvider(Provider):
    """Audio in, text out."""

    @abc.abstractmethod
    def capabilities(self) -> STTCapabilities: ...

    @abc.abstractmethod
    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        """Transcribe 16 kHz mono float32 samples."""

    async def open_stream(self, config: STTConfig) -> STTStream:
        """Start live recognition (only when `capabilities().streaming`); the caller must `aclose()` it."""
        from backend.core.errors import ProviderError

        raise ProviderError(
            f"{self.name}: live (streaming) recognition is not supported",
            code="streaming_unsupported",
            failover=False,  # a capability, not a failure: it says nothing about the provider's health
        )

"""The Wyoming door: speech-to-text and text-to-speech for Home Assistant over the Wyoming protocol.

A TCP server (`wyoming.enabled`, `wyoming.host`, `wyoming.port`) built on the `wyoming` package's own
framing and event types. It is served by the app's configured engines, failover included: the STT chain
(`app.state.stt`) and the TTS service (`app.state.tts`).

    describe                                  → info (our ASR model and TTS voices, with languages)
    transcribe? audio-start audio-chunk* audio-stop → transcript
    synthesize                                → audio-start audio-chunk* audio-stop
    synthesize-start synthesize-chunk* synthesize-stop
                                              → (audio-start audio-chunk* audio-stop) per sentence,
                                                then synthesize-stopped

Home Assistant sends a plain `synthesize` too while it streams (for older servers): it is ignored while a
streamed synthesis is open, as wyoming-piper does. Bad input (audio before audio-start, a format other
than 16-bit PCM, too much audio, an unknown voice, an unknown event) gets an `error` event; the
connection and the server go on. Wyoming has no authentication: the server binds to loopback unless
`wyoming.allow_remote` is set, and no key or quota applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from backend.core.config import Settings
from backend.core.errors import MithiError
from backend.core.limits import check_text
from backend.media.audio import STT_SAMPLE_RATE, StreamResampler, pcm16_to_float
from backend.media.text import SentenceChunker
from backend.speech.base import STTConfig, STTProvider
from backend.speech.tts_service import ResolvedVoice, TTSService

logger = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="Mithivoices", url="https://github.com/mithivoices/mithivoices")
_CHUNK_SAMPLES = 1024  # samples per audio-chunk sent (as wyoming-piper)


class WyomingInputError(Exception):
    """Input that gets an `error` event (the connection goes on)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def language_code(value: str | None) -> str | None:
    """Home Assistant's languages ("en", "en_US", "en-GB") → our language code ("en")."""
    if not value:
        return None
    return re.split(r"[_-]", value.strip())[0].lower() or None


@dataclass
class _Recording:
    """Audio of one `transcribe`, converted to 16 kHz mono as it arrives."""

    rate: int
    width: int
    channels: int
    resampler: StreamResampler
    parts: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0


class WyomingHandler(AsyncEventHandler):
    """One Wyoming connection."""

    def __init__(self, door: WyomingDoor, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.door = door
        self.language: str | None = None  # from `transcribe`
        self.recording: _Recording | None = None
        self.streaming: ResolvedVoice | None = None  # an open synthesize-start
        self.chunker: SentenceChunker | None = None  # its text, cut into sentences as /voice cuts replies
        self.received = 0  # characters streamed so far

    async def disconnect(self) -> None:
        self.door.connections.discard(self)

    async def handle_event(self, event: Event) -> bool:
        try:
            await self._handle(event)
        except WyomingInputError as err:
            await self.write_event(Error(text=err.text, code=err.code).event())
        except MithiError as err:  # an unknown voice or language, no provider available, ...
            await self.write_event(Error(text=err.message, code=err.code).event())
        except (KeyError, TypeError, ValueError) as exc:  # a known event with missing/wrong fields
            await self.write_event(
                Error(text=f"invalid {event.type} event: {exc!r}", code="invalid_event").event()
            )
        return True

    async def _handle(self, event: Event) -> None:
        if Describe.is_type(event.type):
            await self.write_event(self.door.info().event())
        elif Transcribe.is_type(event.type):
            self.language = language_code(Transcribe.from_event(event).language)
        elif AudioStart.is_type(event.type):
            self._start_recording(AudioStart.from_event(event))
        elif AudioChunk.is_type(event.type):
            await self._record(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            await self._transcribe()
        elif Synthesize.is_type(event.type):
            if self.streaming is None:  # (sent beside a streamed synthesis for older servers)
                request = Synthesize.from_event(event)
                voice = self.door.voice(request.voice.name if request.voice else None, _lang(request))
                await self._speak(check_text(request.text, self.door.settings), voice)
        elif SynthesizeStart.is_type(event.type):
            start = SynthesizeStart.from_event(event)
            self.streaming = self.door.voice(start.voice.name if start.voice else None, _lang(start))
            self.chunker, self.received = SentenceChunker(self.streaming.voice.language), 0
        elif SynthesizeChunk.is_type(event.type):
            await self._stream_text(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(event.type):
            await self._stop_stream()
        else:
            raise WyomingInputError(
                "unknown_event",
                f"unknown event type {event.type[:40]!r}; this server handles describe, transcribe, "
                "audio-start/chunk/stop, synthesize and synthesize-start/chunk/stop",
            )

    # ------------------------------------------------------------------ speech to text
    def _start_recording(self, start: AudioStart) -> None:
        if start.width != 2:
            raise WyomingInputError(
                "unsupported_audio", f"audio width {start.width}: send 16-bit PCM (width 2)"
            )
        if not 1 <= start.channels <= 8 or not 8000 <= start.rate <= 192000:
            raise WyomingInputError(
                "unsupported_audio",
                f"audio of {start.channels} channel(s) at {start.rate} Hz: "
                "send 1-8 channels at 8000-192000 Hz",
            )
        self.recording = _Recording(
            start.rate, start.width, start.channels, StreamResampler(start.rate, STT_SAMPLE_RATE)
        )

    async def _record(self, chunk: AudioChunk) -> None:
        rec = self.recording
        if rec is None:
            raise WyomingInputError(
                "no_audio_start", "audio-chunk before audio-start: send audio-start first"
            )
        if (chunk.rate, chunk.width, chunk.channels) != (rec.rate, rec.width, rec.channels):
            raise WyomingInputError(
                "audio_format_changed",
                f"audio-chunk is {chunk.rate} Hz/{chunk.width}/{chunk.channels} but audio-start said "
                f"{rec.rate} Hz/{rec.width}/{rec.channels}",
            )
        frame = rec.width * rec.channels
        if len(chunk.audio) % frame:
            raise WyomingInputError(
                "invalid_chunk", f"audio-chunk of {len(chunk.audio)} bytes is not whole frames"
            )
        limit = self.door.settings.limits.max_audio_seconds
        rec.seconds += len(chunk.audio) / frame / rec.rate
        if rec.seconds > limit:
            self.recording = None
            raise WyomingInputError(
                "audio_too_long",
                f"more than {limit:g} s of audio (limits.max_audio_seconds); recording dropped",
            )
        pcm = np.frombuffer(chunk.audio, dtype="<i2")
        if rec.channels > 1:
            pcm = pcm.reshape(-1, rec.channels).mean(axis=1).astype("<i2")
        rec.parts.append(pcm16_to_float(rec.resampler.process(pcm.tobytes())))

    async def _transcribe(self) -> None:
        rec, self.recording = self.recording, None
        if rec is None:
            raise WyomingInputError("no_audio_start", "audio-stop without audio-start")
        audio = np.concatenate(rec.parts) if rec.parts else np.zeros(0, np.float32)
        result = await self.door.stt.transcribe(audio, self.door.stt_config(self.language))
        await self.write_event(Transcript(text=result.text.strip(), language=result.language).event())

    # ------------------------------------------------------------------ text to speech
    async def _speak(self, text: str, voice: ResolvedVoice) -> None:
        """One audio-start … audio-stop for `text`, at the rate of the voice that speaks first."""
        started: int | None = None
        resampler: StreamResampler | None = None
        async for chunk in self.door.tts.stream(text, voice):
            if started is None:
                started = chunk.sample_rate
                await self.write_event(AudioStart(rate=started, width=2, channels=1).event())
            pcm = chunk.pcm
            if chunk.sample_rate != started:  # a fallback engine took over at another rate
                if resampler is None or resampler.from_rate != chunk.sample_rate:
                    resampler = StreamResampler(chunk.sample_rate, started)
                pcm = await asyncio.to_thread(resampler.process, pcm)
            step = _CHUNK_SAMPLES * 2
            for offset in range(0, len(pcm), step):
                event = AudioChunk(rate=started, width=2, channels=1, audio=pcm[offset : offset + step])
                await self.write_event(event.event())
        if started is None:  # nothing to say (e.g. only punctuation): an empty, well-formed reply
            await self.write_event(AudioStart(rate=voice.voice.sample_rate, width=2, channels=1).event())
        await self.write_event(AudioStop().event())

    async def _stream_text(self, text: str) -> None:
        if self.streaming is None or self.chunker is None:
            raise WyomingInputError("no_synthesize_start", "synthesize-chunk before synthesize-start")
        self.received += len(text)
        limit = self.door.settings.limits.max_text_chars
        if self.received > limit:
            self.streaming, self.chunker = None, None
            raise WyomingInputError(
                "text_too_long",
                f"streamed text over {limit} characters (limits.max_text_chars); synthesis dropped",
            )
        for piece in self.chunker.feed(text):  # each sentence is spoken as soon as it is complete
            await self._say(piece, self.streaming)

    async def _stop_stream(self) -> None:
        voice, chunker = self.streaming, self.chunker
        self.streaming, self.chunker = None, None
        if voice is None or chunker is None:
            raise WyomingInputError("no_synthesize_start", "synthesize-stop without synthesize-start")
        for piece in chunker.flush():
            await self._say(piece, voice)
        await self.write_event(SynthesizeStopped().event())

    async def _say(self, piece: str, voice: ResolvedVoice) -> None:
        if piece.strip(".!?…।॥,;: "):  # (punctuation alone has nothing to say)
            await self._speak(check_text(piece, self.door.settings), voice)


def _lang(request: Synthesize | SynthesizeStart) -> str | None:
    return language_code(request.voice.language) if request.voice else None


class WyomingDoor:
    """The TCP server; `start()` with the app, `stop()` before the engines close."""

    def __init__(self, settings: Settings, tts: TTSService, stt: STTProvider) -> None:
        self.settings = settings
        self.tts = tts
        self.stt = stt
        self.server = AsyncTcpServer(settings.wyoming.host, settings.wyoming.port)
        self.connections: set[WyomingHandler] = set()  # open client connections

    def info(self) -> Info:
        languages = list(self.settings.languages)
        asr = AsrProgram(
            name="mithivoices-stt",
            attribution=ATTRIBUTION,
            installed=True,
            description=f"Mithivoices speech-to-text ({self.stt.name})",
            version=None,
            models=[
                AsrModel(
                    name=self.settings.stt.model_size,
                    attribution=ATTRIBUTION,
                    installed=True,
                    description=f"{self.stt.name} {self.settings.stt.model_size}",
                    version=None,
                    languages=languages,
                )
            ],
        )
        voices = [
            TtsVoice(
                name=voice.id,
                attribution=Attribution(name=voice.engine, url=voice.source or ATTRIBUTION.url),
                installed=True,
                description=f"{voice.name} ({voice.engine}, {voice.quality}, licence {voice.license})",
                version=None,
                languages=list(dict.fromkeys([voice.locale.replace("-", "_"), voice.language])),
            )
            for voice in self.tts.catalog.available(None)
            if voice.language in languages
        ]
        tts = TtsProgram(
            name="mithivoices-tts",
            attribution=ATTRIBUTION,
            installed=True,
            description="Mithivoices text-to-speech",
            version=None,
            voices=voices,
            supports_synthesize_streaming=True,
        )
        return Info(asr=[asr], tts=[tts])

    def voice(self, name: str | None, language: str | None) -> ResolvedVoice:
        return self.tts.resolve(name or None, language)

    def stt_config(self, language: str | None) -> STTConfig:
        stt = self.settings.stt
        return STTConfig(
            language=language if language in self.settings.languages else stt.language,
            beam_size=stt.beam_size,
            temperature_fallback=stt.temperature_fallback,
        )

    def _handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> WyomingHandler:
        handler = WyomingHandler(self, reader, writer)
        self.connections.add(handler)  # (removed again when its client disconnects)
        return handler

    async def start(self) -> None:
        await self.server.start(self._handler)
        cfg = self.settings.wyoming
        logger.info("wyoming: serving STT and TTS on tcp://%s:%d (no authentication)", cfg.host, cfg.port)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.server.stop()
        for handler in list(self.connections):
            with contextlib.suppress(Exception):
                await handler.stop()
        self.connections.clear()

"""The request-level speech operations shared by our REST API and the OpenAI-compatible one:
validate limits, synthesize (whole or streamed), decode an upload and transcribe it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import numpy as np
from fastapi import UploadFile
from fastapi.responses import Response, StreamingResponse

from backend.core.config import Settings
from backend.core.errors import InvalidRequest, PayloadTooLarge
from backend.core.usage import UsageMeter
from backend.media.audio import (
    STT_SAMPLE_RATE,
    OutputFormat,
    StreamEncoder,
    decode_audio,
    encode_pcm16,
    loudest_dbfs,
)
from backend.providers.failover import FailoverLog, recording
from backend.speech.base import STTConfig, STTProvider, Transcription
from backend.speech.tts_service import ResolvedVoice, TTSService

logger = logging.getLogger(__name__)


def _headers(
    tts: TTSService, resolved: ResolvedVoice, engines: list[str], log: FailoverLog
) -> dict[str, str]:
    """Who spoke: `X-TTS-Provider` (the engines, in order, when a failover mixed them), `X-Voice-Id` (the
    first engine's voice) and `X-Failover` ("from -> to (reason)"; each failover, `; `-separated)."""
    engines = list(dict.fromkeys(e for e in engines if e)) or [resolved.provider.name]
    headers = {
        "X-Voice-Id": tts.engines.voice_used(resolved, engines[0]),
        "X-TTS-Provider": ", ".join(engines),
    }
    events = log.drain("tts")
    if events:
        # each failover once: a text of N pieces that skipped an open circuit says so once, not N times
        headers["X-Failover"] = "; ".join(dict.fromkeys(e.header() for e in events))
    return headers


async def speech_response(
    tts: TTSService, text: str, resolved: ResolvedVoice, fmt: OutputFormat, *, stream: bool
) -> Response:
    """Synthesize `text`. Streaming sends each sentence's audio as soon as it exists.

    The first chunk is produced before the response starts, so a failure is still a proper JSON error.
    """
    start = time.perf_counter()
    # at the format's own rate when it has one (OpenAI's pcm: 24 kHz): one resampling, engine → format
    chunks = tts.stream(
        text, resolved, eager_first=stream, whole_pieces=not stream, sample_rate=fmt.sample_rate
    )
    with recording() as log:  # a streamed response's headers tell who spoke its first piece
        first = await anext(chunks, None)
        if first is None:
            raise InvalidRequest("the text produced no audio (nothing speakable in it)", code="no_audio")
        rest = [] if stream else [chunk async for chunk in chunks]
    headers = _headers(tts, resolved, [c.provider for c in [first, *rest]], log)
    headers["X-Sample-Rate"] = str(fmt.sample_rate or first.sample_rate)
    if stream:

        async def body() -> AsyncIterator[bytes]:
            encoder = StreamEncoder(fmt, first.sample_rate)  # encoding runs in a thread: CPU work
            try:
                yield await asyncio.to_thread(encoder.feed, first.pcm)
                async for chunk in chunks:
                    data = await asyncio.to_thread(encoder.feed, chunk.pcm)
                    if data:
                        yield data
                yield await asyncio.to_thread(encoder.close)
            finally:
                await chunks.aclose()

        return StreamingResponse(body(), media_type=fmt.media_type, headers=headers)

    pcm = [first.pcm] + [chunk.pcm for chunk in rest]
    audio = b"".join(pcm)
    headers |= {
        "X-Audio-Duration": f"{len(audio) / 2 / first.sample_rate:.3f}",
        "X-Processing-Ms": f"{(time.perf_counter() - start) * 1000:.1f}",
    }
    encoded = await asyncio.to_thread(encode_pcm16, audio, first.sample_rate, fmt)  # never on the loop
    return Response(encoded, media_type=fmt.media_type, headers=headers)


# An upload whose loudest 30 ms is quieter than this is silence: empty text, without running STT
# (590 s of silence cost 20 s of CPU and +0.5 GB in Whisper, to return ". . . . .").
SILENCE_DBFS = -50.0
# Longer audio is transcribed with the VAD filter on (stt.vad or not): Whisper skips its silent parts.
VAD_ABOVE_SECONDS = 30.0


def _decode_and_measure(data: bytes, max_seconds: float) -> tuple[np.ndarray, float]:
    """Decode (16 kHz mono float32) and measure the loudest 30 ms: one trip to a worker thread."""
    audio = decode_audio(data, max_seconds=max_seconds)
    return audio, loudest_dbfs(audio)


@dataclass(frozen=True)
class TimedTranscription:
    result: Transcription
    processing_ms: float


async def transcribe_upload(
    upload: UploadFile,
    stt: STTProvider,
    settings: Settings,
    config: STTConfig,
    meter: UsageMeter | None = None,
) -> TimedTranscription:
    limit = settings.limits.max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"the upload is larger than {settings.limits.max_upload_mb:g} MiB (limits.max_upload_mb)",
            code="upload_too_large",
        )
    start = time.perf_counter()
    audio, level = await asyncio.to_thread(_decode_and_measure, data, settings.limits.max_audio_seconds)
    if meter is not None:  # limits.stt_seconds_per_day counts decoded audio seconds, not bytes
        await meter.stt(len(audio) / STT_SAMPLE_RATE)
    duration = len(audio) / STT_SAMPLE_RATE
    if level < SILENCE_DBFS:
        logger.info("upload of %.1f s is silent (loudest %.1f dBFS): STT skipped", duration, level)
        result = Transcription(
            text="",
            language=config.language or "",
            language_probability=0.0,
            duration=round(duration, 3),
            model=config.model or settings.stt.model_size,
            provider=getattr(stt, "name", ""),
        )
    else:
        if duration > VAD_ABOVE_SECONDS and not config.vad:
            config = replace(config, vad=True)  # long audio: Whisper's VAD filter skips the silent parts
        result = await stt.transcribe(audio, config)
    return TimedTranscription(result, round((time.perf_counter() - start) * 1000, 1))

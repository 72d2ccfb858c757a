"""Sarvam AI speech-to-text (Saaras): REST ``POST /speech-to-text`` and the streaming WebSocket
``/speech-to-text/ws`` (live partial transcripts for /voice).

REST (:meth:`SarvamSTT.transcribe`; Sarvam API reference and ``sarvamai`` 0.1.39,
``speech_to_text/raw_client.py``): a multipart form with ``file`` (our 16 kHz mono samples as a PCM16
WAV), ``model`` (``saaras:v3``, ``saaras:v4``, ``saarika:v2.5``), ``language_code`` (``hi-IN`` ..., or
``unknown`` to detect) and ``with_timestamps=true``; header ``api-subscription-key``. The answer
``{"request_id", "transcript", "timestamps": {"words": [...], "start_time_seconds": [...],
"end_time_seconds": [...]} | null, "language_code", "language_probability"}`` becomes a
:class:`Transcription` whose language is the one Sarvam reports (``hi-IN`` → ``hi``), whose segments are
Sarvam's timestamped chunks.

The REST API takes at most 30 s of audio. Longer audio is cut into pieces of at most
:data:`MAX_PIECE_SECONDS`, each cut at the quietest moment of the last :data:`CUT_WINDOW_SECONDS` before
the limit (between words, as far as loudness tells), transcribed (:data:`PIECE_CONCURRENCY` at a time)
and joined, the segments' times shifted by each piece's start. (Sarvam's Batch API takes long audio in
one job, but it is asynchronous: upload, poll, download, which no request here can wait for.)

Live (:meth:`SarvamSTT.open_stream`, when ``sarvam.streaming`` is on): a WebSocket to
``/speech-to-text/ws?language-code=…&model=…&sample_rate=16000&input_audio_codec=pcm_s16le&
vad_signals=true&flush_signal=true`` with the key header. Audio goes in as ``{"audio": {"data":
<base64 PCM16>, "sample_rate": 16000, "encoding": "audio/wav"}}``; ``{"type": "flush"}`` asks for the
transcript of what is buffered. Messages come back as ``{"type": "data", "data": {"request_id",
"transcript", "language_code", "language_probability", "metrics": {"audio_duration",
"processing_latency"}}}``, ``{"type": "events", "data": {"signal_type": "START_SPEECH" | "END_SPEECH",
...}}`` and ``{"type": "error", "data": {"error", "code"}}``. This endpoint sends no interim results,
only one transcript per stretch of speech (its own voice activity detection ends one), so a flush is
sent after every ``realtime.partial_interval_ms`` of audio: each answer is a final piece of the running
transcript, and /voice shows them joined while the user speaks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np

from backend.core.errors import ProviderError
from backend.media.audio import STT_SAMPLE_RATE
from backend.providers.hosted import (
    bad_response,
)
from backend.speech.base import (
    Segment,
    StreamResult,
    STTCapabilities,
    STTConfig,
    STTStream,
    Transcription,
)
from backend.speech.hosted_stt import HostedSTTProvider, broken_stream, json_float, wav_bytes
from backend.speech.providers import sarvam_api

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from backend.core.config import SarvamSettings

logger = logging.getLogger(__name__)

MAX_PIECE_SECONDS = 29.5  # the REST API's limit is 30 s; a little room for the WAV's rounding
CUT_WINDOW_SECONDS = 5.0
PIECE_CONCURRENCY = 3
FINAL_WAIT_SECONDS = 2.0  # live: after finalize(), the quiet that means every transcript has come
_POLL_SECONDS = 0.25


def cut_points(audio: np.ndarray, max_seconds: float = MAX_PIECE_SECONDS) -> list[tuple[int, int]]:
    """(start, end) sample ranges of at most ``max_seconds`` covering ``audio``, cut where it is quietest."""
    limit = int(max_seconds * STT_SAMPLE_RATE)
    window = int(CUT_WINDOW_SECONDS * STT_SAMPLE_RATE)
    frame = STT_SAMPLE_RATE // 50  # 20 ms
    spans: list[tuple[int, int]] = []
    start = 0
    while audio.size - start > limit:
        search_from = start + limit - window
        region = audio[search_from : start + limit]
        frames = region[: region.size // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin(np.sqrt(np.mean(frames**2, axis=1))))
        end = search_from + quietest * frame + frame // 2
        spans.append((start, end))
        start = end
    spans.append((start, audio.size))
    return spans


class SarvamSTT(HostedSTTProvider):
    name = sarvam_api.NAME
    block = sarvam_api.NAME
    env_var = sarvam_api.ENV_VAR
    official_hosts = sarvam_api.OFFICIAL_HOSTS
    example_base_url = "https://api.sarvam.ai"
    cfg: SarvamSettings

    def auth_headers(self, key: str) -> dict[str, str]:
        return sarvam_api.auth_headers(key)

    def capabilities(self) -> STTCapabilities:
        languages = tuple(code for code in self.settings.languages if code in sarvam_api.STT_LANGUAGES)
        return STTCapabilities(streaming=self.cfg.streaming, languages=languages, models=(self.model,))

    def language_code(self, language: str | None) -> str:
        """Sarvam's code for a request's language; ``unknown`` (detect) when none is given."""
        if not language:
            return "unknown"
        if language not in sarvam_api.STT_LANGUAGES:
            raise ProviderError(
                f"sarvam: speech-to-text does not know language '{language}'; it knows "
                f"{', '.join(sorted(sarvam_api.STT_LANGUAGES))} (or none, to detect it)",
                code="unsupported_language",
                status_code=422,
                provider=self.name,
                failover=False,
            )
        return sarvam_api.to_sarvam(language)

    # ------------------------------------------------------------------ REST
    async def _piece(self, audio: np.ndarray, model: str, language_code: str) -> dict[str, Any]:
        assert self._client is not None
        form = {"model": model, "language_code": language_code, "with_timestamps": "true"}
        files = {"file": ("audio.wav", wav_bytes(audio), "audio/wav")}
        try:
            response = await self._client.request("POST", "/speech-to-text", data=form, files=files)
        except ProviderError as err:
            raise self.keyed(err) from None
        body = self._client.json(response)
        if not isinstance(body, dict) or not isinstance(body.get("transcript"), str):
            raise bad_response(self.name, "no 'transcript' string in the answer")
        return body

    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        if self._client is None:
            await self.load()
        model = self.resolve_model(config.model)
        code = self.language_code(config.language)
        spans = cut_points(audio)
        gate = asyncio.Semaphore(PIECE_CONCURRENCY)

        async def one(span: tuple[int, int]) -> dict[str, Any]:
            async with gate:
                return await self._piece(audio[span[0] : span[1]], model, code)

        bodies = await asyncio.gather(*(one(span) for span in spans))
        duration = round(audio.size / STT_SAMPLE_RATE, 3)
        return self._parse(list(zip(spans, bodies, strict=True)), model, config, duration)

    def _parse(
        self,
        answers: list[tuple[tuple[int, int], dict[str, Any]]],
        model: str,
        config: STTConfig,
        duration: float,
    ) -> Transcription:
        texts: list[str] = []
        segments: list[Segment] = []
        detected = ""
        probability: float | None = None
        for (start, end), body in answers:
            offset, piece_end = start / STT_SAMPLE_RATE, end / STT_SAMPLE_RATE
            text = body["transcript"].strip()
            if text:
                texts.append(text)
            language = sarvam_api.from_sarvam(body.get("language_code"))
            if language and not detected:
                detected = language
                if isinstance(body.get("language_probability"), int | float):
                    probability = float(body["language_probability"])
            spans = self._chunks(body.get("timestamps"), piece_end - offset)
            if not spans and text:
                spans = [(0.0, piece_end - offset, text)]
            for chunk_start, chunk_end, chunk in spans:
                segments.append(
                    Segment(
                        id=len(segments),
                        start=round(min(offset + chunk_start, duration), 3),
                        end=round(min(offset + max(chunk_end, chunk_start), duration), 3),
                        text=chunk,
                    )
                )
        language = detected or config.language or ""
        if probability is None:
            probability = 1.0 if config.language or detected else 0.0
        return Transcription(
            text=" ".join(texts),
            language=language,
            language_probability=round(probability, 4),
            duration=duration,
            segments=segments,
            model=model,
        )

    def _chunks(self, timestamps: Any, piece_seconds: float) -> list[tuple[float, float, str]]:
        if not isinstance(timestamps, dict):
            return []
        words, starts, ends = (timestamps.get(k) for k in ("words", "start_time_seconds", "end_time_seconds"))
        if not (isinstance(words, list) and isinstance(starts, list) and isinstance(ends, list)):
            raise bad_response(self.name, "'timestamps' lacks the words / start / end lists")
        if not len(words) == len(starts) == len(ends):
            raise bad_response(self.name, "'timestamps' lists of different lengths")
        return [
            (min(json_float(s), piece_seconds), min(json_float(e), piece_seconds), str(w).strip())
            for w, s, e in zip(words, starts, ends, strict=True)
            if str(w).strip()
        ]

    # ------------------------------------------------------------------ live
    def live_url(self, config: STTConfig) -> str:
        scheme = "wss" if self.base_url.startswith("https://") else "ws"
        host_path = self.base_url.split("://", 1)[1]
        params = {
            "language-code": self.language_code(config.language),
            "model": self.resolve_model(config.model),
            "sample_rate": str(STT_SAMPLE_RATE),
            "input_audio_codec": "pcm_s16le",
            "vad_signals": "true",
            "flush_signal": "true",
        }
        return f"{scheme}://{host_path}/speech-to-text/ws?{urlencode(params)}"

    async def open_stream(self, config: STTConfig) -> STTStream:
        if not self.cfg.streaming:
            return await super().open_stream(config)
        ws = await self.connect_live(self.live_url(config), "streaming WebSocket")
        flush_every = self.settings.realtime.partial_interval_ms / 1000
        return SarvamStream(self.name, ws, flush_every)


class SarvamStream(STTStream):
    """One streaming WebSocket: PCM16 in (base64 JSON), a final :class:`StreamResult` per transcript out."""

    def __init__(self, provider: str, ws: ClientConnection, flush_every: float) -> None:
        self.provider = provider
        self.ws = ws
        self.flush_every = flush_every
        self._unflushed = 0  # samples sent since the last flush
        self._offset = 0.0  # seconds of audio the transcripts so far covered
        self._speech_ended = False
        self._closing = False
        self._finalized_at: float | None = None

    def _broken(self, exc: BaseException) -> ProviderError:
        return broken_stream(self.provider, exc, "streaming")

    async def _send_json(self, message: dict[str, Any]) -> None:
        try:
            await self.ws.send(json.dumps(message))
        except Exception as exc:  # noqa: BLE001 - any transport failure is the vendor's stream breaking
            raise self._broken(exc) from None

    async def send(self, pcm16: bytes) -> None:
        if self._closing or not pcm16:
            return
        data = base64.b64encode(pcm16).decode("ascii")
        await self._send_json(
            {"audio": {"data": data, "sample_rate": STT_SAMPLE_RATE, "encoding": "audio/wav"}}
        )
        self._unflushed += len(pcm16) // 2
        if self._unflushed >= self.flush_every * STT_SAMPLE_RATE:
            self._unflushed = 0
            await self._send_json({"type": "flush"})

    async def finalize(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._finalized_at = time.monotonic()
        with contextlib.suppress(ProviderError):
            await self._send_json({"type": "flush"})

    async def _receive(self) -> str | bytes | None:
        """The next message; None when the stream is over: closed, or finalized and then quiet for
        :data:`FINAL_WAIT_SECONDS` (this endpoint has no end-of-stream message)."""
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        while True:
            try:
                return await asyncio.wait_for(self.ws.recv(), _POLL_SECONDS)  # recv() is cancel-safe
            except TimeoutError:
                if self._finalized_at is not None:
                    if time.monotonic() - self._finalized_at >= FINAL_WAIT_SECONDS:
                        return None
            except ConnectionClosedOK:
                return None
            except ConnectionClosed as exc:
                if self._closing and exc.rcvd is not None and exc.rcvd.code == 1000:
                    return None
                raise self._broken(exc) from None

    async def __aiter__(self) -> AsyncIterator[StreamResult]:
        while (raw := await self._receive()) is not None:
            if isinstance(raw, bytes):
                continue
            try:
                message = json.loads(raw)
            except ValueError:
                raise bad_response(self.provider, "a streaming message is not JSON") from None
            if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
                raise bad_response(self.provider, "a streaming message has no 'data' object")
            kind, data = message.get("type"), message["data"]
            if self._finalized_at is not None:
                self._finalized_at = time.monotonic()  # an answer came: wait for the quiet again
            if kind == "events":
                signal = data.get("signal_type")
                if signal in ("START_SPEECH", "END_SPEECH"):
                    self._speech_ended = signal == "END_SPEECH"
                continue
            if kind == "error":
                raise ProviderError(
                    f"{self.provider}: the stream reported an error "
                    f"({data.get('code')}): {data.get('error')}",
                    code="provider_error",
                    status_code=502,
                    provider=self.provider,
                    retryable=True,
                )
            if kind != "data":
                continue  # message types added later
            if not isinstance(data.get("transcript"), str):
                raise bad_response(self.provider, "a streaming 'data' message has no transcript")
            metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
            start = self._offset
            self._offset += json_float(metrics.get("audio_duration"))
            yield StreamResult(
                text=data["transcript"].strip(),
                is_final=True,
                speech_final=self._speech_ended,
                start=round(start, 3),
                end=round(self._offset, 3),
                confidence=json_float(data.get("language_probability")),
            )

    async def aclose(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2.0)

"""Deepgram speech-to-text: pre-recorded ``POST /v1/listen`` and live ``wss://…/v1/listen`` (interim results).

Pre-recorded (:meth:`DeepgramSTT.transcribe`): our 16 kHz mono samples are sent as a PCM16 WAV body
(``Content-Type: audio/wav``) with ``Authorization: Token <key>`` and the options in the query string
(``model``, ``language`` or ``detect_language=true``, ``smart_format``, ``punctuate``, ``utterances=true``).
The answer ``{"metadata": {"duration", ...}, "results": {"channels": [{"alternatives": [{"transcript",
"confidence", "words", "paragraphs"?}], "detected_language"?, "language_confidence"?}], "utterances"?}}``
is normalised to a :class:`Transcription` whose segments come from the utterances, else the paragraphs'
sentences, else the words (cut at sentence ends), else one segment spanning the audio.

Live (:meth:`DeepgramSTT.open_stream`, when ``deepgram.streaming`` is on): a WebSocket to ``/v1/listen``
with ``encoding=linear16&sample_rate=16000&channels=1&interim_results=true&endpointing=…``; binary PCM16
frames go in, ``{"type": "Results", "is_final", "speech_final", "start", "duration", "channel":
{"alternatives": [{"transcript", ...}]}}`` messages come out (``Metadata``, ``SpeechStarted`` and
``UtteranceEnd`` are read and skipped). ``{"type": "KeepAlive"}`` is sent while no audio flows and
``{"type": "CloseStream"}`` asks for the last results before Deepgram closes the socket.

HTTP (pooling, timeouts, retries, Retry-After, ``{"err_code", "err_msg"}`` bodies) is
:class:`~backend.providers.hosted.HostedClient`; the WebSocket's failures are mapped the same way.
"""

from __future__ import annotations

import asyncio
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
    STTConfig,
    STTStream,
    Transcription,
)
from backend.speech.hosted_stt import HostedSTTProvider, broken_stream, json_float, wav_bytes
from backend.speech.providers.whisper_api_stt import language_code

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from backend.core.config import DeepgramSettings

logger = logging.getLogger(__name__)

_SENTENCE_END = (".", "?", "!", "…", "।", "॥")
_WORD_GAP_S = 1.0  # a pause this long between words also starts a new segment
KEEPALIVE_SECONDS = 5.0  # Deepgram closes a live socket after ~10 s without audio or KeepAlive


def _bool(value: bool) -> str:
    return "true" if value else "false"


class DeepgramSTT(HostedSTTProvider):
    name = "deepgram"
    block = "deepgram"
    env_var = "DEEPGRAM_API_KEY"
    official_hosts = frozenset({"api.deepgram.com"})
    example_base_url = "https://api.deepgram.com"
    model_field = "model"
    cfg: DeepgramSettings

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Token {key}"} if key else {}

    # ------------------------------------------------------------------ pre-recorded
    def _params(self, config: STTConfig, model: str) -> dict[str, str]:
        params = {
            "model": model,
            "smart_format": _bool(self.cfg.smart_format),
            "punctuate": _bool(self.cfg.punctuate),
        }
        if config.language:
            params["language"] = config.language
        return params

    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        if self._client is None:
            await self.load()
        assert self._client is not None
        model = self.resolve_model(config.model)
        params = self._params(config, model) | {"utterances": "true"}
        if not config.language:
            params["detect_language"] = "true"
        try:
            response = await self._client.request(
                "POST",
                "/v1/listen",
                params=params,
                content=wav_bytes(audio),
                headers={"Content-Type": "audio/wav"},
            )
        except ProviderError as err:
            raise self.keyed(err) from None
        body = self._client.json(response)
        return self._parse(body, model, config, round(len(audio) / STT_SAMPLE_RATE, 3))

    def _parse(self, body: Any, model: str, config: STTConfig, duration: float) -> Transcription:
        try:
            channel = body["results"]["channels"][0]
            best = channel["alternatives"][0]
            text = best["transcript"]
        except (KeyError, IndexError, TypeError):
            raise bad_response(self.name, "no results.channels[0].alternatives[0].transcript") from None
        if not isinstance(text, str):
            raise bad_response(self.name, "the transcript is not a string")
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        duration = round(json_float(metadata.get("duration"), duration), 3)
        segments = self._segments(body["results"], best, text.strip(), duration)
        detected = language_code(channel.get("detected_language"))
        return Transcription(
            text=text.strip(),
            language=config.language or detected or "en",  # Deepgram's default language is English
            language_probability=round(
                json_float(channel.get("language_confidence"), 1.0 if config.language else 0.0), 4
            )
            if config.language or detected
            else 0.0,
            duration=duration,
            segments=segments,
            model=model,
        )

    def _segments(
        self, results: dict[str, Any], best: dict[str, Any], text: str, duration: float
    ) -> list[Segment]:
        spans: list[tuple[float, float, str]] = []
        utterances = results.get("utterances")
        paragraphs = best.get("paragraphs")
        if isinstance(utterances, list) and utterances:
            spans = [
                (json_float(u.get("start")), json_float(u.get("end")), str(u.get("transcript", "")))
                for u in utterances
                if isinstance(u, dict) and u.get("channel", 0) == 0
            ]
        elif isinstance(paragraphs, dict) and isinstance(paragraphs.get("paragraphs"), list):
            spans = [
                (json_float(s.get("start")), json_float(s.get("end")), str(s.get("text", "")))
                for p in paragraphs["paragraphs"]
                if isinstance(p, dict)
                for s in p.get("sentences") or []
                if isinstance(s, dict)
            ]
        elif isinstance(best.get("words"), list) and best["words"]:
            spans = self._word_spans(best["words"])
        spans = [(start, end, t.strip()) for start, end, t in spans if t.strip()]
        if not spans and text:
            spans = [(0.0, duration, text)]
        return [
            Segment(
                id=i,
                start=round(min(start, duration), 3),
                end=round(min(max(end, start), duration), 3),
                text=t,
            )
            for i, (start, end, t) in enumerate(spans)
        ]

    @staticmethod
    def _word_spans(words: list[Any]) -> list[tuple[float, float, str]]:
        spans: list[tuple[float, float, str]] = []
        current: list[str] = []
        start = end = 0.0
        for w in words:
            if not isinstance(w, dict):
                continue
            token = str(w.get("punctuated_word") or w.get("word") or "")
            w_start, w_end = json_float(w.get("start")), json_float(w.get("end"))
            if current and w_start - end > _WORD_GAP_S:
                spans.append((start, end, " ".join(current)))
                current = []
            if not current:
                start = w_start
            current.append(token)
            end = w_end
            if token.endswith(_SENTENCE_END):
                spans.append((start, end, " ".join(current)))
                current = []
        if current:
            spans.append((start, end, " ".join(current)))
        return spans

    # ------------------------------------------------------------------ live
    def live_url(self, config: STTConfig) -> str:
        scheme = "wss" if self.base_url.startswith("https://") else "ws"
        host_path = self.base_url.split("://", 1)[1]
        params = self._params(config, self.resolve_model(config.model)) | {
            "encoding": "linear16",
            "sample_rate": str(STT_SAMPLE_RATE),
            "channels": "1",
            "interim_results": "true",
            "endpointing": str(self.cfg.endpointing_ms),
        }
        return f"{scheme}://{host_path}/v1/listen?{urlencode(params)}"

    async def open_stream(self, config: STTConfig) -> STTStream:
        if not self.cfg.streaming:
            return await super().open_stream(config)
        ws = await self.connect_live(self.live_url(config), "live WebSocket", max_size=2**22)
        return DeepgramStream(self.name, ws)


class DeepgramStream(STTStream):
    """One live WebSocket: PCM16 in, :class:`StreamResult` out."""

    def __init__(self, provider: str, ws: ClientConnection) -> None:
        self.provider = provider
        self.ws = ws
        self.request_id = ws.response.headers.get("dg-request-id", "") if ws.response else ""
        self._last_send = time.monotonic()
        self._closing = False
        self._keepalive = asyncio.create_task(self._keep_alive())

    def _broken(self, exc: BaseException) -> ProviderError:
        return broken_stream(self.provider, exc, "live")

    async def _keep_alive(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(1.0)
                if time.monotonic() - self._last_send >= KEEPALIVE_SECONDS:
                    await self.ws.send(json.dumps({"type": "KeepAlive"}))
                    self._last_send = time.monotonic()

    async def send(self, pcm16: bytes) -> None:
        if self._closing or not pcm16:
            return
        try:
            await self.ws.send(pcm16)
        except Exception as exc:  # noqa: BLE001 - any transport failure is the vendor's stream breaking
            raise self._broken(exc) from None
        self._last_send = time.monotonic()

    async def finalize(self) -> None:
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps({"type": "CloseStream"}))

    async def __aiter__(self) -> AsyncIterator[StreamResult]:  # type: ignore[override]
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        while True:
            try:
                raw = await self.ws.recv()
            except ConnectionClosedOK:
                return
            except ConnectionClosed as exc:
                if self._closing and exc.rcvd is not None and exc.rcvd.code == 1000:
                    return
                raise self._broken(exc) from None
            if isinstance(raw, bytes):
                continue
            try:
                message = json.loads(raw)
            except ValueError:
                raise bad_response(self.provider, "a live message is not JSON") from None
            if not isinstance(message, dict):
                raise bad_response(self.provider, "a live message is not a JSON object")
            kind = message.get("type")
            if kind == "Metadata":
                if self._closing:
                    return
                continue
            if kind != "Results":
                continue  # SpeechStarted, UtteranceEnd, and message types added later
            try:
                best = message["channel"]["alternatives"][0]
                text = str(best["transcript"])
            except (KeyError, IndexError, TypeError):
                raise bad_response(self.provider, "a live Results message has no transcript") from None
            start = json_float(message.get("start"))
            yield StreamResult(
                text=text.strip(),
                is_final=bool(message.get("is_final")),
                speech_final=bool(message.get("speech_final")),
                start=round(start, 3),
                end=round(start + json_float(message.get("duration")), 3),
                confidence=json_float(best.get("confidence")),
            )

    async def aclose(self) -> None:
        self._closing = True
        self._keepalive.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._keepalive
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2.0)

"""A local stand-in for Deepgram's ``/v1/listen``: pre-recorded (HTTP POST) and live (WebSocket) on one port.

A real server (uvicorn + Starlette in a daemon thread) on 127.0.0.1 and a free port, speaking the
documented wire format:

* ``POST /v1/listen?model=nova-3&language=en|detect_language=true&smart_format=&punctuate=&utterances=``
  with ``Authorization: Token <key>`` and the raw audio as the body (``Content-Type: audio/wav``) →
  ``{"metadata": {"transaction_key", "request_id", "sha256", "created", "duration", "channels", "models",
  "model_info"}, "results": {"channels": [{"alternatives": [{"transcript", "confidence", "words": [{"word",
  "start", "end", "confidence", "punctuated_word"}], "paragraphs"?}], "detected_language"?,
  "language_confidence"?}], "utterances"?: [...]}}``. Errors: ``{"err_code", "err_msg", "request_id"}``.
* ``GET /v1/listen`` upgraded to a WebSocket (auth by the ``Authorization: Token`` header or the
  ``token`` subprotocol), ``encoding=linear16&sample_rate=16000&channels=1&interim_results=true&
  endpointing=<ms>``: binary PCM16 frames in; ``{"type": "Results", "channel_index", "duration", "start",
  "is_final", "speech_final", "from_finalize", "channel": {"alternatives": [...]}, "metadata"}`` out —
  interim results about every :attr:`FakeDeepgram.interim_every` seconds of audio, a final one when
  ``endpointing`` ms of silence follow speech, on ``{"type": "Finalize"}`` and on ``{"type":
  "CloseStream"}`` (then a ``Metadata`` message and a normal close). ``{"type": "KeepAlive"}`` is
  accepted; no audio for :attr:`FakeDeepgram.idle_timeout` seconds closes with 1011 ``NET-0001``.
  ``vad_events=true`` adds ``SpeechStarted``; ``utterance_end_ms`` adds ``UtteranceEnd``. A refused
  handshake is an HTTP 401/400/429 with Deepgram's error body.

Transcripts are real (the local faster-whisper models, :class:`tests.fakes.openai_transcriptions.LocalASR`).
Failure injection is one FIFO shared by HTTP requests and WebSocket handshakes: :meth:`fail`,
:meth:`slow`, :meth:`drop` (HTTP: the body is cut off; live: the socket closes with 1011 after the first
result), :meth:`malformed` (a 200 / a live message that is not the documented JSON). Every request and
live session is recorded in :attr:`requests` (path, query, headers, body size, messages sent / received).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from tests.fakes.openai_transcriptions import LocalASR, decode
from tests.fakes.vendor_server import (
    DroppedSocket,
    FakeLiveSession,
    FaultKind,
    KindFault,
    KindFaults,
    UvicornVendorFake,
)

__all__ = ["FakeDeepgram", "RecordedRequest"]

MODELS = {
    "nova-3": "2024-12-20.0",
    "nova-2": "2024-01-09.29447",
    "base": "2021-03-17.0",
    "enhanced": "2022-05-18.0",
}
MODEL_UUID = "40bd3654-e622-47c4-a111-63a61b23bd4b"
LANGUAGES = {"en", "en-US", "en-GB", "en-IN", "hi", "es", "fr", "de", "multi"}

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "Bad Request: failed to process audio: corrupt or unsupported data"),
    401: ("INVALID_AUTH", "Invalid credentials."),
    402: ("ASR_PAYMENT_REQUIRED", "Project does not have enough credits for an ASR request."),
    403: ("INSUFFICIENT_PERMISSIONS", "You do not have permission to access this resource."),
    429: ("TOO_MANY_REQUESTS", "Too many requests. Please try again later"),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error"),
    503: ("SERVICE_UNAVAILABLE", "Deepgram is temporarily unavailable."),
}


def error_body(err_code: str, err_msg: str) -> dict[str, str]:
    return {"err_code": err_code, "err_msg": err_msg, "request_id": str(uuid.uuid4())}


def _true(query: dict[str, str], name: str) -> bool:
    return query.get(name, "false").lower() == "true"


@dataclass
class RecordedRequest:
    """An HTTP request or a live session as the fake saw it."""

    kind: Literal["http", "live"]
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case header names."""
    body_size: int = 0
    content_type: str | None = None
    status: int = 0
    audio_bytes: int = 0
    """Live: PCM bytes received."""
    received: list[dict[str, Any]] = field(default_factory=list)
    """Live: the JSON control messages the client sent (KeepAlive, Finalize, CloseStream)."""
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Live: the JSON messages the fake sent, in order."""
    sent_at: list[float] = field(default_factory=list)
    closed_by: str = ""
    time: float = field(default_factory=time.monotonic)


# --------------------------------------------------------------------------- wire objects


def _words(asr_words: list[dict[str, Any]], punctuate: bool) -> list[dict[str, Any]]:
    out = []
    for w in asr_words:
        raw = w["word"].strip()
        bare = "".join(ch for ch in raw.lower() if ch.isalnum() or ch == "'")
        if not bare:
            continue
        word = {"word": bare, "start": w["start"], "end": w["end"], "confidence": round(float(w["p"]), 4)}
        if punctuate:
            word["punctuated_word"] = raw
        out.append(word)
    return out


def _transcript(words: list[dict[str, Any]], punctuate: bool) -> str:
    return " ".join(w["punctuated_word"] if punctuate else w["word"] for w in words)


def _confidence(words: list[dict[str, Any]]) -> float:
    return round(float(np.mean([w["confidence"] for w in words])), 4) if words else 0.0


def _model_info(model: str) -> dict[str, Any]:
    return {"name": f"general-{model}", "version": MODELS.get(model, "1"), "arch": model}


def prerecorded_body(
    result: dict[str, Any], query: dict[str, str], request_id: str, audio: bytes
) -> dict[str, Any]:
    """The pre-recorded answer for an ASR result (see LocalASR.transcribe)."""
    model = query.get("model", "base")
    punctuate = _true(query, "punctuate") or _true(query, "smart_format")
    words = _words(result["words"], punctuate)
    alternative: dict[str, Any] = {
        "transcript": _transcript(words, punctuate),
        "confidence": _confidence(words),
        "words": words,
    }
    segments = []  # whisper segments → sentences / utterances, with their words
    for seg in result["segments"]:
        seg_words = [w for w in words if seg["start"] - 0.01 <= w["start"] < seg["end"] + 0.01]
        if seg_words:
            segments.append((seg, seg_words))
    if _true(query, "smart_format") or _true(query, "paragraphs"):
        sentences = [
            {"text": _transcript(sw, True), "start": sw[0]["start"], "end": sw[-1]["end"]}
            for _, sw in segments
        ]
        alternative["paragraphs"] = {
            "transcript": "\n" + " ".join(s["text"] for s in sentences),
            "paragraphs": [
                {
                    "sentences": sentences,
                    "num_words": len(words),
                    "start": sentences[0]["start"],
                    "end": sentences[-1]["end"],
                }
            ]
            if sentences
            else [],
        }
    channel: dict[str, Any] = {"alternatives": [alternative]}
    if _true(query, "detect_language"):
        channel["detected_language"] = result["language"]
        channel["language_confidence"] = round(float(result["language_probability"]), 4)
    body: dict[str, Any] = {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": hashlib.sha256(audio).hexdigest(),
            "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "duration": result["duration"],
            "channels": 1,
            "models": [MODEL_UUID],
            "model_info": {MODEL_UUID: _model_info(model)},
        },
        "results": {"channels": [channel]},
    }
    if _true(query, "utterances"):
        body["results"]["utterances"] = [
            {
                "start": sw[0]["start"],
                "end": sw[-1]["end"],
                "confidence": _confidence(sw),
                "channel": 0,
                "transcript": _transcript(sw, punctuate),
                "words": sw,
                "id": str(uuid.uuid4()),
            }
            for _, sw in segments
        ]
    return body


# --------------------------------------------------------------------------- the server


class FakeDeepgram(KindFaults[RecordedRequest], UvicornVendorFake[RecordedRequest, KindFault]):
    """The fake API (served by uvicorn: HTTP and WebSocket). ``api_key=None`` accepts any (or no) key."""

    thread_name = "fake-deepgram"

    def __init__(self, api_key: str | None = "dg-test-key", asr: LocalASR | None = None) -> None:
        super().__init__(
            api_key,
            [
                Route("/v1/listen", self._http, methods=["POST"]),
                WebSocketRoute("/v1/listen", self._live),
            ],
        )
        self.asr = asr or LocalASR.shared()
        self.interim_every = 0.5
        """Seconds of new audio between interim results."""
        self.idle_timeout = 10.0

    def reset(self, api_key: str | None = "dg-test-key") -> None:
        self._clear()
        self.api_key = api_key
        self.interim_every = 0.5
        self.idle_timeout = 10.0

    # ------------------------------------------------------------------ inspection
    def http_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "http"]

    def live_sessions(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "live"]

    # ------------------------------------------------------------------ shared checks
    def _key_ok(self, headers: dict[str, str], subprotocols: list[str] | None = None) -> bool:
        if self.api_key is None:
            return True
        auth = headers.get("authorization", "")
        if auth.startswith("Token ") and auth[6:].strip() == self.api_key:
            return True
        protocols = subprotocols or []
        return len(protocols) == 2 and protocols[0] == "token" and protocols[1] == self.api_key

    def _query_error(self, query: dict[str, str], live: bool) -> str | None:
        model = query.get("model", "base")
        language = query.get("language")
        if model not in MODELS:
            return (
                "No such model/language/tier combination found. Use the /v1/models endpoint to see options."
            )
        if language is not None and language not in LANGUAGES:
            return f"No such model/language/tier combination found for language '{language}'."
        if live and query.get("encoding") and not query.get("sample_rate"):
            return "sample_rate is required when encoding is set."
        return None

    @staticmethod
    def _error_response(status: int, message: str | None, retry_after: float | None = None) -> JSONResponse:
        code, default = _ERRORS.get(status, ("ERROR", "Error."))
        headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
        return JSONResponse(error_body(code, message or default), status_code=status, headers=headers)

    # ------------------------------------------------------------------ pre-recorded
    async def _http(self, request: Request) -> Response:
        query = dict(request.query_params)
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.body()
        record = self._record(
            RecordedRequest("http", request.url.path, query, headers, len(body), headers.get("content-type"))
        )
        if not self._key_ok(headers):
            record.status = 401
            return self._error_response(401, None)
        fault = self._next_fault()
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        if fault.kind == "error":
            record.status = fault.status
            return self._error_response(fault.status, fault.message, fault.retry_after)
        if fault.kind == "drop":
            record.status = 200
            return _CutOff()
        problem = self._query_error(query, live=False)
        if problem:
            record.status = 400
            return JSONResponse(error_body("Bad Request", problem), status_code=400)
        if not (record.content_type or "").startswith("audio/") or not body:
            record.status = 400
            return self._error_response(400, None)
        try:
            audio = decode(body)
        except ValueError:
            record.status = 400
            return self._error_response(400, None)
        language = query.get("language")
        asr_lang = None if _true(query, "detect_language") or language in (None, "multi") else language[:2]
        if language is None and not _true(query, "detect_language"):
            asr_lang = "en"  # Deepgram's default language
        result = await asyncio.to_thread(self.asr.transcribe, audio, asr_lang, True)
        record.status = 200
        request_id = str(uuid.uuid4())
        if fault.kind == "malformed":
            return Response(
                b'{"metadata": {"request_id": "x"}, "results": {"channels": [{"alter',
                200,
                media_type="application/json",
            )
        return JSONResponse(
            prerecorded_body(result, query, request_id, body), headers={"dg-request-id": request_id}
        )

    # ------------------------------------------------------------------ live
    async def _live(self, ws: WebSocket) -> None:
        query = dict(ws.query_params)
        headers = {k.lower(): v for k, v in ws.headers.items()}
        protocols = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        record = self._record(RecordedRequest("live", ws.url.path, query, headers))
        if not self._key_ok(headers, protocols):
            record.status = 401
            await ws.send_denial_response(self._error_response(401, None))
            return
        fault = self._next_fault()
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        if fault.kind == "error":
            record.status = fault.status
            await ws.send_denial_response(
                self._error_response(fault.status, fault.message, fault.retry_after)
            )
            return
        problem = self._query_error(query, live=True)
        if problem:
            record.status = 400
            await ws.send_denial_response(JSONResponse(error_body("Bad Request", problem), status_code=400))
            return
        record.status = 101
        request_id = str(uuid.uuid4())
        await ws.accept(
            subprotocol="token" if protocols[:1] == ["token"] else None,
            headers=[(b"dg-request-id", request_id.encode())],
        )
        session = _LiveSession(self, ws, record, query, request_id, fault.kind)
        await session.run()


class _CutOff(Response):
    """A 200 whose body stops short of its Content-Length: the connection drops mid-response."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send(
            {"type": "http.response.body", "body": b'{"metadata": {"request_id": "', "more_body": True}
        )
        raise ConnectionAbortedError("fake deepgram: connection dropped on purpose")


class _LiveSession(FakeLiveSession):
    """One live WebSocket: audio in, Results out (interim every `interim_every` s, final at endpoints)."""

    idle_close = (1011, "NET-0001")  # Deepgram's "no audio for 10 s"

    def __init__(
        self,
        fake: FakeDeepgram,
        ws: WebSocket,
        record: RecordedRequest,
        query: dict[str, str],
        rid: str,
        fault: FaultKind,
    ) -> None:
        self.fake, self.ws, self.record, self.query, self.request_id = fake, ws, record, query, rid
        self.fault = fault
        self.rate = int(query.get("sample_rate", "16000"))
        self.punctuate = _true(query, "punctuate") or _true(query, "smart_format")
        self.interim = _true(query, "interim_results")
        endpointing = query.get("endpointing", "10")
        self.endpoint_s = None if endpointing == "false" else int(endpointing) / 1000
        self.language = query.get("language", "en")
        self.model = query.get("model", "base")
        self.audio: list[np.ndarray] = []  # all audio, float32
        self.total = 0  # samples received
        self.span_start = 0  # samples: start of the span not yet finalised
        self.interim_at = 0  # samples at the last interim result
        self.heard_speech = False
        self.silence = 0  # samples of silence at the end of the audio
        self.results_sent = 0
        self.work: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue()
        self.busy = False

    async def send(self, message: dict[str, Any]) -> None:
        self.record.sent.append(message)
        self.record.sent_at.append(time.monotonic())
        await self.ws.send_text(json.dumps(message))

    def _samples(self, start: int, end: int) -> np.ndarray:
        data = np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)
        return data[start:end]

    async def _receive(self) -> None:
        while (message := await self.next_message()) is not None:
            if message.get("bytes") is not None:
                self._on_audio(message["bytes"])
                continue
            try:
                control = json.loads(message.get("text") or "")
            except ValueError:
                control = {"type": "?"}
            self.record.received.append(control)
            kind = control.get("type") if isinstance(control, dict) else None
            if kind == "Finalize":
                await self.work.put(("finalize", self.total))
            elif kind == "CloseStream":
                await self.work.put(("close", self.total))
                return
            elif kind != "KeepAlive":
                await self.ws.close(code=1008, reason="DATA-0000")  # not a control message we know
                return

    def _on_audio(self, data: bytes) -> None:
        self.record.audio_bytes += len(data)
        samples = np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32768
        if not samples.size:
            return
        self.audio.append(samples)
        self.total += samples.size
        loud = float(np.sqrt(np.mean(samples**2))) > 0.01
        if loud:
            if not self.heard_speech and _true(self.query, "vad_events"):
                self.work.put_nowait(("speech_started", self.total - samples.size))
            self.heard_speech = True
            self.silence = 0
        else:
            self.silence += samples.size
        if self.endpoint_s is not None and self.heard_speech and self.silence >= self.endpoint_s * self.rate:
            self.heard_speech = False
            self.work.put_nowait(("endpoint", self.total))
        elif self.interim and self.total - self.interim_at >= self.fake.interim_every * self.rate:
            self.interim_at = self.total
            if not self.busy and self.work.empty():  # a slow recogniser skips interims rather than lag
                self.work.put_nowait(("interim", self.total))

    async def _worker(self) -> None:
        while (job := await self.work.get()) is not None:
            kind, upto = job
            self.busy = True
            try:
                if kind == "speech_started":
                    await self.send(
                        {"type": "SpeechStarted", "channel": [0], "timestamp": round(upto / self.rate, 3)}
                    )
                elif kind == "interim":
                    if upto > self.span_start:
                        await self._result(upto, is_final=False)
                else:
                    if upto > self.span_start:
                        await self._result(
                            upto,
                            is_final=True,
                            speech_final=kind == "endpoint",
                            from_finalize=kind != "endpoint",
                        )
                        self.span_start = upto
                    if kind == "close":
                        await self._close()
                        return
            finally:
                self.busy = False

    async def _result(
        self, upto: int, is_final: bool, speech_final: bool = False, from_finalize: bool = False
    ) -> None:
        audio = self._samples(self.span_start, upto)
        lang = None if self.language == "multi" else self.language[:2]
        result = await asyncio.to_thread(self.fake.asr.transcribe, audio, lang, True)
        offset = self.span_start / self.rate
        words = _words(result["words"], self.punctuate)
        for w in words:
            w["start"] = round(w["start"] + offset, 3)
            w["end"] = round(w["end"] + offset, 3)
        message = {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round((upto - self.span_start) / self.rate, 3),
            "start": round(offset, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": _transcript(words, self.punctuate),
                        "confidence": _confidence(words),
                        "words": words,
                    }
                ]
            },
            "metadata": {
                "request_id": self.request_id,
                "model_info": _model_info(self.model),
                "model_uuid": MODEL_UUID,
            },
        }
        if from_finalize:
            message["from_finalize"] = True
        await self.send(message)
        self.results_sent += 1
        if self.results_sent == 1 and self.fault == "drop":
            self.record.closed_by = "drop"
            await self.ws.close(code=1011, reason="NET-0000")
            raise DroppedSocket
        if self.results_sent == 1 and self.fault == "malformed":
            self.record.sent.append({"malformed": True})
            await self.ws.send_text('{"type": "Results", "channel": {"alternatives": [')
        if is_final and self.query.get("utterance_end_ms") and words:
            await self.send({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": words[-1]["end"]})

    async def _close(self) -> None:
        data = b"".join((a * 32768).astype("<i2").tobytes() for a in self.audio)
        await self.send(
            {
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": self.request_id,
                "sha256": hashlib.sha256(data).hexdigest(),
                "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "duration": round(self.total / self.rate, 3),
                "channels": 1,
                "models": [MODEL_UUID],
                "model_info": {MODEL_UUID: _model_info(self.model)},
            }
        )
        self.record.closed_by = self.record.closed_by or "CloseStream"
        await self.ws.close(code=1000)

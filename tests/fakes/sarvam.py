"""A local stand-in for Sarvam AI's speech APIs: REST TTS and STT, and the streaming STT WebSocket.

A real server (uvicorn + Starlette in a daemon thread) on 127.0.0.1 and a free port, speaking the wire
format of the Sarvam API reference and the ``sarvamai`` 0.1.39 SDK:

* every request carries ``api-subscription-key``; a missing or wrong key is **403**
  ``{"error": {"message", "code": "invalid_api_key_error", "request_id"}}`` (HTTP and WebSocket handshake);
* ``POST /text-to-speech`` JSON ``{"text", "language_code" (or the older name ``target_language_code``),
  "speaker", "model", "pace", "speech_sample_rate", "output_audio_codec", ...}`` →
  ``{"request_id", "audios": ["<base64 WAV>"]}``; ``POST /text-to-speech/stream``, the same body (text up
  to 3500 characters; ``output_audio_codec`` ``linear16``: raw PCM16, or ``wav``) → the audio itself as a
  chunked binary body (its Content-Type for linear16 is undocumented: ``application/octet-stream`` here).
  Checked as Sarvam documents: a body that is not an
  object, a missing or non-string ``text`` or language, ``text`` over the model's limit (2500 characters
  for bulbul:v3, 1500 for v2), ``pace`` outside the model's range (0.5–2.0, 0.3–3.0) → **422**; an unknown
  model, language, speaker (or a speaker of another model), sample rate or codec → **400**; all with
  ``code`` ``invalid_request_error``. The audio is real: eSpeak NG in the request's language at
  165 × ``pace`` words a minute, at ``speech_sample_rate`` (only ``wav`` is produced: another codec is a
  400 that says this stand-in lacks it);
* ``POST /speech-to-text`` multipart ``file``, ``model``, ``language_code`` (``xx-IN`` or ``unknown``),
  ``with_timestamps``, ``mode`` → ``{"request_id", "transcript", "timestamps": {"words",
  "start_time_seconds", "end_time_seconds"} | null, "language_code", "language_probability"}``. No file
  is 422; an unknown model or language, audio that does not decode, or more than 30 s of it is 400;
* ``GET /speech-to-text/ws?language-code=&model=&sample_rate=&input_audio_codec=&vad_signals=&
  flush_signal=&high_vad_sensitivity=`` upgraded to a WebSocket: ``{"audio": {"data": <base64>,
  "sample_rate", "encoding": "audio/wav"}}`` in (raw PCM16 when ``input_audio_codec`` is a PCM one, else
  a WAV file per message); ``{"type": "flush"}`` transcribes what is buffered (when ``flush_signal=true``).
  Out: ``{"type": "events", "data": {"event_type": "vad", "signal_type": "START_SPEECH" | "END_SPEECH",
  "timestamp", "occured_at"}}`` (with ``vad_signals=true``) and, when a stretch of speech ends (1 s of
  silence, 0.5 s with ``high_vad_sensitivity=true``) or on a flush, ``{"type": "data", "data":
  {"request_id", "transcript", "timestamps": null, "diarized_transcript": null, "language_code",
  "language_probability", "metrics": {"audio_duration", "processing_latency"}}}``. A message it cannot
  read gets ``{"type": "error", "data": {"error", "code"}}``. No message for :attr:`idle_timeout` s
  closes the socket (Sarvam: 60 s).

What it "hears" (:meth:`FakeSarvam.recognise`): a phrase it synthesized itself in this process, or one a
test taught it with :meth:`FakeSarvam.learn`, is recognised by :class:`tests.fakes.phrase_matcher.
PhraseMatcher` (a closed-vocabulary matcher, not a model: Whisper cannot transcribe eSpeak's Hindi);
anything else is transcribed by the local faster-whisper models (:class:`tests.fakes.
openai_transcriptions.LocalASR`). ``language_code`` is the matched phrase's language (or Whisper's).

Failure injection is one FIFO shared by REST requests and WebSocket handshakes (a request with a bad key
is answered 403 and takes none): :meth:`fail` (status with Sarvam's error body for it, ``Retry-After``),
:meth:`slow`, :meth:`drop` (REST: the body is cut off; live: the socket closes with 1011 after the first
transcript), :meth:`malformed` (a 200 / a live message that is not the documented JSON). Every request
and live session is recorded in :attr:`requests`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from backend.core.languages import LANGUAGES
from backend.media.audio import pcm16_to_float, pcm16_to_wav, resample_pcm16
from tests.fakes.openai_transcriptions import LocalASR, decode
from tests.fakes.phrase_matcher import PhraseMatcher, trim_silence
from tests.fakes.vendor_server import (
    DroppedSocket,
    FakeLiveSession,
    FaultKind,
    KindFault,
    KindFaults,
    UvicornVendorFake,
)

__all__ = ["FakeSarvam", "RecordedRequest", "error_body"]

TTS_LANGUAGES = {
    "bn-IN",
    "en-IN",
    "gu-IN",
    "hi-IN",
    "kn-IN",
    "ml-IN",
    "mr-IN",
    "od-IN",
    "pa-IN",
    "ta-IN",
    "te-IN",
}
STT_LANGUAGES = TTS_LANGUAGES | {
    "as-IN", "ur-IN", "ne-IN", "kok-IN", "ks-IN", "sd-IN", "sa-IN", "sat-IN", "mni-IN", "brx-IN", "mai-IN",
    "doi-IN",
}  # fmt: skip
TTS_MODELS: dict[str, dict[str, Any]] = {
    "bulbul:v3": {
        "max_chars": 2500,
        "pace": (0.5, 2.0),
        "rates": (8000, 16000, 22050, 24000, 32000, 44100, 48000),
        "default_speaker": "shubh",
        "speakers": (
            "shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran", "kavya",
            "amit", "dev", "ishita", "shreya", "ratan", "varun", "manan", "sumit", "roopa", "kabir",
            "aayan", "ashutosh", "advait", "anand", "tanya", "tarun", "sunny", "mani", "gokul", "vijay",
            "shruti", "suhani", "mohit", "kavitha", "rehan", "soham", "rupali",
        ),
    },
    "bulbul:v2": {
        "max_chars": 1500,
        "pace": (0.3, 3.0),
        "rates": (8000, 16000, 22050, 24000),
        "default_speaker": "anushka",
        "speakers": ("anushka", "manisha", "vidya", "arya", "abhilash", "karun", "hitesh"),
    },
}  # fmt: skip
CODECS = {"mp3", "linear16", "mulaw", "alaw", "opus", "flac", "aac", "wav"}
STREAM_MAX_CHARS = 3500  # POST /text-to-speech/stream takes longer text than the REST call
# the streamed body's Content-Type for linear16 is not documented: assumed a generic binary type
STREAM_TYPE = "application/octet-stream"
STREAM_CHUNK = 4800  # bytes per chunk of a streamed answer (0.1 s at 24 kHz)


async def _chunks(data: bytes) -> Any:
    """`data` in STREAM_CHUNK pieces, yielding to the loop between them (a body made as it goes)."""
    for start in range(0, len(data), STREAM_CHUNK):
        yield data[start : start + STREAM_CHUNK]
        await asyncio.sleep(0)


STT_MODELS = {"saarika:v2.5", "saaras:v3", "saaras:v4"}
MAX_STT_SECONDS = 30.0
_PCM_CODECS = {"pcm_s16le", "pcm_l16", "pcm_raw"}
_WORDS_PER_MINUTE = 165

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    403: ("invalid_api_key_error", "Invalid API key. Please check your API subscription key."),
    413: ("invalid_request_error", "Payload too large."),
    422: ("invalid_request_error", "Validation failed."),
    429: ("rate_limit_exceeded_error", "Rate limit exceeded. Please try again later."),
    500: ("internal_server_error", "Internal server error."),
    503: ("rate_limit_exceeded_error", "The service is experiencing high load. Please try again later."),
}


def error_body(status: int, message: str | None = None, code: str | None = None) -> dict[str, Any]:
    default_code, default_message = _ERRORS.get(status, ("internal_server_error", "Error."))
    return {
        "error": {
            "message": message or default_message,
            "code": code or default_code,
            "request_id": f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}",
        }
    }


def _error(status: int, message: str | None = None, retry_after: float | None = None) -> JSONResponse:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


@dataclass
class RecordedRequest:
    """A REST request or a live session as the stand-in saw it."""

    kind: Literal["tts", "stt", "live", "other"]
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case header names."""
    body: Any = None
    """TTS: the parsed JSON; STT: the form's text fields."""
    file: bytes = b""
    status: int = 0
    audio_seconds: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    """Live: every JSON message the client sent (audio payloads replaced by their byte count)."""
    sent: list[dict[str, Any]] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    closed_by: str = ""
    time: float = field(default_factory=time.monotonic)


class FakeSarvam(KindFaults[RecordedRequest], UvicornVendorFake[RecordedRequest, KindFault]):
    """The stand-in (served by uvicorn: HTTP and WebSocket). ``api_key=None`` accepts any (or no) key."""

    thread_name = "fake-sarvam"

    def __init__(self, api_key: str | None = "sarvam-test-key", asr: LocalASR | None = None) -> None:
        super().__init__(
            api_key,
            [
                Route("/text-to-speech", self._tts, methods=["POST"]),
                Route("/text-to-speech/stream", self._tts, methods=["POST"]),
                Route("/speech-to-text", self._stt, methods=["POST"]),
                WebSocketRoute("/speech-to-text/ws", self._live),
            ],
        )
        self._asr = asr
        self.matcher = PhraseMatcher(render=lambda text, language: self.render(text, language))
        self.idle_timeout = 60.0

    @property
    def asr(self) -> LocalASR:
        if self._asr is None:
            self._asr = LocalASR.shared()
        return self._asr

    def reset(self, api_key: str | None = "sarvam-test-key") -> None:
        """Forget faults and requests (not the phrases learned)."""
        self._clear()
        self.api_key = api_key
        self.idle_timeout = 60.0

    # ------------------------------------------------------------------ inspection
    def of_kind(self, kind: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == kind]

    def tts_requests(self) -> list[RecordedRequest]:
        return self.of_kind("tts")

    def stt_requests(self) -> list[RecordedRequest]:
        return self.of_kind("stt")

    def live_sessions(self) -> list[RecordedRequest]:
        return self.of_kind("live")

    # ------------------------------------------------------------------ speech and hearing
    @staticmethod
    def synthesize(text: str, language: str, pace: float = 1.0, rate: int = 22050) -> bytes:
        """eSpeak NG speech (PCM16 mono at ``rate``) for ``text`` in ``language`` (our code)."""
        from backend.speech.providers.espeak_tts import engine

        eng = engine()
        voice = LANGUAGES[language].espeak_voice if language in LANGUAGES else "en-us"
        wpm = int(min(450, max(80, round(_WORDS_PER_MINUTE * pace))))
        return resample_pcm16(eng.synthesize(text, voice, wpm, 50), eng.sample_rate, rate)

    def render(self, text: str, language: str) -> np.ndarray:
        return pcm16_to_float(self.synthesize(text, language, rate=16000))

    def learn(self, text: str, language: str) -> None:
        """Teach the recogniser a phrase (rendered with the stand-in's own voice, pace 1.0)."""
        self.matcher.learn(text, language)

    def learn_pcm(self, text: str, language: str, pcm: bytes, rate: int) -> None:
        """Teach the recogniser a rendering of ``text`` (PCM16 mono at ``rate``), e.g. one of
        :meth:`synthesize`'s, so that exact audio is recognised."""
        self.matcher.learn_audio(text, language, pcm16_to_float(resample_pcm16(pcm, rate, 16000)))

    def recognise(self, audio: np.ndarray, language: str | None) -> tuple[str, str, float]:
        """(transcript, our language code, language probability) of 16 kHz float32 ``audio``."""
        if not trim_silence(audio).size:
            return "", language or "", 0.0
        match = self.matcher.match(audio, language)
        if match is not None:
            return match.text, match.language, match.score
        whisper = LANGUAGES[language].whisper_code if language in LANGUAGES else None
        result = self.asr.transcribe(audio, whisper)
        return str(result["text"]), language or str(result["language"]), float(result["language_probability"])

    # ------------------------------------------------------------------ shared checks
    def _key_ok(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("api-subscription-key") == self.api_key

    @staticmethod
    def _key_error(headers: dict[str, str]) -> JSONResponse:
        if "api-subscription-key" not in headers:
            return _error(403, "Missing API subscription key. Pass it in the 'api-subscription-key' header.")
        return _error(403)

    async def _fault(self, record: RecordedRequest) -> tuple[KindFault, Response | None]:
        fault = self._next_fault()
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        if fault.kind == "error":
            record.status = fault.status
            return fault, _error(fault.status, fault.message, fault.retry_after)
        if fault.kind == "drop":
            record.status = 200
            return fault, _CutOff()
        return fault, None

    # ------------------------------------------------------------------ TTS
    async def _tts(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = self._record(
            RecordedRequest("tts", request.url.path, dict(request.query_params), headers, body)
        )
        if not self._key_ok(headers):
            record.status = 403
            return self._key_error(headers)
        fault, answer = await self._fault(record)
        if answer is not None:
            return answer
        streamed = request.url.path.endswith("/stream")
        problem = self._tts_problem(body, streamed)
        if problem is not None:
            record.status = problem[0]
            return _error(*problem)
        assert isinstance(body, dict)
        rate = int(body.get("speech_sample_rate") or 22050)
        pace = float(body.get("pace") or 1.0)
        language = str(body.get("language_code") or body.get("target_language_code")).split("-")[0]
        pcm = await asyncio.to_thread(self.synthesize, body["text"], language, pace, rate)
        # what it said, it can hear again (the matcher compares at 16 kHz)
        self.learn_pcm(body["text"], language, pcm, rate)
        record.status = 200
        record.audio_seconds = round(len(pcm) / 2 / rate, 3)
        request_id = f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}"
        if streamed:
            if fault.kind == "malformed":  # a 200 that is not audio
                return JSONResponse({"request_id": request_id, "detail": "not audio"})
            wav = body.get("output_audio_codec") == "wav"
            return StreamingResponse(_chunks(pcm16_to_wav(pcm, rate) if wav else pcm), media_type=STREAM_TYPE)
        if fault.kind == "malformed":
            return JSONResponse({"request_id": request_id, "audios": ["not base64 audio!"]})
        audio = base64.b64encode(pcm16_to_wav(pcm, rate)).decode("ascii")
        return JSONResponse({"request_id": request_id, "audios": [audio]})

    @staticmethod
    def _tts_problem(body: Any, streamed: bool = False) -> tuple[int, str] | None:
        if not isinstance(body, dict):
            return 422, "Request body must be a JSON object."
        text = body.get("text")
        language = body.get("language_code", body.get("target_language_code"))
        if not isinstance(text, str) or not text.strip():
            return 422, "text: Field required (a non-empty string)."
        if not isinstance(language, str):
            return 422, "language_code: Field required."
        model = body.get("model") or "bulbul:v3"
        spec = TTS_MODELS.get(model)
        if spec is None:
            return 400, f"Model '{model}' is not supported. Use one of: {', '.join(TTS_MODELS)}."
        max_chars = STREAM_MAX_CHARS if streamed else spec["max_chars"]
        if len(text) > max_chars:
            return 422, f"text: the text exceeds the maximum of {max_chars} characters for {model}."
        if language not in TTS_LANGUAGES:
            return (
                400,
                f"language_code: '{language}' is not supported. Use one of: "
                f"{', '.join(sorted(TTS_LANGUAGES))}.",
            )
        speaker = body.get("speaker") or spec["default_speaker"]
        if speaker not in spec["speakers"]:
            return 400, (
                f"Speaker '{speaker}' is not compatible with model {model}. Available speakers for {model} "
                f"are: {', '.join(spec['speakers'])}"
            )
        pace = body.get("pace")
        low, high = spec["pace"]
        if pace is not None and not (isinstance(pace, int | float) and low <= pace <= high):
            return 422, f"pace: must be between {low} and {high} for {model}, got {pace}."
        rate = body.get("speech_sample_rate")
        if rate is not None and rate not in spec["rates"]:
            return (
                400,
                f"speech_sample_rate: {rate} is not supported for {model}; use one of {spec['rates']}.",
            )
        codec = body.get("output_audio_codec") or "wav"
        if codec not in CODECS:
            return 400, f"output_audio_codec: '{codec}' is not supported."
        if codec not in (("wav", "linear16") if streamed else ("wav",)):
            return 400, f"output_audio_codec '{codec}': this local stand-in produces wav and linear16 only."
        return None

    # ------------------------------------------------------------------ STT (REST)
    async def _stt(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = self._record(RecordedRequest("stt", request.url.path, dict(request.query_params), headers))
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        record.body = fields
        if isinstance(upload, UploadFile):
            record.file = await upload.read()
        if not self._key_ok(headers):
            record.status = 403
            return self._key_error(headers)
        fault, answer = await self._fault(record)
        if answer is not None:
            return answer
        if not isinstance(upload, UploadFile):
            record.status = 422
            return _error(422, "file: Field required.")
        model = fields.get("model") or "saaras:v3"
        code = fields.get("language_code") or "unknown"
        if model not in STT_MODELS:
            record.status = 400
            return _error(
                400, f"Model '{model}' is not supported. Use one of: {', '.join(sorted(STT_MODELS))}."
            )
        if code != "unknown" and code not in STT_LANGUAGES:
            record.status = 400
            return _error(400, f"language_code: '{code}' is not supported.")
        try:
            audio = decode(record.file)
        except ValueError:
            record.status = 400
            return _error(400, "The audio file could not be decoded. Please upload a valid audio file.")
        record.audio_seconds = round(audio.size / 16000, 3)
        if record.audio_seconds > MAX_STT_SECONDS:
            record.status = 400
            return _error(
                400,
                f"Audio duration ({record.audio_seconds:g} s) exceeds the maximum of 30 seconds for the REST "
                "API. Use the Batch API for longer audio.",
            )
        language = None if code == "unknown" else code.split("-")[0]
        text, heard_language, probability = await asyncio.to_thread(self.recognise, audio, language)
        record.status = 200
        if fault.kind == "malformed":
            return JSONResponse({"request_id": "x", "transcripts": [text]})
        answer_body: dict[str, Any] = {
            "request_id": f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}",
            "transcript": text,
            "timestamps": None,
            "language_code": f"{heard_language}-IN" if text else None,
        }
        if code == "unknown":
            answer_body["language_probability"] = round(probability, 4) if text else None
        if fields.get("with_timestamps") == "true" and text:
            speech = np.nonzero(np.abs(audio) > 0.01)[0]
            start, end = (speech[0] / 16000, speech[-1] / 16000) if speech.size else (0.0, audio.size / 16000)
            answer_body["timestamps"] = {
                "words": [text],
                "start_time_seconds": [round(float(start), 2)],
                "end_time_seconds": [round(float(end), 2)],
            }
        return JSONResponse(answer_body)

    # ------------------------------------------------------------------ STT (streaming)
    async def _live(self, ws: WebSocket) -> None:
        query = dict(ws.query_params)
        headers = {k.lower(): v for k, v in ws.headers.items()}
        record = self._record(RecordedRequest("live", ws.url.path, query, headers))
        if not self._key_ok(headers):
            record.status = 403
            await ws.send_denial_response(self._key_error(headers))
            return
        fault = self._next_fault()
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        if fault.kind == "error":
            record.status = fault.status
            await ws.send_denial_response(_error(fault.status, fault.message, fault.retry_after))
            return
        problem = self._live_problem(query)
        if problem:
            record.status = 400
            await ws.send_denial_response(_error(400, problem))
            return
        record.status = 101
        await ws.accept()
        await _LiveSession(self, ws, record, query, fault.kind).run()

    @staticmethod
    def _live_problem(query: dict[str, str]) -> str | None:
        code = query.get("language-code", "unknown")
        if code != "unknown" and code not in STT_LANGUAGES:
            return f"language-code: '{code}' is not supported."
        model = query.get("model", "saaras:v3")
        if model not in STT_MODELS:
            return f"Model '{model}' is not supported on the streaming API."
        if query.get("sample_rate", "16000") not in ("16000", "8000"):
            return "sample_rate: only 16000 and 8000 are supported."
        codec = query.get("input_audio_codec", "wav")
        if codec not in _PCM_CODECS | {"wav"}:
            return f"input_audio_codec: '{codec}' is not supported."
        return None


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
        await send({"type": "http.response.body", "body": b'{"request_id": "', "more_body": True})
        raise ConnectionAbortedError("fake sarvam: connection dropped on purpose")


class _LiveSession(FakeLiveSession):
    """One streaming socket: audio in, a transcript per stretch of speech (or flush) out."""

    def __init__(
        self,
        fake: FakeSarvam,
        ws: WebSocket,
        record: RecordedRequest,
        query: dict[str, str],
        fault: FaultKind,
    ) -> None:
        self.fake, self.ws, self.record, self.query, self.fault = fake, ws, record, query, fault
        self.rate = int(query.get("sample_rate", "16000"))
        self.pcm_input = query.get("input_audio_codec", "wav") in _PCM_CODECS
        self.vad_signals = query.get("vad_signals") == "true"
        self.flush_signal = query.get("flush_signal") == "true"
        self.endpoint_s = 0.5 if query.get("high_vad_sensitivity") == "true" else 1.0
        code = query.get("language-code", "unknown")
        self.language = None if code == "unknown" else code.split("-")[0]
        self.request_id = f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}"
        self.buffer: list[np.ndarray] = []  # audio not yet transcribed (16 kHz float32)
        self.speaking = False
        self.silence = 0  # samples of silence since the last loud frame
        self.results = 0
        self.work: asyncio.Queue[str | None] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        self.record.sent.append(message)
        self.record.sent_at.append(time.monotonic())
        await self.ws.send_text(json.dumps(message))

    async def _receive(self) -> None:
        while (message := await self.next_message()) is not None:
            try:
                data = json.loads(message.get("text") or "")
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("audio"), dict):
                await self._on_audio(data["audio"])
            elif isinstance(data, dict) and data.get("type") == "flush":
                self.record.received.append({"type": "flush"})
                if self.flush_signal:
                    await self.work.put("flush")
            else:
                self.record.received.append({"unreadable": True})
                await self.send(
                    {
                        "type": "error",
                        "data": {"error": "Invalid message format.", "code": "invalid_request_error"},
                    }
                )

    async def _on_audio(self, audio: dict[str, Any]) -> None:
        try:
            raw = base64.b64decode(str(audio.get("data", "")), validate=True)
            if self.pcm_input:
                samples = pcm16_to_float(raw[: len(raw) // 2 * 2])
                if self.rate != 16000:
                    samples = pcm16_to_float(resample_pcm16(raw[: len(raw) // 2 * 2], self.rate, 16000))
            else:
                samples = decode(raw)
        except (binascii.Error, ValueError):
            await self.send(
                {
                    "type": "error",
                    "data": {"error": "Audio data could not be decoded.", "code": "invalid_request_error"},
                }
            )
            return
        self.record.received.append(
            {
                "audio_bytes": len(raw),
                "sample_rate": audio.get("sample_rate"),
                "encoding": audio.get("encoding"),
            }
        )
        if not samples.size:
            return
        self.buffer.append(samples)
        loud = float(np.sqrt(np.mean(samples**2))) > 0.01
        if loud:
            self.silence = 0
            if not self.speaking:
                self.speaking = True
                await self._event("START_SPEECH")
        else:
            self.silence += samples.size
            if self.speaking and self.silence >= self.endpoint_s * 16000:
                self.speaking = False
                await self._event("END_SPEECH")
                await self.work.put("endpoint")

    async def _event(self, signal: str) -> None:
        if self.vad_signals:
            now = datetime.now(UTC)
            await self.send(
                {
                    "type": "events",
                    "data": {
                        "event_type": "vad",
                        "timestamp": now.isoformat().replace("+00:00", "Z"),
                        "signal_type": signal,
                        "occured_at": now.timestamp(),
                    },
                }
            )

    async def _worker(self) -> None:
        while (job := await self.work.get()) is not None:
            audio = np.concatenate(self.buffer) if self.buffer else np.zeros(0, np.float32)
            self.buffer = []
            if not trim_silence(audio).size:
                continue  # nothing said since the last transcript: nothing to answer
            started = time.monotonic()
            text, language, probability = await asyncio.to_thread(self.fake.recognise, audio, self.language)
            await self.send(
                {
                    "type": "data",
                    "data": {
                        "request_id": self.request_id,
                        "transcript": text,
                        "timestamps": None,
                        "diarized_transcript": None,
                        "language_code": f"{language}-IN" if language else None,
                        "language_probability": round(probability, 4) if self.language is None else None,
                        "metrics": {
                            "audio_duration": round(audio.size / 16000, 3),
                            "processing_latency": round(time.monotonic() - started, 3),
                        },
                    },
                }
            )
            self.results += 1
            if self.results == 1 and self.fault == "drop":
                self.record.closed_by = "drop"
                await self.ws.close(code=1011, reason="internal error")
                raise DroppedSocket
            if self.results == 1 and self.fault == "malformed":
                self.record.sent.append({"malformed": True})
                await self.ws.send_text('{"type": "data", "data": {"transcript": ')
            del job

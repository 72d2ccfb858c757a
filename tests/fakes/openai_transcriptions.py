"""A local stand-in for OpenAI's and Groq's ``POST /audio/transcriptions``, for tests without the internet.

A real HTTP/1.1 server (``ThreadingHTTPServer`` in a daemon thread) on 127.0.0.1 and a free port, at

* ``POST /v1/audio/transcriptions`` (OpenAI; ``openai.base_url = <url>/v1``), and
* ``POST /openai/v1/audio/transcriptions`` (Groq; ``groq.base_url = <url>/openai/v1``).

It speaks the documented wire format: a ``multipart/form-data`` body with ``file``, ``model``, ``language``
(ISO-639-1), ``prompt``, ``response_format`` (``json`` | ``text`` | ``srt`` | ``verbose_json`` | ``vtt``;
Groq has no srt/vtt), ``temperature`` and ``timestamp_granularities[]``; ``Authorization: Bearer <key>``.
``verbose_json`` answers ``{"task", "language" (a lower-case name: "english"), "duration", "text",
"segments": [{"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
"compression_ratio", "no_speech_prob"}], "words"?}`` (Groq adds ``"x_groq": {"id"}``). Errors use
``{"error": {"message", "type", "param", "code"}}``; every answer carries ``x-ratelimit-*`` headers and a 429
carries ``retry-after``.

The transcripts are real: the uploaded audio is decoded and transcribed by the local faster-whisper models
(``models/whisper/``; ``tiny.en`` when the language is English, ``base`` otherwise), see :class:`LocalASR`.

Failure injection is a FIFO of scripted faults, one per request to a transcription path (a request with
a wrong key is answered 401 and takes none): :meth:`fail` (status, times, retry_after), :meth:`slow`,
:meth:`drop` (close the connection mid-body), :meth:`malformed` (a 200 whose body is not the documented
JSON). Every request is recorded (path, query, headers, form fields, file) in :attr:`requests`.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from tests.fakes.vendor_server import (
    KindFault,
    KindFaults,
    QuietHandler,
    ThreadedVendorFake,
    openai_error_body,
    openai_key_error,
)

__all__ = ["FakeTranscriptionServer", "LocalASR", "RecordedRequest", "error_body"]

PATHS = {"/v1/audio/transcriptions": "openai", "/openai/v1/audio/transcriptions": "groq"}
MODELS = {
    "openai": ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"),
    "groq": ("whisper-large-v3-turbo", "whisper-large-v3", "distil-whisper-large-v3-en"),
}
FORMATS = {
    "openai": ("json", "text", "srt", "verbose_json", "vtt"),
    "groq": ("json", "text", "verbose_json"),
}
# Whisper's names for the languages the tests use (what verbose_json reports).
LANGUAGE_NAMES = {
    "en": "english",
    "hi": "hindi",
    "ml": "malayalam",
    "mr": "marathi",
    "ta": "tamil",
    "te": "telugu",
    "bn": "bengali",
    "gu": "gujarati",
    "ne": "nepali",
    "fr": "french",
    "de": "german",
    "es": "spanish",
}
ISO_639_1 = set(LANGUAGE_NAMES) | {"zh", "ja", "ko", "ru", "pt", "it", "nl", "ar", "tr", "pl", "ur", "pa"}
SAMPLE_RATE = 16000


error_body = openai_error_body


# --------------------------------------------------------------------------- real transcription


class LocalASR:
    """faster-whisper on the project's local models: what the fake vendors "hear" in the audio."""

    _shared: LocalASR | None = None
    _shared_lock = threading.Lock()

    def __init__(self, models_dir: Path | None = None) -> None:
        from backend.core.config import PROJECT_ROOT

        root = models_dir or Path(os.environ.get("MITHI_MODELS_DIR") or PROJECT_ROOT / "models")
        self.dir = root / "whisper"
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> LocalASR:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _model(self, name: str) -> Any:
        with self._lock:
            if name not in self._models:
                from faster_whisper import WhisperModel

                self._models[name] = WhisperModel(
                    str(self.dir / name), device="cpu", compute_type="int8", cpu_threads=2
                )
            return self._models[name]

    def warm(self) -> LocalASR:
        """Load both models now (so a test's first request does not pay for it)."""
        for language in ("en", None):
            self.transcribe(np.zeros(SAMPLE_RATE // 2, np.float32), language)
        return self

    def transcribe(
        self, audio: np.ndarray, language: str | None = None, words: bool = False, prompt: str | None = None
    ) -> dict[str, Any]:
        """``{"text", "language", "language_probability", "duration", "segments": [...], "words": [...]}``;
        times in seconds, segments with Whisper's fields."""
        model = self._model("tiny.en" if language == "en" else "base")
        segments_iter, info = model.transcribe(
            audio,
            language=language,
            beam_size=1,
            condition_on_previous_text=False,
            word_timestamps=words,
            initial_prompt=prompt,
        )
        segments, all_words = [], []
        for i, s in enumerate(segments_iter):
            segments.append(
                {
                    "id": i,
                    "start": round(s.start, 2),
                    "end": round(s.end, 2),
                    "text": s.text,
                    "avg_logprob": s.avg_logprob,
                    "compression_ratio": s.compression_ratio,
                    "no_speech_prob": s.no_speech_prob,
                    "tokens": list(s.tokens),
                }
            )
            for w in s.words or []:
                all_words.append(
                    {
                        "word": w.word.strip(),
                        "start": round(w.start, 2),
                        "end": round(w.end, 2),
                        "p": w.probability,
                    }
                )
        return {
            "text": "".join(s["text"] for s in segments).strip(),
            "language": info.language,
            "language_probability": info.language_probability,
            "duration": round(len(audio) / SAMPLE_RATE, 3),
            "segments": segments,
            "words": all_words,
        }


def decode(data: bytes) -> np.ndarray:
    """Any audio file → 16 kHz mono float32 (raises ValueError when it is not audio)."""
    from backend.core.errors import MithiError
    from backend.media.audio import decode_audio

    try:
        return decode_audio(data)
    except MithiError as exc:
        raise ValueError(exc.message) from None


# --------------------------------------------------------------------------- recording and scripting


@dataclass
class RecordedRequest:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-case header names."""
    form: dict[str, list[str]] = field(default_factory=dict)
    """Text fields of the multipart body (a name may repeat: ``timestamp_granularities[]``)."""
    file_name: str | None = None
    file_type: str | None = None
    file: bytes = b""
    status: int = 0
    time: float = field(default_factory=time.monotonic)

    def field(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    413: ("Maximum content size limit (26214400) exceeded.", "invalid_request_error", None),
    429: (
        "Rate limit reached for whisper-1 in organization org-fake on requests per min (RPM): Limit 3, "
        "Used 3, Requested 1. Please try again in 20s.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, str | None, bytes]]:
    """(name, filename, content type, payload) of each part; raises ValueError on a broken body."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise ValueError("not multipart/form-data")
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise ValueError("no parts")
    parts = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ValueError("a part without a name")
        payload = part.get_payload(decode=True) or b""
        parts.append((str(name), part.get_filename(), part.get_content_type(), payload))
    return parts


class _Handler(QuietHandler):
    @property
    def fake(self) -> FakeTranscriptionServer:
        fake: FakeTranscriptionServer = self.server.fake
        return fake

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        fake = self.fake
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{fake.request_count}")
        self.send_header("x-ratelimit-limit-requests", "50")
        self.send_header("x-ratelimit-remaining-requests", "0" if status == 429 else "49")
        self.send_header("x-ratelimit-reset-requests", "1.2s")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, record: RecordedRequest, status: int, message: str, **kw: Any) -> None:
        record.status = status
        self._json(status, error_body(message, **kw))

    def do_GET(self) -> None:
        record = self._record()
        self._error(record, 404, f"Invalid URL (GET {record.path})")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        record = self._record()
        try:
            self._answer(record, raw)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _record(self) -> RecordedRequest:
        url = urlsplit(self.path)
        record = RecordedRequest(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        self.fake._record(record)
        return record

    def _answer(self, record: RecordedRequest, raw: bytes) -> None:
        fake = self.fake
        vendor = PATHS.get(record.path)
        if vendor is None:
            self._error(record, 404, f"Invalid URL (POST {record.path})")
            return
        key_error = openai_key_error(fake.api_key, record.headers)
        if key_error is not None:
            self._error(record, 401, key_error, code="invalid_api_key")
            return
        try:
            parts = parse_multipart(record.headers.get("content-type", ""), raw)
        except ValueError:
            self._error(record, 400, "Could not parse multipart form", param="file")
            return
        for name, filename, ctype, payload in parts:
            if filename is not None:
                record.file_name, record.file_type, record.file = filename, ctype, payload
            else:
                record.form.setdefault(name, []).append(payload.decode("utf-8", "replace"))

        fault = fake._next_fault()
        if fault.kind == "slow" and fake._stopped.wait(fault.seconds):
            return
        if fault.kind == "error":
            record.status = fault.status
            message, type_, code = _ERRORS.get(fault.status, ("Error.", "server_error", None))
            headers = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            self._json(fault.status, error_body(fault.message or message, type_, code), headers)
            return
        if fault.kind == "drop":
            record.status = 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(b'{"text": "The wea')
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return

        model = record.field("model")
        if not model:
            self._error(record, 400, "you must provide a model parameter", param="model")
            return
        if model not in MODELS[vendor]:
            self._error(
                record,
                400 if vendor == "openai" else 404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
            return
        if record.file_name is None:
            self._error(
                record, 400, "1 validation error for Request\nbody -> file\n  field required", param="file"
            )
            return
        fmt = record.field("response_format") or "json"
        if fmt not in FORMATS[vendor]:
            self._error(
                record,
                400,
                f"response_format: '{fmt}' is not one of {list(FORMATS[vendor])}",
                param="response_format",
            )
            return
        language = record.field("language")
        if language is not None and language not in ISO_639_1:
            self._error(
                record,
                400,
                f"Invalid language '{language}'. Language parameter must be specified in ISO-639-1 format.",
                param="language",
            )
            return
        try:
            audio = decode(record.file)
        except ValueError:
            self._error(
                record,
                400,
                "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', "
                "'oga', 'ogg', 'wav', 'webm']",
                param="file",
            )
            return
        words = "word" in record.form.get("timestamp_granularities[]", [])
        result = fake.asr.transcribe(audio, language, words=words, prompt=record.field("prompt"))
        fake.transcripts.append(result["text"])
        record.status = 200
        if fault.kind == "malformed":
            self._send(200, b'{"text": "broken', "application/json")
            return
        self._reply(vendor, fmt, result, words)

    def _reply(self, vendor: str, fmt: str, result: dict[str, Any], words: bool) -> None:
        text = result["text"]
        if fmt == "text":
            self._send(200, (text + "\n").encode(), "text/plain; charset=utf-8")
            return
        if fmt in ("srt", "vtt"):
            self._send(200, _subtitles(result["segments"], fmt).encode(), "text/plain; charset=utf-8")
            return
        body: dict[str, Any] = {"text": text}
        if fmt == "verbose_json":
            body = {
                "task": "transcribe",
                "language": LANGUAGE_NAMES.get(result["language"], result["language"]),
                "duration": result["duration"],
                "text": text,
                "segments": [
                    {
                        "id": s["id"],
                        "seek": 0,
                        "start": s["start"],
                        "end": s["end"],
                        "text": s["text"],
                        "tokens": s["tokens"],
                        "temperature": 0.0,
                        "avg_logprob": s["avg_logprob"],
                        "compression_ratio": s["compression_ratio"],
                        "no_speech_prob": s["no_speech_prob"],
                    }
                    for s in result["segments"]
                ],
            }
            if words:
                body["words"] = [
                    {"word": w["word"], "start": w["start"], "end": w["end"]} for w in result["words"]
                ]
        if vendor == "groq":
            body["x_groq"] = {"id": f"req_fake{self.fake.request_count:06d}"}
        self._json(200, body)


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _subtitles(segments: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "srt":
        return "\n".join(
            f"{i + 1}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{s['text'].strip()}\n"
            for i, s in enumerate(segments)
        )
    return "WEBVTT\n\n" + "\n".join(
        f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n{s['text'].strip()}\n" for s in segments
    )


# --------------------------------------------------------------------------- the server


class FakeTranscriptionServer(KindFaults[RecordedRequest], ThreadedVendorFake[RecordedRequest, KindFault]):
    """The fake API. ``api_key=None`` accepts any (or no) key."""

    thread_name = "fake-openai-transcriptions"

    def __init__(self, api_key: str | None = "sk-test-key", asr: LocalASR | None = None) -> None:
        super().__init__(api_key, _Handler)
        self.asr = asr or LocalASR.shared()
        self.transcripts: list[str] = []

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def groq_base_url(self) -> str:
        return f"{self.url}/openai/v1"

    def reset(self, api_key: str | None = "sk-test-key") -> None:
        self._clear()
        with self._lock:
            self.transcripts.clear()
        self.api_key = api_key

    # ------------------------------------------------------------------ inspection
    def transcription_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path in PATHS]

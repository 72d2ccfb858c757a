"""The machinery shared by the fake cloud TTS vendors (ElevenLabs, OpenAI speech, Coqui TTS server).

Each fake is a real HTTP/1.1 server (:class:`tests.fakes.vendor_server.ThreadedVendorFake`) on 127.0.0.1
and a free port; the vendor modules (:mod:`tests.fakes.elevenlabs`, :mod:`tests.fakes.openai_speech`,
:mod:`tests.fakes.coqui`) add the vendor's paths, headers, bodies and error shapes.

The audio is real speech: eSpeak NG (through the project's own engine, ``backend.speech.providers.
espeak_tts``) in the request's language, resampled to the rate the request asked for, so a round trip
through Whisper means something.

Failure injection is a FIFO: each audio request takes the next scripted :class:`Fault` (a request with a
bad key is answered 401 and takes nothing): :meth:`FakeTTSVendor.fail` (status + vendor error body,
``Retry-After``), :meth:`~FakeTTSVendor.slow` (sleep before answering), :meth:`~FakeTTSVendor.drop_after`
(cut the connection after N bytes of audio), :meth:`~FakeTTSVendor.malformed` (JSON instead of audio,
an odd number of PCM bytes, a broken WAV, an empty body, MP3 where raw PCM was asked for). Streaming
pace: ``chunk_bytes`` (odd by default, so clients must re-align samples), ``first_chunk_pause`` and
``chunk_interval``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from backend.core.languages import LANGUAGES
from backend.media.audio import resample_pcm16
from tests.fakes.vendor_server import QuietHandler, ThreadedVendorFake

Malformed = Literal["json", "odd", "wav", "empty", "html", "mp3"]


@dataclass
class Fault:
    """What the next audio request gets instead of a plain answer."""

    status: int = 200
    retry_after: float | None = None
    message: str | None = None
    delay: float = 0.0
    drop_after: int | None = None
    malformed: Malformed | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case names."""
    body: Any
    """Parsed JSON (or form fields as a dict), None otherwise."""
    raw: bytes = b""
    status: int = 0
    bytes_sent: int = 0
    time: float = field(default_factory=time.monotonic)


_speech_cache: dict[tuple[str, str, int], bytes] = {}
_speech_lock = threading.Lock()


def speech_pcm(text: str, language: str = "en", sample_rate: int = 22050) -> bytes:
    """Real speech for ``text``: PCM16 mono at ``sample_rate`` (eSpeak NG, the project's engine)."""
    from backend.speech.providers.espeak_tts import engine

    key = (text, language, sample_rate)
    with _speech_lock:
        if key in _speech_cache:
            return _speech_cache[key]
    eng = engine()
    voice = LANGUAGES[language].espeak_voice if language in LANGUAGES else "en-us"
    pcm = eng.synthesize(text, voice, 165, 50)
    pcm = resample_pcm16(pcm, eng.sample_rate, sample_rate)
    with _speech_lock:
        _speech_cache[key] = pcm
    return pcm


class Handler(QuietHandler):
    disable_nagle_algorithm = True  # each chunk leaves at once (no 40 ms delayed-ACK stalls on loopback)
    record: RecordedRequest

    @property
    def fake(self) -> FakeTTSVendor:
        fake: FakeTTSVendor = self.server.fake
        return fake

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if raw and ctype == "application/x-www-form-urlencoded":
            body = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        self.record = RecordedRequest(
            method=self.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        self.fake._record(self.record)
        try:
            self.fake.route(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    do_GET = _handle
    do_POST = _handle

    # ------------------------------------------------------------------ answers
    def send_body(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.record.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(payload).encode(), "application/json", headers)

    def wait(self, seconds: float) -> bool:
        """Sleep; True if the fake was stopped meanwhile."""
        return self.fake._stopped.wait(seconds)

    def send_audio(
        self,
        audio: bytes,
        content_type: str,
        fault: Fault,
        *,
        chunked: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send ``audio`` (chunked and paced, or with a Content-Length), applying ``fault``."""
        fake = self.fake
        self.record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(audio)))
        self.end_headers()
        limit = len(audio) if fault.drop_after is None else min(fault.drop_after, len(audio))
        step = max(1, fake.chunk_bytes)
        for index, start in enumerate(range(0, limit, step)):
            piece = audio[start : min(start + step, limit)]
            if chunked:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            self.wfile.flush()
            self.record.bytes_sent += len(piece)
            pause = fake.first_chunk_pause if index == 0 else fake.chunk_interval
            if pause and self.wait(pause):
                return
        if fault.drop_after is not None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


class FakeTTSVendor(ThreadedVendorFake[RecordedRequest, Fault]):
    """Base of the TTS vendor fakes: the audio fault kinds and the streaming pace."""

    thread_name = "fake-tts"

    def __init__(self, api_key: str | None) -> None:
        super().__init__(api_key, Handler)
        self.chunk_bytes = 4001
        """Bytes per streamed chunk (odd: a chunk boundary falls inside a 16-bit sample)."""
        self.first_chunk_pause = 0.0
        """Pause after the first chunk (seconds): shows whether a client streams."""
        self.chunk_interval = 0.0

    # ------------------------------------------------------------------ vendor hooks
    error_headers: dict[str, str] = {}
    """Headers the vendor sends with a scripted error status (``Retry-After`` is added when set)."""

    def route(self, handler: Handler) -> None:
        raise NotImplementedError

    def error_payload(self, status: int, message: str | None) -> Any:
        """The vendor's JSON error body for a scripted error status."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget faults and recorded requests, restore the pace (between tests sharing one fake)."""
        self._clear()
        self.chunk_bytes = 4001
        self.first_chunk_pause = 0.0
        self.chunk_interval = 0.0

    # ------------------------------------------------------------------ scripting
    def fail(
        self, status: int, times: int = 1, retry_after: float | None = None, message: str | None = None
    ) -> None:
        """Answer the next ``times`` audio requests with ``status`` and the vendor's error body."""
        self.enqueue(Fault(status=status, retry_after=retry_after, message=message), times)

    def slow(self, seconds: float, times: int = 1) -> None:
        """Wait ``seconds`` before answering the next ``times`` audio requests."""
        self.enqueue(Fault(delay=seconds), times)

    def drop_after(self, nbytes: int, times: int = 1) -> None:
        """Send ``nbytes`` of audio, then cut the connection (mid-body)."""
        self.enqueue(Fault(drop_after=nbytes), times)

    def malformed(self, kind: Malformed = "json", times: int = 1) -> None:
        """Answer 200 with a body that is not the documented audio."""
        self.enqueue(Fault(malformed=kind), times)

    def next_fault(self) -> Fault:
        return self._pop_fault(Fault())

    def take_fault(self, h: Handler) -> Fault | None:
        """The next fault, after its delay; None when it was answered here (a scripted error status, in
        the vendor's :meth:`error_payload`) or the fake was stopped meanwhile."""
        fault = self.next_fault()
        if fault.delay and h.wait(fault.delay):
            return None
        if fault.status != 200:
            headers = dict(self.error_headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            h.send_json(fault.status, self.error_payload(fault.status, fault.message), headers)
            return None
        return fault

    # ------------------------------------------------------------------ inspection
    def audio_requests(self) -> list[RecordedRequest]:
        raise NotImplementedError

"""A local stand-in for OpenAI's speech API, ``POST /v1/audio/speech`` (see :mod:`tests.fakes.tts_vendor`).

Wire format, from the OpenAI API reference ("Create speech"):

* ``Authorization: Bearer <key>``; JSON body ``model`` (tts-1, tts-1-hd, gpt-4o-mini-tts), ``input``
  (at most 4096 characters), ``voice`` (alloy, ash, ballad, coral, echo, fable, nova, onyx, sage,
  shimmer, verse, marin, cedar; tts-1 models lack the last four), ``response_format`` (mp3 default,
  opus, aac, flac, wav, pcm = raw 24 kHz 16-bit little-endian mono), ``speed`` (0.25-4.0),
  ``instructions`` (not for tts-1 / tts-1-hd).
* The audio is sent with chunked transfer encoding while it is generated.
* Errors: ``{"error": {"message", "type", "param", "code"}}``; 401 ``invalid_api_key``; 429
  ``rate_limit_exceeded`` with ``Retry-After`` and ``x-ratelimit-*`` headers; an unknown path answers 404
  ``Invalid URL (POST /v1/...)``.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.media.audio import encode_pcm16, output_format
from tests.fakes.tts_vendor import FakeTTSVendor, Handler, RecordedRequest, speech_pcm
from tests.fakes.vendor_server import openai_error_body, openai_key_error

__all__ = ["FakeOpenAISpeech", "error_body"]

SPEECH_PATH = "/v1/audio/speech"
MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse",
    "marin", "cedar",
)  # fmt: skip
_GPT_ONLY = ("ballad", "verse", "marin", "cedar")
FORMATS = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
PCM_RATE = 24000
MAX_INPUT = 4096

_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", None, "Not found."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for tts-1 in organization org-fake on requests per min (RPM): Limit 3, "
        "Used 3, Requested 1. Please try again in 20s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


error_body = openai_error_body


def _status_body(status: int, message: str | None = None) -> dict[str, Any]:
    type_, code, default = _ERRORS.get(status, ("server_error", None, "Error."))
    return error_body(message or default, type_, code)


class FakeOpenAISpeech(FakeTTSVendor):
    """The fake API. ``api_key=None`` accepts any (or no) key."""

    thread_name = "fake-openai-speech"

    @property
    def base_url(self) -> str:
        """``openai.base_url`` for this fake (the API root, like https://api.openai.com/v1)."""
        return f"{self.url}/v1"

    def audio_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == SPEECH_PATH]

    error_headers = {
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "20s",
    }

    def error_payload(self, status: int, message: str | None) -> Any:
        return _status_body(status, message)

    def route(self, h: Handler) -> None:
        rec = h.record
        if rec.path != SPEECH_PATH or rec.method != "POST":
            h.send_json(404, error_body(f"Invalid URL ({rec.method} {rec.path})"))
            return
        key_error = openai_key_error(self.api_key, rec.headers)
        if key_error is not None:
            h.send_json(401, error_body(key_error, "invalid_request_error", "invalid_api_key"))
            return
        problem = self._check(rec.body)
        if problem:
            message, param = problem
            h.send_json(400, error_body(message, "invalid_request_error", None, param))
            return
        body: dict[str, Any] = rec.body

        fault = self.take_fault(h)
        if fault is None:
            return
        if fault.malformed == "json":
            h.send_json(200, {"object": "audio.speech", "data": None})
            return
        if fault.malformed == "html":
            h.send_body(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        fmt = body.get("response_format", "mp3")
        if fault.malformed == "mp3":  # a compatible server that ignores response_format
            fmt = "mp3"
        pcm = speech_pcm(body["input"], _language_of(body), PCM_RATE)
        audio = pcm if fmt == "pcm" else encode_pcm16(pcm, PCM_RATE, output_format(fmt))
        if fault.malformed == "odd":
            audio += b"\x01"
        elif fault.malformed == "empty":
            audio = b""
        h.send_audio(audio, FORMATS[fmt], fault, chunked=True, headers={"x-request-id": uuid.uuid4().hex})

    @staticmethod
    def _check(body: Any) -> tuple[str, str | None] | None:
        """OpenAI's 400 for a bad body, as (message, param)."""
        if not isinstance(body, dict):
            return "We could not parse the JSON body of your request.", None
        for name in ("model", "input", "voice"):
            if not body.get(name) and body.get(name) != "":
                return f"Missing required parameter: '{name}'.", name
        if body["model"] not in MODELS:
            return f"The model '{body['model']}' does not exist or you do not have access to it.", "model"
        text = body["input"]
        if not isinstance(text, str) or not text.strip():
            return "Invalid 'input': empty string. Expected a string with minimum length 1.", "input"
        if len(text) > MAX_INPUT:
            return (
                f"Invalid 'input': string too long. Expected a string with maximum length {MAX_INPUT}, "
                f"but got a string with length {len(text)} instead.",
                "input",
            )
        voices = (
            VOICES if body["model"] == "gpt-4o-mini-tts" else tuple(v for v in VOICES if v not in _GPT_ONLY)
        )
        if body["voice"] not in voices:
            return f"Invalid value: '{body['voice']}'. Supported values are: {', '.join(voices)}.", "voice"
        if body.get("response_format", "mp3") not in FORMATS:
            return (
                f"Invalid value: '{body['response_format']}'. Supported values are: {', '.join(FORMATS)}.",
                "response_format",
            )
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            return f"Invalid 'speed': {speed}. Expected a value between 0.25 and 4.0.", "speed"
        if body.get("instructions") and body["model"] != "gpt-4o-mini-tts":
            return "Instructions are not supported for this model.", "instructions"
        return None


def _language_of(body: dict[str, Any]) -> str:
    """OpenAI infers the language from the text; the fake guesses from the script (for eSpeak)."""
    text = body["input"]
    for lang, start, end in (("hi", 0x900, 0x97F), ("ta", 0xB80, 0xBFF)):
        if any(start <= ord(ch) <= end for ch in text):
            return lang
    return "en"

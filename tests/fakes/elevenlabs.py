"""A local stand-in for the ElevenLabs text-to-speech API (see :mod:`tests.fakes.tts_vendor`).

Wire format, from the ElevenLabs API reference:

* ``POST /v1/text-to-speech/{voice_id}`` and ``POST /v1/text-to-speech/{voice_id}/stream``: header
  ``xi-api-key``; query ``output_format`` (default ``mp3_44100_128``; ``pcm_<rate>`` = raw 16-bit LE mono
  PCM, ``mp3_<rate>_<kbps>``), ``optimize_streaming_latency`` (0-4), ``enable_logging``; JSON body
  ``text`` (required), ``model_id``, ``voice_settings`` {stability, similarity_boost, style 0-1,
  use_speaker_boost, speed 0.7-1.2}, ``language_code`` (only Flash/Turbo v2.5 accept it), ``previous_text``
  and ``next_text`` (strings: the text around this request, for continuous prosody). The audio is
  streamed with chunked transfer encoding; headers ``request-id`` and ``character-cost``.
* ``GET /v1/voices``: ``{"voices": [{voice_id, name, category, labels{accent, description, age, gender,
  use_case}, description, preview_url, ...}]}``.
* Errors: ``{"detail": {"type", "code", "status" (legacy), "message", "request_id", "param"}}``; a body
  that fails validation: FastAPI's ``{"detail": [{"loc", "msg", "type"}]}`` (422). 401 on a missing or
  wrong key, 429 ``rate_limit_exceeded`` / ``concurrent_limit_exceeded`` with ``Retry-After``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from backend.media.audio import encode_pcm16, output_format
from tests.fakes.tts_vendor import FakeTTSVendor, Fault, Handler, RecordedRequest, speech_pcm

__all__ = ["DEFAULT_VOICES", "FakeElevenLabs", "error_body"]

_TTS_PATH = re.compile(r"^/v1/text-to-speech/([^/]+)(/stream)?$")
_FORMAT = re.compile(r"^(pcm)_(8000|16000|22050|24000|44100|48000)$|^(mp3)_(22050|44100)_(32|64|96|128|192)$")
MODELS = {
    "eleven_v3",
    "eleven_multilingual_v2",
    "eleven_flash_v2_5",
    "eleven_turbo_v2_5",
    "eleven_flash_v2",
    "eleven_turbo_v2",
    "eleven_monolingual_v1",
}
LANGUAGE_CODE_MODELS = {"eleven_flash_v2_5", "eleven_turbo_v2_5"}

DEFAULT_VOICES: list[dict[str, Any]] = [
    {
        "voice_id": "21m00Tcm4TlvDq8ikWAM",
        "name": "Rachel",
        "category": "premade",
        "labels": {
            "accent": "american",
            "description": "calm",
            "age": "young",
            "gender": "female",
            "use_case": "narration",
        },
        "description": None,
        "preview_url": "https://storage.googleapis.com/eleven-public-prod/premade/voices/21m00Tcm4TlvDq8ikWAM/preview.mp3",
        "available_for_tiers": [],
        "settings": None,
        "high_quality_base_model_ids": ["eleven_v2_flash", "eleven_flash_v2_5", "eleven_multilingual_v2"],
    },
    {
        "voice_id": "pNInz6obpgDQGcFmaJgB",
        "name": "Adam",
        "category": "premade",
        "labels": {"accent": "american", "description": "deep", "age": "middle aged", "gender": "male"},
        "description": None,
        "preview_url": "https://storage.googleapis.com/eleven-public-prod/premade/voices/pNInz6obpgDQGcFmaJgB/preview.mp3",
        "available_for_tiers": [],
        "settings": None,
    },
]

_ERRORS: dict[int, tuple[str, str, str]] = {
    # status: (type, code, message)
    400: ("validation_error", "invalid_parameters", "Invalid request."),
    401: ("authentication_error", "invalid_api_key", "Invalid API key"),
    404: ("not_found", "voice_not_found", "A voice with the voice_id was not found."),
    422: ("validation_error", "invalid_parameters", "Unprocessable request."),
    429: (
        "rate_limit_error",
        "concurrent_limit_exceeded",
        "Too many concurrent requests for your subscription. Please wait for the current requests to finish.",
    ),
    500: ("internal_server_error", "internal_error", "An internal server error occurred."),
    503: (
        "service_unavailable",
        "system_busy",
        "The system is experiencing heavy traffic, please try again.",
    ),
}


def error_body(status: int, message: str | None = None, param: str | None = None) -> dict[str, Any]:
    type_, code, default = _ERRORS.get(status, ("error", "error", "Error."))
    return {
        "detail": {
            "type": type_,
            "code": code,
            "status": code,
            "message": message or default,
            "request_id": uuid.uuid4().hex,
            "param": param,
        }
    }


class FakeElevenLabs(FakeTTSVendor):
    """The fake API. ``api_key=None`` accepts any (or no) key."""

    thread_name = "fake-elevenlabs"

    def __init__(
        self, api_key: str | None = "xi-test-key", voices: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(api_key)
        self.voices = list(DEFAULT_VOICES if voices is None else voices)
        self.voices_fault: Fault | None = None
        """Set to make ``GET /v1/voices`` fail (its status) instead of listing."""

    def audio_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if _TTS_PATH.match(r.path)]

    def error_payload(self, status: int, message: str | None) -> Any:
        return error_body(status, message)

    # ------------------------------------------------------------------ routing
    def route(self, h: Handler) -> None:
        rec = h.record
        match = _TTS_PATH.match(rec.path)
        if not (match and rec.method == "POST") and not (rec.path == "/v1/voices" and rec.method == "GET"):
            h.send_json(404, {"detail": "Not Found"})
            return
        given = rec.headers.get("xi-api-key")
        if self.api_key is not None and given != self.api_key:
            message = "Invalid API key" if given else "Missing xi-api-key header"
            h.send_json(401, error_body(401, message))
            return
        if match is None:
            self._voices(h)
        else:
            self._tts(h, match.group(1), bool(match.group(2)))

    def _voices(self, h: Handler) -> None:
        fault = self.voices_fault
        if fault is not None and fault.status != 200:
            h.send_json(fault.status, error_body(fault.status, fault.message))
            return
        h.send_json(200, {"voices": self.voices})

    def _tts(self, h: Handler, voice_id: str, streaming: bool) -> None:
        rec = h.record
        body = rec.body
        fmt = rec.query.get("output_format", "mp3_44100_128")
        fmt_match = _FORMAT.match(fmt)
        if not fmt_match:
            h.send_json(400, error_body(400, f"Invalid output format: {fmt}", "output_format"))
            return
        if "optimize_streaming_latency" in rec.query and rec.query["optimize_streaming_latency"] not in (
            "0", "1", "2", "3", "4",
        ):  # fmt: skip
            h.send_json(422, _validation("query", "optimize_streaming_latency", "Input should be 0-4"))
            return
        if not isinstance(body, dict):
            h.send_json(422, _validation("body", None, "Field required"))
            return
        if not isinstance(body.get("text"), str):
            h.send_json(422, _validation("body", "text", "Field required"))
            return
        for context in ("previous_text", "next_text"):  # optional strings: prosody context
            if context in body and not isinstance(body[context], str | None):
                h.send_json(422, _validation("body", context, "Input should be a valid string"))
                return
        model = body.get("model_id", "eleven_multilingual_v2")
        if model not in MODELS:
            h.send_json(400, error_body(400, f"A model with model ID {model} does not exist", "model_id"))
            return
        if "language_code" in body and model not in LANGUAGE_CODE_MODELS:
            h.send_json(
                400,
                error_body(
                    400,
                    f"Model '{model}' does not support the language_code parameter. "
                    "Language enforcement is only supported by Turbo v2.5 and Flash v2.5.",
                    "language_code",
                ),
            )
            return
        problem = _check_voice_settings(body.get("voice_settings"))
        if problem:
            h.send_json(400, error_body(400, problem, "voice_settings"))
            return
        if voice_id not in {v["voice_id"] for v in self.voices}:
            h.send_json(404, error_body(404, f"A voice with the voice_id {voice_id} was not found."))
            return

        fault = self.take_fault(h)
        if fault is None:
            return
        if fault.malformed == "json":
            h.send_json(200, {"audio_base64": "", "alignment": None})
            return
        if fault.malformed == "html":
            h.send_body(200, b"<html><body>Bad gateway</body></html>", "text/html")
            return

        language = body.get("language_code") or "en"
        if fmt_match.group(1):
            rate = int(fmt_match.group(2))
            audio, ctype = speech_pcm(body["text"], language, rate), "audio/pcm"
        else:
            rate = int(fmt_match.group(4))
            audio = encode_pcm16(speech_pcm(body["text"], language, rate), rate, output_format("mp3"))
            ctype = "audio/mpeg"
        if fault.malformed == "mp3" and ctype == "audio/pcm":  # a vendor that ignores output_format
            audio, ctype = encode_pcm16(audio, rate, output_format("mp3")), "audio/mpeg"
        if fault.malformed == "odd":
            audio += b"\x01"
        elif fault.malformed == "empty":
            audio = b""
        elif fault.malformed == "wav":
            audio = b"RIFF\x00\x00garbage" if ctype == "audio/mpeg" else audio
        headers = {"request-id": uuid.uuid4().hex, "character-cost": str(len(body["text"]))}
        h.send_audio(audio, ctype, fault, chunked=streaming, headers=headers)


def _validation(where: str, name: str | None, msg: str) -> dict[str, Any]:
    loc = [where, name] if name else [where]
    return {"detail": [{"type": "missing", "loc": loc, "msg": msg, "input": None}]}


def _check_voice_settings(settings: Any) -> str | None:
    if settings is None:
        return None
    if not isinstance(settings, dict):
        return "voice_settings must be an object"
    for key in ("stability", "similarity_boost", "style"):
        value = settings.get(key)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
            return f"voice_settings.{key} must be between 0 and 1, got {value}"
    speed = settings.get("speed")
    if speed is not None and not (isinstance(speed, int | float) and 0.7 <= speed <= 1.2):
        return f"voice_settings.speed must be between 0.7 and 1.2, got {speed}"
    return None

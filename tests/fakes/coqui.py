"""A local stand-in for the Coqui TTS demo server, ``TTS/server/server.py`` (see tests/fakes/tts_vendor.py).

Wire format, from the server's source (coqui-ai/TTS and its maintained fork idiap/coqui-ai-TTS):

* ``GET`` or ``POST /api/tts``: ``text``, ``speaker_id``, ``language_id``, ``style_wav``, ``speaker_wav``
  as query / form fields (or the headers ``text``, ``speaker-id``, ``language-id``); ``speaker_id`` is
  used only by multi-speaker models, ``language_id`` only by multilingual ones (default
  ``--language_idx en``). Answers ``audio/wav`` (16-bit PCM at the model's rate) with a Content-Length;
  an empty text answers 400 ``{"error": "Text parameter is required"}``; a synthesis failure (an unknown
  speaker or language) answers 500 ``{"error": "TTS synthesis failed: ..."}``.
* MaryTTS layer: ``GET /locales`` (the model's locale), ``GET /voices`` (``<speaker> <locale> <gender>``
  per line for a multi-speaker model, else ``<model> <locale> u``).
* ``GET /`` and ``GET /details``: HTML pages. There is no key and no streaming.

``api_key`` (off by default): a reverse proxy in front of the server checks ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Any

from backend.media.audio import pcm16_to_wav
from tests.fakes.tts_vendor import FakeTTSVendor, Handler, RecordedRequest, speech_pcm

__all__ = ["FakeCoqui"]

XTTS_LANGUAGES = (
    "en",
    "es",
    "fr",
    "de",
    "it",
    "pt",
    "pl",
    "tr",
    "ru",
    "nl",
    "cs",
    "ar",
    "zh-cn",
    "hu",
    "ko",
    "ja",
    "hi",
)


class FakeCoqui(FakeTTSVendor):
    """``speakers``: a multi-speaker model's speakers (empty = single speaker); ``languages``: a
    multilingual model's language ids (empty = single language); ``sample_rate``: the model's rate."""

    thread_name = "fake-coqui"

    def __init__(
        self,
        speakers: tuple[str, ...] = (),
        languages: tuple[str, ...] = (),
        sample_rate: int = 22050,
        model_name: str = "tts_models/en/ljspeech/vits",
        api_key: str | None = None,
    ) -> None:
        super().__init__(api_key)
        self.speakers = speakers
        self.languages = languages
        self.sample_rate = sample_rate
        self.model_name = model_name
        self.default_speaker = speakers[0] if speakers else None

    def audio_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/api/tts"]

    def route(self, h: Handler) -> None:
        rec = h.record
        if self.api_key is not None and rec.headers.get("authorization") != f"Bearer {self.api_key}":
            h.send_body(401, b"Unauthorized", "text/plain")
            return
        if rec.path == "/api/tts" and rec.method in ("GET", "POST"):
            self._tts(h)
        elif rec.path == "/voices" and rec.method == "GET":
            locale = self.model_name.split("/")[1]
            if self.speakers:
                lines = "".join(f"{speaker} {locale} u\n" for speaker in self.speakers)
            else:
                lines = f"{self.model_name.split('/')[-1]} {locale} u\n"
            h.send_body(200, lines.encode(), "text/html; charset=utf-8")
        elif rec.path == "/locales" and rec.method == "GET":
            h.send_body(200, f"{self.model_name.split('/')[1]}\n".encode(), "text/html; charset=utf-8")
        elif rec.path in ("/", "/details") and rec.method == "GET":
            h.send_body(
                200, b"<!DOCTYPE html><html><body>TTS engine</body></html>", "text/html; charset=utf-8"
            )
        else:
            page = b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>"
            h.send_body(404, page, "text/html; charset=utf-8")

    def error_payload(self, status: int, message: str | None) -> Any:
        return {"error": message or f"TTS synthesis failed: error {status}"}

    def _field(self, h: Handler, name: str, header: str) -> str | None:
        rec = h.record
        form = rec.body if isinstance(rec.body, dict) else {}
        return rec.headers.get(header) or form.get(name) or rec.query.get(name)

    def _tts(self, h: Handler) -> None:
        text = self._field(h, "text", "text") or ""
        speaker = self._field(h, "speaker_id", "speaker-id") if self.speakers else None
        speaker = speaker or self.default_speaker
        language = self._field(h, "language_id", "language-id") if self.languages else None
        language = language or ("en" if self.languages else None)
        if not text.strip():
            h.send_json(400, {"error": "Text parameter is required"})
            return
        if speaker is not None and speaker not in self.speakers:
            h.send_json(
                500, {"error": f"TTS synthesis failed:  [!] Missing speakers.json file path. ({speaker})"}
            )
            return
        if language is not None and language not in self.languages:
            h.send_json(500, {"error": f"TTS synthesis failed: Language {language} is not supported."})
            return

        fault = self.take_fault(h)
        if fault is None:
            return
        if fault.malformed == "json":
            h.send_json(200, {"wav": None})
            return
        if fault.malformed == "html":
            h.send_body(200, b"<html><body>Internal error</body></html>", "text/html; charset=utf-8")
            return
        wav = pcm16_to_wav(speech_pcm(text, language or "en", self.sample_rate), self.sample_rate)
        if fault.malformed == "wav":
            wav = b"RIFF\x24\x00\x00\x00WAVEjunk" + wav[44:200]
        elif fault.malformed == "odd":
            wav = wav[:-1]
        elif fault.malformed == "empty":
            wav = b""
        h.send_audio(wav, "audio/wav", fault, chunked=False)

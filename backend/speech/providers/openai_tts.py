"""OpenAI text-to-speech (``POST <base_url>/audio/speech``), or any server that speaks the same API.

Wire format (OpenAI API reference, "Create speech"):

* ``Authorization: Bearer <key>``; JSON body ``{"model", "input", "voice", "response_format": "pcm",
  "speed"}``. ``pcm`` is raw 24 kHz 16-bit little-endian mono samples, so no decoding is needed;
* the body is sent with chunked transfer encoding while the audio is generated: each chunk is yielded as
  it arrives (re-cut so none splits a 16-bit sample);
* ``input`` is at most 4096 characters: a longer text is sent as several requests, split at sentence
  boundaries, one after the other;
* ``speed`` is 0.25–4.0 (our ``limits`` are narrower); it is sent only when not 1.0;
* errors: ``{"error": {"message", "type", "param", "code"}}``; mapped by :mod:`backend.providers.hosted`.

Voices: OpenAI has a fixed list (:data:`VOICES`), plus ``openai.tts_voice`` if it is not in it (a custom
voice id, or a voice of an OpenAI-compatible server).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from backend.media.text import split_sentences
from backend.providers.hosted import bad_response
from backend.speech.base import AudioChunk, TTSConfig
from backend.speech.hosted_tts import (
    CloudVoice,
    HostedTTSProvider,
    PCMAligner,
    default_first,
    not_raw_pcm,
    vendor_voice_id,
)

if TYPE_CHECKING:
    from backend.core.config import OpenAICompatSettings, Settings

logger = logging.getLogger(__name__)

SAMPLE_RATE = 24000  # response_format "pcm"
MAX_INPUT_CHARS = 4096
MIN_SPEED, MAX_SPEED = 0.25, 4.0
VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse",
    "marin", "cedar",
)  # fmt: skip
"""Built-in voices of gpt-4o-mini-tts; tts-1 and tts-1-hd lack ballad, verse, marin and cedar."""
_TTS1_VOICES = tuple(v for v in VOICES if v not in ("ballad", "verse", "marin", "cedar"))
LANGUAGES = frozenset({"en", "hi", "mr", "ta", "ne"})
"""Of the platform's languages, those OpenAI's speech models speak (they follow Whisper's list)."""


def text_pieces(text: str, limit: int = MAX_INPUT_CHARS) -> list[str]:
    """``text`` as few pieces of at most ``limit`` characters as possible, cut between sentences."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text, max_chars=limit):
        if current and len(current) + 1 + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


class OpenAITTS(HostedTTSProvider):
    name = "openai"
    env_var = "OPENAI_API_KEY"
    official_hosts = frozenset({"api.openai.com"})
    license = "OpenAI usage policies (disclose that the voice is AI-generated)"

    cfg: OpenAICompatSettings

    @classmethod
    def settings_block(cls, settings: Settings) -> OpenAICompatSettings:
        return settings.openai

    @classmethod
    def model_languages(cls, settings: Settings) -> frozenset[str]:
        return LANGUAGES

    @classmethod
    def output_rate(cls, settings: Settings) -> int:
        return SAMPLE_RATE

    @classmethod
    def configured_voices(cls, settings: Settings) -> list[CloudVoice]:
        default = settings.openai.tts_voice.strip()
        names = _TTS1_VOICES if settings.openai.tts_model in ("tts-1", "tts-1-hd") else VOICES
        voices = [CloudVoice(name, name.capitalize(), quality=settings.openai.tts_model) for name in names]
        return default_first(voices, default)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def request_body(self, text: str, config: TTSConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.cfg.tts_model,
            "input": text,
            "voice": vendor_voice_id(config.voice_id),
            "response_format": "pcm",
        }
        if config.speed != 1.0:
            body["speed"] = round(min(MAX_SPEED, max(MIN_SPEED, config.speed)), 3)
        return body

    async def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        client = self.client
        sent = 0
        for piece in text_pieces(text):
            async with client.stream(
                "POST", "/audio/speech", json=self.request_body(piece, config)
            ) as response:
                problem = not_raw_pcm(response.headers.get("content-type", ""))
                if problem:
                    raise bad_response(self.name, problem)
                aligner = PCMAligner()
                first = True
                async for data in client.iter_bytes(response):
                    pcm = aligner.feed(data)
                    if pcm:
                        yield AudioChunk(pcm, SAMPLE_RATE, piece if first else "")
                        sent += len(pcm)
                        first = False
                if aligner.pending:
                    raise bad_response(self.name, "the PCM body has an odd number of bytes")
        if not sent:
            raise self.no_audio()

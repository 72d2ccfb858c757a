"""ElevenLabs text-to-speech over its REST API (``POST /v1/text-to-speech/{voice_id}/stream``).

Wire format (ElevenLabs API reference):

* ``xi-api-key: <key>`` header; ``?output_format=pcm_22050`` query parameter (``pcm_<rate>`` is raw
  16-bit little-endian mono PCM; ``mp3_<rate>_<kbps>`` is MP3), optional ``optimize_streaming_latency``;
* JSON body ``{"text", "model_id", "voice_settings": {stability, similarity_boost, style,
  use_speaker_boost, speed}, "language_code", "previous_text", "next_text"}`` (``language_code`` only for
  the models that enforce a language: Flash v2.5 and Turbo v2.5; ``previous_text`` / ``next_text`` when a
  reply is spoken piece by piece, so the pieces sound like one reply);
* the audio comes back as a chunked stream while it is generated, so the first chunk is yielded long
  before the whole text is spoken; chunks are re-cut so none splits a 16-bit sample;
* errors: ``{"detail": {"type", "code", "status", "message", "request_id", "param"}}`` (or FastAPI's
  ``{"detail": [...]}`` for a malformed body); mapped by :mod:`backend.providers.hosted`.

Voices: ``GET /v1/voices`` at ``load()`` (``voices[].voice_id, name, category, labels.gender,
preview_url``). If it fails, startup goes on with a warning and ``elevenlabs.voice_id`` alone.

Speed: ``voice_settings.speed`` accepts 0.7–1.2; a request speed outside that range is clamped to it.
An ``mp3_*`` output format is decoded frame by frame as it arrives (PyAV), so it streams too; ``pcm_*``
needs no decoding and is the default.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import av

from backend.core.errors import ConfigError
from backend.providers.hosted import bad_response
from backend.speech.base import AudioChunk, TTSConfig
from backend.speech.hosted_tts import (
    CloudVoice,
    HostedTTSProvider,
    PCMAligner,
    looks_like_text,
    not_raw_pcm,
    vendor_voice_id,
)

if TYPE_CHECKING:
    from backend.core.config import ElevenLabsSettings, Settings

logger = logging.getLogger(__name__)

_MULTILINGUAL = frozenset({"en", "hi", "ta"})  # of our languages, per ElevenLabs' models overview
MODEL_LANGUAGES: dict[str, frozenset[str]] = {
    "eleven_v3": frozenset({"en", "hi", "ml", "mr", "ta", "te", "bn", "gu", "ne"}),
    "eleven_multilingual_v2": _MULTILINGUAL,
    "eleven_flash_v2_5": _MULTILINGUAL,
    "eleven_turbo_v2_5": _MULTILINGUAL,
    "eleven_flash_v2": frozenset({"en"}),
    "eleven_turbo_v2": frozenset({"en"}),
    "eleven_monolingual_v1": frozenset({"en"}),
}
"""Which of the platform's languages each model speaks; an unknown model is taken as English only."""
LANGUAGE_CODE_MODELS = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5"})
"""Models that accept ``language_code`` (others answer 400 when it is sent)."""
MIN_SPEED, MAX_SPEED = 0.7, 1.2
_FORMAT = re.compile(r"^(pcm)_(8000|16000|22050|24000|44100|48000)$|^(mp3)_(22050|44100)_(32|64|96|128|192)$")


def parse_output_format(value: str) -> tuple[str, int]:
    """``pcm_22050`` → ("pcm", 22050); ``mp3_44100_128`` → ("mp3", 44100); anything else: ConfigError."""
    match = _FORMAT.match(value.strip())
    if not match:
        raise ConfigError(
            f"elevenlabs.output_format: '{value}' is not supported; use pcm_<rate> (8000, 16000, 22050, "
            "24000, 44100, 48000) or mp3_<22050|44100>_<32|64|96|128|192> such as mp3_44100_128"
        )
    if match.group(1):
        return "pcm", int(match.group(2))
    return "mp3", int(match.group(4))


class MP3StreamDecoder:
    """MP3 bytes in, PCM16 mono at ``sample_rate`` out, as soon as each MP3 frame is complete (PyAV).

    Data the decoder cannot read (an ID3 tag, a broken frame) is skipped; a body with no audio at all is
    reported by the caller.
    """

    def __init__(self, sample_rate: int) -> None:
        self._codec = av.CodecContext.create("mp3", "r")
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)

    def _decode(self, packet: av.Packet | None) -> bytes:
        try:
            frames = self._codec.decode(packet)
        except av.error.FFmpegError:
            return b""
        out = [f for frame in frames for f in self._resampler.resample(frame)]
        return b"".join(f.to_ndarray().astype("<i2").tobytes() for f in out)

    def feed(self, data: bytes) -> bytes:
        return b"".join(self._decode(packet) for packet in self._codec.parse(data))

    def close(self) -> bytes:
        tail = b"".join(self._decode(packet) for packet in self._codec.parse(None)) + self._decode(None)
        rest = self._resampler.resample(None)
        return tail + b"".join(f.to_ndarray().astype("<i2").tobytes() for f in rest)


class ElevenLabsTTS(HostedTTSProvider):
    name = "elevenlabs"
    env_var = "ELEVENLABS_API_KEY"
    official_hosts = frozenset(
        {"api.elevenlabs.io", "api.us.elevenlabs.io", "api.eu.residency.elevenlabs.io"}
    )
    license = "ElevenLabs terms of service"

    cfg: ElevenLabsSettings

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.codec, self.sample_rate = parse_output_format(self.cfg.output_format)

    # ------------------------------------------------------------------ hooks
    @classmethod
    def settings_block(cls, settings: Settings) -> ElevenLabsSettings:
        return settings.elevenlabs

    @classmethod
    def model_languages(cls, settings: Settings) -> frozenset[str]:
        return MODEL_LANGUAGES.get(settings.elevenlabs.model_id, frozenset({"en"}))

    @classmethod
    def output_rate(cls, settings: Settings) -> int:
        try:
            return parse_output_format(settings.elevenlabs.output_format)[1]
        except ConfigError:
            return 0  # reported by __init__ when the provider is built

    @classmethod
    def configured_voices(cls, settings: Settings) -> list[CloudVoice]:
        voice_id = settings.elevenlabs.voice_id.strip()
        return [CloudVoice(voice_id, voice_id, quality="configured")] if voice_id else []

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"xi-api-key": api_key}

    async def discover_voices(self) -> list[CloudVoice]:
        response = await self.client.request("GET", "/v1/voices", **self.discovery_options())
        data = self.client.json(response)
        voices = data.get("voices") if isinstance(data, dict) else None
        if not isinstance(voices, list):
            raise bad_response(self.name, "GET /v1/voices has no 'voices' list")
        found = []
        for item in voices:
            if not isinstance(item, dict) or not isinstance(item.get("voice_id"), str):
                continue
            labels = item.get("labels") if isinstance(item.get("labels"), dict) else {}
            gender = labels.get("gender")
            found.append(
                CloudVoice(
                    vendor_id=item["voice_id"],
                    name=str(item.get("name") or item["voice_id"]),
                    gender=gender if isinstance(gender, str) else None,
                    quality=str(item.get("category") or "cloud"),
                    source=str(item.get("preview_url") or ""),
                )
            )
        return found

    # ------------------------------------------------------------------ synthesis
    def request_body(self, text: str, config: TTSConfig) -> dict[str, Any]:
        cfg = self.cfg
        settings: dict[str, Any] = {
            key: value
            for key, value in (
                ("stability", cfg.stability),
                ("similarity_boost", cfg.similarity_boost),
                ("style", cfg.style),
                ("use_speaker_boost", cfg.use_speaker_boost),
            )
            if value is not None
        }
        if config.speed != 1.0:
            settings["speed"] = round(min(MAX_SPEED, max(MIN_SPEED, config.speed)), 3)
        body: dict[str, Any] = {"text": text, "model_id": cfg.model_id}
        if settings:
            body["voice_settings"] = settings
        if cfg.model_id in LANGUAGE_CODE_MODELS:
            body["language_code"] = config.language
        if config.previous_text:
            body["previous_text"] = config.previous_text
        if config.next_text:
            body["next_text"] = config.next_text
        return body

    async def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        params: dict[str, Any] = {"output_format": self.cfg.output_format}
        if self.cfg.optimize_streaming_latency is not None:
            params["optimize_streaming_latency"] = self.cfg.optimize_streaming_latency
        path = f"/v1/text-to-speech/{vendor_voice_id(config.voice_id)}/stream"
        client = self.client
        async with client.stream(
            "POST", path, params=params, json=self.request_body(text, config)
        ) as response:
            content_type = response.headers.get("content-type", "")
            problem = not_raw_pcm(content_type) if self.codec == "pcm" else None
            if looks_like_text(content_type):
                problem = f"expected audio, got {content_type}"
            if problem:
                raise bad_response(self.name, problem)
            decoder = MP3StreamDecoder(self.sample_rate) if self.codec == "mp3" else None
            aligner = PCMAligner()
            sent = 0
            async for data in client.iter_bytes(response):
                pcm = await asyncio.to_thread(decoder.feed, data) if decoder else aligner.feed(data)  # CPU
                if pcm:
                    yield AudioChunk(pcm, self.sample_rate, "" if sent else text)
                    sent += len(pcm)
            tail = await asyncio.to_thread(decoder.close) if decoder else b""
            if tail:
                yield AudioChunk(tail, self.sample_rate, "" if sent else text)
                sent += len(tail)
            if aligner.pending:
                raise bad_response(self.name, f"the PCM body has an odd number of bytes ({sent + 1})")
            if not sent:
                raise self.no_audio()

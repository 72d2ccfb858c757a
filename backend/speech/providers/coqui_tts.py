"""A self-hosted Coqui TTS server (``tts-server`` of coqui-ai/TTS or its idiap fork; VITS, XTTS, ...).

Wire format (``TTS/server/server.py``):

* ``GET /api/tts?text=...&speaker_id=...&language_id=...`` answers ``audio/wav`` (16-bit PCM, the
  model's own sample rate, read from the WAV header); a bad request answers ``{"error": "..."}`` (400),
  a synthesis failure ``{"error": "TTS synthesis failed: ..."}`` (500);
* there is no streaming and no key (``coqui.api_key``, if set, is sent as ``Authorization: Bearer``
  for a reverse proxy in front of the server). Audio is requested sentence by sentence (as Piper does),
  so the first sentence is heard while the next ones are synthesized;
* ``speaker_id``: ``coqui.speaker_id`` or the speaker named by the voice id (``coqui-<speaker>``);
  ``language_id``: ``coqui.language_id`` when set, else the request's language when ``coqui.languages``
  lists more than one (a multilingual model such as XTTS, whose codes ``en``/``hi`` are ours), else none;
* speed: the server has no speed parameter, so a request's ``speed`` is not applied;
* every chunk is resampled to ``coqui.sample_rate`` when the model's rate differs.

Voices: the speakers listed by the server's MaryTTS-compatible ``GET /voices`` (``<name> <locale>
<gender>`` per line, idiap fork), when it lists several; otherwise the configured speaker (or
``coqui-default``, the server's default speaker).
"""

from __future__ import annotations

import asyncio
import io
import logging
import wave
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import numpy as np

from backend.core.errors import ProviderError
from backend.media.audio import resample_pcm16
from backend.media.text import speech_pieces
from backend.providers.hosted import bad_response
from backend.speech.base import AudioChunk, TTSConfig
from backend.speech.hosted_tts import (
    CloudVoice,
    HostedTTSProvider,
    looks_like_text,
    vendor_voice_id,
)

if TYPE_CHECKING:
    from backend.core.config import CoquiSettings, Settings

logger = logging.getLogger(__name__)

VOICE_PREFIX = "coqui-"
DEFAULT_SPEAKER = "default"


def read_wav(data: bytes) -> tuple[bytes, int]:
    """(PCM16 mono samples, sample rate) of a 16-bit PCM WAV file; ValueError if it is not one."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file ({exc})") from None
    if width != 2:
        raise ValueError(f"expected 16-bit samples, got {8 * width}-bit")
    if rate <= 0 or channels <= 0:
        raise ValueError(f"bad WAV header (rate {rate}, channels {channels})")
    if len(frames) % (2 * channels):
        raise ValueError("the WAV data ends in the middle of a sample")
    if channels > 1:
        samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1)
        frames = samples.astype("<i2").tobytes()
    return frames, rate


class CoquiTTS(HostedTTSProvider):
    name = "coqui"
    env_var = ""  # self-hosted: no key
    license = "the served model's licence (XTTS: Coqui Public Model License)"

    cfg: CoquiSettings

    @classmethod
    def settings_block(cls, settings: Settings) -> CoquiSettings:
        return settings.coqui

    @classmethod
    def model_languages(cls, settings: Settings) -> frozenset[str]:
        return frozenset(settings.coqui.languages)

    @classmethod
    def output_rate(cls, settings: Settings) -> int:
        return settings.coqui.sample_rate

    @classmethod
    def configured_voices(cls, settings: Settings) -> list[CloudVoice]:
        speaker = settings.coqui.speaker_id.strip() or DEFAULT_SPEAKER
        return [CloudVoice(VOICE_PREFIX + speaker, speaker, quality="self-hosted")]

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    async def discover_voices(self) -> list[CloudVoice]:
        try:
            response = await self.client.request("GET", "/voices", **self.discovery_options())
        except ProviderError as exc:
            if exc.upstream_status == 404:  # coqui-ai/TTS before the MaryTTS layer: no listing
                return []
            raise
        lines = [line.split() for line in response.text.splitlines() if line.strip()]
        if len(lines) < 2:  # a single-speaker model lists its own name, not a speaker
            return []
        voices = []
        for parts in lines:
            # "<speaker name, may contain spaces> <locale> <gender>"
            name = " ".join(parts[:-2]) if len(parts) >= 3 else parts[0]
            gender = {"f": "female", "m": "male"}.get(parts[-1]) if len(parts) >= 3 else None
            voices.append(CloudVoice(VOICE_PREFIX + name, name, gender=gender, quality="self-hosted"))
        return voices

    def params(self, text: str, config: TTSConfig) -> dict[str, str]:
        params = {"text": text}
        speaker = vendor_voice_id(config.voice_id).removeprefix(VOICE_PREFIX)
        if speaker and speaker != DEFAULT_SPEAKER:
            params["speaker_id"] = speaker
        if self.cfg.language_id:
            params["language_id"] = self.cfg.language_id
        elif len(self.cfg.languages) > 1:
            params["language_id"] = config.language
        return params

    async def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        rate = self.cfg.sample_rate
        sent = False
        pieces = speech_pieces(text, config.language, config.eager_first)
        for piece in pieces:
            response = await self.client.request("GET", "/api/tts", params=self.params(piece, config))
            content_type = response.headers.get("content-type", "")
            if looks_like_text(content_type):
                raise bad_response(self.name, f"expected audio/wav, got {content_type}")
            try:
                pcm, wav_rate = read_wav(response.content)
            except ValueError as exc:
                raise bad_response(self.name, str(exc)) from None
            if wav_rate != rate:
                pcm = await asyncio.to_thread(resample_pcm16, pcm, wav_rate, rate)
            if pcm:
                sent = True
                yield AudioChunk(pcm, rate, piece)
        if pieces and not sent:
            raise self.no_audio()

"""Sarvam AI text-to-speech (Bulbul): ``POST <base_url>/text-to-speech/stream`` (raw PCM as it is made,
``sarvam.tts_streaming: true``, the default) or ``POST <base_url>/text-to-speech`` (a WAV in JSON).

Wire format (Sarvam API reference and the ``sarvamai`` 0.1.39 SDK, ``text_to_speech/raw_client.py``):

* header ``api-subscription-key: <key>``; JSON body ``{"text", "language_code" ("hi-IN"), "speaker",
  "model", "pace", "speech_sample_rate", "output_audio_codec": "wav"}`` (older pages of the reference
  call the language field ``target_language_code``; the SDK sends ``language_code``);
* the answer ``{"request_id", "audios": ["<base64 WAV>"]}``: one WAV per request, decoded here and
  resampled to ``sarvam.sample_rate`` should the vendor send another rate;
* ``text`` is at most 2500 characters (bulbul:v3; 1500 for bulbul:v2); the text is sent sentence by
  sentence (each piece is far shorter), so the first sentence is heard before the rest is made;
* ``pace`` is 0.5–2.0 on bulbul:v3 (0.3–3.0 on v2): ``sarvam.pace`` times the request's speed, clamped;
* errors ``{"error": {"message", "code"}}``, a bad key is 403: see :mod:`.sarvam_api`.

Streamed (``POST /text-to-speech/stream``, the SDK's ``convert_stream``): the same JSON body with
``"output_audio_codec": "linear16"``; the answer's body is the audio itself, chunk by chunk (up to 3500
characters of text). That ``linear16`` is headerless little-endian PCM16 at ``speech_sample_rate`` is
assumed (the reference says "uncompressed PCM"); a RIFF header in front is skipped all the same.
Sarvam's TTS WebSocket is not used. Voices: Sarvam has no listing endpoint; :data:`SPEAKERS` is the
SDK's list per model, plus ``sarvam.speaker`` if it is not in it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from backend.media.audio import resample_pcm16
from backend.media.text import speech_pieces
from backend.providers.hosted import bad_response
from backend.speech.base import AudioChunk, TTSConfig
from backend.speech.hosted_tts import (
    CloudVoice,
    HostedTTSProvider,
    PCMAligner,
    default_first,
    looks_like_text,
    vendor_voice_id,
)
from backend.speech.providers import sarvam_api
from backend.speech.providers.coqui_tts import read_wav

if TYPE_CHECKING:
    from backend.core.config import SarvamSettings, Settings

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = {"bulbul:v3": 2500, "bulbul:v2": 1500}
PACE_RANGE = {"bulbul:v3": (0.5, 2.0), "bulbul:v2": (0.3, 3.0)}
_V2_FEMALE = ("anushka", "manisha", "vidya", "arya")
_V2_MALE = ("abhilash", "karun", "hitesh")
SPEAKERS: dict[str, tuple[str, ...]] = {
    "bulbul:v3": (
        "shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran", "kavya", "amit",
        "dev", "ishita", "shreya", "ratan", "varun", "manan", "sumit", "roopa", "kabir", "aayan",
        "ashutosh", "advait", "anand", "tanya", "tarun", "sunny", "mani", "gokul", "vijay", "shruti",
        "suhani", "mohit", "kavitha", "rehan", "soham", "rupali",
    ),
    "bulbul:v2": _V2_FEMALE + _V2_MALE,
}  # fmt: skip
"""Speakers per model (``sarvamai`` 0.1.39: ``TextToSpeechSpeaker`` and the ``speaker`` docs)."""
GENDERS: dict[str, str] = {name: "female" for name in _V2_FEMALE} | {name: "male" for name in _V2_MALE}
"""Genders the reference states (bulbul:v2 only; it lists bulbul:v3's speakers without them)."""


class SarvamTTS(HostedTTSProvider):
    name = sarvam_api.NAME
    env_var = sarvam_api.ENV_VAR
    official_hosts = sarvam_api.OFFICIAL_HOSTS
    license = "Sarvam AI terms of service"

    cfg: SarvamSettings

    # ------------------------------------------------------------------ hooks
    @classmethod
    def settings_block(cls, settings: Settings) -> SarvamSettings:
        return settings.sarvam

    @classmethod
    def model_languages(cls, settings: Settings) -> frozenset[str]:
        return sarvam_api.TTS_LANGUAGES

    @classmethod
    def output_rate(cls, settings: Settings) -> int:
        return settings.sarvam.sample_rate

    @classmethod
    def configured_voices(cls, settings: Settings) -> list[CloudVoice]:
        model = settings.sarvam.tts_model
        default = settings.sarvam.speaker.strip()
        names = SPEAKERS.get(model, ())
        voices = [CloudVoice(n, n.capitalize(), gender=GENDERS.get(n), quality=model) for n in names]
        return default_first(voices, default)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return sarvam_api.auth_headers(api_key)

    # ------------------------------------------------------------------ synthesis
    def pace(self, speed: float) -> float:
        low, high = PACE_RANGE.get(self.cfg.tts_model, (0.5, 2.0))
        return round(min(high, max(low, self.cfg.pace * speed)), 3)

    def request_body(self, text: str, config: TTSConfig) -> dict[str, Any]:
        return {
            "text": text,
            "language_code": sarvam_api.to_sarvam(config.language),
            "speaker": vendor_voice_id(config.voice_id),
            "model": self.cfg.tts_model,
            "pace": self.pace(config.speed),
            "speech_sample_rate": self.cfg.sample_rate,
            "output_audio_codec": "wav",
        }

    def _audio(self, body: Any) -> bytes:
        audios = body.get("audios") if isinstance(body, dict) else None
        if not isinstance(audios, list) or not audios or not all(isinstance(a, str) for a in audios):
            raise bad_response(self.name, "no 'audios' list of base64 strings")
        try:
            return b"".join(base64.b64decode(a, validate=True) for a in audios)
        except (binascii.Error, ValueError):
            raise bad_response(self.name, "'audios' is not base64") from None

    async def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        rate = self.cfg.sample_rate
        limit = MAX_TEXT_CHARS.get(self.cfg.tts_model, 2500)
        pieces = [p for p in speech_pieces(text, config.language, config.eager_first) if p.strip()]
        sent = False
        for piece in pieces:
            assert len(piece) <= limit  # speech_pieces cuts far shorter
            audio = self._streamed(piece, config) if self.cfg.tts_streaming else self._whole(piece, config)
            first = True
            async for pcm in audio:
                if pcm:
                    sent = True
                    yield AudioChunk(pcm, rate, piece if first else "")
                    first = False
        if pieces and not sent:
            raise self.no_audio()

    async def _whole(self, piece: str, config: TTSConfig) -> AsyncIterator[bytes]:
        """``POST /text-to-speech``: the piece's audio at once, a WAV in the JSON answer."""
        response = await self.client.request("POST", "/text-to-speech", json=self.request_body(piece, config))
        body = self.client.json(response)
        try:
            pcm, wav_rate = read_wav(self._audio(body))
        except ValueError as exc:
            raise bad_response(self.name, f"the audio is not a PCM WAV: {exc}") from None
        if wav_rate != self.cfg.sample_rate:
            pcm = await asyncio.to_thread(resample_pcm16, pcm, wav_rate, self.cfg.sample_rate)
        logger.debug("sarvam: request %s, %d bytes", body.get("request_id"), len(pcm))
        yield pcm

    async def _streamed(self, piece: str, config: TTSConfig) -> AsyncIterator[bytes]:
        """``POST /text-to-speech/stream`` with ``output_audio_codec: linear16``: raw PCM16 at
        ``speech_sample_rate`` as it is made (a WAV header in front, should one come, is skipped)."""
        body = self.request_body(piece, config) | {"output_audio_codec": "linear16"}
        async with self.client.stream("POST", "/text-to-speech/stream", json=body) as response:
            content_type = response.headers.get("content-type", "")
            if looks_like_text(content_type):
                raise bad_response(self.name, f"expected audio, got {content_type}")
            aligner, head, started = PCMAligner(), b"", False
            async for data in self.client.iter_bytes(response):
                if not started:
                    head += data
                    if len(head) < _WAV_HEADER_BYTES:
                        continue
                    data, head, started = _without_wav_header(head), b"", True
                yield aligner.feed(data)
            if head:  # a body shorter than a WAV header: raw PCM
                yield aligner.feed(head)
            if aligner.pending:
                raise bad_response(self.name, "the PCM body has an odd number of bytes")


_WAV_HEADER_BYTES = 44


def _without_wav_header(data: bytes) -> bytes:
    """`data` from its first sample: a RIFF/WAVE header (up to its ``data`` chunk) is cut off."""
    if not data.startswith(b"RIFF") or data[8:12] != b"WAVE":
        return data
    at = data.find(b"data", 12)
    return data[at + 8 :] if at >= 0 else data

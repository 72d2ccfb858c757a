"""Provider registry: a config name → the class that implements it.

The app builds providers only through here, so adding one is a new module plus one line below.
Modules are imported lazily, so an optional SDK is only needed when its provider is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.core.registry import load_registered

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.voice.base import STTProvider, TTSProvider

TTS_PROVIDERS: dict[str, str] = {
    "piper": "backend.voice.providers.piper_tts:PiperTTS",
    "espeak": "backend.voice.providers.espeak_tts:EspeakTTS",
    "elevenlabs": "backend.voice.providers.elevenlabs_tts:ElevenLabsTTS",
    "openai": "backend.voice.providers.openai_tts:OpenAITTS",
    "coqui": "backend.voice.providers.coqui_tts:CoquiTTS",
}

STT_PROVIDERS: dict[str, str] = {
    "whisper_local": "backend.voice.providers.whisper_local_stt:WhisperLocalSTT",
    "whisper_api": "backend.voice.providers.whisper_api_stt:WhisperAPISTT",
    "groq": "backend.voice.providers.whisper_api_stt:GroqSTT",
    "deepgram": "backend.voice.providers.deepgram_stt:DeepgramSTT",
}


def tts_class(name: str, key: str = "tts.provider") -> type[TTSProvider]:
    return load_registered(TTS_PROVIDERS, name, key)


def stt_class(name: str, key: str = "stt.provider") -> type[STTProvider]:
    return load_registered(STT_PROVIDERS, name, key)


def build_tts(name: str, settings: Settings, key: str = "tts.provider") -> TTSProvider:
    return tts_class(name, key)(settings)


def build_stt(name: str, settings: Settings, key: str = "stt.provider") -> STTProvider:
    return stt_class(name, key)(settings)


def validate_provider_names(settings: Settings) -> None:
    """Fail fast, before anything loads, on a provider name that does not exist."""
    tts_class(settings.tts.provider)
    if settings.tts.language_fallback:
        tts_class(settings.tts.language_fallback, "tts.language_fallback")
    stt_class(settings.stt.provider)

"""Provider registry: a config name → the class that implements it.

The app builds providers only through here, so adding one is a new module plus one line below.
Modules are imported lazily, so an optional SDK is only needed when its provider is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.providers.registry import load_registered

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.speech.base import STTProvider, TTSProvider

TTS_PROVIDERS: dict[str, str] = {
    "piper": "backend.speech.providers.piper_tts:PiperTTS",
    "espeak": "backend.speech.providers.espeak_tts:EspeakTTS",
    "elevenlabs": "backend.speech.providers.elevenlabs_tts:ElevenLabsTTS",
    "openai": "backend.speech.providers.openai_tts:OpenAITTS",
    "coqui": "backend.speech.providers.coqui_tts:CoquiTTS",
    "sarvam": "backend.speech.providers.sarvam_tts:SarvamTTS",
}

STT_PROVIDERS: dict[str, str] = {
    "whisper_local": "backend.speech.providers.whisper_local_stt:WhisperLocalSTT",
    "whisper_api": "backend.speech.providers.whisper_api_stt:WhisperAPISTT",
    "groq": "backend.speech.providers.whisper_api_stt:GroqSTT",
    "deepgram": "backend.speech.providers.deepgram_stt:DeepgramSTT",
    "sarvam": "backend.speech.providers.sarvam_stt:SarvamSTT",
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

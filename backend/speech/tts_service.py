"""Picks the provider and voice for a TTS request; the engines speak it as one chain (`tts_chain.TTSChain`).

`tts.provider` is the primary engine; `tts.language_fallback` (espeak by default) speaks languages for
which the primary engine has no installed voice, so every configured language works out of the box.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from backend.core.config import Settings
from backend.core.errors import ConfigError, InvalidRequest
from backend.core.limits import check_language
from backend.speech.base import AudioChunk, TTSConfig, TTSProvider
from backend.speech.catalog import Voice, VoiceCatalog
from backend.speech.factory import build_tts
from backend.speech.tts_chain import ResolvedVoice, TTSChain

logger = logging.getLogger(__name__)

_MAX_LISTED = 25


def _listing(voices: list[Voice]) -> str:
    ids = [v.id for v in voices]
    more = f" (+{len(ids) - _MAX_LISTED} more, see GET /api/voices)" if len(ids) > _MAX_LISTED else ""
    return ", ".join(ids[:_MAX_LISTED]) + more if ids else "none"


class TTSService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.providers: dict[str, TTSProvider] = {}
        self.providers[settings.tts.provider] = build_tts(settings.tts.provider, settings)
        for i, name in enumerate(settings.tts.fallback):  # failover chain (backend.speech.tts_chain)
            if name not in self.providers:
                self.providers[name] = build_tts(name, settings, f"tts.fallback[{i}]")
        fallback = settings.tts.language_fallback
        if fallback and fallback not in self.providers:
            self.providers[fallback] = build_tts(fallback, settings, "tts.language_fallback")
        self.engines = TTSChain(
            settings, self.providers, self.voice_for, lambda c: self.resolve(c.voice_id, c.language, c.speed)
        )
        self.chain = self.engines.chain  # roles and circuit breakers (/health)
        self.catalog = VoiceCatalog(settings, list(self.providers))

    @property
    def primary(self) -> TTSProvider:
        return self.providers[self.settings.tts.provider]

    async def load(self) -> None:
        await self.engines.load()
        self.catalog.refresh()
        tts = self.settings.tts
        if tts.voice_id:
            voice = self.catalog.get(tts.voice_id)
            if (
                voice is not None
                and voice.engine == tts.provider == "piper"
                and not voice.installed
                and self.settings.models.auto_download
            ):
                logger.warning(
                    "tts.voice_id: '%s' is not installed yet; models.auto_download fetches it in the "
                    "background (until then the language's other voices speak)",
                    tts.voice_id,
                )
            elif voice is None or voice.engine != tts.provider or not voice.installed:
                engine_voices = [v for v in self.catalog.list() if v.engine == tts.provider and v.installed]
                raise ConfigError(
                    f"tts.voice_id: '{tts.voice_id}' is not an installed {tts.provider} voice; "
                    f"use one of: {_listing(engine_voices)} (or leave it empty for the provider default)"
                )
        for language in self.settings.languages:
            self.resolve(None, language)  # every configured language must have a voice, now, not later

    async def close(self) -> None:
        await self.engines.close()

    # ------------------------------------------------------------------ resolution
    def _default_voice(self, engine: str, language: str) -> Voice | None:
        preferred: list[str | None] = []
        if engine == self.settings.tts.provider:
            preferred.append(self.settings.tts.voice_id)
        preferred.append(getattr(getattr(self.settings, engine, None), "default_voice", None))
        preferred.append(f"{engine}-{language}")
        for voice_id in preferred:
            voice = self.catalog.in_language(voice_id, language) if voice_id else None  # <id>@<lang> too
            if voice and voice.available and voice.engine == engine:
                return voice
        for voice in self.catalog.available(language):
            if voice.engine == engine:
                return voice
        return None

    def resolve(
        self,
        voice_id: str | None,
        language: str | None,
        speed: float | None = None,
        engine: str | None = None,
    ) -> ResolvedVoice:
        """Choose provider + voice for a request, or raise a 422 that lists what is allowed.

        `engine` (one of the enabled providers) restricts the choice to that engine's voices.
        """
        lang = check_language(language, self.settings, allow_auto=False)
        if voice_id:
            voice = self.catalog.get(voice_id)
            if voice is None or not voice.available:
                if voice is not None and voice.installed:
                    reason = f"voice '{voice_id}' needs the {voice.engine} engine, which is not enabled"
                elif voice is not None:
                    reason = (
                        f"voice '{voice_id}' is not installed (python download_models.py --voices {voice_id})"
                    )
                else:
                    reason = f"voice '{voice_id}' is unknown"
                raise InvalidRequest(
                    f"{reason}; available voices: {_listing(self._choices(lang))}", code="unknown_voice"
                )
            if engine is not None and voice.engine != engine:
                raise InvalidRequest(
                    f"voice '{voice_id}' belongs to {voice.engine}, not {engine}",
                    code="voice_engine_mismatch",
                )
            if lang is not None and voice.language != lang:
                variant = self.catalog.in_language(voice_id, lang)  # a cloud voice in another language
                if variant is not None and variant.available:
                    voice = variant
            if lang is not None and voice.language != lang:
                raise InvalidRequest(
                    f"voice '{voice_id}' speaks '{voice.language}', not '{lang}'; voices for '{lang}': "
                    f"{_listing(self._choices(lang))}",
                    code="voice_language_mismatch",
                )
        else:
            lang = lang or self.settings.tts.language
            voice = None
            for name in [engine] if engine else self.providers:
                voice = self._default_voice(name, lang)
                if voice:
                    break
            if voice is None:
                raise InvalidRequest(
                    f"no installed voice speaks '{lang}'; download one "
                    "(python download_models.py --voices ...) "
                    "or enable tts.language_fallback: espeak",
                    code="no_voice_for_language",
                )
        return ResolvedVoice(
            provider=self.providers[voice.engine],
            voice=voice,
            config=TTSConfig(
                voice_id=voice.id, language=voice.language, speed=speed or self.settings.tts.speed
            ),
        )

    def voice_for(self, engine: str, language: str) -> Voice | None:
        """The voice `engine` speaks `language` with by default (None: it has none)."""
        return self._default_voice(engine, language)

    def _choices(self, language: str | None) -> list[Voice]:
        """Voices a request may name: available, and of an enabled language."""
        return [v for v in self.catalog.available(language) if v.language in self.settings.languages]

    def stream(
        self,
        text: str,
        resolved: ResolvedVoice,
        eager_first: bool = False,
        whole_pieces: bool = False,
        sample_rate: int | None = None,
    ) -> AsyncIterator[AudioChunk]:
        """Speak `text`; on a provider failure the next engine of the chain takes over, piece by piece
        (`backend.speech.tts_chain`). Each chunk names the engine that spoke it. `whole_pieces`: never
        yield audio of a piece an engine broke off (for responses sent whole). `sample_rate`: the rate of
        every chunk (default: the voice's), converted once from whichever engine spoke."""
        return self.engines.speak(text, resolved, eager_first, whole_pieces, sample_rate)

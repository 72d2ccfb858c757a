"""Text-to-speech as a fallback chain: ``tts.provider``, ``tts.fallback``..., then ``tts.language_fallback``.

:class:`TTSChain` is itself a :class:`TTSProvider`, like ``STTChain`` and ``LLMChain``;
``TTSService`` only picks voices and hands the chain what it picked. The request's voice decides the first
engine; the others follow in chain order, each speaking with *its* default voice for the same language
(engines without a voice for the language are left out). With more than one engine to try, the text is
spoken piece by piece (sentences, and the eager first phrase) and the failover happens per piece: when
an engine fails, the current piece is spoken again, whole, by the next engine, and the following pieces
start from the top of the chain again (the circuit breaker keeps a failing engine out for its
cool-down). No piece is skipped: if no engine can speak a piece, the stream ends with the error.

Every chunk is delivered at one rate, ``sample_rate`` when the caller names it (``/voice`` asks for its
output rate, so an engine's audio is resampled once, engine → output, whichever engine spoke), else the
requested voice's, and names the engine that spoke it (``AudioChunk.provider``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from backend.core.errors import ConfigError
from backend.media.audio import StreamResampler
from backend.media.text import speech_pieces
from backend.providers.failover import (
    ChainedProviders,
    ChainMember,
    ProviderChain,
    configured_chain_names,
    describe,
    is_provider_failure,
)
from backend.speech.base import AudioChunk, TTSCapabilities, TTSConfig, TTSProvider
from backend.speech.catalog import Voice
from backend.speech.factory import tts_class

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.providers.failover import Clock

logger = logging.getLogger(__name__)

VoiceFor = Callable[[str, str], Voice | None]  # (engine, language) → the voice it speaks it with by default


@dataclass(frozen=True)
class ResolvedVoice:
    """What `TTSService.resolve()` chose for a request: the engine, its voice and the request's config."""

    provider: TTSProvider
    voice: Voice
    config: TTSConfig


def validate_tts_chain(settings: Settings) -> list[str]:
    """``[tts.provider, *tts.fallback]``, checked: unknown, repeated or primary-again names are errors."""
    return configured_chain_names("tts", settings, tts_class)


class TTSChain(ChainedProviders[TTSProvider], TTSProvider):
    """The TTS engines in failover order, over already-built providers: primary, fallbacks, then the
    language fallback. ``voice_for`` tells which voice an engine speaks a language with (the service's
    choice); ``resolve`` turns a bare ``TTSConfig`` into a ResolvedVoice (for ``stream()``)."""

    def __init__(
        self,
        settings: Settings,
        providers: dict[str, TTSProvider],
        voice_for: VoiceFor,
        resolve: Callable[[TTSConfig], ResolvedVoice],
        clock: Clock = time.monotonic,
    ) -> None:
        names = validate_tts_chain(settings)
        missing = [n for n in names if n not in providers]
        if missing:
            raise ConfigError(f"tts: provider '{missing[0]}' was not built")
        language_fallback = settings.tts.language_fallback  # last, unless already primary or a fallback
        appended = (
            bool(language_fallback) and language_fallback in providers and language_fallback not in names
        )
        if appended:
            names.append(language_fallback)
        self._set_up_chain("tts", settings, [providers[n] for n in names], clock)
        if appended:
            self.chain.members[language_fallback].role = "language_fallback"
        self.voice_for = voice_for
        self._resolve = resolve

    # ------------------------------------------------------------------ the provider interface
    def capabilities(self) -> TTSCapabilities:
        return self.primary_provider.capabilities()

    def voice_ids(self) -> list[str]:
        return [v for p in self.providers for v in p.voice_ids()]

    def stream(self, text: str, config: TTSConfig) -> AsyncIterator[AudioChunk]:
        return self.speak(text, self._resolve(config), eager_first=config.eager_first)

    # ------------------------------------------------------------------ failover
    def order(self, resolved: ResolvedVoice) -> list[str]:
        """The engines that may speak this request, the requested voice's engine first."""
        engine = resolved.voice.engine
        language = resolved.config.language
        return [engine] + [
            n for n in self.chain.names if n != engine and self.voice_for(n, language) is not None
        ]

    def voice_used(self, resolved: ResolvedVoice, engine: str) -> str:
        """The voice id ``engine`` speaks this request with."""
        if not engine or engine == resolved.voice.engine:
            return resolved.voice.id
        voice = self.voice_for(engine, resolved.config.language)
        return voice.id if voice is not None else resolved.voice.id

    async def speak(
        self,
        text: str,
        resolved: ResolvedVoice,
        eager_first: bool = False,
        whole_pieces: bool = False,
        sample_rate: int | None = None,
    ) -> AsyncIterator[AudioChunk]:
        """``whole_pieces``: yield a piece only once it is complete, so the audio of a piece an engine broke
        off never reaches the caller (for a response that is sent whole anyway). ``sample_rate``: the rate
        every chunk comes at (default: the requested voice's)."""
        order = self.order(resolved)
        language = resolved.config.language
        target = sample_rate or resolved.voice.sample_rate
        if len(order) == 1:  # nothing to fail over to: one request for the whole text, as the engine likes it
            pieces, config = [text], replace(resolved.config, eager_first=eager_first)
        else:
            pieces, config = (
                speech_pieces(text, language, eager_first),
                replace(resolved.config, eager_first=False),
            )
        for i, piece in enumerate(pieces):
            context = replace(
                config,
                previous_text=pieces[i - 1] if i else config.previous_text,
                next_text=pieces[i + 1] if i + 1 < len(pieces) else config.next_text,
            )
            speaking = _speak_piece(
                self.voice_for, self.chain, order, piece, resolved, context, target, whole_pieces
            )
            async with contextlib.aclosing(speaking):  # a listener that stops early closes the vendor stream
                async for chunk in speaking:
                    yield chunk


async def _speak_piece(
    voice_for: VoiceFor,
    chain: ProviderChain[TTSProvider],
    order: list[str],
    piece: str,
    resolved: ResolvedVoice,
    config: TTSConfig,
    target: int,
    whole: bool,
) -> AsyncIterator[AudioChunk]:
    errors: list[tuple[str, BaseException]] = []  # every failure, for the final error
    unreported: list[tuple[str, BaseException]] = []  # failures not yet told to the request
    for member, forced in chain.candidates(order):
        own = _config_for(voice_for, member, resolved, config)
        if own is None:
            continue
        held: list[AudioChunk] = []  # whole: the piece's audio, yielded once it is complete
        try:
            async with member.breaker.attempt(forced) as attempt:
                if not attempt.taken:
                    continue
                converter: StreamResampler | None = None  # the engine's rate → the requested voice's rate
                async with contextlib.aclosing(member.provider.stream(piece, own)) as chunks:
                    async for chunk in chunks:
                        converter = converter or StreamResampler(chunk.sample_rate, target)
                        pcm = (  # resampling a sentence is CPU work: off the event loop
                            await asyncio.to_thread(converter.process, chunk.pcm)
                            if converter.converts
                            else chunk.pcm
                        )
                        if not pcm:
                            continue
                        out = AudioChunk(pcm, target, chunk.text or piece, provider=member.name)
                        if whole:
                            held.append(out)
                            continue
                        if not attempt.started:  # the listener hears this engine from now on
                            attempt.started = True
                            chain.report(member.name, unreported, order)
                            unreported = []
                        yield out
                tail = converter.flush() if converter is not None else b""
        except Exception as exc:
            if not is_provider_failure(exc):
                raise
            where = "mid-piece, re-speaking it whole" if attempt.started else "before any audio"
            logger.warning("tts %s failed %s: %s", member.name, where, describe(exc))
            errors.append((member.name, exc))
            unreported.append((member.name, exc))
            continue
        if not attempt.started:
            chain.report(member.name, unreported, order)
        for out in held:
            yield out
        if tail:
            yield AudioChunk(tail, target, piece, provider=member.name)
        return
    raise chain.exhausted(errors)


def _config_for(
    voice_for: VoiceFor, member: ChainMember[TTSProvider], resolved: ResolvedVoice, config: TTSConfig
) -> TTSConfig | None:
    """The request as ``member`` should get it: the requested voice, or its own voice for the language."""
    if member.name == resolved.voice.engine:
        return config
    voice = voice_for(member.name, config.language)
    if voice is None:
        return None
    return replace(config, voice_id=voice.id)

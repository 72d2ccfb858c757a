"""Text-to-speech as a fallback chain: ``tts.provider``, ``tts.fallback``..., then ``tts.language_fallback``.

Used by :meth:`backend.speech.tts_service.TTSService.stream`. The request's voice decides the first
engine; the others follow in chain order, each speaking with *its* default voice for the same language
(engines without a voice for the language are left out). With more than one engine to try, the text is
spoken piece by piece (sentences, and the eager first phrase) and the failover happens per piece: when
an engine fails, the current piece is spoken again, whole, by the next engine, and the following pieces
start from the top of the chain again (the circuit breaker keeps a failing engine out for its
cool-down). No piece is skipped: if no engine can speak a piece, the stream ends with the error.

Every chunk is delivered at the sample rate of the requested voice (resampled when a fallback engine
speaks at another rate) and names the engine that spoke it (``AudioChunk.provider``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING

from backend.core.audio import StreamResampler
from backend.core.errors import ConfigError
from backend.core.failover import (
    ChainMember,
    ProviderChain,
    configured_chain_names,
    describe,
    is_provider_failure,
)
from backend.core.text import speech_pieces
from backend.speech.base import AudioChunk, TTSConfig, TTSProvider
from backend.speech.factory import tts_class

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.speech.tts_service import ResolvedVoice, TTSService

logger = logging.getLogger(__name__)


def validate_tts_chain(settings: Settings) -> list[str]:
    """``[tts.provider, *tts.fallback]``, checked: unknown, repeated or primary-again names are errors."""
    return configured_chain_names("tts", settings, tts_class)


def build_tts_chain(settings: Settings, providers: dict[str, TTSProvider]) -> ProviderChain[TTSProvider]:
    """The chain over already-built providers: primary, fallbacks, then the language fallback."""
    chain: ProviderChain[TTSProvider] = ProviderChain.from_settings("tts", settings)
    names = validate_tts_chain(settings)
    for i, name in enumerate(names):
        if name not in providers:
            raise ConfigError(f"tts: provider '{name}' was not built")
        chain.add(name, providers[name], "primary" if i == 0 else "fallback")
    language_fallback = settings.tts.language_fallback
    if language_fallback and language_fallback in providers:
        chain.add(language_fallback, providers[language_fallback], "language_fallback")
    return chain


def failover_order(service: TTSService, resolved: ResolvedVoice) -> list[str]:
    """The engines that may speak this request, the requested voice's engine first."""
    engine = resolved.voice.engine
    language = resolved.config.language
    order = [engine]
    for name in service.chain.names:
        if name != engine and service.voice_for(name, language) is not None:
            order.append(name)
    return order


def voice_used(service: TTSService, resolved: ResolvedVoice, engine: str) -> str:
    """The voice id ``engine`` speaks this request with."""
    if not engine or engine == resolved.voice.engine:
        return resolved.voice.id
    voice = service.voice_for(engine, resolved.config.language)
    return voice.id if voice is not None else resolved.voice.id


async def failover_stream(
    service: TTSService,
    text: str,
    resolved: ResolvedVoice,
    eager_first: bool = False,
    whole_pieces: bool = False,
) -> AsyncIterator[AudioChunk]:
    """``whole_pieces``: yield a piece only once it is complete, so the audio of a piece an engine broke
    off never reaches the caller (for a response that is sent whole anyway)."""
    chain = service.chain
    order = failover_order(service, resolved)
    language = resolved.config.language
    target = resolved.voice.sample_rate
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
        speaking = _speak_piece(service, chain, order, piece, resolved, context, target, whole_pieces)
        async with contextlib.aclosing(speaking):  # a listener that stops early closes the vendor stream now
            async for chunk in speaking:
                yield chunk


async def _speak_piece(
    service: TTSService,
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
        own = _config_for(service, member, resolved, config)
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
    service: TTSService, member: ChainMember[TTSProvider], resolved: ResolvedVoice, config: TTSConfig
) -> TTSConfig | None:
    """The request as ``member`` should get it: the requested voice, or its own voice for the language."""
    if member.name == resolved.voice.engine:
        return config
    voice = service.voice_for(member.name, config.language)
    if voice is None:
        return None
    return replace(config, voice_id=voice.id)

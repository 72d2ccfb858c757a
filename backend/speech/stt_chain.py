"""Speech-to-text as a fallback chain: ``stt.provider``, then ``stt.fallback``
(``backend.providers.failover``).

:class:`STTChain` is itself an :class:`STTProvider` (``app.state.stt``), so REST and /voice use it like
one engine. The :class:`Transcription` it returns names the provider that produced it (``provider``);
when the language was detected among ``STTConfig.languages``, the transcript's script has the last word
(``backend.media.language_id.confirm_language``).
A request's ``model`` (e.g. ``base`` for whisper_local) is the primary's vocabulary: a fallback provider
is asked with its own configured model instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from backend.media.language_id import confirm_language
from backend.providers.failover import (
    ChainedProviders,
    ChainMember,
    configured_chain_names,
    is_provider_failure,
)
from backend.speech.base import (
    StreamResult,
    STTCapabilities,
    STTConfig,
    STTProvider,
    STTStream,
    Transcription,
)
from backend.speech.factory import build_stt, stt_class

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.providers.failover import Clock

logger = logging.getLogger(__name__)


def validate_stt_chain(settings: Settings) -> list[str]:
    """The chain's provider names, checked (unknown, repeated or primary-again names are ConfigErrors)."""
    return configured_chain_names("stt", settings, stt_class)


class STTChain(ChainedProviders[STTProvider], STTProvider):
    def __init__(
        self,
        settings: Settings,
        providers: list[STTProvider] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if providers is None:
            names = validate_stt_chain(settings)
            keys = ["stt.provider"] + [f"stt.fallback[{i}]" for i in range(len(names) - 1)]
            providers = [build_stt(n, settings, k) for n, k in zip(names, keys, strict=True)]
        self._set_up_chain("stt", settings, providers, clock)

    def capabilities(self) -> STTCapabilities:
        return self.primary_provider.capabilities()

    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        primary = self.chain.primary.name

        async def run(member: ChainMember[STTProvider]) -> Transcription:
            own = config if member.name == primary else replace(config, model=None)
            return await member.provider.transcribe(audio, own)

        result, served = await self.chain.call(run)
        language = result.language
        if config.language is None and config.languages:  # detected: the transcript's script confirms it
            language = confirm_language(result.text, language, config.languages) or language
        return replace(result, provider=served, language=language)

    async def open_stream(self, config: STTConfig) -> STTStream:
        """Live recognition from the first provider that streams and whose circuit lets it through."""
        streamers = [m for m in self.chain.members.values() if m.provider.capabilities().streaming]
        if not streamers:
            return await self.primary_provider.open_stream(config)
        # only a provider whose circuit lets requests through: a live stream is best effort (partials
        # then come from re-transcribing), and re-probing a vendor that is down is transcribe()'s job
        streaming = [m.name for m in streamers if m.breaker.available()]
        if not streaming:
            raise self.chain.exhausted([])

        async def run(member: ChainMember[STTProvider]) -> STTStream:
            return _CountedStream(await member.provider.open_stream(config), member)

        stream, _ = await self.chain.call(run, streaming)
        return stream


class _CountedStream(STTStream):
    """A live stream whose failure after it opened (dropped socket, malformed message) still counts
    against its provider's circuit, like a failed request would."""

    def __init__(self, inner: STTStream, member: ChainMember[STTProvider]) -> None:
        self.inner = inner
        self.member = member
        self.counted = False  # one broken stream is one failure, however many calls then see it

    def _failed(self, exc: BaseException) -> None:
        if is_provider_failure(exc) and not self.counted:
            self.counted = True
            self.member.breaker.record_failure(exc)

    async def send(self, pcm16: bytes) -> None:
        try:
            await self.inner.send(pcm16)
        except Exception as exc:
            self._failed(exc)
            raise

    async def __aiter__(self) -> AsyncIterator[StreamResult]:
        try:
            async for result in self.inner:
                yield result
        except Exception as exc:
            self._failed(exc)
            raise

    async def finalize(self) -> None:
        try:
            await self.inner.finalize()
        except Exception as exc:
            self._failed(exc)
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()

"""Speech-to-text as a fallback chain: ``stt.provider``, then ``stt.fallback`` (``backend.core.failover``).

:class:`STTChain` is itself an :class:`STTProvider` (``app.state.stt``), so REST and /voice use it like
one engine. The :class:`Transcription` it returns names the provider that produced it (``provider``).
A request's ``model`` (e.g. ``base`` for whisper_local) is the primary's vocabulary: a fallback provider
is asked with its own configured model instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from backend.core.failover import ChainedProviders, ChainMember, configured_chain_names
from backend.voice.base import STTCapabilities, STTConfig, STTProvider, STTStream, Transcription
from backend.voice.factory import build_stt, stt_class

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.core.failover import Clock

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
        return replace(result, provider=served)

    async def open_stream(self, config: STTConfig) -> STTStream:
        """Live recognition from the first provider that streams and whose circuit lets it through."""
        streaming = [m.name for m in self.chain.members.values() if m.provider.capabilities().streaming]
        if not streaming:
            return await self.primary_provider.open_stream(config)

        async def run(member: ChainMember[STTProvider]) -> STTStream:
            return await member.provider.open_stream(config)

        stream, _ = await self.chain.call(run, streaming)
        return stream

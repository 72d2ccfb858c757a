"""The agent's LLM as a fallback chain: ``llm.provider``, then ``llm.fallback``
(``backend.providers.failover``).

:class:`LLMChain` is itself an :class:`LLMProvider`, so the agent does not know it is talking to several.
A streamed reply fails over only while nothing has been yielded yet: once a token reached the caller, a
failure is raised (the words already spoken cannot be taken back, and a second model would start over).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from backend.llm.base import ChatMessage, LLMCapabilities, LLMEvent, LLMOptions, LLMProvider
from backend.llm.factory import llm_class
from backend.providers.failover import (
    ChainedProviders,
    ChainMember,
    configured_chain_names,
    describe,
    is_provider_failure,
)

if TYPE_CHECKING:
    from backend.core.config import Settings
    from backend.providers.failover import Clock

logger = logging.getLogger(__name__)


def validate_llm_chain(settings: Settings) -> list[str]:
    """The chain's provider names, checked (unknown, repeated or primary-again names are ConfigErrors)."""
    return configured_chain_names("llm", settings, llm_class)


class LLMChain(ChainedProviders[LLMProvider], LLMProvider):
    """``llm.provider`` + ``llm.fallback`` behind one LLMProvider, with a circuit breaker per provider."""

    def __init__(
        self,
        settings: Settings,
        providers: list[LLMProvider] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if providers is None:
            providers = [llm_class(n)(settings) for n in validate_llm_chain(settings)]
        self._set_up_chain("llm", settings, providers, clock)

    def _next(self) -> ChainMember[LLMProvider]:
        """The provider the next request would go to."""
        candidates = self.chain.candidates()
        return candidates[0][0] if candidates else self.chain.primary

    def capabilities(self) -> LLMCapabilities:
        """The capabilities of the provider that would serve now (the agent offers tools only to a
        tool-calling model, so an open primary circuit switches a turn to the fallback's style)."""
        return self._next().provider.capabilities()

    def count_tokens(self, text: str) -> int:
        return self._next().provider.count_tokens(text)

    async def warm_up(self, messages: list[ChatMessage]) -> None:
        for provider in self.providers:
            await provider.warm_up(messages)

    async def stream(self, messages: list[ChatMessage], options: LLMOptions) -> AsyncIterator[LLMEvent]:
        errors: list[tuple[str, BaseException]] = []
        for member, forced in self.chain.candidates():
            try:
                # `started`: something reached the caller, so no failover any more (and a caller that
                # stops listening, a barge-in, leaves the provider counted as working)
                async with member.breaker.attempt(forced) as attempt:
                    if not attempt.taken:
                        continue
                    async with contextlib.aclosing(member.provider.stream(messages, options)) as events:
                        async for event in events:
                            if not attempt.started and (event.text or event.tool_calls):
                                attempt.started = True
                                self.chain.report(member.name, errors, None)
                            yield event
            except Exception as exc:
                if not is_provider_failure(exc) or attempt.started:
                    raise
                logger.warning(
                    "llm provider %s failed before its first token: %s", member.name, describe(exc)
                )
                errors.append((member.name, exc))
                continue
            if not attempt.started:
                self.chain.report(member.name, errors, None)
            return
        raise self.chain.exhausted(errors)

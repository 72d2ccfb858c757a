"""The LLM chain with real providers: OpenAILLM (its real SDK) against the local chat-completions fake,
and the bundled Gemma model through llama.cpp as the fallback. The breaker's clock is injected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backend.core.config import parse_config
from backend.core.errors import ProviderError
from backend.llm.base import ChatMessage, LLMEvent, LLMOptions
from backend.llm.chain import LLMChain
from backend.providers.failover import BreakerState, CircuitBreaker, recording
from tests.conftest import ManualClock
from tests.fakes.openai_chat import FakeChatServer

KEY = "sk-test-key"
HELLO = [ChatMessage("system", "You are Mithi, a voice assistant."), ChatMessage("user", "Say hello.")]
OPTIONS = LLMOptions(max_tokens=12)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeChatServer]:
    with FakeChatServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeChatServer) -> FakeChatServer:
    fake_server.reset(api_key=KEY)
    return fake_server


@pytest.fixture(scope="module")
async def loaded_chain(
    fake_server: FakeChatServer, assembled_models: Path
) -> AsyncIterator[tuple[LLMChain, ManualClock]]:
    settings = parse_config(
        {
            "llm": {"provider": "openai", "fallback": ["llama_cpp"]},
            "openai": {
                "api_key": KEY,
                "base_url": fake_server.openai_base_url,
                "timeout_seconds": 1,
                "max_retries": 0,
            },
            "paths": {"models_dir": str(assembled_models)},
            "resilience": {"failure_threshold": 2, "cooldown_seconds": 30},
        }
    )
    clock = ManualClock()
    chain = LLMChain(settings, clock=clock)
    await chain.load()
    try:
        yield chain, clock
    finally:
        await chain.close()


@pytest.fixture
def chain(loaded_chain: tuple[LLMChain, ManualClock], fake: FakeChatServer) -> tuple[LLMChain, ManualClock]:
    llm, clock = loaded_chain
    for member in llm.chain.members.values():  # each test starts with closed circuits
        member.breaker = CircuitBreaker(member.breaker.name, 2, 30, clock)
    return llm, clock


async def collect(llm: LLMChain) -> list[LLMEvent]:
    async def run() -> list[LLMEvent]:
        return [e async for e in llm.stream(HELLO, OPTIONS)]

    return await asyncio.wait_for(run(), 60)


def text(events: list[LLMEvent]) -> str:
    return "".join(e.text for e in events).strip()


async def test_primary_serves_when_healthy(chain: tuple[LLMChain, ManualClock], fake: FakeChatServer) -> None:
    llm, _ = chain
    fake.reply_text("Hello from the cloud.")
    with recording() as log:
        events = await collect(llm)
    assert text(events) == "Hello from the cloud."
    assert log.served == {"llm": "openai"} and log.drain() == []
    assert llm.capabilities().tool_calling is True


@pytest.mark.parametrize("status", [503, 429, 500])
async def test_5xx_and_429_fail_over_to_the_local_model(
    chain: tuple[LLMChain, ManualClock], fake: FakeChatServer, status: int
) -> None:
    llm, _ = chain
    fake.fail(status, times=1, retry_after=0.01 if status == 429 else None)
    with recording() as log:
        events = await collect(llm)
    assert text(events), "the local model answered"
    assert fake.request_count == 1
    assert log.served == {"llm": "llama_cpp"}
    [event] = log.drain("llm")
    assert (event.from_provider, event.to_provider) == ("openai", "llama_cpp")
    expected = "provider_rate_limited" if status == 429 else "provider_error"  # hosted.status_verdict
    assert event.reason == expected and str(status) in event.message


async def test_timeout_fails_over(chain: tuple[LLMChain, ManualClock], fake: FakeChatServer) -> None:
    llm, _ = chain
    fake.slow(seconds=3)
    with recording() as log:
        events = await collect(llm)
    assert text(events) and log.served["llm"] == "llama_cpp"
    assert "timed out" in log.drain()[0].message


async def test_bad_request_is_not_failed_over(
    chain: tuple[LLMChain, ManualClock], fake: FakeChatServer
) -> None:
    llm, _ = chain
    before = llm.chain.breaker("openai").failures
    fake.fail(400, times=1, message="'messages' must contain at least one user message")
    with recording() as log, pytest.raises(ProviderError) as info:
        await collect(llm)
    err = info.value
    assert err.status_code == 422 and err.code == "provider_rejected_request" and not err.failover
    assert "at least one user message" in err.message
    assert "llm" not in log.served and log.drain() == []
    assert llm.chain.breaker("openai").failures == before, "the request's own fault does not count"
    assert fake.request_count == 1


async def test_a_failure_after_the_first_token_is_raised(
    chain: tuple[LLMChain, ManualClock], fake: FakeChatServer
) -> None:
    llm, _ = chain
    fake.drop("this reply is cut off half way through the sentence", after_chunks=4)
    got: list[LLMEvent] = []
    with pytest.raises(ProviderError):
        async for event in llm.stream(HELLO, OPTIONS):
            got.append(event)
    assert text(got), "tokens arrived before the failure"
    assert llm.chain.breaker("openai").consecutive_failures == 1


async def test_breaker_opens_skips_reprobes_and_closes(
    chain: tuple[LLMChain, ManualClock], fake: FakeChatServer
) -> None:
    llm, clock = chain
    fake.fail(503, times=2)
    for _ in range(2):
        await collect(llm)
    breaker = llm.chain.breaker("openai")
    assert breaker.state is BreakerState.OPEN and fake.request_count == 2
    assert llm.capabilities().tool_calling is False, "the next turn goes to the local model"
    with recording() as log:
        for _ in range(2):
            assert text(await collect(llm))
    assert fake.request_count == 2, "an open circuit sends the vendor nothing"
    assert [e.reason for e in log.drain()] == ["circuit_open", "circuit_open"]
    clock.now += 29
    await collect(llm)
    assert fake.request_count == 2
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN
    fake.reply_text("I am back.")
    with recording() as log:
        assert text(await collect(llm)) == "I am back."
    assert log.served["llm"] == "openai" and fake.request_count == 3
    assert breaker.state is BreakerState.CLOSED


async def test_failed_probe_reopens(chain: tuple[LLMChain, ManualClock], fake: FakeChatServer) -> None:
    llm, clock = chain
    fake.fail(502, times=3)
    await collect(llm)
    await collect(llm)
    breaker = llm.chain.breaker("openai")
    assert breaker.state is BreakerState.OPEN
    clock.now += 30
    with recording() as log:
        assert text(await collect(llm))
    assert fake.request_count == 3 and log.served["llm"] == "llama_cpp"
    assert breaker.state is BreakerState.OPEN and breaker.seconds_until_probe() == pytest.approx(30)

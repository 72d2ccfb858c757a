"""The circuit breaker and the generic chain logic (backend.providers.failover), with an injected clock."""

from __future__ import annotations

import asyncio

import pytest

from backend.core.config import parse_config
from backend.core.errors import ConfigError, InvalidRequest, ProviderError
from backend.providers.failover import (
    BreakerState,
    ChainMember,
    CircuitBreaker,
    ProviderChain,
    chain_names,
    is_provider_failure,
    recording,
)
from tests.conftest import ManualClock


def timeout(provider: str = "cloud") -> ProviderError:
    return ProviderError(f"{provider}: no answer in time", code="provider_timeout", retryable=True)


def rejected(provider: str = "cloud") -> ProviderError:
    return ProviderError(
        f"{provider}: request rejected (400): text too long",
        code="provider_rejected_request",
        status_code=422,
        failover=False,
    )


# --------------------------------------------------------------------------- what counts as a failure


def test_what_counts_as_a_provider_failure() -> None:
    assert is_provider_failure(timeout())
    assert is_provider_failure(ProviderError("bad key", failover=True))  # 401: another provider may serve
    assert not is_provider_failure(rejected())  # the request's own fault
    assert not is_provider_failure(InvalidRequest("voice 'x' is unknown"))
    assert is_provider_failure(RuntimeError("onnxruntime crashed"))  # a local engine broke
    assert not is_provider_failure(asyncio.CancelledError())


# --------------------------------------------------------------------------- the breaker


def test_breaker_opens_after_threshold_then_half_opens_and_closes_on_success() -> None:
    clock = ManualClock(1000.0)
    b = CircuitBreaker("tts:cloud", failure_threshold=3, cooldown_seconds=30, clock=clock)
    assert b.state is BreakerState.CLOSED and b.acquire()
    b.record_failure(timeout())
    b.record_failure(timeout())
    assert b.state is BreakerState.CLOSED and b.consecutive_failures == 2
    b.record_failure(timeout())
    assert b.state is BreakerState.OPEN and not b.available() and not b.acquire()
    assert b.seconds_until_probe() == pytest.approx(30)
    clock.advance(29.9)
    assert b.state is BreakerState.OPEN and not b.acquire()
    clock.advance(0.2)
    assert b.state is BreakerState.HALF_OPEN and b.available()
    assert b.acquire()  # the probe
    assert not b.available() and not b.acquire(), "one probe at a time"
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.consecutive_failures == 0 and b.acquire()
    snap = b.snapshot()
    assert snap["state"] == "closed" and snap["failures"] == 3 and snap["successes"] == 1
    assert snap["times_opened"] == 1 and snap["last_error_code"] == "provider_timeout"
    assert "no answer in time" in snap["last_error"] and snap["last_error_at"] > 0


def test_a_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = ManualClock(1000.0)
    b = CircuitBreaker("stt:cloud", failure_threshold=2, cooldown_seconds=10, clock=clock)
    b.record_failure(timeout())
    b.record_failure(timeout())
    clock.advance(10)
    assert b.acquire()
    b.record_failure(timeout())
    assert b.state is BreakerState.OPEN and b.seconds_until_probe() == pytest.approx(10)
    assert b.snapshot()["times_opened"] == 2 and b.snapshot()["retry_in_s"] == 10.0


def test_success_resets_the_consecutive_count() -> None:
    b = CircuitBreaker("llm:cloud", failure_threshold=3, clock=ManualClock(1000.0))
    for _ in range(5):
        b.record_failure(timeout())
        b.record_failure(timeout())
        b.record_success()
    assert b.state is BreakerState.CLOSED and b.failures == 10 and b.consecutive_failures == 0


def test_release_frees_the_probe_without_a_verdict() -> None:
    clock = ManualClock(1000.0)
    b = CircuitBreaker("tts:cloud", failure_threshold=1, cooldown_seconds=5, clock=clock)
    b.record_failure(timeout())
    clock.advance(5)
    assert b.acquire() and not b.available()
    b.release()  # e.g. the request was cancelled, or was itself at fault
    assert b.state is BreakerState.HALF_OPEN and b.available()


# --------------------------------------------------------------------------- chains


def make_chain(clock: ManualClock, threshold: int = 2, cooldown: float = 30) -> ProviderChain[str]:
    chain: ProviderChain[str] = ProviderChain("tts", threshold, cooldown, clock)
    chain.add("cloud", "cloud-engine", "primary")
    chain.add("local", "local-engine", "fallback")
    return chain


class Script:
    """Per provider: a list of outcomes, one per call (an exception to raise, or a value to return)."""

    def __init__(self, **outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.calls: list[str] = []

    async def __call__(self, member: ChainMember[str]) -> str:
        self.calls.append(member.name)
        queue = self.outcomes.get(member.name) or ["ok"]
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return f"{member.name}:{outcome}"


async def test_failover_to_the_next_provider_and_report_it() -> None:
    chain = make_chain(ManualClock(1000.0))
    script = Script(cloud=[timeout()])
    with recording() as log:
        result, served = await chain.call(script)
    assert (result, served) == ("local:ok", "local") and script.calls == ["cloud", "local"]
    assert log.served == {"tts": "local"}
    [event] = log.drain("tts")
    assert event.to_dict() == {
        "service": "tts",
        "from": "cloud",
        "to": "local",
        "reason": "provider_timeout",
        "message": "cloud: no answer in time",
    }
    assert event.header() == "cloud -> local (provider_timeout)"


async def test_request_fault_is_raised_not_failed_over_and_not_counted() -> None:
    chain = make_chain(ManualClock(1000.0), threshold=1)
    script = Script(cloud=[rejected()])
    with pytest.raises(ProviderError) as info:
        await chain.call(script)
    assert info.value.code == "provider_rejected_request" and info.value.status_code == 422
    assert script.calls == ["cloud"], "a 4xx caused by the request is not retried elsewhere"
    assert chain.breaker("cloud").state is BreakerState.CLOSED and chain.breaker("cloud").failures == 0


async def test_open_circuit_is_skipped_then_reprobed_after_cooldown() -> None:
    clock = ManualClock(1000.0)
    chain = make_chain(clock, threshold=2, cooldown=30)
    script = Script(cloud=[timeout()])
    for _ in range(2):
        assert (await chain.call(script))[1] == "local"
    assert chain.breaker("cloud").state is BreakerState.OPEN
    assert chain.degraded()
    script.calls.clear()
    with recording() as log:
        for _ in range(3):
            assert (await chain.call(script))[1] == "local"
    assert script.calls == ["local"] * 3, "an open circuit is not called"
    assert [e.reason for e in log.drain()] == ["circuit_open"] * 3
    clock.advance(30)
    assert chain.breaker("cloud").state is BreakerState.HALF_OPEN
    script.outcomes["cloud"] = ["back"]
    script.calls.clear()
    assert await chain.call(script) == ("cloud:back", "cloud")
    assert script.calls == ["cloud"] and chain.breaker("cloud").state is BreakerState.CLOSED
    assert not chain.degraded()


async def test_every_circuit_open_probes_the_one_whose_cooldown_ends_first() -> None:
    clock = ManualClock(1000.0)
    chain = make_chain(clock, threshold=1, cooldown=30)
    script = Script(cloud=[timeout("cloud")], local=[timeout("local")])
    with pytest.raises(ProviderError) as info:
        await chain.call(script)
    assert "every tts provider failed" in info.value.message
    assert "cloud: no answer" in info.value.message and "local: no answer" in info.value.message
    assert info.value.code == "provider_timeout"
    clock.advance(1)  # cloud opened first, so its cool-down ends first
    script.calls.clear()
    script.outcomes = {"cloud": ["ok"]}
    assert await chain.call(script) == ("cloud:ok", "cloud")
    assert script.calls == ["cloud"], "not failing without trying"


async def test_single_provider_chain_raises_the_original_error() -> None:
    chain: ProviderChain[str] = ProviderChain("llm", 3, 30, ManualClock(1000.0))
    chain.add("only", "engine", "primary")
    err = timeout("only")
    with pytest.raises(ProviderError) as info:
        await chain.call(Script(only=[err]))
    assert info.value is err


async def test_half_open_allows_one_probe_while_others_use_the_fallback() -> None:
    clock = ManualClock(1000.0)
    chain = make_chain(clock, threshold=1, cooldown=5)
    await chain.call(Script(cloud=[timeout()]))
    clock.advance(5)
    gate = asyncio.Event()
    served: list[str] = []

    async def slow_cloud(member: ChainMember[str]) -> str:
        if member.name == "cloud":
            await gate.wait()
        return member.name

    async def one() -> None:
        served.append((await chain.call(slow_cloud))[1])

    probe = asyncio.create_task(one())
    await asyncio.sleep(0)
    await one()  # while the probe is in flight, this one goes to the fallback
    await one()
    gate.set()
    await probe
    assert served == ["local", "local", "cloud"]
    assert chain.breaker("cloud").state is BreakerState.CLOSED


async def test_cancelled_call_releases_the_probe() -> None:
    clock = ManualClock(1000.0)
    chain = make_chain(clock, threshold=1, cooldown=5)
    await chain.call(Script(cloud=[timeout()]))
    clock.advance(5)

    async def hang(member: ChainMember[str]) -> str:
        await asyncio.sleep(3600)
        return member.name

    task = asyncio.create_task(chain.call(hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert chain.breaker("cloud").state is BreakerState.HALF_OPEN and chain.breaker("cloud").available()


def test_health_lists_role_and_circuit() -> None:
    clock = ManualClock(1000.0)
    chain = make_chain(clock, threshold=1, cooldown=30)
    chain.breaker("cloud").record_failure(timeout())
    clock.advance(10)
    health = chain.health()
    assert health["cloud"]["role"] == "primary" and health["local"]["role"] == "fallback"
    assert health["cloud"]["circuit"]["state"] == "open"
    assert health["cloud"]["circuit"]["retry_in_s"] == 20.0
    assert health["local"]["circuit"]["state"] == "closed"


# --------------------------------------------------------------------------- config


def test_chain_names_reject_primary_and_repeats() -> None:
    assert chain_names("elevenlabs", ["openai", "piper"], "tts.fallback") == ["elevenlabs", "openai", "piper"]
    with pytest.raises(ConfigError, match=r"tts.fallback\[0\]: 'piper' is already the primary"):
        chain_names("piper", ["piper"], "tts.fallback")
    with pytest.raises(ConfigError, match=r"stt.fallback\[1\]: 'whisper_local' is listed twice"):
        chain_names("whisper_api", ["whisper_local", "whisper_local"], "stt.fallback")


def test_unknown_fallback_names_fail_with_the_key() -> None:
    from backend.llm.chain import validate_llm_chain
    from backend.speech.stt_chain import validate_stt_chain
    from backend.speech.tts_chain import validate_tts_chain

    settings = parse_config({"tts": {"fallback": ["pipr"]}, "stt": {"fallback": ["wisper"]}})
    with pytest.raises(ConfigError, match=r"^tts.fallback\[0\]: 'pipr' is unknown; known: piper, espeak"):
        validate_tts_chain(settings)
    with pytest.raises(ConfigError, match=r"^stt.fallback\[0\]: 'wisper' is unknown; known: whisper_local"):
        validate_stt_chain(settings)
    settings = parse_config({"llm": {"provider": "openai", "fallback": ["llama_cpp", "llamacpp"]}})
    with pytest.raises(ConfigError, match=r"^llm.fallback\[1\]: 'llamacpp' is unknown; known: llama_cpp"):
        validate_llm_chain(settings)
    assert validate_llm_chain(parse_config({"llm": {"provider": "openai", "fallback": ["llama_cpp"]}})) == [
        "openai",
        "llama_cpp",
    ]


def test_a_providers_own_error_fails_over_unless_the_request_was_at_fault() -> None:
    assert is_provider_failure(ProviderError("eSpeak NG synthesis failed (error 2)"))  # a local engine
    assert is_provider_failure(ProviderError("llama_cpp: generation failed: boom"))
    assert is_provider_failure(RuntimeError("an engine crashed"))
    assert not is_provider_failure(ProviderError("vendor refused the text", failover=False))
    assert not is_provider_failure(InvalidRequest("text is empty"))


# --------------------------------------------------------------------------- one attempt's verdict


async def _through(breaker: CircuitBreaker, body, force: bool = False) -> bool:  # type: ignore[no-untyped-def]
    """Run `body(attempt)` inside `breaker.attempt()`; returns whether the slot was taken."""
    async with breaker.attempt(force) as attempt:
        if attempt.taken:
            await body(attempt)
    return attempt.taken


async def _ok(attempt) -> None:  # type: ignore[no-untyped-def]
    return None


async def test_attempt_gives_the_verdict_of_each_ending() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("tts:cloud", failure_threshold=1, cooldown_seconds=10, clock=clock)
    assert await _through(breaker, _ok) and breaker.successes == 1

    async def own_fault(attempt) -> None:  # type: ignore[no-untyped-def]
        raise rejected()

    with pytest.raises(ProviderError):
        await _through(breaker, own_fault)
    assert breaker.failures == 0 and breaker.state is BreakerState.CLOSED  # the request's fault: no verdict

    async def down(attempt) -> None:  # type: ignore[no-untyped-def]
        raise timeout()

    with pytest.raises(ProviderError):
        await _through(breaker, down)
    assert breaker.failures == 1 and breaker.state is BreakerState.OPEN
    assert not await _through(breaker, _ok)  # open: not taken, the body skipped, no verdict
    assert breaker.successes == 1

    clock.advance(10)  # half-open: one probe

    async def cancelled_before_answering(attempt) -> None:  # type: ignore[no-untyped-def]
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await _through(breaker, cancelled_before_answering)
    assert breaker.state is BreakerState.HALF_OPEN and breaker.available()  # probe slot given back

    async def cancelled_while_answering(attempt) -> None:  # type: ignore[no-untyped-def]
        attempt.started = True
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await _through(breaker, cancelled_while_answering)
    assert breaker.state is BreakerState.CLOSED and breaker.successes == 2  # it was working: closed


async def test_forced_attempt_probes_an_open_circuit() -> None:
    breaker = CircuitBreaker("llm:cloud", failure_threshold=1, cooldown_seconds=10, clock=ManualClock())
    breaker.record_failure(timeout())
    assert not await _through(breaker, _ok)
    assert await _through(breaker, _ok, force=True) and breaker.state is BreakerState.CLOSED

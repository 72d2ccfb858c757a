"""The TTS chain on real engines: TTSService with ElevenLabs (against its local fake) and Piper as the
fallback, without the HTTP app. The breakers' clock is injected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backend.core.config import parse_config
from backend.core.errors import ProviderError
from backend.providers.failover import BreakerState, CircuitBreaker, recording
from backend.speech.base import AudioChunk
from backend.speech.tts_service import TTSService
from tests.conftest import ManualClock
from tests.fakes.elevenlabs import FakeElevenLabs

KEY = "xi-test-key"
TEXT = "The museum opens at nine. Tickets cost ten dollars. Children enter for free."


@pytest.fixture(scope="module")
def eleven() -> Iterator[FakeElevenLabs]:
    with FakeElevenLabs(api_key=KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
async def service(eleven: FakeElevenLabs, assembled_models: Path) -> AsyncIterator[TTSService]:
    settings = parse_config(
        {
            "tts": {"provider": "elevenlabs", "fallback": ["piper"], "language_fallback": None},
            "elevenlabs": {
                "api_key": KEY,
                "base_url": eleven.url,
                "max_retries": 0,
                "output_format": "pcm_16000",  # Piper speaks at 22050 Hz: the chain must resample
            },
            "paths": {"models_dir": str(assembled_models)},
            "languages": ["en"],
        }
    )
    tts = TTSService(settings)
    await tts.load()
    try:
        yield tts
    finally:
        await tts.close()


@pytest.fixture
def clock(service: TTSService, eleven: FakeElevenLabs) -> ManualClock:
    eleven.reset()
    clock = ManualClock()
    for member in service.chain.members.values():
        member.breaker = CircuitBreaker(member.breaker.name, 2, 30, clock)
    return clock


async def speak(service: TTSService, text: str = TEXT, **kw: bool) -> list[AudioChunk]:
    resolved = service.resolve(None, "en")
    return [chunk async for chunk in service.stream(text, resolved, **kw)]


async def test_fallback_audio_comes_at_the_requested_voices_rate(
    service: TTSService, eleven: FakeElevenLabs, clock: ManualClock
) -> None:
    resolved = service.resolve(None, "en")
    assert resolved.voice.engine == "elevenlabs" and resolved.voice.sample_rate == 16000
    eleven.fail(503, times=10)
    with recording() as log:
        chunks = await speak(service)
    assert {c.provider for c in chunks} == {"piper"} and {c.sample_rate for c in chunks} == {16000}
    piper = service.resolve("en_US-joe-medium", "en")
    own = [c async for c in service.stream(TEXT, piper)]
    own_seconds = sum(c.duration for c in own)
    assert own[0].sample_rate == 22050
    assert sum(c.duration for c in chunks) == pytest.approx(own_seconds, rel=0.05)
    assert [e.reason for e in log.drain("tts")] == ["provider_error", "provider_error", "circuit_open"]
    assert service.chain.breaker("elevenlabs").state is BreakerState.OPEN


async def test_each_piece_comes_back_to_the_cloud_while_its_circuit_is_closed(
    service: TTSService, eleven: FakeElevenLabs, clock: ManualClock
) -> None:
    eleven.fail(500)  # only the first piece fails
    chunks = await speak(service)
    order = list(dict.fromkeys((c.text, c.provider) for c in chunks))
    assert [p for _, p in order] == ["piper", "elevenlabs", "elevenlabs"]
    assert " ".join(t for t, _ in order) == TEXT


async def test_whole_pieces_drop_the_broken_off_audio(
    service: TTSService, eleven: FakeElevenLabs, clock: ManualClock
) -> None:
    eleven.drop_after(2000)
    chunks = await speak(service, whole_pieces=True)
    first = [c for c in chunks if c.text.startswith("The museum")]
    assert {c.provider for c in first} == {"piper"}, "no ElevenLabs audio of the broken piece"
    eleven.drop_after(2000)
    streamed = await speak(service)
    broken = [c for c in streamed if c.text.startswith("The museum")]
    assert [c.provider for c in broken][0] == "elevenlabs" and broken[-1].provider == "piper"


async def test_a_listener_leaving_mid_probe_frees_the_probe(
    service: TTSService, eleven: FakeElevenLabs, clock: ManualClock
) -> None:
    breaker = service.chain.breaker("elevenlabs")
    eleven.fail(503, times=2)
    await speak(service, "One. Two.")
    assert breaker.state is BreakerState.OPEN
    clock.now += 30
    eleven.chunk_bytes = 1001  # several chunks per piece
    stream = service.stream(TEXT, service.resolve(None, "en"))
    first = await anext(stream)
    assert first.provider == "elevenlabs" and not breaker.available(), "the probe is in flight"
    await stream.aclose()  # the client went away mid-piece
    assert breaker.state is BreakerState.CLOSED, "audio had arrived: the engine works again"


async def test_a_request_fault_never_counts_against_the_circuit(
    service: TTSService, eleven: FakeElevenLabs, clock: ManualClock
) -> None:
    """A vendor's 400/422 (the request's own fault: ProviderError(failover=False)) is raised at once,
    neither failed over nor counted, however often it happens (issue 10: bad text opened circuits)."""
    breaker = service.chain.breaker("elevenlabs")
    before = breaker.failures
    for _ in range(4):  # twice the threshold of this fixture's breakers
        eleven.fail(400)
        with pytest.raises(ProviderError) as caught:
            await speak(service, "One. Two.")
        assert not caught.value.failover
    assert breaker.state is BreakerState.CLOSED and breaker.failures == before
    assert breaker.consecutive_failures == 0 and breaker.available()
    assert service.chain.breaker("piper").failures == 0
    assert {c.provider for c in await speak(service, "Three.")} == {"elevenlabs"}


async def test_the_chain_is_a_tts_provider_like_the_others(
    service: TTSService, eleven: FakeElevenLabs, clock: ManualClock
) -> None:
    """`TTSChain` is a TTSProvider (as STTChain and LLMChain are providers): given a bare TTSConfig it
    speaks with the configured engines in failover order."""
    from backend.speech.base import TTSConfig, TTSProvider

    chain = service.engines
    assert isinstance(chain, TTSProvider) and chain.name == "elevenlabs"
    assert [(m.name, m.role) for m in chain.chain.members.values()] == [
        ("elevenlabs", "primary"),
        ("piper", "fallback"),
    ]
    assert "en_US-joe-medium" in chain.voice_ids()
    eleven.fail(503, times=10)
    config = TTSConfig(voice_id=service.resolve(None, "en").voice.id, language="en")
    with recording():
        chunks = [c async for c in chain.stream("The museum opens at nine.", config)]
    assert chunks and {c.provider for c in chunks} == {"piper"} and {c.sample_rate for c in chunks} == {16000}

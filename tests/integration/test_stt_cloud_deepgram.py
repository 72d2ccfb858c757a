"""The Deepgram STT provider against a local fake of Deepgram's API (tests/fakes/deepgram.py).

Pre-recorded ``POST /v1/listen`` and the live WebSocket ``/v1/listen`` are served by one local server that
transcribes what it receives with the local faster-whisper models, so the assertions are about real words
in speech made by Piper.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.core.config import Settings
from backend.core.errors import ConfigError, ProviderError
from backend.speech.base import StreamResult, STTConfig
from backend.speech.factory import build_stt
from backend.speech.providers import deepgram_stt
from backend.speech.providers.deepgram_stt import DeepgramSTT
from tests.conftest import make_settings
from tests.fakes.deepgram import FakeDeepgram
from tests.helpers.speech import TEXT, TWO_SENTENCES, piper_audio, word_error_rate

KEY = "dg-test-key-123"


@pytest.fixture(scope="module")
def speech(assembled_models: Path) -> dict[str, np.ndarray]:
    return piper_audio(assembled_models, [TEXT, TWO_SENTENCES])


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeDeepgram]:
    with FakeDeepgram(api_key=KEY) as fake:
        fake.asr.warm()
        yield fake


@pytest.fixture
def fake(fake_server: FakeDeepgram) -> FakeDeepgram:
    fake_server.reset(api_key=KEY)
    return fake_server


def settings_for(fake: FakeDeepgram | None, **block: Any) -> Settings:
    values: dict[str, Any] = {"api_key": KEY, "timeout_seconds": 10, "max_retries": 2}
    if fake is not None:
        values["base_url"] = fake.url
    values.update(block)
    return make_settings({"stt": {"provider": "deepgram"}, "deepgram": values})


@asynccontextmanager
async def loaded(settings: Settings) -> AsyncIterator[DeepgramSTT]:
    """The deepgram provider, loaded (closed again on the way out)."""
    provider = build_stt("deepgram", settings)
    assert isinstance(provider, DeepgramSTT)
    await provider.load()
    try:
        yield provider
    finally:
        await provider.close()


async def transcribe(settings: Settings, audio: np.ndarray, **config: Any) -> Any:
    async with loaded(settings) as provider:
        return await provider.transcribe(audio, STTConfig(**config))


def pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


# --------------------------------------------------------------------------- pre-recorded


async def test_registered_and_built_from_config(fake: FakeDeepgram) -> None:
    provider = build_stt("deepgram", settings_for(fake))
    assert isinstance(provider, DeepgramSTT) and provider.model == "nova-3"
    assert provider.capabilities().streaming is True
    off = build_stt("deepgram", settings_for(fake, streaming=False))
    assert off.capabilities().streaming is False
    with pytest.raises(ProviderError) as err:
        await off.open_stream(STTConfig())
    assert err.value.code == "streaming_unsupported"


async def test_real_words_and_the_documented_request(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    result = await transcribe(settings_for(fake), speech[TEXT], language="en")
    assert word_error_rate(TEXT, result.text) <= 0.2, result.text
    assert result.language == "en" and result.model == "nova-3"
    assert result.duration == pytest.approx(len(speech[TEXT]) / 16000, abs=0.05)
    (request,) = fake.http_requests()
    assert request.path == "/v1/listen"
    assert request.headers["authorization"] == f"Token {KEY}"
    assert request.content_type == "audio/wav"
    assert request.body_size == 44 + 2 * len(speech[TEXT])
    assert request.query == {
        "model": "nova-3",
        "smart_format": "true",
        "punctuate": "true",
        "language": "en",
        "utterances": "true",
    }


async def test_language_detected_is_mapped(fake: FakeDeepgram, speech: dict[str, np.ndarray]) -> None:
    result = await transcribe(settings_for(fake), speech[TEXT])
    assert fake.last.query.get("detect_language") == "true" and "language" not in fake.last.query
    assert result.language == "en" and 0 < result.language_probability <= 1
    assert word_error_rate(TEXT, result.text) <= 0.35, result.text


async def test_segments_from_utterances_have_timestamps(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    audio = speech[TWO_SENTENCES]
    result = await transcribe(settings_for(fake, smart_format=False), audio, language="en")
    assert fake.last.query["smart_format"] == "false"
    assert word_error_rate(TWO_SENTENCES, result.text) <= 0.35, result.text
    assert result.segments
    duration = len(audio) / 16000
    previous_end = 0.0
    for i, seg in enumerate(result.segments):
        assert seg.id == i and seg.text
        assert previous_end - 0.01 <= seg.start < seg.end <= duration + 0.01
        previous_end = seg.end
    assert result.segments[-1].end > duration * 0.6
    assert word_error_rate(result.text, " ".join(s.text for s in result.segments)) <= 0.1


def test_segments_fall_back_to_paragraphs_then_words() -> None:
    provider = DeepgramSTT(make_settings())
    words = [
        {"word": "hello", "start": 0.1, "end": 0.4, "confidence": 0.9, "punctuated_word": "Hello."},
        {"word": "how", "start": 0.6, "end": 0.8, "confidence": 0.9, "punctuated_word": "How"},
        {"word": "are", "start": 0.8, "end": 0.9, "confidence": 0.9, "punctuated_word": "are"},
        {"word": "you", "start": 0.9, "end": 1.2, "confidence": 0.9, "punctuated_word": "you?"},
    ]
    alt = {"transcript": "Hello. How are you?", "confidence": 0.9, "words": words}
    body = {"metadata": {"duration": 1.5}, "results": {"channels": [{"alternatives": [alt]}]}}
    result = provider._parse(body, "nova-3", STTConfig(), 1.5)
    assert [(s.start, s.end, s.text) for s in result.segments] == [
        (0.1, 0.4, "Hello."),
        (0.6, 1.2, "How are you?"),
    ]
    alt["paragraphs"] = {
        "paragraphs": [{"sentences": [{"text": "Hello. How are you?", "start": 0.1, "end": 1.2}]}]
    }
    result = provider._parse(body, "nova-3", STTConfig(), 1.5)
    assert [(s.start, s.end, s.text) for s in result.segments] == [(0.1, 1.2, "Hello. How are you?")]
    assert result.language == "en" and result.duration == 1.5


# --------------------------------------------------------------------------- keys and faults


async def test_bad_key_is_a_clear_auth_error_not_retried(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    fake.api_key = "dg-the-right-one"
    with pytest.raises(ProviderError) as err:
        await transcribe(settings_for(fake), speech[TEXT])
    assert err.value.code == "provider_auth_failed" and err.value.status_code == 502
    assert "Invalid credentials." in err.value.message
    assert "check DEEPGRAM_API_KEY (deepgram.api_key)" in err.value.message
    assert len(fake.http_requests()) == 1


async def test_missing_key_for_the_vendor_host_fails_at_startup_naming_the_variable() -> None:
    provider = build_stt("deepgram", settings_for(None, api_key=""))
    with pytest.raises(ConfigError) as err:
        await provider.load()
    assert "DEEPGRAM_API_KEY" in err.value.message and "deepgram.api_key" in err.value.message


async def test_rate_limit_is_retried_after_retry_after(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    fake.fail(429, times=1, retry_after=0.3)
    result = await transcribe(settings_for(fake), speech[TEXT], language="en")
    assert word_error_rate(TEXT, result.text) <= 0.2
    requests = fake.http_requests()
    assert [r.status for r in requests] == [429, 200]
    assert requests[1].time - requests[0].time >= 0.28


async def test_rate_limit_exhausted_is_503(fake: FakeDeepgram, speech: dict[str, np.ndarray]) -> None:
    fake.fail(429, times=3, retry_after=0.01)
    with pytest.raises(ProviderError) as err:
        await transcribe(settings_for(fake, max_retries=2), speech[TEXT])
    assert err.value.code == "provider_rate_limited" and err.value.status_code == 503
    assert "Too many requests" in err.value.message
    assert len(fake.http_requests()) == 3


async def test_slow_vendor_times_out_in_bounded_time(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    fake.slow(5)
    start = time.perf_counter()
    with pytest.raises(ProviderError) as err:
        await transcribe(settings_for(fake, timeout_seconds=0.5, max_retries=0), speech[TEXT])
    assert err.value.code == "provider_timeout" and err.value.status_code == 504
    assert time.perf_counter() - start < 2.5


async def test_malformed_response_is_502(fake: FakeDeepgram, speech: dict[str, np.ndarray]) -> None:
    fake.malformed()
    with pytest.raises(ProviderError) as err:
        await transcribe(settings_for(fake), speech[TEXT], language="en")
    assert err.value.code == "provider_bad_response" and err.value.status_code == 502
    assert len(fake.http_requests()) == 1


async def test_dropped_connection_is_retried_then_reported(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    fake.drop(times=1)
    result = await transcribe(settings_for(fake), speech[TEXT], language="en")
    assert word_error_rate(TEXT, result.text) <= 0.2
    assert len(fake.http_requests()) == 2
    fake.reset(api_key=KEY)
    fake.drop(times=2)
    with pytest.raises(ProviderError) as err:
        await transcribe(settings_for(fake, max_retries=1), speech[TEXT], language="en")
    assert err.value.code == "provider_bad_response" and err.value.status_code == 502


async def test_request_fault_is_422_with_the_vendor_message_and_not_retried(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    with pytest.raises(ProviderError) as err:
        await transcribe(settings_for(fake), speech[TEXT], model="nova-9")
    assert err.value.code == "provider_rejected_request" and err.value.status_code == 422
    assert "No such model/language/tier combination" in err.value.message and not err.value.failover
    assert len(fake.http_requests()) == 1 and fake.last.query["model"] == "nova-9"


# --------------------------------------------------------------------------- live


async def stream_through(
    provider: DeepgramSTT, audio: np.ndarray, config: STTConfig, frame_ms: int = 20, tail_s: float = 0.6
) -> tuple[list[tuple[float, StreamResult]], float]:
    """Send audio at real-time pace in `frame_ms` frames, then silence, then CloseStream; return the
    results with their arrival time (seconds since the first frame) and when the speech was all sent."""
    stream = await provider.open_stream(config)
    start = time.perf_counter()
    sent_at = {"speech": 0.0}

    async def sender() -> None:
        data, frame = pcm16(audio), 16 * frame_ms * 2
        for i, offset in enumerate(range(0, len(data), frame)):
            await stream.send(data[offset : offset + frame])
            await asyncio.sleep(max(0.0, start + (i + 1) * frame_ms / 1000 - time.perf_counter()))
        sent_at["speech"] = time.perf_counter() - start
        await stream.send(bytes(int(32000 * tail_s)))
        await stream.finalize()

    task = asyncio.create_task(sender())
    results = []
    try:
        async for result in stream:
            results.append((time.perf_counter() - start, result))
        await task
    finally:
        task.cancel()
        await stream.aclose()
    return results, sent_at["speech"]


async def test_live_interim_results_arrive_while_audio_is_still_being_sent(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    async with loaded(settings_for(fake)) as provider:
        results, speech_sent = await stream_through(provider, speech[TEXT], STTConfig(language="en"))
    interim = [(t, r) for t, r in results if not r.is_final and r.text]
    finals = [r for _, r in results if r.is_final]
    assert interim and interim[0][0] < speech_sent, (interim, speech_sent)  # partials before the audio ends
    assert finals and word_error_rate(TEXT, " ".join(r.text for r in finals)) <= 0.2, finals
    assert finals[-1].end == pytest.approx(len(speech[TEXT]) / 16000 + 0.6, abs=0.1)
    (session,) = fake.live_sessions()
    assert session.headers["authorization"] == f"Token {KEY}"
    for key, value in {
        "model": "nova-3",
        "encoding": "linear16",
        "sample_rate": "16000",
        "channels": "1",
        "interim_results": "true",
        "punctuate": "true",
        "smart_format": "true",
        "endpointing": "300",
        "language": "en",
    }.items():
        assert session.query.get(key) == value, key
    assert session.audio_bytes == 2 * len(speech[TEXT]) + 2 * int(16000 * 0.6)
    assert session.received[-1] == {"type": "CloseStream"} and session.closed_by == "CloseStream"
    assert [m["type"] for m in session.sent][-1] == "Metadata"


async def test_live_keepalive_holds_an_idle_stream_open(
    fake: FakeDeepgram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deepgram_stt, "KEEPALIVE_SECONDS", 0.3)
    fake.idle_timeout = 1.2  # the fake closes an idle socket (NET-0001) like Deepgram does after ~10 s
    provider = build_stt("deepgram", settings_for(fake))
    await provider.load()
    stream = await provider.open_stream(STTConfig(language="en"))
    try:
        await asyncio.sleep(2.0)
        await stream.send(bytes(3200))
        await stream.finalize()
        results = [r async for r in stream]  # ends cleanly: no NET-0001 close
    finally:
        await stream.aclose()
        await provider.close()
    (session,) = fake.live_sessions()
    assert session.closed_by == "CloseStream", session.closed_by
    assert {"type": "KeepAlive"} in session.received
    assert all(not r.text for r in results)


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, "provider_auth_failed", "Invalid credentials."),
        (429, "provider_rate_limited", "Too many requests"),
    ],
)
async def test_live_handshake_refusals_are_clear_errors(
    fake: FakeDeepgram, status: int, code: str, words: str
) -> None:
    if status == 401:
        fake.api_key = "dg-the-right-one"
    else:
        fake.fail(429, retry_after=2)
    async with loaded(settings_for(fake)) as provider:
        with pytest.raises(ProviderError) as err:
            await provider.open_stream(STTConfig(language="en"))
    assert err.value.code == code and err.value.upstream_status == status
    assert words in err.value.message


async def test_live_drop_and_malformed_messages_end_the_stream_with_a_provider_error(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    async with loaded(settings_for(fake)) as provider:
        for fault, expected in (("drop", "code 1011: NET-0000"), ("malformed", "not JSON")):
            fake.reset(api_key=KEY)
            getattr(fake, fault)()
            with pytest.raises(ProviderError) as err:
                await stream_through(provider, speech[TEXT], STTConfig(language="en"), frame_ms=100)
            assert err.value.code == "provider_bad_response" and expected in err.value.message
            sent = fake.live_sessions()[0].sent
            assert sent[0]["type"] == "Results" and not sent[0]["is_final"]  # one real result came first


async def test_live_bad_query_is_refused_with_deepgrams_error(fake: FakeDeepgram) -> None:
    async with loaded(settings_for(fake, model="nova-9")) as provider:
        with pytest.raises(ProviderError) as err:
            await provider.open_stream(STTConfig())
    assert err.value.status_code == 422 and "No such model" in err.value.message
    assert json.dumps(fake.last.query)  # recorded


async def test_a_live_stream_that_breaks_counts_against_the_providers_circuit(
    fake: FakeDeepgram, speech: dict[str, np.ndarray]
) -> None:
    from backend.speech.stt_chain import STTChain

    settings = settings_for(fake)
    async with loaded(settings) as provider:
        chain = STTChain(settings, providers=[provider])
        breaker = chain.chain.members["deepgram"].breaker
        results, _ = await stream_through(chain, speech[TEXT], STTConfig(language="en"), frame_ms=100)
        assert results and breaker.consecutive_failures == 0 and breaker.successes == 1
        fake.drop()
        with pytest.raises(ProviderError):
            await stream_through(chain, speech[TEXT], STTConfig(language="en"), frame_ms=100)
        assert breaker.consecutive_failures == 1 and breaker.failures == 1
        assert "1011" in (breaker.last_error or "")


async def test_no_live_stream_is_opened_to_a_provider_whose_circuit_is_open(fake: FakeDeepgram) -> None:
    from backend.speech.stt_chain import STTChain

    settings = settings_for(fake)
    async with loaded(settings) as provider:
        chain = STTChain(settings, providers=[provider])
        breaker = chain.chain.members["deepgram"].breaker
        for _ in range(breaker.failure_threshold):
            breaker.record_failure(ProviderError("deepgram: down", failover=True))
        before = fake.request_count
        with pytest.raises(ProviderError) as err:
            await chain.open_stream(STTConfig(language="en"))
        assert err.value.code == "no_provider_available"
        assert fake.request_count == before  # the vendor that is down was not asked (transcribe() re-probes)

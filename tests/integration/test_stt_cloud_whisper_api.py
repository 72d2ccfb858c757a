"""The hosted Whisper STT providers (``whisper_api`` = OpenAI, ``groq``) against a local fake of the API.

The fake (tests/fakes/openai_transcriptions.py) speaks OpenAI's multipart wire format at
``/v1/audio/transcriptions`` and Groq's at ``/openai/v1/audio/transcriptions`` and transcribes the uploaded
WAV with the local faster-whisper models, so every happy-path assertion is about real words in speech
made by Piper. Every test runs for both providers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.core.config import Settings
from backend.core.errors import ConfigError, ProviderError
from backend.speech.base import STTConfig
from backend.speech.factory import build_stt
from backend.speech.providers.whisper_api_stt import GroqSTT, WhisperAPISTT, language_code
from tests.conftest import make_settings
from tests.fakes.openai_transcriptions import FakeTranscriptionServer
from tests.helpers.speech import TEXT, TWO_SENTENCES, piper_audio, word_error_rate

KEY = "sk-test-stt-key"
PROVIDERS = ("whisper_api", "groq")
BLOCK = {"whisper_api": "openai", "groq": "groq"}
PATH = {"whisper_api": "/v1/audio/transcriptions", "groq": "/openai/v1/audio/transcriptions"}
MODEL = {"whisper_api": "whisper-1", "groq": "whisper-large-v3-turbo"}
ENV_VAR = {"whisper_api": "OPENAI_API_KEY", "groq": "GROQ_API_KEY"}


@pytest.fixture(scope="module")
def speech(assembled_models: Path) -> dict[str, np.ndarray]:
    return piper_audio(assembled_models, [TEXT, TWO_SENTENCES])


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeTranscriptionServer]:
    with FakeTranscriptionServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeTranscriptionServer) -> FakeTranscriptionServer:
    fake_server.reset(api_key=KEY)
    return fake_server


@pytest.fixture(params=PROVIDERS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def settings_for(kind: str, fake: FakeTranscriptionServer | None, **block: Any) -> Settings:
    values: dict[str, Any] = {"api_key": KEY, "timeout_seconds": 10, "max_retries": 2}
    if fake is not None:
        values["base_url"] = fake.openai_base_url if kind == "whisper_api" else fake.groq_base_url
    values.update(block)
    return make_settings({"stt": {"provider": kind}, BLOCK[kind]: values})


async def transcribe(kind: str, settings: Settings, audio: np.ndarray, **config: Any) -> Any:
    provider = build_stt(kind, settings)
    await provider.load()
    try:
        return await provider.transcribe(audio, STTConfig(**config))
    finally:
        await provider.close()


# --------------------------------------------------------------------------- happy path


async def test_registered_and_built_from_config(kind: str, fake: FakeTranscriptionServer) -> None:
    provider = build_stt(kind, settings_for(kind, fake))
    assert isinstance(provider, GroqSTT if kind == "groq" else WhisperAPISTT)
    assert provider.name == kind and provider.model == MODEL[kind]
    assert provider.capabilities().streaming is False


async def test_real_words_and_the_documented_request(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    result = await transcribe(kind, settings_for(kind, fake), speech[TEXT], language="en")
    # Piper's speech varies from run to run (noise_scale), and tiny.en now and then mishears two words
    assert word_error_rate(TEXT, result.text) <= 0.35, result.text
    assert "table" in result.text.lower(), result.text
    assert result.language == "en" and result.model == MODEL[kind]
    assert result.duration == pytest.approx(len(speech[TEXT]) / 16000, abs=0.05)
    (request,) = fake.transcription_requests()
    assert request.path == PATH[kind]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.field("model") == MODEL[kind]
    assert request.field("language") == "en"
    assert request.field("response_format") == "verbose_json"
    assert request.form["timestamp_granularities[]"] == ["segment"]
    assert request.file_name == "audio.wav" and request.file_type == "audio/wav"
    assert request.file[:4] == b"RIFF" and request.file[8:12] == b"WAVE"
    assert len(request.file) == 44 + 2 * len(speech[TEXT])  # PCM16, 16 kHz mono, nothing lost


async def test_language_detected_is_mapped_to_our_code(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    result = await transcribe(kind, settings_for(kind, fake), speech[TEXT])
    assert fake.last.field("language") is None  # not sent: the vendor detects it
    assert result.language == "en"  # verbose_json said "english"
    assert result.language_probability > 0
    assert word_error_rate(TEXT, result.text) <= 0.35, result.text


async def test_forced_language_is_sent_and_reported(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    result = await transcribe(kind, settings_for(kind, fake), speech[TEXT], language="hi", prompt="Mithi")
    assert fake.last.field("language") == "hi" and fake.last.field("prompt") == "Mithi"
    assert result.language == "hi"


async def test_segments_have_timestamps(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    audio = speech[TWO_SENTENCES]
    result = await transcribe(kind, settings_for(kind, fake), audio, language="en")
    assert word_error_rate(TWO_SENTENCES, result.text) <= 0.2, result.text
    assert result.segments, "segments from verbose_json"
    duration = len(audio) / 16000
    previous_end = 0.0
    for i, seg in enumerate(result.segments):
        assert seg.id == i and seg.text
        assert previous_end - 0.01 <= seg.start < seg.end <= duration + 0.01
        previous_end = seg.end
    assert result.segments[-1].end > duration * 0.6
    assert word_error_rate(result.text, " ".join(s.text for s in result.segments)) == 0


def test_vendor_language_names_map_to_codes() -> None:
    assert language_code("english") == "en" and language_code("English") == "en"
    assert language_code("hindi") == "hi" and language_code("malayalam") == "ml"
    assert language_code("en") == "en" and language_code("en-US") == "en"
    assert language_code("french") == "fr" and language_code("castilian") == "es"
    assert language_code("") == "" and language_code(None, "en") == "en"


# --------------------------------------------------------------------------- keys


async def test_bad_key_is_a_clear_auth_error_not_retried(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.api_key = "sk-the-right-one"
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake), speech[TEXT])
    assert err.value.code == "provider_auth_failed" and err.value.status_code == 502
    assert err.value.upstream_status == 401 and err.value.failover
    assert "Incorrect API key provided" in err.value.message
    assert f"check {ENV_VAR[kind]} ({BLOCK[kind]}.api_key)" in err.value.message
    assert len(fake.transcription_requests()) == 1


async def test_missing_key_for_the_vendor_host_fails_at_startup_naming_the_variable(kind: str) -> None:
    provider = build_stt(kind, settings_for(kind, None, api_key=""))  # the official base_url
    with pytest.raises(ConfigError) as err:
        await provider.load()
    assert ENV_VAR[kind] in err.value.message and f"{BLOCK[kind]}.api_key" in err.value.message


async def test_a_local_server_needs_no_key(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.api_key = None
    result = await transcribe(kind, settings_for(kind, fake, api_key=""), speech[TEXT], language="en")
    assert word_error_rate(TEXT, result.text) <= 0.2
    assert fake.last.headers["authorization"] == "Bearer not-needed"


# --------------------------------------------------------------------------- resilience


async def test_rate_limit_is_retried_after_retry_after(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.fail(429, times=1, retry_after=0.3)
    start = time.perf_counter()
    result = await transcribe(kind, settings_for(kind, fake), speech[TEXT], language="en")
    assert word_error_rate(TEXT, result.text) <= 0.2
    requests = fake.transcription_requests()
    assert [r.status for r in requests] == [429, 200]
    assert requests[1].time - requests[0].time >= 0.28  # Retry-After honoured
    assert time.perf_counter() - start < 10


async def test_rate_limit_exhausted_is_503(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.fail(429, times=3, retry_after=0.01)
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake, max_retries=2), speech[TEXT])
    assert err.value.code == "provider_rate_limited" and err.value.status_code == 503
    assert "Rate limit reached" in err.value.message and err.value.retry_after == pytest.approx(0.01)
    assert len(fake.transcription_requests()) == 3


async def test_slow_vendor_times_out_in_bounded_time(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.slow(5)
    start = time.perf_counter()
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake, timeout_seconds=0.5, max_retries=0), speech[TEXT])
    elapsed = time.perf_counter() - start
    assert err.value.code == "provider_timeout" and err.value.status_code == 504
    assert elapsed < 2.5, elapsed


async def test_malformed_response_is_502(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.malformed()
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake), speech[TEXT], language="en")
    assert err.value.code == "provider_bad_response" and err.value.status_code == 502
    assert len(fake.transcription_requests()) == 1  # a malformed 2xx is not retried (it fails over)


async def test_dropped_connection_is_retried_then_reported(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    fake.drop(times=1)
    result = await transcribe(kind, settings_for(kind, fake), speech[TEXT], language="en")
    assert word_error_rate(TEXT, result.text) <= 0.2
    assert len(fake.transcription_requests()) == 2
    fake.reset(api_key=KEY)
    fake.drop(times=2)
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake, max_retries=1), speech[TEXT], language="en")
    assert err.value.code == "provider_bad_response" and err.value.status_code == 502
    assert "broke off" in err.value.message


async def test_request_fault_is_422_with_the_vendor_message_and_not_retried(
    kind: str, fake: FakeTranscriptionServer, speech: dict[str, np.ndarray]
) -> None:
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake), speech[TEXT], model="no-such-model")
    assert err.value.code == "provider_rejected_request" and err.value.status_code == 422
    assert "`no-such-model` does not exist" in err.value.message
    assert err.value.failover is False
    assert len(fake.transcription_requests()) == 1
    fake.reset(api_key=KEY)
    fake.fail(400, message="Audio file is too short. Minimum audio length is 0.1 seconds.")
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings_for(kind, fake), speech[TEXT])
    assert err.value.status_code == 422 and "Minimum audio length is 0.1 seconds" in err.value.message
    assert len(fake.transcription_requests()) == 1


async def test_unreachable_vendor_is_503(kind: str, speech: dict[str, np.ndarray]) -> None:
    from backend.core.net import free_port

    settings = settings_for(kind, None, base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(ProviderError) as err:
        await transcribe(kind, settings, speech[TEXT])
    assert err.value.code == "provider_unreachable" and err.value.status_code == 503

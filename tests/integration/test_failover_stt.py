"""STT failover end to end: `stt.provider: whisper_api` (against the local OpenAI transcriptions fake) with
`stt.fallback: [whisper_local]` (faster-whisper on this machine), through /api/stt/transcribe, /voice and
/health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.media.audio import decode_audio, pcm16_to_wav
from backend.realtime.client import VoiceClient
from tests.conftest import LiveServer
from tests.fakes.openai_transcriptions import FakeTranscriptionServer
from tests.helpers.cloud import close_circuits, failover_server, health
from tests.helpers.speech import word_error_rate

KEY = "sk-test-key"
QUESTION = "What is the capital city of France?"


@pytest.fixture(scope="module")
def asr() -> Iterator[FakeTranscriptionServer]:
    with FakeTranscriptionServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def live(asr: FakeTranscriptionServer, assembled_models: Path) -> Iterator[LiveServer]:
    overrides = {
        "stt": {"provider": "whisper_api", "fallback": ["whisper_local"], "language": "en"},
        "openai": {"api_key": KEY, "base_url": asr.openai_base_url, "max_retries": 0, "timeout_seconds": 5},
    }
    with failover_server(overrides, assembled_models, cooldown=60) as server:
        yield server


@pytest.fixture
def fake(asr: FakeTranscriptionServer, live: LiveServer) -> FakeTranscriptionServer:
    asr.reset(api_key=KEY)
    close_circuits(live.app.state.stt.chain)
    return asr


@pytest.fixture(scope="module")
def wav(live: LiveServer) -> bytes:
    resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": QUESTION}, timeout=60)
    assert resp.status_code == 200
    return resp.content


def transcribe(live: LiveServer, wav: bytes) -> httpx.Response:
    return httpx.post(f"{live.url}/api/stt/transcribe", files={"file": ("q.wav", wav)}, timeout=120)


def stt_circuit(live: LiveServer) -> dict[str, Any]:
    return dict(health(live)["providers"]["stt"]["whisper_api"]["circuit"])


def test_healthy_cloud_stt_names_itself(live: LiveServer, fake: FakeTranscriptionServer, wav: bytes) -> None:
    resp = transcribe(live, wav)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["provider"] == "whisper_api" and body["failover"] == []
    assert word_error_rate(QUESTION, body["text"]) <= 0.2
    assert len(fake.requests) == 1


@pytest.mark.parametrize("fault", ["500", "429", "drop"])
def test_cloud_stt_failure_is_transcribed_locally(
    live: LiveServer, fake: FakeTranscriptionServer, wav: bytes, fault: str
) -> None:
    if fault == "drop":
        fake.drop()
    else:
        fake.fail(int(fault), retry_after=0.01 if fault == "429" else None)
    resp = transcribe(live, wav)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["provider"] == "whisper_local" and word_error_rate(QUESTION, body["text"]) <= 0.2
    [event] = body["failover"]
    assert (event["service"], event["from"], event["to"]) == ("stt", "whisper_api", "whisper_local")
    assert event["reason"].startswith("provider_")


def test_bad_request_is_not_failed_over(live: LiveServer, fake: FakeTranscriptionServer, wav: bytes) -> None:
    fake.fail(400, message="Invalid file format.")
    resp = transcribe(live, wav)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "provider_rejected_request"
    assert stt_circuit(live)["consecutive_failures"] == 0


def test_open_circuit_sends_the_vendor_nothing(
    live: LiveServer, fake: FakeTranscriptionServer, wav: bytes
) -> None:
    fake.fail(503, times=2)
    for _ in range(2):
        assert transcribe(live, wav).json()["provider"] == "whisper_local"
    circuit = stt_circuit(live)
    assert circuit["state"] == "open" and circuit["times_opened"] >= 1
    body = transcribe(live, wav).json()
    assert body["provider"] == "whisper_local" and body["failover"][0]["reason"] == "circuit_open"
    assert len(fake.requests) == 2
    health = httpx.get(f"{live.url}/health", timeout=10).json()
    assert health["status"] == "degraded" and health["degraded"] == ["stt"]
    assert health["providers"]["stt"]["whisper_local"]["role"] == "fallback"


async def test_voice_turn_transcript_says_which_engine_heard_it(
    live: LiveServer, fake: FakeTranscriptionServer, wav: bytes
) -> None:
    fake.fail(502)
    pcm = (decode_audio(wav, sample_rate=16000) * 32767).astype("<i2").tobytes()
    url = live.url.replace("http://", "ws://") + "/voice"
    async with VoiceClient.connect(url) as client:
        await client.send_bytes(pcm16_to_wav(pcm, 16000))
        done = await client.wait_for("response.done", timeout=120)
    final = client.received.of("transcript.final")[0]
    assert final["provider"] == "whisper_local" and word_error_rate(QUESTION, final["text"]) <= 0.2
    [event] = [e for e in client.received.of("provider.failover") if e["service"] == "stt"]
    assert (event["from"], event["to"], event["turn_id"]) == ("whisper_api", "whisper_local", done["turn_id"])
    assert done["providers"]["stt"] == "whisper_local" and done["providers"]["llm"] == "llama_cpp"

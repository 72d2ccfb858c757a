"""Config-only swap: the same REST calls and the same spoken /voice turn, served by whisper_local and by
the cloud STT providers (whisper_api, deepgram) with only config.yml's ``stt.provider`` line changed (keys
and base URLs come from the environment, as config.yml reads them: ``${OPENAI_API_KEY}`` ...).

The cloud vendors are local fakes that transcribe with faster-whisper; the app is the real one (Piper,
Gemma, embedded Redis). With ``deepgram``, /voice partial transcripts come from Deepgram's live WebSocket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.core.config import load_config
from backend.realtime.client import VoiceClient
from tests.conftest import LiveServer, write_config
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai_transcriptions import FakeTranscriptionServer
from tests.helpers.rest import speak, transcribe
from tests.helpers.speech import word_error_rate
from tests.helpers.voice import SILENCE_1S, speech_pcm, ws_url

KEY = "sk-swap-test"
DG_KEY = "dg-swap-test"
TEXT = "Please book a table for two people at seven tonight."
QUESTION = "Could you please tell me the name of the capital city of France?"
CLOUD = ("whisper_api", "deepgram")
STT_LINE = "  provider: ${MITHI_STT_PROVIDER:-whisper_local}"


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    with FakeTranscriptionServer(api_key=KEY) as openai, FakeDeepgram(api_key=DG_KEY) as deepgram:
        openai.asr.warm()
        yield {"whisper_api": openai, "deepgram": deepgram}


@pytest.fixture(scope="module")
def servers(
    fakes: dict[str, Any], assembled_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LiveServer]]:
    """One app per cloud provider, each from config.yml with the stt.provider line changed."""
    started: dict[str, LiveServer] = {}
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": fakes["whisper_api"].openai_base_url,
        "DEEPGRAM_API_KEY": DG_KEY,
        "DEEPGRAM_BASE_URL": fakes["deepgram"].url,
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.delenv("MITHI_STT_PROVIDER", raising=False)
        try:
            for provider in CLOUD:
                folder = tmp_path_factory.mktemp(f"swap-{provider}")
                config = write_config(
                    folder / "config.yml", assembled_models, {STT_LINE: f"  provider: {provider}"}
                )
                started[provider] = LiveServer(load_config(config)).__enter__()
            yield started
        finally:
            for live in started.values():
                live.__exit__(None, None, None)


def url_for(provider: str, servers: dict[str, LiveServer], base_url: str) -> str:
    return base_url if provider == "whisper_local" else servers[provider].url


@pytest.fixture(scope="module")
def wav(base_url: str) -> bytes:
    return speak(base_url, TEXT)


@pytest.mark.parametrize("provider", ["whisper_local", *CLOUD])
def test_same_rest_calls(
    provider: str, servers: dict[str, LiveServer], fakes: dict[str, Any], base_url: str, wav: bytes
) -> None:
    url = url_for(provider, servers, base_url)
    fake = fakes.get(provider)
    if fake is not None:
        fake.reset(api_key=KEY if provider == "whisper_api" else DG_KEY)
    health = httpx.get(f"{url}/health", timeout=10).json()
    assert health["providers"]["stt"][provider]["role"] == "primary"

    resp = transcribe(url, wav, "speech.wav", language="en")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"text", "language", "language_probability", "duration", "segments", "model"} <= set(body)
    assert body.get("provider", provider) == provider  # the failover chain names who served it
    assert word_error_rate(TEXT, body["text"]) <= 0.2, body["text"]
    assert body["language"] == "en" and body["segments"] and body["segments"][0]["end"] > 1.0

    files = {"file": ("speech.wav", wav, "audio/wav")}
    resp = httpx.post(
        f"{url}/v1/audio/transcriptions",
        files=files,
        data={"model": "whisper-1", "response_format": "verbose_json"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    verbose = resp.json()
    assert verbose["language"] == "english" and verbose["segments"] and verbose["duration"] > 2
    assert word_error_rate(TEXT, verbose["text"]) <= 0.35, verbose["text"]
    resp = httpx.post(f"{url}/v1/audio/transcriptions", files=files, data={"model": "whisper-1"}, timeout=60)
    assert resp.status_code == 200 and word_error_rate(TEXT, resp.json()["text"]) <= 0.35
    if fake is not None:  # the cloud vendor really served them
        served = fake.transcription_requests() if provider == "whisper_api" else fake.http_requests()
        assert len(served) == 3 and all(r.status == 200 for r in served)


@pytest.mark.parametrize("provider", CLOUD)
def test_vendor_failures_are_clear_json_errors_never_500(
    provider: str, servers: dict[str, LiveServer], fakes: dict[str, Any], wav: bytes
) -> None:
    url, fake = servers[provider].url, fakes[provider]
    fake.reset(api_key=KEY if provider == "whisper_api" else DG_KEY)
    fake.fail(400, message="The audio could not be processed: unsupported sample layout.")
    resp = transcribe(url, wav, "speech.wav")
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "provider_rejected_request"
    assert "The audio could not be processed: unsupported sample layout." in error["message"]
    fake.fail(429, times=3, retry_after=0.01)
    resp = transcribe(url, wav, "speech.wav")
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "provider_rate_limited"
    fake.api_key = "another-key"
    resp = transcribe(url, wav, "speech.wav")
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "provider_auth_failed"
    bad = transcribe(url, b"this is not audio", "x.wav")  # our own check, before any vendor call
    assert bad.status_code == 415, bad.text


@pytest.mark.parametrize("provider", ["whisper_local", *CLOUD])
async def test_same_voice_turn(
    provider: str, servers: dict[str, LiveServer], fakes: dict[str, Any], base_url: str
) -> None:
    url = url_for(provider, servers, base_url)
    fake = fakes.get(provider)
    if fake is not None:
        fake.reset(api_key=KEY if provider == "whisper_api" else DG_KEY)
    pcm = speech_pcm(base_url, QUESTION)
    async with VoiceClient.connect(ws_url(url)) as client:
        await client.stream_pcm(SILENCE_1S + pcm, trailing_silence_s=1.5)
        done = await client.wait_for("response.done", timeout=90)
    got = client.received
    final = got.of("transcript.final")[0]
    assert word_error_rate(QUESTION, final["text"]) <= 0.25, final
    assert final["language"] == "en" and done["transcript"] == final["text"] and done["text"]
    assert got.audio_bytes(), "a spoken answer"
    partials = [e["text"] for e in got.of("transcript.partial")]
    if provider != "whisper_api":  # whisper_api's partials are best effort: one upload per 800 ms of speech
        assert partials, "partial transcripts while the user speaks"
    if provider == "deepgram":  # partials came from the live WebSocket, while the user was speaking
        sessions = fake.live_sessions()
        assert sessions and sessions[0].headers["authorization"] == f"Token {DG_KEY}"
        streamed = {
            m["channel"]["alternatives"][0]["transcript"] for s in sessions for m in s.sent if "channel" in m
        }
        assert any(p in streamed for p in partials), (partials, streamed)
        stopped = got.first_time("speech.stopped")
        first_partial = got.first_time("transcript.partial")
        assert first_partial is not None and stopped is not None and first_partial < stopped
        assert fake.http_requests(), "the final transcript is the pre-recorded API's"


async def test_a_live_stream_that_drops_does_not_break_the_voice_turn(
    servers: dict[str, LiveServer], fakes: dict[str, Any], base_url: str
) -> None:
    fake = fakes["deepgram"]
    fake.reset(api_key=DG_KEY)
    fake.drop()  # the first request is the live socket (opened at speech start): closed with 1011
    pcm = speech_pcm(base_url, QUESTION)
    async with VoiceClient.connect(ws_url(servers["deepgram"].url)) as client:
        await client.stream_pcm(SILENCE_1S + pcm, trailing_silence_s=1.5)
        done = await client.wait_for("response.done", timeout=90)
    sessions = fake.live_sessions()
    assert sessions and sessions[0].closed_by == "drop"
    assert word_error_rate(QUESTION, done["transcript"]) <= 0.25, done
    assert done["text"] and client.received.audio_bytes()
    assert not client.received.of("error"), client.received.of("error")

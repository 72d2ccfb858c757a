"""Cloud TTS behind the same API: `tts.provider` is the only config.yml line that changes (keys and base
URLs come from the environment, pointing at local fakes of the vendors); the REST calls and a /voice turn
are then spoken by the cloud provider, and our own Whisper hears the same words as with Piper."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.core.config import load_config
from backend.media.audio import pcm16_to_wav
from backend.realtime.client import VoiceClient
from tests.conftest import LiveServer, make_settings, write_config
from tests.fakes.tts_vendor import FakeTTSVendor
from tests.helpers.cloud import EL_KEY, OA_KEY, tts_vendor_fakes
from tests.helpers.rest import transcribe
from tests.helpers.speech import word_error_rate

RACHEL = "21m00Tcm4TlvDq8ikWAM"
TEXT = "Good morning. The train leaves at ten."
VENDOR_RATE = {"elevenlabs": 22050, "openai": 24000, "coqui": 22050}
DEFAULT_VOICE = {
    "piper": "en_US-joe-medium",
    "elevenlabs": RACHEL,
    "openai": "alloy",
    "coqui": "coqui-default",
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeTTSVendor]]:
    with tts_vendor_fakes() as servers:
        yield servers


@pytest.fixture
def vendor_env(monkeypatch: pytest.MonkeyPatch, fakes: dict[str, FakeTTSVendor]) -> dict[str, FakeTTSVendor]:
    """What a deployment sets in its environment; config.yml reads keys and base URLs from it."""
    monkeypatch.setenv("ELEVENLABS_API_KEY", EL_KEY)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", fakes["elevenlabs"].url)
    monkeypatch.setenv("OPENAI_API_KEY", OA_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fakes['openai'].url}/v1")
    monkeypatch.setenv("COQUI_BASE_URL", fakes["coqui"].url)
    for fake in fakes.values():
        fake.reset()
    return fakes


def heard(base_url: str, audio: bytes) -> str:
    return str(transcribe(base_url, audio, "speech.wav").json()["text"])


@pytest.mark.parametrize("provider", ["piper", "elevenlabs", "openai", "coqui"])
async def test_same_calls_spoken_by_the_configured_provider(
    tmp_path: Path, assembled_models: Path, vendor_env: dict[str, FakeTTSVendor], provider: str
) -> None:
    config = write_config(
        tmp_path / "config.yml",
        assembled_models,
        {
            "  provider: ${MITHI_TTS_PROVIDER:-piper}": f"  provider: {provider}",
            "  preload: [base]": "  preload: []",
        },
    )
    fake = vendor_env.get(provider)
    with LiveServer(load_config(config)) as live:
        tts_health = httpx.get(f"{live.url}/health").json()["providers"]["tts"]
        assert tts_health[provider]["role"] == "primary"

        # our REST API
        resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": TEXT}, timeout=60)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-tts-provider"] == provider
        assert resp.headers["x-voice-id"] == DEFAULT_VOICE[provider]
        assert word_error_rate(TEXT, heard(live.url, resp.content)) <= 0.5
        if fake is not None:
            assert [r.body if provider != "coqui" else r.query for r in fake.audio_requests()]
            sent = " ".join(
                (r.query["text"] if provider == "coqui" else r.body.get("text") or r.body.get("input"))
                for r in fake.audio_requests()
            )
            assert sent == TEXT  # the cloud vendor really was asked to speak it
        if provider == "elevenlabs":  # spoken sentence by sentence, each with the text around it
            first, second = (r.body for r in fake.audio_requests())
            assert first.get("next_text") == "The train leaves at ten." and "previous_text" not in first
            assert second.get("previous_text") == "Good morning." and "next_text" not in second

        # the OpenAI-compatible API, as the openai SDK calls it
        resp = httpx.post(
            f"{live.url}/v1/audio/speech",
            json={"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "wav"},
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-tts-provider"] == provider
        assert word_error_rate(TEXT, heard(live.url, resp.content)) <= 0.5

        # a typed /voice turn: the agent's reply is spoken by the same provider
        if fake is not None:
            fake.reset()
        url = live.url.replace("http://", "ws://") + "/voice"
        async with VoiceClient.connect(url, session_id=f"swap-{uuid.uuid4().hex[:8]}") as client:
            out_rate = client.session["output_sample_rate"]
            await client.send_json(type="text.input", text="Hello! Who are you?")
            done = await client.wait_for("response.done", timeout=90)
        audio = client.received.audio_bytes()
        assert done["text"] and len(audio) / 2 / out_rate > 0.3
        if fake is not None:
            assert fake.audio_requests(), "the reply was not spoken by the cloud provider"
            spoken = " ".join(
                (r.query["text"] if provider == "coqui" else r.body.get("text") or r.body.get("input"))
                for r in fake.audio_requests()
            )
            assert word_error_rate(done["text"], spoken) <= 0.2, (done["text"], spoken)
            if provider == "elevenlabs":  # each sentence carries the reply so far as previous_text
                bodies = [r.body for r in fake.audio_requests()]
                assert "previous_text" not in bodies[0]
                for before, body in zip(bodies, bodies[1:], strict=False):
                    assert body["previous_text"].endswith(before["text"]), (before, body)
            # what the client heard is the vendor's audio (resampled to the session's rate), all of it
            wav_headers = 44 if provider == "coqui" else 0
            vendor_seconds = sum(
                (r.bytes_sent - wav_headers) / 2 / VENDOR_RATE[provider] for r in fake.audio_requests()
            )
            assert abs(len(audio) / 2 / out_rate - vendor_seconds) < 0.1 * vendor_seconds + 0.05
        assert heard(live.url, pcm16_to_wav(audio, out_rate)).strip()  # speech, not noise or silence


@pytest.fixture(scope="module")
def elevenlabs_only(fakes: dict[str, FakeTTSVendor], assembled_models: Path) -> Iterator[LiveServer]:
    """ElevenLabs as the only engine (no eSpeak fallback), so its errors reach the client as they are."""
    settings = make_settings(
        {
            "tts": {"provider": "elevenlabs", "language_fallback": "", "fallback": []},
            "languages": ["en", "hi", "ta"],
            "elevenlabs": {
                "api_key": EL_KEY,
                "base_url": fakes["elevenlabs"].url,
                "timeout_seconds": 0.5,
                "max_retries": 1,
            },
            "whisper_local": {"preload": []},
        },
        models=assembled_models,
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture
def el(fakes: dict[str, FakeTTSVendor]) -> FakeTTSVendor:
    fakes["elevenlabs"].reset()
    return fakes["elevenlabs"]


def generate(live: LiveServer, **body: object) -> httpx.Response:
    return httpx.post(f"{live.url}/api/tts/generate", json={"text": TEXT, **body}, timeout=60)


def error_of(resp: httpx.Response) -> dict[str, str]:
    return resp.json()["error"]


def test_cloud_voices_are_listed_and_selectable(elevenlabs_only: LiveServer, el: FakeTTSVendor) -> None:
    live = elevenlabs_only
    voices = {v["id"]: v for v in httpx.get(f"{live.url}/api/voices").json()}
    rachel = voices[RACHEL]
    assert rachel["engine"] == "elevenlabs" and rachel["name"] == "Rachel" and rachel["gender"] == "female"
    assert rachel["available"] and rachel["installed"] and rachel["language"] == "en"
    assert (
        voices[f"{RACHEL}@hi"]["language"] == "hi" and voices["pNInz6obpgDQGcFmaJgB@ta"]["language"] == "ta"
    )
    hindi = httpx.get(f"{live.url}/api/voices", params={"language": "hi", "installed": "true"}).json()
    cloud = [v["id"] for v in hindi if v["engine"] == "elevenlabs"]
    assert cloud == [f"{RACHEL}@hi", "pNInz6obpgDQGcFmaJgB@hi"]  # the default voice first
    langs = {x["code"]: x for x in httpx.get(f"{live.url}/api/languages").json()}
    assert langs["hi"]["default_voice"] == f"{RACHEL}@hi"
    assert langs["hi"]["tts_kind"] == "cloud" and langs["hi"]["stt_kind"] == "local"
    assert langs["ml"]["tts_kind"] == "none"  # not in this server's languages

    # a language without a voice id: the default voice in that language; with a vendor id: that voice
    resp = generate(live, text="नमस्ते, आप कैसे हैं?", language="hi")
    assert resp.status_code == 200 and resp.headers["x-voice-id"] == f"{RACHEL}@hi"
    resp = generate(live, text="नमस्ते", language="hi", voice_id="pNInz6obpgDQGcFmaJgB")
    assert resp.status_code == 200 and resp.headers["x-voice-id"] == "pNInz6obpgDQGcFmaJgB@hi"
    reqs = el.audio_requests()
    assert reqs[-1].path == "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB/stream"
    assert reqs[-1].body["language_code"] == "hi"
    # a voice of a language the model does not speak, and an unknown voice: clear 422s
    resp = generate(live, text="hello", language="ml")
    assert resp.status_code == 422 and error_of(resp)["code"] == "unsupported_language"
    resp = generate(live, voice_id="nobody")
    assert resp.status_code == 422 and error_of(resp)["code"] == "unknown_voice"
    assert RACHEL in error_of(resp)["message"]


def test_streamed_rest_response_starts_with_the_vendors_first_chunk(
    elevenlabs_only: LiveServer, el: FakeTTSVendor
) -> None:
    """POST /api/tts/generate with stream: the first audio bytes leave our server as soon as the vendor's
    first chunk arrives, not when its whole body has."""
    live = elevenlabs_only
    el.chunk_bytes = 2000
    el.first_chunk_pause = 0.4  # each pause under the server's 0.5 s read timeout
    el.chunk_interval = 0.05
    start = time.perf_counter()
    with httpx.stream(
        "POST",
        f"{live.url}/api/tts/generate",
        json={"text": TEXT, "stream": True, "format": "pcm"},
        timeout=60,
    ) as resp:
        assert resp.status_code == 200 and resp.headers["x-tts-provider"] == "elevenlabs"
        parts = [(time.perf_counter() - start, part) for part in resp.iter_bytes() if part]
    first_at, total_at = parts[0][0], parts[-1][0]
    assert total_at >= 1.0 and first_at < total_at / 3, (first_at, total_at)
    assert sum(len(p) for _, p in parts) == el.audio_requests()[-1].bytes_sent


def test_vendor_failures_become_clear_http_errors(elevenlabs_only: LiveServer, el: FakeTTSVendor) -> None:
    live = elevenlabs_only
    cases = [
        (lambda: el.fail(429, times=2, retry_after=0.01), 503, "provider_rate_limited", "rate limited", 2),
        (lambda: el.fail(401, times=1), 502, "provider_auth_failed", "API key was rejected", 1),
        (lambda: el.slow(2.0, times=2), 504, "provider_timeout", "no answer", 2),
        (lambda: el.malformed("json"), 502, "provider_bad_response", "expected audio", 1),
        (
            lambda: el.fail(400, message="Text contains bad words"),
            422,
            "provider_rejected_request",
            "bad words",
            1,
        ),
    ]
    for script, status, code, words, requests in cases:
        el.reset()
        script()
        resp = generate(live)
        assert resp.status_code == status, (code, resp.text)
        assert error_of(resp)["code"] == code and words in error_of(resp)["message"], resp.text
        assert "elevenlabs" in error_of(resp)["message"]
        assert len(el.audio_requests()) == requests, code
    el.reset()
    el.fail(503, times=1)  # one hiccup is retried and nobody notices
    assert generate(live).status_code == 200 and len(el.audio_requests()) == 2


def test_missing_key_fails_startup_naming_the_variable(
    tmp_path: Path, assembled_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    monkeypatch.delenv("ELEVENLABS_BASE_URL", raising=False)
    config = write_config(
        tmp_path / "config.yml",
        assembled_models,
        {"  provider: ${MITHI_TTS_PROVIDER:-piper}": "  provider: elevenlabs"},
    )
    with pytest.raises(RuntimeError, match="elevenlabs.api_key is empty: set ELEVENLABS_API_KEY"):
        with LiveServer(load_config(config)):
            pass

"""TTS failover end to end: the ElevenLabs provider against its local fake (tests/fakes/elevenlabs.py),
Piper as `tts.fallback`, the real app on a loopback port, the agent's LLM scripted through the
chat-completions fake so the reply (three sentences) is known.

The issue's test: the cloud TTS dies in the middle of a /voice conversation; the next sentence is
spoken by Piper, the conversation goes on, and nothing is lost: every sentence's audio arrives (checked by
transcribing it back with the local Whisper) and the events say which engine spoke each sentence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.media.audio import decode_audio, pcm16_to_wav
from backend.realtime.client import Received, VoiceClient
from tests.conftest import LiveServer
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.openai_chat import FakeChatServer
from tests.fakes.tts_vendor import Fault
from tests.helpers.cloud import close_circuits, failover_server, health
from tests.helpers.speech import word_error_rate

XI_KEY = "xi-test-key"
LLM_KEY = "sk-test-key"
COOLDOWN = 12.0  # long enough for a whole turn (and a transcription) while the circuit is open, under load
REPLY = (
    "The museum opens at nine in the morning. Tickets cost ten dollars for adults. "
    "Children under five years old enter for free."
)
SENTENCES = [
    "The museum opens at nine in the morning.",
    "Tickets cost ten dollars for adults.",
    "Children under five years old enter for free.",
]


@pytest.fixture(scope="module")
def eleven() -> Iterator[FakeElevenLabs]:
    with FakeElevenLabs(api_key=XI_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def chat() -> Iterator[FakeChatServer]:
    with FakeChatServer(api_key=LLM_KEY, default_text=REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def live(eleven: FakeElevenLabs, chat: FakeChatServer, assembled_models: Path) -> Iterator[LiveServer]:
    overrides = {
        # these tests watch which engine speaks each piece: no phrase cache answering for them
        "tts": {"provider": "elevenlabs", "fallback": ["piper"], "voice_id": None, "phrase_cache_entries": 0},
        "elevenlabs": {"api_key": XI_KEY, "base_url": eleven.url, "max_retries": 0, "timeout_seconds": 5},
        "llm": {"provider": "openai"},
        "openai": {"api_key": LLM_KEY, "base_url": chat.openai_base_url, "max_retries": 0},
    }
    with failover_server(overrides, assembled_models, COOLDOWN) as server:
        yield server


@pytest.fixture
def fakes(eleven: FakeElevenLabs, chat: FakeChatServer, live: LiveServer) -> FakeElevenLabs:
    """Healthy vendors and closed circuits at the start of each test."""
    eleven.reset()
    chat.reset(api_key=LLM_KEY)
    close_circuits(live.app.state.tts.chain)
    return eleven


def ws_url(live: LiveServer) -> str:
    return live.url.replace("http://", "ws://") + "/voice"


def transcribe(live: LiveServer, pcm: bytes, rate: int) -> str:
    wav = pcm16_to_wav(pcm, rate)
    resp = httpx.post(f"{live.url}/api/stt/transcribe", files={"file": ("a.wav", wav)}, timeout=120)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["text"])


def sentence_audio(got: Received, turn_id: str) -> list[tuple[dict[str, Any], bytes]]:
    """Each `response.sentence` event of the turn with the audio frames that arrived before it."""
    out: list[tuple[dict[str, Any], bytes]] = []
    since = 0.0
    for t, event in got.events:
        if event.get("type") == "response.sentence" and event.get("turn_id") == turn_id:
            audio = b"".join(chunk for at, chunk in got.audio if since <= at <= t)
            out.append((event, audio))
            since = t
    return out


async def ask(client: VoiceClient, text: str, count: int) -> dict[str, Any]:
    await client.send_json(type="text.input", text=text)
    return await client.wait_for("response.done", count=count, timeout=120)


# --------------------------------------------------------------------------- /voice


async def test_cloud_tts_dies_mid_conversation_piper_takes_over_and_nothing_is_lost(
    live: LiveServer, fakes: FakeElevenLabs
) -> None:
    eleven = fakes
    rate = 22050
    async with VoiceClient.connect(ws_url(live)) as client:
        assert client.session["output_sample_rate"] == rate
        # turn 1: ElevenLabs speaks the first two pieces, then dies (503 from then on)
        eleven.enqueue(Fault(), times=2)
        eleven.fail(503, times=1000, message="The service is temporarily unavailable")
        done = await ask(client, "When does the museum open and what does it cost?", 1)
        got = client.received
        pieces = sentence_audio(got, done["turn_id"])
        spoken = " ".join(e["text"] for e, _ in pieces)
        assert word_error_rate(REPLY, spoken) == 0, "every sentence was spoken, none skipped"
        assert done["text"] == REPLY
        providers = [e["provider"] for e, _ in pieces]
        assert providers[:2] == ["elevenlabs", "elevenlabs"], providers
        assert providers[2:] and set(providers[2:]) == {"piper"}, providers
        assert done["providers"]["tts"] == ["elevenlabs", "piper"] and done["providers"]["llm"] == "openai"
        failovers = [e for e in got.of("provider.failover") if e["turn_id"] == done["turn_id"]]
        assert failovers[0]["service"] == "tts" and failovers[0]["from"] == "elevenlabs"
        assert failovers[0]["to"] == "piper" and failovers[0]["reason"] == "provider_error"
        assert "503" in failovers[0]["message"]
        # the failover event comes before the first audio Piper spoke
        order = [(e["type"], e.get("provider")) for _, e in got.events]
        assert order.index(("provider.failover", None)) < order.index(("response.sentence", "piper"))
        for event, audio in pieces:  # every piece has its audio, in the order it was said
            assert len(audio) / 2 / rate >= 0.4, (event, len(audio))
        heard = transcribe(live, b"".join(a for _, a in pieces), rate)
        assert word_error_rate(REPLY, heard) <= 0.35, heard

        # turn 2: the conversation goes on; the open circuit sends ElevenLabs nothing
        before = len(eleven.audio_requests())
        done2 = await ask(client, "And on Sundays?", 2)
        pieces2 = sentence_audio(client.received, done2["turn_id"])
        assert {e["provider"] for e, _ in pieces2} == {"piper"}
        assert " ".join(e["text"] for e, _ in pieces2) == REPLY
        assert len(eleven.audio_requests()) == before, "an open circuit is skipped"
        skipped = [e for e in client.received.of("provider.failover") if e["turn_id"] == done2["turn_id"]]
        assert [(e["from"], e["to"], e["reason"]) for e in skipped] == [
            ("elevenlabs", "piper", "circuit_open")
        ]
        state = health(live)
        assert state["status"] == "degraded" and state["degraded"] == ["tts"]
        circuit = state["providers"]["tts"]["elevenlabs"]["circuit"]
        assert circuit["state"] == "open" and circuit["consecutive_failures"] >= 2
        assert "503" in circuit["last_error"] and 0 < circuit["retry_in_s"] <= COOLDOWN
        assert state["providers"]["tts"]["piper"]["role"] == "fallback"
        assert state["providers"]["tts"]["piper"]["circuit"]["state"] == "closed"
        # the same over REST: every piece skips the open circuit, the header says so once
        resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": REPLY}, timeout=60)
        assert resp.status_code == 200 and resp.headers["x-tts-provider"] == "piper"
        assert resp.headers["x-failover"] == "elevenlabs -> piper (circuit_open)"
        assert len(eleven.audio_requests()) == before

        # the vendor recovers; after the cool-down the next request re-probes it and it speaks again
        eleven.reset()
        await asyncio.sleep(circuit["retry_in_s"] + 0.2)
        assert health(live)["providers"]["tts"]["elevenlabs"]["circuit"]["state"] == "half_open"
        done3 = await ask(client, "Thank you!", 3)
        pieces3 = sentence_audio(client.received, done3["turn_id"])
        assert {e["provider"] for e, _ in pieces3} == {"elevenlabs"}
    state = health(live)
    assert state["status"] == "ok"
    assert state["providers"]["tts"]["elevenlabs"]["circuit"]["state"] == "closed"


async def test_voice_piece_broken_off_midway_is_spoken_again_whole(
    live: LiveServer, fakes: FakeElevenLabs
) -> None:
    fakes.chunk_bytes = 2000
    fakes.drop_after(9000)  # the first piece: four whole chunks of audio, then the connection breaks
    async with VoiceClient.connect(ws_url(live)) as client:
        done = await ask(client, "When does the museum open?", 1)
    got = client.received
    pieces = sentence_audio(got, done["turn_id"])
    assert " ".join(e["text"] for e, _ in pieces) == REPLY
    assert pieces[0][0]["provider"] == "piper", "the broken piece is re-spoken by the fallback"
    assert {e["provider"] for e, _ in pieces[1:]} == {"elevenlabs"}, "one failure does not open the circuit"
    [event] = [e for e in got.of("provider.failover") if e["turn_id"] == done["turn_id"]]
    assert (event["from"], event["to"], event["reason"]) == ("elevenlabs", "piper", "provider_bad_response")
    piper_alone = httpx.post(
        f"{live.url}/api/tts/generate",
        json={"text": pieces[0][0]["text"], "voice_id": "en_US-joe-medium", "format": "pcm"},
        timeout=60,
    ).content
    assert len(pieces[0][1]) >= len(piper_alone) + 6000, "the broken-off start, then the whole piece"


# --------------------------------------------------------------------------- REST


def test_rest_tts_mid_piece_drop_is_respoken_whole_by_piper(live: LiveServer, fakes: FakeElevenLabs) -> None:
    eleven = fakes
    eleven.enqueue(Fault())  # sentence 1: fine
    eleven.drop_after(6000)  # sentence 2: cut off mid-stream
    resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": REPLY}, timeout=120)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-tts-provider"] == "elevenlabs, piper"
    assert resp.headers["x-failover"].startswith("elevenlabs -> piper (provider_bad_response)")
    audio = decode_audio(resp.content, sample_rate=16000)
    heard = transcribe(live, (audio * 32767).astype("<i2").tobytes(), 16000)
    # no piece lost (a word of each sentence is heard) and no broken-off half-piece (repeated words would
    # push the error rate up); the fake speaks with eSpeak, which tiny.en mishears now and then ("$10")
    for word in ("museum", "adults", "free"):
        assert word in heard.lower(), heard
    assert word_error_rate(REPLY, heard) <= 0.5, heard
    # sentence 3 went back to ElevenLabs: one failure does not open the circuit (threshold 2)
    assert len(eleven.audio_requests()) == 3


def test_rest_tts_streamed_headers_name_the_engine_of_the_first_piece(
    live: LiveServer, fakes: FakeElevenLabs
) -> None:
    fakes.fail(500, times=1)
    with httpx.stream(
        "POST",
        f"{live.url}/api/tts/generate",
        json={"text": REPLY, "stream": True, "format": "pcm"},
        timeout=60,
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["x-tts-provider"] == "piper"
        assert resp.headers["x-voice-id"] == "en_US-joe-medium"
        assert resp.headers["x-failover"] == "elevenlabs -> piper (provider_error)"
        body = b"".join(resp.iter_bytes())
    assert len(body) / 2 / 22050 > 3


def test_rest_tts_healthy_cloud_says_so(live: LiveServer, fakes: FakeElevenLabs) -> None:
    resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": "Hello there."}, timeout=60)
    assert resp.status_code == 200
    assert resp.headers["x-tts-provider"] == "elevenlabs" and "x-failover" not in resp.headers


def test_request_fault_is_not_failed_over(live: LiveServer, fakes: FakeElevenLabs) -> None:
    """A 400 from the vendor (the request's own fault) is a clear 4xx, not Piper's audio."""
    fakes.fail(400, message="text is too long for this model")
    resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": "Hello there."}, timeout=60)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "provider_rejected_request" and "text is too long" in error["message"]
    assert health(live)["providers"]["tts"]["elevenlabs"]["circuit"]["consecutive_failures"] == 0


async def test_chain_delivers_the_callers_rate_whoever_speaks(
    live: LiveServer, fakes: FakeElevenLabs
) -> None:
    """One resampling per path: asked for 24 kHz (the Realtime API's and OpenAI pcm's rate), the chain
    converts each engine's audio straight to it (ElevenLabs' first piece and Piper's after the failover
    alike) instead of to the voice's rate first and again at the door."""
    fakes.enqueue(Fault())  # piece 1 from ElevenLabs, then it fails
    fakes.fail(503, times=1000)
    tts = live.app.state.tts
    resolved = tts.resolve(None, "en", 1.0)

    async def speak() -> list[Any]:
        return [c async for c in tts.stream(REPLY, resolved, sample_rate=24000)]

    chunks = live.call(speak())
    assert {c.provider for c in chunks} == {"elevenlabs", "piper"}
    assert {c.sample_rate for c in chunks} == {24000}
    pcm = b"".join(c.pcm for c in chunks)
    heard = transcribe(live, pcm, 24000)
    for word in ("museum", "adults", "free"):
        assert word in heard.lower(), heard
    # the OpenAI-compatible pcm answer is produced the same way: 24 kHz from the chain, no re-encode step
    resp = httpx.post(
        f"{live.url}/v1/audio/speech",
        json={"model": "tts-1", "input": SENTENCES[1], "voice": "alloy", "response_format": "pcm"},
        timeout=60,
    )
    assert resp.status_code == 200 and resp.headers["x-sample-rate"] == "24000"
    assert resp.headers["x-tts-provider"] == "piper"
    assert 1.0 < len(resp.content) / 2 / 24000 < 6.0

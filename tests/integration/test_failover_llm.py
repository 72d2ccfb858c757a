"""LLM failover end to end: `llm.provider: openai` (the real SDK against the local chat-completions
fake) with `llm.fallback: [llama_cpp]` (the bundled Gemma model), through /api/chat and /health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, make_settings
from tests.fakes.openai_chat import FakeChatServer
from tests.helpers.cloud import close_circuits, failover_server, health

KEY = "sk-test-key"
COOLDOWN = 10.0  # long enough for two local-model turns while the circuit is open, under load


@pytest.fixture(scope="module")
def chat() -> Iterator[FakeChatServer]:
    with FakeChatServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def live(chat: FakeChatServer, assembled_models: Path) -> Iterator[LiveServer]:
    overrides = {
        "llm": {"provider": "openai", "fallback": ["llama_cpp"]},
        "openai": {"api_key": KEY, "base_url": chat.openai_base_url, "max_retries": 0, "timeout_seconds": 1},
    }
    with failover_server(overrides, assembled_models, COOLDOWN) as server:
        yield server


@pytest.fixture
def fake(chat: FakeChatServer, live: LiveServer) -> FakeChatServer:
    chat.reset(api_key=KEY)
    close_circuits(live.app.state.llm.chain)
    return chat


def say(live: LiveServer, text: str = "Tell me something nice about mornings.") -> httpx.Response:
    return httpx.post(f"{live.url}/api/chat", json={"text": text}, timeout=120)


def test_healthy_cloud_llm_answers_and_says_so(live: LiveServer, fake: FakeChatServer) -> None:
    fake.reply_text("Mornings are calm and full of promise.")
    resp = say(live)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["reply"] == "Mornings are calm and full of promise."
    assert body["provider"] == "openai" and body["failover"] == []


@pytest.mark.parametrize(
    ("fault", "reason_text"),
    [("503", "503"), ("429", "429"), ("timeout", "timed out")],
)
def test_cloud_failure_is_answered_by_the_local_model(
    live: LiveServer, fake: FakeChatServer, fault: str, reason_text: str
) -> None:
    if fault == "timeout":
        fake.slow(seconds=3)
    else:
        fake.fail(int(fault), retry_after=0.01 if fault == "429" else None)
    resp = say(live)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["reply"].strip() and body["provider"] == "llama_cpp"
    [event] = body["failover"]
    assert (event["service"], event["from"], event["to"]) == ("llm", "openai", "llama_cpp")
    assert reason_text in event["message"]
    assert len(fake.chat_requests()) == 1


def test_bad_request_is_not_failed_over(live: LiveServer, fake: FakeChatServer) -> None:
    fake.fail(400, message="'messages' must contain at least one user message")
    resp = say(live)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "provider_rejected_request" and "at least one user message" in error["message"]
    circuit = health(live)["providers"]["llm"]["openai"]["circuit"]
    assert circuit["state"] == "closed" and circuit["consecutive_failures"] == 0


def test_streamed_chat_names_the_provider(live: LiveServer, fake: FakeChatServer) -> None:
    fake.fail(502)
    with httpx.stream(
        "POST", f"{live.url}/api/chat?stream=true", json={"text": "Say hello."}, timeout=120
    ) as resp:
        text = "".join(resp.iter_text())
    events = [block.split("\n", 1) for block in text.strip().split("\n\n")]
    done = next(json.loads(data.removeprefix("data: ")) for head, data in events if head == "event: done")
    assert done["provider"] == "llama_cpp" and done["failover"][0]["reason"] == "provider_error"  # 502


async def test_breaker_opens_skips_the_vendor_reprobes_and_closes(
    live: LiveServer, fake: FakeChatServer
) -> None:
    fake.fail(503, times=2)
    for _ in range(2):
        assert say(live).json()["provider"] == "llama_cpp"
    state = health(live)
    circuit = state["providers"]["llm"]["openai"]["circuit"]
    assert circuit["state"] == "open" and circuit["consecutive_failures"] == 2
    assert "503" in circuit["last_error"] and circuit["last_error_at"] > 0
    assert 0 < circuit["retry_in_s"] <= COOLDOWN
    assert state["status"] == "degraded" and "llm" in state["degraded"]
    assert state["providers"]["llm"]["openai"]["role"] == "primary"
    assert state["providers"]["llm"]["llama_cpp"]["role"] == "fallback"
    # while open, the vendor is not asked at all
    fake.reply_text("I should not be asked.")
    body = say(live).json()
    assert body["provider"] == "llama_cpp" and body["failover"][0]["reason"] == "circuit_open"
    assert len(fake.chat_requests()) == 2
    # after the cool-down one request re-probes it; success closes the circuit
    await asyncio.sleep(health(live)["providers"]["llm"]["openai"]["circuit"]["retry_in_s"] + 0.2)
    assert health(live)["providers"]["llm"]["openai"]["circuit"]["state"] == "half_open"
    body = say(live).json()
    assert body["provider"] == "openai" and body["reply"] == "I should not be asked."
    state = health(live)
    assert state["providers"]["llm"]["openai"]["circuit"]["state"] == "closed" and state["status"] == "ok"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "tts": {"fallback": ["elevenlabs"]},
                "elevenlabs": {"api_key": "", "base_url": "https://api.elevenlabs.io"},
            },
            "ELEVENLABS_API_KEY",
        ),
        ({"llm": {"fallback": ["groq"]}, "groq": {"api_key": ""}}, "GROQ_API_KEY"),
        ({"tts": {"fallback": ["pipr"]}}, "tts.fallback[0]: 'pipr' is unknown; known: piper, espeak"),
        ({"stt": {"fallback": ["whisper_local"]}}, "stt.fallback[0]: 'whisper_local' is already the primary"),
    ],
)
def test_fallback_providers_are_checked_and_loaded_at_startup(
    assembled_models: Path, overrides: dict[str, Any], message: str
) -> None:
    settings = make_settings(
        {**overrides, "whisper_local": {"preload": []}, "languages": ["en"]}, models=assembled_models
    )
    with pytest.raises(RuntimeError, match="server failed to start") as info:
        with LiveServer(settings):
            pass
    assert message in str(info.value)

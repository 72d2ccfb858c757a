"""`llm.provider` is the only line that changes to move the agent from the local model to a hosted one
(keys and endpoints come from the environment); the tool-calling path runs end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backend.core.config import load_config
from tests.conftest import LiveServer
from tests.fakes.openai_chat import FakeChatServer, FakeToolCall
from tests.helpers.cloud import config_with_provider, hosted_chat


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeChatServer]:
    with hosted_chat(monkeypatch) as server:
        yield server


def test_local_model_is_the_default(tmp_path: Path, assembled_models: Path) -> None:
    settings = load_config(config_with_provider(tmp_path, assembled_models, "llama_cpp"))
    with LiveServer(settings) as live:
        assert "llama_cpp" in httpx.get(f"{live.url}/health").json()["providers"]["llm"]
        assert httpx.post(f"{live.url}/api/chat", json={"text": "Hello!"}, timeout=60).json()["reply"]


@pytest.mark.parametrize("provider", ["openai", "groq"])
def test_hosted_provider_by_config_only(
    tmp_path: Path, assembled_models: Path, fake: FakeChatServer, provider: str
) -> None:
    settings = load_config(config_with_provider(tmp_path, assembled_models, provider))
    with LiveServer(settings) as live:
        health = httpx.get(f"{live.url}/health").json()["providers"]["llm"]
        assert list(health) == [provider]

        fake.reply_text("Hello from the cloud. How can I help?")
        body = httpx.post(f"{live.url}/api/chat", json={"text": "Hi there"}, timeout=60).json()
        assert body["reply"] == "Hello from the cloud. How can I help?"
        first = fake.last.body
        assert first["stream"] is True
        assert first["model"] == ("gpt-4o-mini" if provider == "openai" else "llama-3.1-8b-instant")
        assert first["messages"][0]["role"] == "system" and first["messages"][-1] == {
            "role": "user",
            "content": "Hi there",
        }
        assert {t["function"]["name"] for t in first["tools"]} >= {"book_appointment", "cancel_appointment"}

        # The model decides to act: book → the tool runs against Redis → its result goes back to the model.
        tomorrow = (datetime.now(tz=None) + timedelta(days=1)).date().isoformat()
        fake.reply_tool_calls(
            [
                FakeToolCall(
                    "book_appointment", {"date": tomorrow, "time": "15:00", "purpose": "a checkup"}, id="c1"
                )
            ]
        )
        fake.reply_text("All set, your checkup is booked for tomorrow at three.")
        session = body["session_id"]
        booked = httpx.post(
            f"{live.url}/api/chat",
            json={"text": "Book me a checkup tomorrow at 3", "session_id": session},
            timeout=60,
        ).json()
        assert booked["action"]["tool"] == "book_appointment" and booked["action"]["ok"]
        assert booked["reply"] == "All set, your checkup is booked for tomorrow at three."
        followup = fake.last.body["messages"]
        assert followup[-2]["role"] == "assistant" and followup[-2]["tool_calls"][0]["id"] == "c1"
        assert followup[-1]["role"] == "tool" and followup[-1]["tool_call_id"] == "c1"
        assert followup[-1]["content"].startswith("Booked for tomorrow at 3 pm")
        appts = httpx.get(f"{live.url}/api/appointments", params={"session_id": session}).json()[
            "appointments"
        ]
        assert len(appts) == 1 and appts[0]["purpose"] == "a checkup"
        # the earlier turns went back to the model as history
        assert {"role": "user", "content": "Hi there"} in followup


def test_hosted_provider_failure_is_a_clear_error(
    tmp_path: Path, assembled_models: Path, fake: FakeChatServer
) -> None:
    settings = load_config(config_with_provider(tmp_path, assembled_models, "openai"))
    with LiveServer(settings) as live:
        fake.fail(500, times=5)
        resp = httpx.post(f"{live.url}/api/chat", json={"text": "Hi", "session_id": "failing"}, timeout=60)
        # a vendor 5xx, after the retries: 502 provider_error, as for every hosted provider
        assert resp.status_code == 502, resp.text
        assert resp.json()["error"]["code"] == "provider_error"
        assert "openai" in resp.json()["error"]["message"]
        # the unanswered question is not left behind in the conversation
        assert httpx.get(f"{live.url}/api/sessions/failing").json()["messages"] == []


def test_missing_key_fails_at_startup(
    tmp_path: Path, assembled_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings = load_config(config_with_provider(tmp_path, assembled_models, "openai"))
    with pytest.raises(RuntimeError, match="failed to start: .*OPENAI_API_KEY"):
        with LiveServer(settings):
            pass

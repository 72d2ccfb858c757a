"""The conversation agent over real HTTP, with the real local LLM (Gemma 3 270M) and the embedded Redis."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from backend.core.config import Settings
from tests.conftest import LiveServer, make_settings
from tests.helpers.rest import assert_error


def chat(base_url: str, text: str, session_id: str | None = None, **extra: object) -> dict:
    body = {"text": text, **extra}
    if session_id:
        body["session_id"] = session_id
    resp = httpx.post(f"{base_url}/api/chat", json=body, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


def sid() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_new_session_gets_an_id_and_a_spoken_reply(base_url: str) -> None:
    body = chat(base_url, "Hello there!")
    assert len(body["session_id"]) >= 16
    assert body["reply"] and "*" not in body["reply"] and "#" not in body["reply"]
    assert body["latency_ms"]["total"] > 0
    assert body["action"] is None


def test_memory_across_turns(base_url: str) -> None:
    session = sid()
    chat(base_url, "Hi, my name is Priya.", session)
    chat(base_url, "What is the capital of France?", session)
    reply = chat(base_url, "What is my name?", session)["reply"]
    assert "Priya" in reply
    history = httpx.get(f"{base_url}/api/sessions/{session}").json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 3
    assert history["facts"]["name"] == "Priya"


def test_memory_survives_a_server_restart(assembled_models: Path, tmp_path: Path) -> None:
    settings: Settings = make_settings(
        {"whisper_local": {"preload": []}}, models=assembled_models, data_dir=tmp_path / "data"
    )
    session = sid()
    with LiveServer(settings) as first:
        chat(first.url, "Hello, my name is Arjun and I live in Pune.", session)
    with LiveServer(settings) as second:  # a new process state: only Redis (AOF on disk) remembers
        assert "Arjun" in chat(second.url, "Do you remember my name?", session)["reply"]
        assert "Pune" in chat(second.url, "Where do I live?", session)["reply"]


def test_book_list_cancel_and_double_booking(base_url: str) -> None:
    alice, bob = sid(), sid()
    booked = chat(base_url, "Please book a haircut for tomorrow at 3 pm", alice)
    assert booked["action"]["tool"] == "book_appointment" and booked["action"]["ok"]
    assert booked["reply"].startswith("Booked for tomorrow at 3 pm")
    assert "haircut" in booked["reply"]
    listed = httpx.get(f"{base_url}/api/appointments", params={"session_id": alice}).json()["appointments"]
    assert len(listed) == 1 and listed[0]["purpose"] == "haircut"

    clash = chat(base_url, "Book an appointment tomorrow at 3 pm", bob)
    assert clash["action"]["ok"] is False and clash["action"]["error"] == "slot_taken"
    assert "already booked" in clash["reply"]
    assert httpx.get(f"{base_url}/api/appointments", params={"session_id": bob}).json()["appointments"] == []

    spoken_list = chat(base_url, "What appointments do I have?", alice)
    assert spoken_list["action"]["tool"] == "list_appointments"
    assert "tomorrow at 3 pm" in spoken_list["reply"]

    cancelled = chat(base_url, "Cancel my appointment tomorrow at 3 pm", alice)
    assert cancelled["action"]["tool"] == "cancel_appointment" and cancelled["action"]["ok"]
    assert "Cancelled" in cancelled["reply"]
    assert (
        httpx.get(f"{base_url}/api/appointments", params={"session_id": alice}).json()["appointments"] == []
    )
    # the slot is free again
    assert chat(base_url, "Book an appointment tomorrow at 3 pm", bob)["action"]["ok"] is True


def test_cancel_by_what_it_is_for(base_url: str) -> None:
    session = sid()
    assert chat(base_url, "Book a haircut for tomorrow at 10:20 am", session)["action"]["ok"]
    assert chat(base_url, "Book a dentist appointment tomorrow at 4:40 pm", session)["action"]["ok"]
    cancelled = chat(base_url, "Cancel my haircut.", session)
    assert cancelled["action"]["tool"] == "cancel_appointment" and cancelled["action"]["ok"], cancelled
    assert "haircut" in cancelled["reply"]
    left = httpx.get(f"{base_url}/api/appointments", params={"session_id": session}).json()["appointments"]
    assert [a["purpose"] for a in left] == ["dentist"]
    # nothing booked is called that: not an appointment, no tool (the model answers)
    assert chat(base_url, "Cancel my subscription.", session)["action"] is None


def test_booking_asks_for_a_missing_day_and_time(base_url: str) -> None:
    """ "Which day and time?" answered with both, or with the day alone (then the time is asked)."""
    session = sid()
    ask = chat(base_url, "Book a table for two.", session)
    assert ask["action"] == {"tool": "book_appointment", "ok": False} and "Which day and time" in ask["reply"]
    done = chat(base_url, "Tomorrow at 6:45 pm.", session)
    assert done["action"]["tool"] == "book_appointment" and done["action"]["ok"], done
    assert done["reply"].startswith("Booked for tomorrow at 6:45 pm")
    other = sid()
    chat(base_url, "I'd like to book a haircut.", other)
    day = chat(base_url, "On Friday.", other)
    assert day["action"]["tool"] == "book_appointment" and "What time would you like on" in day["reply"], day
    done = chat(base_url, "9:15 am.", other)
    assert done["action"]["ok"] and "9:15 am" in done["reply"] and "haircut" in done["reply"], done


def test_booking_asks_for_a_missing_time(base_url: str) -> None:
    session = sid()
    ask = chat(base_url, "I want to book an appointment on Friday", session)
    assert ask["action"]["ok"] is False and "What time" in ask["reply"]
    done = chat(base_url, "at 11 am please", session)
    assert done["action"]["tool"] == "book_appointment" and done["action"]["ok"], done
    assert "11 am" in done["reply"]


def test_current_time_tool(base_url: str) -> None:
    body = chat(base_url, "What time is it right now?")
    assert body["action"]["tool"] == "get_current_datetime"
    assert body["reply"].startswith("It's ")


def test_small_talk_goes_to_the_model_not_a_tool(base_url: str) -> None:
    body = chat(base_url, "Tell me something nice about the ocean.")
    assert body["action"] is None
    assert len(body["reply"].split()) >= 3
    assert body["latency_ms"]["llm_first_token"] > 0


def test_streaming_sse(base_url: str) -> None:
    events: list[tuple[str, dict]] = []
    with httpx.stream(
        "POST",
        f"{base_url}/api/chat",
        params={"stream": "true"},
        json={"text": "Say hello to my friend."},
        timeout=60,
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event or "", json.loads(line[6:])))
    kinds = [e for e, _ in events]
    assert kinds[0] == "session" and kinds[-1] == "done"
    assert kinds.count("delta") >= 2
    done = events[-1][1]
    assert done["session_id"] == events[0][1]["session_id"] and done["reply"]


def test_delete_session_forgets_everything(base_url: str) -> None:
    session = sid()
    chat(base_url, "My name is Kavya. Book a table tomorrow at 7 pm", session)
    assert httpx.get(f"{base_url}/api/appointments", params={"session_id": session}).json()["appointments"]
    assert httpx.delete(f"{base_url}/api/sessions/{session}").json() == {
        "session_id": session,
        "deleted": True,
    }
    assert_error(httpx.get(f"{base_url}/api/sessions/{session}"), 404, "unknown_session")
    assert (
        httpx.get(f"{base_url}/api/appointments", params={"session_id": session}).json()["appointments"] == []
    )
    assert "Kavya" not in chat(base_url, "What is my name?", session)["reply"]
    assert_error(httpx.delete(f"{base_url}/api/sessions/never-existed"), 404, "unknown_session")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "  "}, "empty_text"),
        ({"text": "a" * 5001}, "text_too_long"),
        ({"text": "hi", "session_id": "../etc/passwd"}, "invalid_session_id"),
        ({"text": "hi", "session_id": "x" * 65}, "invalid_session_id"),
        ({"text": "hi", "language": "xx"}, "unsupported_language"),
        ({"text": 5}, "invalid_request"),
        ({"session_id": "abc"}, "invalid_request"),
        ({"text": "hi", "extra": 1}, "invalid_request"),
    ],
)
def test_chat_bad_input(base_url: str, body: dict, code: str) -> None:
    assert_error(httpx.post(f"{base_url}/api/chat", json=body), 422, code)


def test_sessions_bad_input(base_url: str) -> None:
    assert_error(httpx.get(f"{base_url}/api/sessions/{sid()}"), 404, "unknown_session")
    assert_error(httpx.get(f"{base_url}/api/sessions/bad%20id"), 422, "invalid_request")
    assert_error(httpx.get(f"{base_url}/api/appointments"), 422, "invalid_request")
    assert_error(
        httpx.get(f"{base_url}/api/appointments", params={"session_id": "a/b"}), 422, "invalid_request"
    )

"""The agent in the user's language, over real HTTP with the real local LLM and the embedded Redis:
bookings in Hindi and Hinglish are made and confirmed in that language; the next English turn is
answered in English. Its own server (and Redis): the slots booked here are free whatever else ran."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, make_settings
from tests.integration.test_agent import chat


@pytest.fixture(scope="module")
def base_url(assembled_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        {"whisper_local": {"preload": []}, "limits": {"requests_per_minute": 0}},
        models=assembled_models,
        data_dir=tmp_path_factory.mktemp("languages") / "data",
    )
    with LiveServer(settings) as live:
        yield live.url


def sid() -> str:
    return f"lang-{uuid.uuid4().hex[:12]}"


def appointments(base_url: str, session: str) -> list[dict]:
    resp = httpx.get(f"{base_url}/api/appointments", params={"session_id": session})
    return resp.json()["appointments"]


def test_hindi_booking_is_confirmed_in_hindi(base_url: str) -> None:
    session = sid()
    booked = chat(base_url, "कल दोपहर तीन बजे हेयरकट बुक करो", session, language="hi")
    assert booked["action"]["tool"] == "book_appointment" and booked["action"]["ok"], booked
    assert booked["reply"] == "कल दोपहर तीन बजे के लिए आपका हेयरकट बुक हो गया है।"
    [appt] = appointments(base_url, session)
    assert appt["purpose"] == "हेयरकट" and appt["start"][11:16] == "15:00"

    listed = chat(base_url, "मेरे अपॉइंटमेंट दिखाओ", session, language="hi")
    assert listed["action"]["tool"] == "list_appointments"
    assert listed["reply"] == "आपका एक अपॉइंटमेंट है: हेयरकट, कल दोपहर तीन बजे।"

    # the same slot for someone else: refused, in Hindi
    clash = chat(base_url, "कल दोपहर 3 बजे बुक करो", sid(), language="hi")
    assert clash["action"]["error"] == "slot_taken"
    assert clash["reply"].startswith("माफ़ कीजिए, कल दोपहर तीन बजे पहले से बुक है")

    cancelled = chat(base_url, "मेरा अपॉइंटमेंट कैंसल करो", session, language="hi")
    assert cancelled["action"]["tool"] == "cancel_appointment" and cancelled["action"]["ok"], cancelled
    assert "कैंसल हो गया है" in cancelled["reply"]
    assert appointments(base_url, session) == []


def test_hinglish_is_answered_in_hinglish_then_english_in_english(base_url: str) -> None:
    session = sid()
    booked = chat(base_url, "parson shaam 5 baje dentist", session, language="hi")
    assert booked["action"]["tool"] == "book_appointment" and booked["action"]["ok"], booked
    assert booked["reply"] == "Parson shaam 5 baje ke liye aapka dentist book ho gaya hai."

    asked = chat(base_url, "kal haircut book karo", session)  # no time: asked back, in Hinglish
    assert asked["action"]["ok"] is False and asked["reply"] == "Kal kitne baje rakhun?"
    done = chat(base_url, "11 baje", session)
    assert done["action"]["ok"], done
    assert done["reply"] == "Kal subah 11 baje ke liye aapka haircut book ho gaya hai."

    english = chat(base_url, "What appointments do I have?", session, language="en")
    assert english["action"]["tool"] == "list_appointments"
    assert english["reply"].startswith("You have two appointments: tomorrow at 11 am for haircut")

    time_now = chat(base_url, "aaj kitne baje hain?", session)
    assert time_now["action"]["tool"] == "get_current_datetime"
    assert time_now["reply"].startswith("Abhi ") and " baj" in time_now["reply"], time_now


def test_the_other_languages_book_in_their_own(base_url: str) -> None:
    cases = {
        "mr": ("उद्या सकाळी दहा वाजता हेअरकट बुक करा", "उद्या सकाळी दहा वाजता तुमची हेअरकट अपॉइंटमेंट बुक झाली आहे."),
        "ta": ("நாளை காலை பத்தரை மணிக்கு புக் பண்ணுங்க", "நாளை காலை பத்தரை மணிக்கு உங்கள் அப்பாயின்ட்மென்ட் புக் ஆகிவிட்டது."),
    }
    for lang, (text, reply) in cases.items():
        body = chat(base_url, text, sid(), language=lang)
        assert body["action"]["ok"], body
        assert body["reply"] == reply

"""Table-driven tests for the deterministic intent parser (backend.agents.intents)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.agents.intents import Intent, extract_facts, format_when, parse_intent, parse_when

TZ = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 24, 14, 10, tzinfo=TZ)  # a Tuesday afternoon


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


# ---------------------------------------------------------------- kinds
KIND_CASES = [
    # book
    ("Book an appointment for tomorrow at 3 P.M.", "book"),
    ("book a haircut tomorrow three pm", "book"),
    ("schedule a meeting with Ravi on Friday at 10", "book"),
    ("I'd like to make an appointment with the dentist", "book"),
    ("can you reserve a table for two at 8", "book"),
    ("set up a meeting with ravi next tuesday", "book"),
    ("i need an appointment", "book"),
    ("can I book?", "book"),
    ("I'd like to book, please.", "book"),
    ("BOOK APPOINTMENT TOMORROW 3 PM", "book"),
    ("is it possible to schedule an appointment on monday", "book"),
    ("कल 3 बजे बुक करो", "book"),
    # list
    ("what appointments do I have", "list"),
    ("show my bookings", "list"),
    ("do I have any appointments tomorrow", "list"),
    ("what's on my calendar", "list"),
    ("when is my next appointment", "list"),
    ("can you list my appointments please", "list"),
    ("what time is my dentist appointment", "list"),
    # cancel
    ("cancel my appointment tomorrow", "cancel"),
    ("cancel my 3 pm", "cancel"),
    ("please delete the booking with the dentist", "cancel"),
    ("remove my dentist appointment on friday", "cancel"),
    ("call off my meeting on friday", "cancel"),
    ("cancel tomorrow's appointment", "cancel"),
    ("Delete the 3 o'clock meeting", "cancel"),
    ("I can't make it, cancel my appointment", "cancel"),
    ("मेरी अपॉइंटमेंट रद्द करो", "cancel"),
    # time
    ("what time is it", "time"),
    ("whats the time", "time"),
    ("Tell me the time please.", "time"),
    ("what's the current time", "time"),
    ("do you know what time it is", "time"),
    ("क्या समय है", "time"),
    ("टाइम क्या हुआ है", "time"),
    # date
    ("What's the date today?", "date"),
    ("what day is it", "date"),
    ("today's date", "date"),
    ("what is the date", "date"),
    ("What day of the week is it?", "date"),  # the LLM alone said Wednesday on a Thursday
    ("which weekday is today", "date"),
    # none / negatives
    ("is the museum open at 3 pm?", "none"),
    ("what time does the shop open", "none"),
    ("I read a good book yesterday", "none"),
    ("that's a nice book", "none"),
    ("the meeting was cancelled", "none"),
    ("I have a dentist appointment tomorrow", "none"),
    ("cancel my subscription", "cancel"),  # only if an appointment is for it (`if_booked`, below)
    ("i don't want to cancel my appointment", "none"),
    ("don't book anything", "none"),
    ("what's the time difference between india and london", "none"),
    ("I'm fine thanks", "none"),
    ("tell me a joke", "none"),
    ("remind me to call mom at 5", "none"),
    ("what's the weather tomorrow at 3 pm", "none"),
    ("my schedule is packed tomorrow", "none"),
    ("drop me at the station at 3", "none"),
    ("", "none"),
]


@pytest.mark.parametrize(("text", "kind"), KIND_CASES)
def test_kind(text: str, kind: str) -> None:
    assert parse_intent(text, NOW).kind == kind


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("Cancel my haircut.", "haircut"),
        ("call off the dentist please", "dentist"),
        ("cancel my subscription", "subscription"),
    ],
)
def test_cancel_by_what_it_is_for_is_conditional(text: str, purpose: str) -> None:
    intent = parse_intent(text, NOW)
    assert (intent.kind, intent.purpose, intent.if_booked) == ("cancel", purpose, True)
    assert parse_intent("cancel my appointment tomorrow", NOW).if_booked is False
    assert parse_intent("don't cancel my haircut", NOW).kind == "none"


# ---------------------------------------------------------------- when (date and time forms)
WHEN_CASES = [
    # time forms, no date -> next occurrence
    ("book at 3 pm", at(11, 24, 15), False, True),
    ("book at 3pm", at(11, 24, 15), False, True),
    ("book at 3 p.m.", at(11, 24, 15), False, True),
    ("book at 3 p m", at(11, 24, 15), False, True),
    ("book three pm", at(11, 24, 15), False, True),
    ("book 15:00", at(11, 24, 15), False, True),
    ("book at 3:30 pm", at(11, 24, 15, 30), False, True),
    ("book at 3.30 pm", at(11, 24, 15, 30), False, True),
    ("book half past two", at(11, 24, 14, 30), False, True),  # 2:30 pm is still ahead at 14:10
    ("book quarter to four", at(11, 24, 15, 45), False, True),
    ("book a quarter to eight", at(11, 25, 7, 45), False, True),
    ("book ten past three", at(11, 24, 15, 10), False, True),
    ("book at noon", at(11, 25, 12), False, True),
    ("book at midday", at(11, 25, 12), False, True),
    ("book at midnight", at(11, 25, 0), False, True),
    ("book at 10", at(11, 25, 10), False, True),  # 8-11 -> am, passed today -> tomorrow
    ("book at 5", at(11, 24, 17), False, True),  # 1-7 -> pm
    ("book at 12", at(11, 25, 12), False, True),
    ("book at 2", at(11, 25, 14), False, True),  # 14:00 already passed at 14:10
    ("book at 07:00", at(11, 25, 7), False, True),  # leading zero -> 24-hour clock
    ("book at 9 30", at(11, 25, 9, 30), False, True),
    ("book 930 am", at(11, 25, 9, 30), False, True),
    ("book at 3 o'clock", at(11, 24, 15), False, True),
    ("book at 3 in the afternoon", at(11, 24, 15), False, True),
    ("book at 8 in the evening", at(11, 24, 20), False, True),
    ("book at four fifteen pm", at(11, 24, 16, 15), False, True),
    ("book at three forty-five pm", at(11, 24, 15, 45), False, True),
    ("book morning", at(11, 25, 9), False, True),
    ("book in the evening", at(11, 24, 18), False, True),
    ("book in two hours", at(11, 24, 16, 10), False, True),
    ("three", at(11, 24, 15), False, True),  # a bare answer to "what time would you like?"
    ("ten thirty", at(11, 25, 10, 30), False, True),
    ("3 people", None, False, False),
    ("book from 2 to 3 pm", at(11, 25, 14), False, True),  # a range: its start
    ("book from 10 to 11 am", at(11, 25, 10), False, True),
    ("uh book me in uh for tuesday at like 4", at(11, 24, 16), True, True),
    ("cancel tomorrow's appointment", at(11, 25, 9), True, False),
    # date forms
    ("book today at 5 pm", at(11, 24, 17), True, True),
    ("book tonight", at(11, 24, 19), True, True),
    ("book tonight at 11", at(11, 24, 23), True, True),
    ("book this evening", at(11, 24, 18), True, True),
    ("book tomorrow", at(11, 25, 9), True, False),
    ("book tomorrow morning", at(11, 25, 9), True, True),
    ("book tomorrow afternoon", at(11, 25, 15), True, True),
    ("book day after tomorrow at twenty past six", at(11, 26, 18, 20), True, True),
    ("book friday at 10", at(11, 27, 10), True, True),
    ("book wednesday at 9 in the morning", at(11, 25, 9), True, True),
    ("book sunday", at(11, 29, 9), True, False),
    ("book next thursday at 4", at(11, 26, 16), True, True),  # next occurrence strictly after today
    ("book 25 December", at(12, 25, 9), True, False),
    ("book 25th of december at 3:30 pm", at(12, 25, 15, 30), True, True),
    ("book December 25th at 3 pm", at(12, 25, 15), True, True),
    ("book for twenty fifth december", at(12, 25, 9), True, False),
    ("book the twenty first of december at ten", at(12, 21, 10), True, True),
    ("book 25/12 at 10 30", at(12, 25, 10, 30), True, True),
    ("book 2026-12-25 15:00", at(12, 25, 15), True, True),
    ("book 25/12/2027", at(12, 25, 9, year=2027), True, False),
    ("book 25 december 2027", at(12, 25, 9, year=2027), True, False),
    ("book for the 2nd at 5pm", at(12, 2, 17), True, True),
    ("book in 3 days at 4", at(11, 27, 16), True, True),
    ("book in a week", at(12, 1, 9), True, False),
    ("book next week", at(12, 1, 9), True, False),
    ("book tuesday next week at 4", at(12, 1, 16), True, True),
    ("book friday next week", at(12, 4, 9), True, False),
    # year rollover: the date has passed this year
    ("book 5 January at noon", at(1, 5, 12, year=2027), True, True),
    ("book on january 5th", at(1, 5, 9, year=2027), True, False),
    ("book 1/1", at(1, 1, 9, year=2027), True, False),
    ("book 20 november", at(11, 20, 9, year=2027), True, False),
    ("book 24 november at 5 pm", at(11, 24, 17), True, True),  # today is not "passed"
    # "Tuesday" on a Tuesday: today if the time is still ahead, else next week; "next Tuesday": next week
    ("book tuesday at 3 pm", at(11, 24, 15), True, True),
    ("book this tuesday at 5", at(11, 24, 17), True, True),
    ("book tuesday at 2 pm", at(12, 1, 14), True, True),
    ("book tuesday", at(12, 1, 9), True, False),
    ("book next tuesday at 3 pm", at(12, 1, 15), True, True),
    # Hindi
    ("कल शाम 5 बजे", at(11, 25, 17), True, True),
    # nothing said
    ("book an appointment", None, False, False),
    ("hello there", None, False, False),
    ("book 31/02", None, False, False),
]


@pytest.mark.parametrize(("text", "when", "has_date", "has_time"), WHEN_CASES)
def test_parse_when(text: str, when: datetime | None, has_date: bool, has_time: bool) -> None:
    assert parse_when(text, NOW) == (when, has_date, has_time)


def test_when_is_aware_in_now_tz_and_whole_minutes() -> None:
    now = datetime(2026, 11, 24, 14, 10, 37, 123456, tzinfo=TZ)
    for text in ("book in 2 hours", "book at 5 pm", "book tomorrow", "book 25 december"):
        when, _, _ = parse_when(text, now)
        assert when is not None and when.tzinfo is TZ
        assert when.second == 0 and when.microsecond == 0
    utc_now = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert parse_when("tomorrow at 3 pm", utc_now)[0] == datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


def test_time_only_rolls_to_tomorrow_when_passed() -> None:
    late = NOW.replace(hour=20)
    assert parse_when("at 8 pm", late)[0] == at(11, 25, 20)
    assert parse_when("at 8:30 pm", late)[0] == at(11, 24, 20, 30)


# ---------------------------------------------------------------- full intents: purpose and name
INTENT_CASES = [
    (
        "Book an appointment for tomorrow at 3 P.M.",
        Intent("book", at(11, 25, 15), True, True),
    ),
    (
        "book a haircut tomorrow three pm",
        Intent("book", at(11, 25, 15), True, True, purpose="haircut"),
    ),
    (
        "schedule a meeting with Ravi on Friday at 10",
        Intent("book", at(11, 27, 10), True, True, purpose="a meeting with Ravi"),
    ),
    (
        "I'd like to make an appointment with the dentist on 25 December",
        Intent("book", at(12, 25, 9), True, False, purpose="dentist"),
    ),
    (
        "can you book me in for a haircut at quarter to four",
        Intent("book", at(11, 24, 15, 45), False, True, purpose="haircut"),
    ),
    (
        "book it under Priya for 15:00",
        Intent("book", at(11, 24, 15), False, True, name="Priya"),
    ),
    (
        "book a table under the name priya sharma tomorrow at 8 pm",
        Intent("book", at(11, 25, 20), True, True, purpose="table", name="Priya"),
    ),
    (
        "my name is Arjun, book a haircut for Friday",
        Intent("book", at(11, 27, 9), True, False, purpose="haircut", name="Arjun"),
    ),
    (
        "Book for Priya at 3",
        Intent("book", at(11, 24, 15), False, True, name="Priya"),
    ),
    (
        "book an appointment with Dr. Rao at 4",
        Intent("book", at(11, 24, 16), False, True, purpose="Dr Rao"),
    ),
    (
        "hey can you schedule a call with Anita tomorrow at 4:15 pm",
        Intent("book", at(11, 25, 16, 15), True, True, purpose="a call with Anita"),
    ),
    (
        "remove my dentist appointment on friday",
        Intent("cancel", at(11, 27, 9), True, False, purpose="dentist"),
    ),
    ("cancel my 3 pm", Intent("cancel", at(11, 24, 15), False, True)),
    ("do I have any appointments tomorrow", Intent("list", at(11, 25, 9), True, False)),
    ("what time is it", Intent("time")),
    ("what's the date", Intent("date")),
    ("is the museum open at 3 pm?", Intent("none")),
]


@pytest.mark.parametrize(("text", "intent"), INTENT_CASES)
def test_parse_intent(text: str, intent: Intent) -> None:
    assert parse_intent(text, NOW) == intent


# ---------------------------------------------------------------- facts for memory
FACT_CASES = [
    ("my name is priya", {"name": "Priya"}),
    ("My name's Arjun", {"name": "Arjun"}),
    ("I'm Priya and I live in Pune", {"name": "Priya", "city": "Pune"}),
    ("I'm Priya Sharma", {"name": "Priya Sharma"}),
    ("call me Ravi", {"name": "Ravi"}),
    ("I am from Mumbai", {"city": "Mumbai"}),
    ("I'm from Pune, India", {"city": "Pune"}),
    ("I live in new delhi", {"city": "New Delhi"}),
    ("i live in bangalore with my family", {"city": "Bangalore"}),
    ("I live in San Francisco, California", {"city": "San Francisco"}),
    ("i am based in navi mumbai", {"city": "Navi Mumbai"}),
    ("I live in Pune I think", {"city": "Pune"}),
    ("मेरा नाम प्रिया है", {"name": "प्रिया"}),
    # no false positives
    ("I'm fine", {}),
    ("I'm Fine, thanks", {}),
    ("I'm good", {}),
    ("I'm looking for a dentist", {}),
    ("I'm Going to book", {}),
    ("I am Very tired", {}),
    ("call me tomorrow", {}),
    ("call me back later", {}),
    ("my name is not important", {}),
    ("I live in an apartment", {}),
    ("I'm from the US", {}),
    ("I'm here", {}),
    ("book a haircut at 3 pm", {}),
]


@pytest.mark.parametrize(("text", "facts"), FACT_CASES)
def test_extract_facts(text: str, facts: dict[str, str]) -> None:
    assert extract_facts(text) == facts


# ---------------------------------------------------------------- speech-friendly formatting
FORMAT_CASES = [
    (at(11, 24, 15), "today at 3 pm"),
    (at(11, 25, 10, 30), "tomorrow at 10:30 am"),
    (at(11, 23, 9), "yesterday at 9 am"),
    (at(12, 1, 15), "Tuesday 1 December at 3 pm"),
    (at(11, 26, 9, 5), "Thursday 26 November at 9:05 am"),
    (at(1, 5, 12, year=2027), "Tuesday 5 January 2027 at noon"),
    (at(11, 25, 0), "tomorrow at midnight"),
    (at(11, 24, 23, 45), "today at 11:45 pm"),
]


@pytest.mark.parametrize(("when", "spoken"), FORMAT_CASES)
def test_format_when(when: datetime, spoken: str) -> None:
    assert format_when(when, NOW) == spoken


def test_format_when_converts_to_nows_timezone() -> None:
    utc = at(11, 24, 15).astimezone(UTC)
    assert format_when(utc, NOW) == "today at 3 pm"
    assert format_when(NOW + timedelta(days=40), NOW).endswith("2027 at 2:10 pm")


def test_round_trip_parse_then_format() -> None:
    when, _, _ = parse_when("next tuesday at half past ten in the morning", NOW)
    assert when is not None
    assert format_when(when, NOW) == "Tuesday 1 December at 10:30 am"

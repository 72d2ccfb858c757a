"""The intent parser in Hindi, Hinglish and the other Indian languages, and which language a turn is
answered in (backend/agents/intents.py, backend/agents/locale/words.py, locale/detect.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.agents.intents import extract_facts, parse_intent, parse_when
from backend.agents.locale.detect import reply_language
from backend.media.language_id import is_hinglish

TZ = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 24, 14, 10, tzinfo=TZ)  # a Tuesday afternoon


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


BOOKINGS = [  # (text, when, purpose)
    ("kal 3 baje haircut book karo", at(25, 15), "haircut"),
    ("कल दोपहर तीन बजे हेयरकट बुक करो", at(25, 15), "हेयरकट"),
    ("parson shaam 5 baje dentist", at(26, 17), "dentist"),
    ("कल सुबह साढ़े दस बजे डेंटिस्ट का अपॉइंटमेंट बुक करो", at(25, 10, 30), "डेंटिस्ट"),
    ("sava 4 baje kal haircut book kar do", at(25, 16, 15), "haircut"),
    ("kal paune 7 baje shaam ko dinner book karo", at(25, 18, 45), "dinner"),
    ("kal 3 bajkar 20 minute par haircut book karo", at(25, 15, 20), "haircut"),
    ("कल ढाई बजे मसाज बुक कर दीजिए", at(25, 14, 30), "मसाज"),
    ("शुक्रवार को 11 बजे मीटिंग बुक करो", at(27, 11), "मीटिंग"),
    ("कल ३ बजे हेयरकट बुक करो", at(25, 15), "हेयरकट"),  # Devanagari digits
    ("उद्या दुपारी तीन वाजता हेअरकट बुक करा", at(25, 15), "हेअरकट"),  # Marathi
    ("કાલે બપોરે ત્રણ વાગ્યે હેરકટ બુક કરો", at(25, 15), "હેરકટ"),  # Gujarati
    ("কাল বিকেল তিনটেয় হেয়ারকাট বুক করুন", at(25, 15), "হেয়ারকাট"),  # Bengali
    ("நாளை மதியம் மூன்று மணிக்கு ஹேர்கட் புக் பண்ணுங்க", at(25, 15), "ஹேர்கட்"),  # Tamil
    ("நாளை பத்தரை மணிக்கு புக் பண்ணுங்க", at(25, 10, 30), None),
    ("రేపు మధ్యాహ్నం మూడు గంటలకు హెయిర్‌కట్ బుక్ చేయండి", at(25, 15), "హెయిర్‌కట్"),  # Telugu
    ("നാളെ ഉച്ചയ്ക്ക് മൂന്ന് മണിക്ക് ഹെയർകട്ട് ബുക്ക് ചെയ്യൂ", at(25, 15), "ഹെയർകട്ട്"),  # Malayalam
]


@pytest.mark.parametrize(("text", "when", "purpose"), BOOKINGS)
def test_bookings(text: str, when: datetime, purpose: str | None) -> None:
    intent = parse_intent(text, NOW)
    assert (intent.kind, intent.when, intent.has_time, intent.purpose) == ("book", when, True, purpose)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mera appointment cancel karo", "cancel"),
        ("मेरी अपॉइंटमेंट रद्द करो", "cancel"),
        ("मेरा अपॉइंटमेंट कैंसल कर दो", "cancel"),
        ("माझी अपॉइंटमेंट रद्द करा", "cancel"),
        ("મારી એપોઇન્ટમેન્ટ કેન્સલ કરો", "cancel"),
        ("আমার অ্যাপয়েন্টমেন্ট বাতিল করুন", "cancel"),
        ("என் அப்பாயின்ட்மென்ட்டை ரத்து செய்", "cancel"),
        ("నా అపాయింట్‌మెంట్ రద్దు చేయండి", "cancel"),
        ("എന്റെ അപ്പോയിന്റ്മെന്റ് റദ്ദാക്കൂ", "cancel"),
        ("मेरे अपॉइंटमेंट दिखाओ", "list"),
        ("mere appointments dikhao", "list"),
        ("mera appointment kab hai", "list"),
        ("माझ्या अपॉइंटमेंट दाखवा", "list"),
        ("મારી એપોઇન્ટમેન્ટ બતાવો", "list"),
        ("আমার অ্যাপয়েন্টমেন্ট দেখাও", "list"),
        ("என் அப்பாயின்ட்மென்ட்களை காட்டு", "list"),
        ("నా అపాయింట్‌మెంట్లు చూపించండి", "list"),
        ("എന്റെ അപ്പോയിന്റ്മെന്റുകൾ കാണിക്കൂ", "list"),
        ("aaj kitne baje hain?", "time"),
        ("अभी कितने बजे हैं", "time"),
        ("kya time hua hai", "time"),
        ("आता किती वाजले", "time"),
        ("અત્યારે કેટલા વાગ્યા છે", "time"),
        ("এখন কটা বাজে", "time"),
        ("மணி என்ன", "time"),
        ("ఇప్పుడు టైం ఎంత", "time"),
        ("സമയം എത്രയായി", "time"),
        ("aaj kya date hai", "date"),
        ("आज क्या तारीख है", "date"),
        ("இன்று என்ன தேதி", "date"),
        ("আজ কত তারিখ", "date"),
        # not a request
        ("cancel mat karo", "none"),
        ("बुक मत करो", "none"),
        ("kal milte hain", "none"),
        ("नमस्ते", "none"),
        ("परसों शाम पौने सात बजे", "none"),  # a time alone (the answer to "what time?")
    ],
)
def test_kinds(text: str, kind: str) -> None:
    assert parse_intent(text, NOW).kind == kind


def test_cancel_by_what_it_is_for_needs_a_booking() -> None:
    intent = parse_intent("mera haircut cancel karo", NOW)
    assert (intent.kind, intent.purpose, intent.if_booked) == ("cancel", "haircut", True)
    assert parse_intent("mera appointment cancel karo", NOW).if_booked is False


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("कल शाम 7 बजे", at(25, 19)),
        ("परसों सुबह 10 बजे", at(26, 10)),
        ("kal dedh baje", at(25, 13, 30)),
        ("ढाई बजे कल", at(25, 14, 30)),
        ("नौ बजे", at(25, 9)),
        ("aaj raat 9 baje", at(24, 21)),
        ("ఒంటి గంటకు రేపు", at(25, 13)),
        ("நாளை மூன்றரை மணிக்கு", at(25, 15, 30)),
        ("ശനിയാഴ്ച രാവിലെ പത്ത് മണിക്ക്", at(28, 10)),
        ("শুক্রবার সকাল নটায়", at(27, 9)),
        ("ગુરુવારે સાંજે છ વાગ્યે", at(26, 18)),
        ("tomorrow at 3 pm", at(25, 15)),
    ],
)
def test_when(text: str, when: datetime) -> None:
    assert parse_when(text, NOW)[0] == when


def test_names_in_hindi_and_hinglish() -> None:
    assert extract_facts("mera naam priya hai") == {"name": "Priya"}
    assert extract_facts("मेरा नाम प्रिया है") == {"name": "प्रिया"}
    assert extract_facts("मेरा नाम क्या है?") == {}
    assert extract_facts("mera naam kya hai") == {}


@pytest.mark.parametrize(
    ("text", "declared", "previous", "reply"),
    [
        ("कल दोपहर तीन बजे हेयरकट बुक करो", "hi", None, "hi"),
        ("कल दोपहर तीन बजे हेयरकट बुक करो", None, None, "hi"),
        ("उद्या तीन वाजता बुक करा", "mr", None, "mr"),
        ("kal 3 baje haircut book karo", "hi", None, "hi-Latn"),
        ("kal 3 baje haircut book karo", None, None, "hi-Latn"),
        ("Book a haircut tomorrow at 3 pm", "hi", "hi-Latn", "en"),  # switched to English
        ("What appointments do I have?", None, None, "en"),
        ("Hi, my name is Priya.", None, None, "en"),
        ("நாளை மூன்று மணிக்கு", "en", None, "ta"),
        ("কাল তিনটেয়", None, None, "bn"),
        ("3", "hi", "hi-Latn", "hi-Latn"),  # no words: the conversation's language goes on
        ("10:30", "ta", None, "ta"),
        ("Book at 5 with Dr. शर्मा", None, None, "en"),  # one Hindi word in English
    ],
)
def test_reply_language(text: str, declared: str | None, previous: str | None, reply: str) -> None:
    assert reply_language(text, declared, previous) == reply


@pytest.mark.parametrize(
    "text",
    [
        "What do I have tomorrow?",
        "Tell me one short fact about the moon.",
        "Who wrote Romeo and Juliet?",
        "Say hello to my friend.",
        "Book a table for two.",
        "How many legs does a dog have?",
    ],
)
def test_english_is_not_hinglish(text: str) -> None:
    assert not is_hinglish(text)

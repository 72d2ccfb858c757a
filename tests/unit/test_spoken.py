"""Numbers, dates, times and rupees as each reply language says them (backend/agents/locale/spoken.py).

The expected strings were written as a speaker of each language says them on the phone: the part of
the day before the hour ("दोपहर तीन बजे"), the quarter and half words (साढ़े, सवा, पौने, डेढ़, ढाई), the
Tamil/Telugu/Malayalam one-word halves (பத்தரை, పదిన్నర, പത്തര), Hindi amounts in hundreds."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.agents.intents import format_when
from backend.agents.locale.spoken import (
    cardinal,
    clock,
    date_name,
    day_phrase,
    join_items,
    reply_code,
    rupees,
    speak_rupees,
    when_phrase,
)

TZ = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 24, 14, 10, tzinfo=TZ)  # a Tuesday afternoon


def at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("lang", "hour", "minute", "spoken"),
    [
        ("en", 15, 0, "3 pm"),
        ("en", 10, 30, "10:30 am"),
        ("en", 12, 0, "noon"),
        ("en", 0, 0, "midnight"),
        ("hi", 15, 0, "दोपहर तीन बजे"),
        ("hi", 19, 0, "शाम सात बजे"),
        ("hi", 10, 30, "सुबह साढ़े दस बजे"),
        ("hi", 16, 15, "शाम सवा चार बजे"),
        ("hi", 8, 45, "सुबह पौने नौ बजे"),
        ("hi", 13, 30, "दोपहर डेढ़ बजे"),
        ("hi", 14, 30, "दोपहर ढाई बजे"),
        ("hi", 21, 0, "रात नौ बजे"),
        ("hi", 12, 0, "दोपहर बारह बजे"),
        ("hi", 0, 0, "रात बारह बजे"),
        ("hi", 12, 45, "दोपहर पौने एक बजे"),
        ("hi", 15, 20, "दोपहर तीन बजकर बीस मिनट पर"),
        ("hi", 6, 0, "सुबह छह बजे"),
        ("hi-Latn", 15, 0, "dopahar 3 baje"),
        ("hi-Latn", 10, 30, "subah saadhe 10 baje"),
        ("hi-Latn", 18, 45, "shaam paune 7 baje"),
        ("hi-Latn", 15, 20, "dopahar 3 bajkar 20 minute par"),
        ("mr", 15, 0, "दुपारी तीन वाजता"),
        ("mr", 10, 30, "सकाळी साडे दहा वाजता"),
        ("mr", 13, 30, "दुपारी दीड वाजता"),
        ("mr", 14, 30, "दुपारी अडीच वाजता"),
        ("mr", 19, 15, "संध्याकाळी सव्वा सात वाजता"),
        ("mr", 15, 20, "दुपारी तीन वाजून वीस मिनिटांनी"),
        ("gu", 15, 0, "બપોરે ત્રણ વાગ્યે"),
        ("gu", 10, 30, "સવારે સાડા દસ વાગ્યે"),
        ("gu", 14, 30, "બપોરે અઢી વાગ્યે"),
        ("gu", 18, 0, "સાંજે છ વાગ્યે"),
        ("bn", 15, 0, "বিকেল তিনটেয়"),
        ("bn", 10, 30, "সকাল সাড়ে দশটায়"),
        ("bn", 13, 30, "দুপুর দেড়টায়"),
        ("bn", 20, 0, "রাত আটটায়"),
        ("bn", 15, 20, "বিকেল তিনটে বেজে বিশ মিনিটে"),
        ("ta", 15, 0, "மதியம் மூன்று மணிக்கு"),
        ("ta", 10, 30, "காலை பத்தரை மணிக்கு"),
        ("ta", 13, 0, "மதியம் ஒரு மணிக்கு"),
        ("ta", 19, 0, "இரவு ஏழு மணிக்கு"),
        ("ta", 15, 20, "மதியம் மூன்று மணி இருபது நிமிடத்துக்கு"),
        ("te", 15, 0, "మధ్యాహ్నం మూడు గంటలకు"),
        ("te", 10, 30, "ఉదయం పదిన్నర గంటలకు"),
        ("te", 13, 0, "మధ్యాహ్నం ఒంటి గంటకు"),
        ("te", 18, 0, "సాయంత్రం ఆరు గంటలకు"),
        ("te", 15, 20, "మధ్యాహ్నం మూడు గంటల ఇరవై నిమిషాలకు"),
        ("ml", 15, 0, "ഉച്ചകഴിഞ്ഞ് മൂന്ന് മണിക്ക്"),
        ("ml", 10, 30, "രാവിലെ പത്തര മണിക്ക്"),
        ("ml", 12, 0, "ഉച്ചയ്ക്ക് പന്ത്രണ്ട് മണിക്ക്"),
        ("ml", 13, 0, "ഉച്ചയ്ക്ക് ഒരു മണിക്ക്"),
        ("ml", 19, 0, "രാത്രി ഏഴ് മണിക്ക്"),
    ],
)
def test_clock_times(lang: str, hour: int, minute: int, spoken: str) -> None:
    assert clock(hour, minute, lang) == spoken


@pytest.mark.parametrize(
    ("lang", "hour", "minute", "spoken"),
    [
        ("en", 15, 10, "3:10 p.m."),
        ("en", 6, 0, "6 a.m."),
        ("hi", 15, 10, "दोपहर के तीन बजकर दस मिनट हुए हैं"),
        ("hi", 13, 0, "दोपहर का एक बजा है"),
        ("hi", 19, 30, "शाम के साढ़े सात बजे हैं"),
        ("hi", 13, 30, "दोपहर का डेढ़ बजा है"),
        ("hi-Latn", 19, 0, "shaam ke 7 baje hain"),
        ("mr", 15, 0, "दुपारचे तीन वाजले आहेत"),
        ("mr", 13, 0, "दुपारचा एक वाजला आहे"),
        ("gu", 15, 0, "બપોરના ત્રણ વાગ્યા છે"),
        ("gu", 13, 0, "બપોરનો એક વાગ્યો છે"),
        ("bn", 15, 0, "বিকেল তিনটে বাজে"),
        ("ta", 15, 0, "மதியம் மூன்று மணி"),
        ("te", 15, 0, "మధ్యాహ్నం మూడు గంటలు"),
        ("ml", 15, 0, "ഉച്ചകഴിഞ്ഞ് മൂന്ന് മണി"),
    ],
)
def test_the_time_now(lang: str, hour: int, minute: int, spoken: str) -> None:
    assert clock(hour, minute, lang, now=True) == spoken


@pytest.mark.parametrize(
    ("lang", "when", "spoken"),
    [
        ("en", at(25, 15), "tomorrow at 3 pm"),
        ("en", at(27, 10, 30), "Friday 27 November at 10:30 am"),
        ("en", at(5, 9, month=1, year=2027), "Tuesday 5 January 2027 at 9 am"),
        ("hi", at(25, 15), "कल दोपहर तीन बजे"),
        ("hi", at(26, 17), "परसों शाम पाँच बजे"),
        ("hi", at(24, 19), "आज शाम सात बजे"),
        ("hi", at(27, 10, 30), "शुक्रवार, 27 नवंबर को सुबह साढ़े दस बजे"),
        ("hi-Latn", at(25, 15), "kal dopahar 3 baje"),
        ("hi-Latn", at(27, 11), "Friday, 27 November ko subah 11 baje"),
        ("mr", at(25, 15), "उद्या दुपारी तीन वाजता"),
        ("mr", at(27, 11), "शुक्रवार, 27 नोव्हेंबर रोजी सकाळी अकरा वाजता"),
        ("gu", at(25, 15), "કાલે બપોરે ત્રણ વાગ્યે"),
        ("bn", at(25, 15), "কাল বিকেল তিনটেয়"),
        ("bn", at(26, 10), "পরশু সকাল দশটায়"),
        ("ta", at(25, 15), "நாளை மதியம் மூன்று மணிக்கு"),
        ("te", at(25, 15), "రేపు మధ్యాహ్నం మూడు గంటలకు"),
        ("te", at(26, 9), "ఎల్లుండి ఉదయం తొమ్మిది గంటలకు"),
        ("ml", at(25, 15), "നാളെ ഉച്ചകഴിഞ്ഞ് മൂന്ന് മണിക്ക്"),
        ("ml", at(27, 10), "വെള്ളിയാഴ്ച, 27 നവംബർ രാവിലെ പത്ത് മണിക്ക്"),
    ],
)
def test_when_a_booking_is(lang: str, when: datetime, spoken: str) -> None:
    assert when_phrase(when, NOW, lang) == spoken


def test_format_when_is_the_english_when_phrase() -> None:
    assert format_when(at(25, 15), NOW) == "tomorrow at 3 pm"
    assert format_when(at(25, 15), NOW, "hi") == "कल दोपहर तीन बजे"


def test_days_and_dates() -> None:
    friday = date(2026, 11, 27)
    assert day_phrase(friday, NOW.date(), "en") == "on Friday 27 November"
    assert day_phrase(friday, NOW.date(), "hi") == "शुक्रवार, 27 नवंबर को"
    assert day_phrase(date(2026, 11, 25), NOW.date(), "ta") == "நாளை"
    assert day_phrase(date(2026, 11, 23), NOW.date(), "en") == "yesterday"
    assert date_name(NOW.date(), "hi", year=True) == "मंगलवार, 24 नवंबर 2026"
    assert date_name(NOW.date(), "bn", year=True) == "মঙ্গলবার, 24 নভেম্বর 2026"
    assert date_name(NOW.date(), "en", year=True) == "Tuesday 24 November 2026"


@pytest.mark.parametrize(
    ("lang", "n", "words"),
    [
        ("en", 0, "zero"),
        ("en", 15, "fifteen"),
        ("en", 42, "forty two"),
        ("en", 1250, "one thousand two hundred fifty"),
        ("en", 120000, "one lakh twenty thousand"),
        ("hi", 3, "तीन"),
        ("hi", 6, "छह"),
        ("hi", 45, "पैंतालीस"),
        ("mr", 2, "दोन"),
        ("mr", 1000, "एक हजार"),
        ("gu", 3, "ત્રણ"),
        ("bn", 20, "বিশ"),
        ("ta", 2, "இரண்டு"),
        ("te", 2, "రెండు"),
        ("te", 1250, "వెయ్యి రెండు వందల యాభై"),
        ("ml", 3, "മൂന്ന്"),
        ("hi-Latn", 3, "3"),
    ],
)
def test_cardinals(lang: str, n: int, words: str) -> None:
    assert cardinal(n, lang) == words


@pytest.mark.parametrize(
    ("lang", "amount", "spoken"),
    [
        ("en", "1,250", "one thousand two hundred fifty rupees"),
        ("en", 1, "one rupee"),
        ("en", "12.50", "twelve rupees fifty paise"),
        ("hi", "₹1,250", "बारह सौ पचास रुपये"),
        ("hi", 2500, "पच्चीस सौ रुपये"),
        ("hi", 1050, "एक हज़ार पचास रुपये"),
        ("hi", 1, "एक रुपया"),
        ("hi", 500, "पाँच सौ रुपये"),
        ("hi", 15000, "पंद्रह हज़ार रुपये"),
        ("hi-Latn", 1250, "1250 rupaye"),
        ("mr", 1250, "एक हजार दोनशे पन्नास रुपये"),
        ("gu", 1250, "એક હજાર બસો પચાસ રૂપિયા"),
        ("bn", 1250, "এক হাজার দুশো পঞ্চাশ টাকা"),
        ("ta", 1250, "ஆயிரத்து இருநூற்று ஐம்பது ரூபாய்"),
        ("te", 1250, "వెయ్యి రెండు వందల యాభై రూపాయలు"),
        ("ml", 1250, "ആയിരത്തി ഇരുനൂറ്റമ്പത് രൂപ"),
    ],
)
def test_rupees(lang: str, amount: str | int, spoken: str) -> None:
    assert rupees(amount, lang) == spoken


def test_rupees_in_text_and_bad_amounts() -> None:
    assert speak_rupees("The cut costs ₹1,250 and the wash Rs. 200.", "en") == (
        "The cut costs one thousand two hundred fifty rupees and the wash two hundred rupees."
    )
    assert speak_rupees("कटिंग ₹1,250 की है", "hi") == "कटिंग बारह सौ पचास रुपये की है"
    with pytest.raises(ValueError):
        rupees("lots", "en")
    with pytest.raises(ValueError):
        rupees(-5, "hi")


def test_lists_and_codes() -> None:
    assert join_items(["a", "b", "c"], "en") == "a, b, and c"
    assert join_items(["a", "b"], "hi") == "a और b"
    assert join_items(["a"], "ta") == "a"
    assert [reply_code(c) for c in ("hi-IN", "HI_latn", "ta", "xx", None)] == [
        "hi",
        "hi-Latn",
        "ta",
        "en",
        "en",
    ]

"""Deterministic intent parsing for the voice agent.

The local LLM is a small base model that cannot call tools, so this module decides from one
(speech-recognised) utterance what the user wants: book, list or cancel an appointment, or hear the current
time or date.  It also extracts when (timezone-aware), for what and under which name, and durable facts
(name, city) for the agent's memory.  Input is expected to look like ASR output: lower case, missing or odd
punctuation, numbers as words or digits ("three pm", "3 p.m.", "15:00", "half past two").

Conventions: an hour said without am/pm is 1-7 -> pm, 8-11 -> am, 12 -> noon (business hours) unless a period
word ("evening", "morning", "tonight") decides; a time without a date is its next occurrence; a date without a
time is 09:00 with has_time False.  Pure logic.

The Indian languages (`backend/agents/locale/words.py`): Hindi in Devanagari and romanised (Hinglish: "kal 3
baje haircut book karo", "mera appointment cancel karo", "aaj kitne baje hain"), and book / list / cancel /
time / date with today, tomorrow, the day after, weekdays, parts of the day and "N o'clock" (in words or
digits, with साढ़े / सवा / पौने and their cousins) in Marathi, Gujarati, Bengali, Tamil, Telugu and Malayalam.
Their clock times are rewritten into the English form first ("दोपहर तीन बजे" -> "दोपहर 3 oclock"); in them a
booking may leave out the verb ("parson shaam 5 baje dentist": a time and what it is for), and what it is for
is what is left of the sentence without day, time, verb and function words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from backend.agents.locale import words as W
from backend.agents.locale.spoken import when_phrase
from backend.media.language_id import dominant_script, is_hinglish

IntentKind = Literal["book", "list", "cancel", "time", "date", "none"]


@dataclass(frozen=True)
class Intent:
    """What one utterance asks for; `when` is set for book/cancel/list when a date or time was said."""

    kind: IntentKind
    when: datetime | None = None
    has_date: bool = False
    has_time: bool = False
    purpose: str | None = None
    name: str | None = None
    # "cancel my haircut": a cancel only if an appointment is for that (not "cancel my subscription"); the
    # agent checks the user's appointments
    if_booked: bool = False


# ---------------------------------------------------------------- vocabulary
_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
)
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS.split())}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fifth": 5, "eighth": 8, "ninth": 9, "twelfth": 12}
_ORDINALS |= {w + "th": v for w, v in _UNITS.items() if v in (4, 6, 7, 10, 11) or v >= 13}
_ORDINALS |= {"twentieth": 20, "thirtieth": 30}
_MONTH_SPEC = (
    "january jan|february feb|march mar|april apr|may|june jun|july jul|august aug|september sep sept|"
    "october oct|november nov|december dec"
)
_MONTHS = {m: i + 1 for i, names in enumerate(_MONTH_SPEC.split("|")) for m in names.split()}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_PERIODS = {  # word -> (default hour, am/pm context for an ambiguous hour)
    "morning": (9, "am"), "afternoon": (15, "pm"), "evening": (18, "pm"), "tonight": (19, "pm"),
    "night": (20, "pm"),
} | W.PERIODS  # fmt: skip
_PERIOD_RE = re.compile(r"(?<!\S)(" + "|".join(sorted(_PERIODS, key=len, reverse=True)) + r")(?!\S)")
_PUNCT = re.compile(r"[!\"#$%&()*+,;<=>?\[\\\]^_`{|}~।॥…“”«»¿¡]")
_NOUN = r"(?:appointments?|bookings?|reservations?|meetings?|slots?|sessions?)"

_STOP = set(
    "at on in by from to till until between under around about before after and or but so because please for "
    "with me us it this that today tonight tomorrow next coming day week month morning afternoon evening "
    "night noon midday midnight half quarter past am pm oclock is was be i you we my name called , also then "
    "now later".split()
) | set(_WEEKDAYS + list(_MONTHS) + list(_UNITS) + list(_TENS))
_DETERMINERS = {"a", "an", "the", "my", "our", "your", "another", "new", "me", "us", "some"}
_GENERIC = set(
    "appointment appointments booking bookings reservation reservations slot slots time one it that this "
    "something anything thing date".split()
)
_COMMON = _STOP | set(
    "fine good okay ok here there looking going trying doing not so very really just sorry back home ready "
    "sure done new busy free available happy glad tired well alright great interested calling a an the from "
    "still afraid hungry late early thinking wondering planning getting sick bored feeling asking working "
    "married single and your yes no hi hello hey thanks thank bad better worse excited soon maybe when if "
    "what how who sir madam out up down off over anytime anything something nothing someone everyone all "
    "only already almost able unable gonna wanna coming leaving staying living based told certain curious "
    "indian american british hindu muslim christian vegetarian vegan".split()
)
_CITY_REJECT = _COMMON | set(
    "fear peace hope love trouble debt town city country village house flat apartment hostel area same "
    "different far near work office school college originally currently".split()
)
_CITY_PREFIXES = set("new navi san los las santa saint st port fort greater old".split())


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _words_to_digits(text: str) -> str:
    """Replace number words ("twenty five", "forty-five", "twenty fifth") by digits ("25", "45", "25th")."""
    toks, out, i = text.split(), list[str](), 0
    while i < len(toks):
        tok, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else ""
        if tok in _TENS and 0 < _UNITS.get(nxt, 0) < 10:
            out.append(str(_TENS[tok] + _UNITS[nxt]))
            i += 1
        elif tok in _TENS and 0 < _ORDINALS.get(nxt, 0) < 10:
            out.append(_ordinal(_TENS[tok] + _ORDINALS[nxt]))
            i += 1
        elif tok in _TENS or tok in _UNITS:
            out.append(str(_TENS.get(tok, _UNITS.get(tok))))
        elif tok in _ORDINALS:
            out.append(_ordinal(_ORDINALS[tok]))
        else:
            out.append(tok)
        i += 1
    return " ".join(out)


def _normalize(text: str) -> str:
    """Lower-case ASR text, unify "p.m."/"o'clock", drop punctuation and turn number words into digits."""
    t = W.ascii_digits(W.nfc(text)).lower().replace("’", "'").replace("‘", "'")
    t = re.sub(r"\b([ap])\s*\.\s*m\b\.?", r"\1m", t).replace("'", "")
    t = re.sub(r"\bgood\s+(?:morning|afternoon|evening|night)\b|\b(?:uh+|um+|er+m?|hmm+)\b", " ", t)
    t = re.sub(r"\b(tomorrow|tonight|yesterday|(?:mon|tues|wednes|thurs|fri|satur|sun)day)s\b", r"\1", t)
    t = _PUNCT.sub(" ", t)
    t = re.sub(r"(?<!\d)[:/.\-]|[:/.\-](?!\d)", " ", t)
    t = W.normalize_times(t)
    t = _words_to_digits(t)
    t = re.sub(r"(\d)\s*([ap])\s*m\b", r"\1 \2m", t)
    t = re.sub(r"\bo\s*clock\b|बजे", " oclock", t)
    return " ".join(t.split())


def _clean_cased(text: str) -> str:
    """Keep case (names), mark clause breaks as " , " and drop other punctuation."""
    t = re.sub(r"\b(Dr|Mr|Mrs|Ms|St)\.", r"\1", text.replace("’", "").replace("'", ""))
    t = _PUNCT.sub(" ", re.sub(r"[,;!?।]|\.(?!\d)", " \x01 ", t))
    return " ".join(t.replace("\x01", ",").split())


# ---------------------------------------------------------------- dates and times
def _ymd(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_day(today: date, month: int, day: int, year: str | None) -> date | None:
    if year:
        y = int(year)
        return _ymd(y + 2000 if y < 100 else y, month, day)
    cand = _ymd(today.year, month, day)
    return cand if cand and cand >= today else _ymd(today.year + 1, month, day)


def _find_date(t: str, today: date) -> tuple[date | None, bool, str]:
    """Return (date, bare_weekday, text with the matched date masked out)."""
    rules: list[tuple[str, int]] = [
        (r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", 0),
        (r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b|\b(\d{1,2})-(\d{1,2})-(\d{2,4})\b", 1),
        (rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b(?:\s+(\d{{4}})\b)?", 2),
        (rf"\b({_MONTH_RE})\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?::|am\b|pm\b|oclock))"
         r"(?:\s+(\d{4})\b)?", 3),
        (r"\b(?:on|for)\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b"
         r"(?!\s+(?:time|one|slot|available|free|option))", 4),
    ]  # fmt: skip
    for pattern, kind in rules:
        m = re.search(pattern, t)
        if not m:
            continue
        g = m.groups()
        if kind == 0:
            d = _ymd(int(g[0]), int(g[1]), int(g[2]))
        elif kind == 1:
            day, mon, yr = (g[0], g[1], g[2]) if g[0] else (g[3], g[4], g[5])
            d = _month_day(today, int(mon), int(day), yr) if 1 <= int(mon) <= 12 else None
        elif kind == 2:
            d = _month_day(today, _MONTHS[g[1]], int(g[0]), g[2])
        elif kind == 3:
            d = _month_day(today, _MONTHS[g[0]], int(g[1]), g[2])
        else:
            d = _ymd(today.year, today.month, int(g[0]))
            if d is None or d < today:
                nxt = today.replace(day=1) + timedelta(days=32)
                d = _ymd(nxt.year, nxt.month, int(g[0]))
        if d:
            return d, False, t[: m.start()] + " " * (m.end() - m.start()) + t[m.end() :]
    next_week = bool(re.search(r"\bnext\s+week\b", t))
    if re.search(r"\bday\s+after\s+tomorrow\b", t) or W.DAY_AFTER.search(t):
        return today + timedelta(days=2), False, t
    if re.search(r"\b(?:tomorrow|tmrw|tomorow)\b", t) or W.TOMORROW.search(t):
        return today + timedelta(days=1), False, t
    if re.search(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", t) or W.TODAY.search(t):
        return today, False, t
    if m := re.search(r"\bin\s+(\d+|an?)\s+(days?|weeks?)\b", t):
        n = 1 if m.group(1) in ("a", "an") else int(m.group(1))
        return today + timedelta(days=n * (7 if m.group(2).startswith("week") else 1)), False, t
    m = re.search(r"\b(?:(next|this|coming)\s+)?(" + "|".join(_WEEKDAYS) + r")\b", t)
    wd = (
        _WEEKDAYS.index(m.group(2))
        if m
        else next((i for i, names in enumerate(W.WEEKDAY_NAMES) if any(w in t for w in names)), None)
    )
    if wd is not None:
        delta = (wd - today.weekday()) % 7
        if next_week and not (m and m.group(1)):
            return today + timedelta(days=7 - today.weekday() + wd), False, t
        if m and m.group(1) == "next":
            return today + timedelta(days=delta or 7), False, t
        return today + timedelta(days=delta), True, t
    if next_week:
        return today + timedelta(days=7), False, t
    return None, False, t


def _resolve(
    h: int, mi: int, ampm: str | None, period: str | None, is24: bool = False
) -> tuple[int, int] | None:
    """Apply am/pm, a period of day ("evening") or the business-hours guess to an hour as said."""
    if h > 23 or mi > 59:
        return None
    if ampm and h <= 12:
        h = (0 if h == 12 else h) if ampm == "am" else (h if h == 12 else h + 12)
    elif not (ampm or is24 or h == 0 or h > 12):
        if period == "pm" and h < 12:
            h += 12
        elif period is None and 1 <= h <= 7:
            h += 12
    return h, mi


_AMPM_TAIL = r"(?:\s*(am|pm|oclock)\b)?"
_TIME_RULES = [
    (r"\b(?:from|between)\s+(\d{1,2})(?:[:.](\d{2}))?\s+(?:to|till|until|and)\s+(\d{1,2})(?:[:.]\d{2})?"
     r"(?:\s*(am|pm)\b)?", "range"),
    (r"\b(half|(?:a\s+)?quarter|(?:5|10|20|25)|\d{1,2}\s+minutes?)\s+(past|after|to|till)\s+(\d{1,2})\b"
     + _AMPM_TAIL, "rel"),
    (r"\b(\d{1,2})(?:[:.\s]?(\d{2}))?\s*(am|pm)\b", "ampm"),
    (r"\b(\d{1,2})(?:[:.\s](\d{2}))?\s+oclock\b", "plain"),
    (r"\b(\d{1,2}):(\d{2})\b", "plain"),
    (r"\b(noon|midday|midnight)\b", "word"),
    (r"(?:\b(?:at|by|around|about|till|until|from)|@)\s+(?:like\s+|about\s+|around\s+)?(\d{1,2})"
     r"(?:[:.\s](\d{2}))?\b(?!\s*(?:/|-|(?:st|nd|rd|th|days?|weeks?|months?|years?|people|persons?|guests?|"
     r"minutes?|mins?|hours?|hrs?)\b))", "plain"),
    (r"\b(\d{1,2})(?:[:.\s](\d{2}))?\s+(?=(?:in\s+the\s+)?(?:morning|afternoon|evening|night|tonight)\b)",
     "plain"),
    (r"^\s*(\d{1,2})(?:[.\s](\d{2}))?(?:\s+please)?\s*$", "plain"),  # the whole answer: "3", "ten thirty"
]  # fmt: skip


def _find_time(masked: str, full: str) -> tuple[int, int] | None:
    """Explicit clock time in `masked` (dates blanked out), else a period word ("morning") in `full`."""
    pm = _PERIOD_RE.search(full)
    period = _PERIODS[pm.group(1)][1] if pm else None
    for pattern, kind in _TIME_RULES:
        for m in re.finditer(pattern, masked):
            g = m.groups()
            if kind == "word":
                return {"noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}[g[0]]
            if kind == "rel":
                mins = 30 if g[0] == "half" else 15 if "quarter" in g[0] else int(g[0].split()[0])
                base = _resolve(int(g[2]), 0, g[3] if g[3] != "oclock" else None, period)
                if base is None or mins >= 60:
                    continue
                total = base[0] * 60 + (mins if g[1] in ("past", "after") else -mins)
                return (total // 60) % 24, total % 60
            hour, minute = g[0], g[1] or "0"
            ampm = g[2] if kind == "ampm" else None
            if kind == "range":  # "from 2 to 3 pm": the start, with the end's am/pm when it fits
                ampm = g[3] if g[3] and int(hour) <= int(g[2]) else None
            res = _resolve(int(hour), int(minute), ampm, period, is24=len(hour) == 2 and hour[0] == "0")
            if res:
                return res
    return (_PERIODS[pm.group(1)][0], 0) if pm else None


def _at(d: date, hm: tuple[int, int], tz: tzinfo | None) -> datetime:
    return datetime.combine(d, time(hm[0], hm[1]), tzinfo=tz)


def parse_when(text: str, now: datetime) -> tuple[datetime | None, bool, bool]:
    """Return (when, has_date, has_time) for the date/time said in `text`, in now's timezone."""
    t, tz, today = _normalize(text), now.tzinfo, now.date()
    day, bare_weekday, masked = _find_date(t, today)
    hm = _find_time(masked, t)
    if day is None and hm is None:  # "in 2 hours", "in half an hour"
        m = re.search(r"\bin\s+(\d+|an?|half\s+an?)\s+(hours?|hrs?|minutes?|mins?)\b", t)
        if not m:
            return None, False, False
        n = 0.5 if m.group(1).startswith("half") else 1 if m.group(1) in ("a", "an") else int(m.group(1))
        delta = timedelta(hours=n) if m.group(2).startswith("h") else timedelta(minutes=n)
        return (now + delta).replace(second=0, microsecond=0), False, True
    if day is None and hm is not None:  # a time alone: its next occurrence
        when = _at(today, hm, tz)
        return (when if when > now else _at(today + timedelta(days=1), hm, tz)), False, True
    assert day is not None
    when = _at(day, hm or (9, 0), tz)
    if bare_weekday and day == today and when <= now:
        when = _at(day + timedelta(days=7), hm or (9, 0), tz)
    return when, True, hm is not None


# ---------------------------------------------------------------- kinds
_NEGATION = re.compile(r"\b(?:dont|do not|not|never|no need to|didnt|wont)\b")
_CANCEL = re.compile(r"\b(?:cancel|delete|remove|call\s+off|drop)\b")
# "cancel my haircut", "call off the dentist": what is cancelled is named, not said to be an appointment
_CANCEL_WHAT = re.compile(r"\b(?:cancel|call\s+off)\s+(?:my|the|our)(?:\s+\w+){1,3}\s*(?:please)?\s*$")
_BOOK = [
    # "book" as a verb: not after a determiner ("a good book"), followed by what a booking request says next
    re.compile(r"(?<!\ba )(?<!\bthe )(?<!\bmy )(?<!\bthis )(?<!\bthat )(?<!\byour )(?<!\bgood )"
               r"\b(?:book|schedule|reserve)\b(?=\s+(?:me|us|a|an|it|my|the|one|another|in|for|on|at|today|"
               r"tonight|tomorrow|next|this|appointments?|slots?|day|half|quarter|noon|midday|with|something|"
               r"someone|please|from|around|by|between|" + "|".join(_WEEKDAYS + list(_MONTHS)) + r"|\d+)\b)"),
    re.compile(r"^\s*(?:book|schedule|reserve)\s*$|\b(?:to|can|please|lets|you|i|we|and|just|ahead|could|"
               r"would|will|then|so)\s+(?:book|schedule|reserve)\s*$"),
    re.compile(r"\b(?:make|fix|get|need|want|like|request|add|create|schedule)\s+(?:me\s+)?(?:a|an|one|"
               r"another|new|my)?\s*(?:\w+\s+)?(?:appointment|booking|reservation|slot)\b"),
    re.compile(r"\b(?:set\s*up|arrange|organi[sz]e|plan)\s+(?:a|an|one|another|new)?\s*(?:\w+\s+)?"
               r"(?:appointment|booking|reservation|meeting|call|slot|session)\b"),
]  # fmt: skip
_LIST = [
    re.compile(r"\b(?:list|show|read|view|check|see|tell\s+me|give\s+me|display)\b(?:\s+\w+){0,3}?\s+(?:"
               r"appointments?|bookings?|reservations?|meetings|schedule|calendar|agenda)\b"),
    re.compile(r"\bwhat\s+(?:are\s+)?(?:my\s+|the\s+)?(?:appointments|bookings|reservations|meetings)\b"),
    re.compile(rf"\b(?:do|did)\s+i\s+have\s+(?:any(?:thing)?|an?|some|other)?\s*(?:\w+\s+)?"
               rf"(?:{_NOUN}|scheduled|booked|planned)\b"),
    re.compile(r"\bwhat(?:s|\s+is)\s+(?:on\s+)?(?:my|the)\s+(?:calendar|schedule|agenda)\b"),
    re.compile(rf"\b(?:any|my|all)\s+(?:upcoming|next|existing|current|scheduled|future)\s+{_NOUN}"),
    re.compile(rf"\b(?:when|what\s+time|what\s+day)\s+is\s+my\s+(?:next\s+)?(?:\w+\s+)?{_NOUN}"),
    re.compile(r"\bwhat\s+(?:have|did)\s+i\s+(?:booked|book|scheduled|schedule)\b"
               r"|\bam\s+i\s+(?:booked|busy)\b"),
    re.compile(r"\bhow\s+many\s+(?:appointments|bookings|reservations)\b"),
]  # fmt: skip
_TIME_Q = re.compile(
    r"\bwhat\s+time\s+is\s+it\b|\bwhat\s+time\s+it\s+is\b|\bwhat(?:s|\s+is)\s+the\s+(?:current\s+)?time\b"
    r"(?!\s+(?:difference|zone|limit|for|of|on))|\b(?:current|exact)\s+time\b|\btell\s+me\s+the\s+time\b"
    r"|\b(?:know|have|got)\s+the\s+time\b|\bthe\s+time\s+(?:right\s+)?now\b"
)
_DATE_Q = re.compile(
    r"\bwhat(?:s|\s+is)\s+(?:the\s+)?(?:date|day)(?:\s+today)?\b(?!\s+(?:of|for|is\s+my))|\btodays\s+date\b"
    r"|\bwhat\s+(?:day|date)\s+is\s+(?:it|today)\b|\bwhat(?:s|\s+is)\s+today\b"
    r"|\bwhich\s+day\s+is\s+(?:it|today)\b"
    r"|\b(?:what|which)\s+(?:day\s+of\s+the\s+week|weekday)\s+(?:is\s+(?:it|today)|it\s+is)\b"
    r"|\bcurrent\s+date\b|\btell\s+me\s+the\s+(?:date|day)\b"
)


def _negated(t: str, pos: int) -> bool:
    """Whether one of the three words before `pos` negates ("don't book", "do not cancel")."""
    return bool(_NEGATION.search(" ".join(t[:pos].split()[-3:])))


def _kind(t: str, has_when: bool) -> IntentKind:
    """Classify normalised text; cancel > list > book > time > date > none."""
    noun, negated = bool(W.APPOINTMENT.search(t)), bool(W.NEGATION.search(t))
    if (m := _CANCEL.search(t)) and not _negated(t, m.start()):
        tail = t[m.end() :]
        if re.search(rf"^\s*(?:\S+\s+){{0,3}}?{_NOUN}\b", tail) or (
            has_when and re.match(r"\s+(?:my|the)\b", tail)
        ):
            return "cancel"
    if W.CANCEL.search(t) and not negated:
        return "cancel"
    if any(p.search(t) for p in _LIST) or (noun and W.LIST.search(t) and not W.BOOK.search(t)):
        return "list"
    for p in _BOOK:
        if (m := p.search(t)) and not _negated(t, m.start()):
            return "book"
    if (W.BOOK.search(t) or (noun and W.WANT.search(t))) and not negated:
        return "book"
    if _TIME_Q.search(t) or W.TIME_Q.search(t):
        return "time"
    if _DATE_Q.search(t) or W.DATE_Q.search(t):
        return "date"
    return "none"


def _local_purpose(t: str) -> str | None:
    """What a booking in an Indian language is for: the words left without day, time, verb and function
    words ("कल दोपहर 3 oclock हेयरकट बुक करो" -> "हेयरकट")."""
    for pattern in (W.DAY_AFTER, W.TOMORROW, W.TODAY, W.NEGATION):
        t = pattern.sub(" ", t)
    weekdays = {w for names in W.WEEKDAY_NAMES for w in names}

    def content(w: str) -> bool:
        if w in W.FILLER or w in _STOP or any(c.isdigit() for c in w) or any(d in w for d in weekdays):
            return False
        if W.BOOK.search(w) or W.CANCEL.search(w):
            return False
        return not W.APPOINTMENT.search(w) or "मीटिंग" in w  # "a meeting" is what it is for

    left = [w for w in t.split() if content(w)]
    return " ".join(left[:3]) or None


def _is_local(text: str) -> bool:
    """Said in an Indian language (its own script, or romanised Hindi)."""
    return dominant_script(text) not in (None, "latin") or is_hinglish(text)


# ---------------------------------------------------------------- purpose, names, facts
def _phrase(words: list[str], limit: int = 4) -> str | None:
    """Up to `limit` content words: no determiners, stop words, digits or generic nouns ("appointment")."""
    while words and words[0].lower() in _DETERMINERS:
        words = words[1:]
    out: list[str] = []
    for w in words[:limit]:
        if w.lower() in _STOP or w.lower().removesuffix("s") in _STOP or any(c.isdigit() for c in w):
            break
        out.append(w)
    while out and out[-1].lower() in _GENERIC:
        out.pop()
    return " ".join(out) or None


def _is_word(w: str) -> bool:
    return bool(w) and all(c.isalpha() or unicodedata.category(c).startswith("M") for c in w)


def _name_at(words: list[str], explicit: bool) -> str | None:
    """A one/two word name starting at words[0]; it must be capitalised unless `explicit` ("my name is")."""
    if not words or not _is_word(words[0]) or words[0].lower() in _COMMON:
        return None
    if not explicit and not words[0][0].isupper():
        return None
    out = [words[0]]
    if len(words) > 1 and _is_word(words[1]) and words[1][0].isupper() and words[1].lower() not in _COMMON:
        out.append(words[1])
    return " ".join(w[0].upper() + w[1:] if w.islower() else w for w in out)


def _purpose_and_name(text: str) -> tuple[str | None, str | None]:
    """What the booking is for ("dentist", "a meeting with Ravi") and under which name."""
    c = _clean_cased(text)

    def words(m: re.Match[str]) -> list[str]:
        return c[m.end() :].split()

    name, purpose = None, None
    if m := re.search(r"\bunder\s+(?:the\s+name\s+(?:of\s+)?)?|\bin\s+(?:the\s+)?name\s+of\s+", c, re.I):
        name = _name_at(words(m), explicit=True)
    if m := re.search(r"\b(?:(a|an|the)\s+)?(meeting|call|lunch|dinner|chat)\s+with\s+", c, re.I):
        if who := _phrase(words(m), 3):
            purpose = f"{(m.group(1) or 'a').lower()} {m.group(2).lower()} with {who}"
    for m in re.finditer(r"\b(with|for)\s+", c, re.I):
        if purpose:
            break
        rest = words(m)
        if (
            m.group(1).lower() == "for"
            and (cand := _name_at(rest[:1], explicit=False))
            and (len(rest) == 1 or rest[1].lower() in _STOP)
        ):
            name = name or cand
            continue
        if purpose := _phrase(rest):
            break
    if purpose is None:
        verbs = r"\b(?:book|schedule|reserve|arrange|set\s+up|make|fix|cancel|delete|remove|call\s+off)\s+"
        if m := re.search(verbs, c, re.I):
            purpose = _phrase(words(m))
    return purpose, name or extract_facts(text).get("name")


def extract_facts(text: str) -> dict[str, str]:
    """Durable user facts (conservative): {"name": ...} and/or {"city": ...}."""
    c, facts = _clean_cased(text), dict[str, str]()
    for cue, explicit in (
        (r"\b(?:my\s+names?(?:\s+is)?|call\s+me)\s+", True),
        (r"\b(?:i\s+am|im)\s+", False),
    ):
        for m in re.finditer(cue, c, re.I):
            if name := _name_at(c[m.end() :].split(), explicit):
                facts.setdefault("name", name)
    said = re.search(r"मेरा\s+नाम\s+(\S+)|\bmera\s+naam\s+(\w+)", text, re.I)
    told = (said.group(1) or said.group(2) or "") if said else ""
    if told and told.lower() not in ("क्या", "kya", "है", "hai"):  # not "मेरा नाम क्या है?"
        facts.setdefault("name", told.capitalize() if told.isascii() else told)
    cue = r"\b(?:i\s+(?:live|stay)\s+in|(?:i\s+am|im)\s+(?:from|based\s+in|living\s+in)"
    cue += r"|my\s+(?:city|hometown)\s+is)\s+"
    if at := re.search(cue, c, re.I):
        words = c[at.end() :].split()[:3]
        first = words[0].lower() if words else ""
        if _is_word(first) and (first not in _CITY_REJECT or first in _CITY_PREFIXES):
            if words[0][0].isupper():  # "New Delhi", "Pune" (stops at "," or a lower-case word)
                city = [words[0]]
                for w in words[1:]:
                    if not (_is_word(w) and w[0].isupper() and w.lower() not in _COMMON):
                        break
                    city.append(w)
            else:  # ASR lower case: one word, or two after "new", "navi", "san", ...
                two = first in _CITY_PREFIXES and len(words) > 1 and _is_word(words[1])
                city = [w.capitalize() for w in words[: 2 if two else 1]]
            if not (len(city) == 1 and first in _CITY_PREFIXES):
                facts["city"] = " ".join(city)
    return facts


# ---------------------------------------------------------------- public API
def parse_intent(text: str, now: datetime) -> Intent:
    """Decide what one transcribed utterance asks for (see module docstring)."""
    t = _normalize(text)
    when, has_date, has_time = parse_when(text, now)
    kind = _kind(t, when is not None)
    if _is_local(text):
        purpose = _local_purpose(t)
        if kind == "none" and has_time and purpose and not W.NEGATION.search(t):
            kind = "book"  # "parson shaam 5 baje dentist"
        if kind == "book":
            return Intent(kind, when, has_date, has_time, purpose)
        if kind == "cancel":  # "mera haircut cancel karo": only if a haircut is booked (see _CANCEL_WHAT)
            return Intent(kind, when, has_date, has_time, purpose, if_booked=bool(purpose) and when is None)
    if kind == "none" and (m := _CANCEL_WHAT.search(t)) and not _negated(t, m.start()):
        purpose, _ = _purpose_and_name(text)
        return Intent("cancel", purpose=purpose, if_booked=True) if purpose else Intent(kind)
    if kind in ("time", "date", "none"):
        return Intent(kind)
    if kind == "list":
        return Intent(kind, when, has_date, has_time)
    purpose, name = _purpose_and_name(text)
    return Intent(kind, when, has_date, has_time, purpose, name)


def format_when(when: datetime, now: datetime, lang: str = "en") -> str:
    """Speech-friendly: "today at 3 pm", "tomorrow at 10:30 am", "Tuesday 25 November at 3 pm"; in the
    other reply languages as `locale.spoken.when_phrase` says them ("कल दोपहर तीन बजे")."""
    return when_phrase(when, now, lang)

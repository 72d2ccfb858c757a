"""The words of the Indian languages the intent parser understands (`backend/agents/intents.py`):
Hindi in Devanagari and romanised (Hinglish), Marathi, Gujarati, Bengali, Tamil, Telugu, Malayalam.

`normalize_times()` rewrites the clock times said in them into the form the English rules read
("3 oclock", "10:30 oclock"): hour words before the language's o'clock word ("तीन बजे", "மூன்று மணிக்கு",
"মూడు గంటలకు", "তিনটেয়"), quarter and half words (साढ़े, सवा, पौने, डेढ़, ढाई, and their Marathi,
Gujarati and Bengali cousins; the one-word halves of the south: மூன்றரை, మూడున్నర, മൂന്നര) and minutes
("तीन बजकर बीस मिनट"). The rest (which day, what is asked) is word lists, matched on whole words.
"""

from __future__ import annotations

import re
import unicodedata

from backend.agents.locale.spoken import _suffix_half, cardinal

_INDIC = ("hi", "mr", "gu", "bn", "ta", "te", "ml")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def ascii_digits(text: str) -> str:
    """ "३ बजे", "৩টায়" → "3 बजे", "3টায়": any decimal digit as an ASCII one."""
    return "".join(
        str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.decimal(c, None) is not None else c
        for c in text
    )


def _words(spec: str) -> list[str]:
    return [nfc(w) for w in spec.split()]


# ---------------------------------------------------------------- numbers and clock words
HOUR_WORDS: dict[str, int] = {}
for _lang in _INDIC:
    for _n in range(1, 13):
        HOUR_WORDS.setdefault(nfc(cardinal(_n, _lang)), _n)
for _spec, _n in (
    ("पांच पाँच", 5), ("छह छः छे छै", 6), ("ग्यारा", 11), ("बारा", 12), ("ஒரு", 1), ("ఒంటి", 1), ("ഒരു", 1),
    ("दुई", 2), ("ஒண்ணு", 1), ("ரெண்டு", 2), ("மூணு", 3), ("நாலு", 4), ("அஞ்சு", 5),
):  # fmt: skip
    for _w in _words(_spec):
        HOUR_WORDS.setdefault(_w, _n)
# romanised Hindi: only before "baje" (or after saadhe, ...): "do" is also English
LATIN_HOUR_WORDS: dict[str, int] = {
    w: n
    for n, spec in enumerate(
        (
            "",
            "ek",
            "do",
            "teen tin",
            "char chaar",
            "paanch panch panc",
            "chhe chhah chah che chhah chheh",
            "saat sat",
            "aath ath",
            "nau",
            "das dus",
            "gyarah gyara gyaarah",
            "barah bara baarah baara",
        ),
    )  # fmt: skip
    for w in spec.split()
}
MINUTE_WORDS: dict[str, int] = {}
for _lang in _INDIC:
    for _n in range(1, 60):
        MINUTE_WORDS.setdefault(nfc(cardinal(_n, _lang)).replace(" ", "_"), _n)

# words that say "o'clock" (and "at ... o'clock")
CLOCK_WORDS = frozenset(
    _words(
        "बजे बजा बज baje bje baja वाजता वाजले वाजे वाजला વાગ્યે વાગે વાગ્યા વાગ્યો বাজে மணிக்கு மணி "
        "மணிக்குள் గంటలకు గంటకు గంటలు గంట గంటల മണിക്ക് മണി"
    )
)
# "... and M minutes": the hour word, then these, then the minutes
MINUTES_AFTER = frozenset(_words("बजकर bajkar bajke वाजून વાગીને বেজে"))
MINUTE_UNITS = frozenset(
    _words(
        "मिनट minute minutes min मिनिटे मिनिटांनी मिनिट મિનિટ મિનિટે মিনিট মিনিটে நிமிடம் நிமிடத்துக்கு "
        "நிமிடத்திற்கு నిమిషాలకు నిమిషాలు నిమిషం മിനിറ്റ് മിനിറ്റിന്"
    )
)
# (minutes, hour shift): साढ़े तीन = 3:30, सवा तीन = 3:15, पौने चार = 3:45
FRACTIONS: dict[str, tuple[int, int]] = {}
for _spec, _value in (
    ("साढ़े साढे saadhe sadhe saade sade saadhe साडे સાડા সাড়ে", (30, 0)),
    ("सवा sava savaa सव्वा સવા সোয়া", (15, 0)),
    ("पौने paune pone पावणे પોણા পৌনে", (45, -1)),
):
    for _w in _words(_spec):
        FRACTIONS[_w] = _value
# a time in one word: डेढ़ = 1:30, ढाई = 2:30, மூன்றரை = 3:30
WHOLE_TIMES: dict[str, tuple[int, int]] = {
    w: (1, 30) for w in _words("डेढ़ डेढ dedh dedh दीड દોઢ দেড় দেড়টা দেড়টায় ഒന്നര")
} | {w: (2, 30) for w in _words("ढाई dhai dhaai अडीच અઢી আড়াই আড়াইটে আড়াইটায়")}
for _lang in ("ta", "te", "ml"):
    for _n in range(1, 13):
        WHOLE_TIMES[nfc(_suffix_half(cardinal(_n, _lang), _lang))] = (_n, 30)
# Bengali says the hour with a classifier: তিনটে, তিনটায় (at three), 3টায়
_BN_STEMS = {"এক": 1, "দু": 2, "দুই": 2, "তিন": 3, "চার": 4, "পাঁচ": 5, "ছ": 6, "ছয়": 6, "সাত": 7,
             "আট": 8, "ন": 9, "নয়": 9, "দশ": 10, "এগারো": 11, "বারো": 12}  # fmt: skip
_BN_HOUR = re.compile(
    r"(?<!\S)(\d{1,2}|"
    + "|".join(sorted(map(nfc, _BN_STEMS), key=len, reverse=True))
    + r")\s*ট[াোে](?:য়|য়|র)?(?!\S)"
)


def normalize_times(text: str) -> str:
    """Clock times in the Indian languages as "H oclock" / "H:MM oclock" (see the module docstring);
    `text` is lower case, NFC, ASCII digits, punctuation gone."""
    text = _BN_HOUR.sub(lambda m: f"{_BN_STEMS.get(m.group(1), m.group(1))} oclock", text)
    toks = text.split()
    out: list[str] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if tok in WHOLE_TIMES:
            h, m = WHOLE_TIMES[tok]
            out.append(f"{h}:{m:02d}")
            if not (nxt in CLOCK_WORDS or nxt == "oclock"):
                out.append("oclock")
            i += 1
            continue
        if tok in FRACTIONS and nxt:
            hour = _hour(nxt, latin_ok=True)
            if hour is not None:
                minutes, shift = FRACTIONS[tok]
                h = (hour + shift - 1) % 12 + 1
                out.append(f"{h}:{minutes:02d}")
                after = toks[i + 2] if i + 2 < len(toks) else ""
                if not (after in CLOCK_WORDS or after == "oclock"):
                    out.append("oclock")
                i += 2
                continue
        hour = _hour(tok, latin_ok=nxt in CLOCK_WORDS or nxt in MINUTES_AFTER)
        if hour is not None and (nxt in CLOCK_WORDS or nxt in MINUTES_AFTER):
            # "तीन बजकर बीस मिनट", "மூன்று மணி இருபது நிமிடத்துக்கு", "3 గంటల 20 నిమిషాలకు"
            j = i + 2
            minute = _minute(toks[j]) if j < len(toks) else None
            if minute is not None and (
                nxt in MINUTES_AFTER or (j + 1 < len(toks) and toks[j + 1] in MINUTE_UNITS)
            ):
                out.append(f"{hour}:{minute:02d} oclock")
                i = j + 1 + (j + 1 < len(toks) and toks[j + 1] in MINUTE_UNITS)
                continue
            out.append(f"{hour} oclock")
            i += 2
            continue
        out.append("oclock" if tok in CLOCK_WORDS else tok)
        i += 1
    return " ".join(out)


def _hour(tok: str, latin_ok: bool) -> int | None:
    if tok.isdigit() and 1 <= int(tok) <= 12:
        return int(tok)
    if tok in HOUR_WORDS:
        return HOUR_WORDS[tok]
    return LATIN_HOUR_WORDS.get(tok) if latin_ok else None


def _minute(tok: str) -> int | None:
    if tok.isdigit() and 0 <= int(tok) < 60:
        return int(tok)
    return MINUTE_WORDS.get(tok)


# ---------------------------------------------------------------- days and parts of the day
def _alternatives(spec: str) -> str:
    words = sorted((nfc(w).replace("_", r"\s+") for w in spec.split()), key=len, reverse=True)
    return r"(?<!\S)(?:" + "|".join(words) + r")(?!\S)"


DAY_AFTER = re.compile(
    _alternatives(
        "परसों परसो parson parso parsoon परवा પરમ_દિવસે પરમદિવસે પરમ_દિવસ পরশু நாளை_மறுநாள் நாளன்னைக்கு ఎల్లుండి മറ്റന്നാൾ"
    )
)
TOMORROW = re.compile(_alternatives("कल kal kl उद्या કાલે કાલ কাল কালকে நாளை நாளைக்கு రేపు നാളെ"))
TODAY = re.compile(_alternatives("आज aaj aj આજે આજ আজ আজকে இன்று இன்னைக்கு ఈరోజు ఈ_రోజు ఇవాళ ഇന്ന്"))
# weekday names, Monday first (substrings: "शुक्रवार", "வெள்ளிக்கிழமை", "somvar")
WEEKDAY_NAMES: list[list[str]] = [
    _words(spec)
    for spec in (
        "सोमवार somvar somvaar সোমবার સોમવાર திங்கள் సోమవారం തിങ്കളാഴ്ച",
        "मंगलवार मंगळवार mangalvar mangalvaar মঙ্গলবার મંગળવાર செவ்வாய் మంగళవారం ചൊവ്വാഴ്ച",
        "बुधवार budhvar budhvaar বুধবার બુધવાર புதன் బుధవారం ബുധനാഴ്ച",
        "गुरुवार guruvar guruvaar বৃহস্পতিবার ગુરુવાર வியாழ గురువారం വ്യാഴാഴ്ച",
        "शुक्रवार shukravar shukravaar শুক্রবার શુક્રવાર வெள்ளி శుక్రవారం വെള്ളിയാഴ്ച",
        "शनिवार shanivar shanivaar শনিবার શનિવાર சனிக்கிழமை శనివారం ശനിയാഴ്ച",
        "रविवार ravivar ravivaar itvaar itwar রবিবার રવિવાર ஞாயிறு ஞாயிற்று ఆదివారం ഞായറാഴ്ച",
    )
]
# part of the day -> (default hour, am/pm for an hour said without one)
PERIODS: dict[str, tuple[int, str]] = {}
for _spec, _period in (
    ("सुबह subah subha सकाळी सकाळ સવારે સવાર সকাল সকালে காலை ఉదయం രാവിലെ", (9, "am")),
    ("दोपहर dopahar dophar dopehar दुपारी दुपार બપોરે બપોર দুপুর দুপুরে மதியம் మధ్యాహ్నం ഉച്ചയ്ക്ക്", (14, "pm")),
    ("ഉച്ചകഴിഞ്ഞ്", (15, "pm")),
    ("বিকেল বিকেলে", (16, "pm")),
    ("शाम shaam sham संध्याकाळी संध्याकाळ સાંજે સાંજ সন্ধ্যা সন্ধ্যায় மாலை సాయంత్రం വൈകുന്നേരം വൈകിട്ട്", (18, "pm")),
    ("रात raat रात्री રાત્રે রাত রাতে இரவு రాత్రి രാത്രി", (20, "pm")),
):
    for _w in _words(_spec):
        PERIODS[_w] = _period
PERIODS[nfc("दोपहर")] = (15, "pm")  # "दोपहर तीन बजे" is the usual afternoon slot

# ---------------------------------------------------------------- what is asked
_NOUN = (
    r"appointments?|प(?:ॉ|ो|ा)?इंटमें?ट्?स?|बुकिंग|मीटिंग|પ(?:ો|ૉ)ઇન્ટમેન્ટ|পয়েন্টমেন্ট|পোয়েন্টমেন্ট|"
    r"அப்பா(?:யி|ய்)|முன்பதிவு|అపాయింట్|അപ്പോയ"
)
APPOINTMENT = re.compile(nfc(_NOUN))
WANT = re.compile(nfc(r"चाहिए|\bchahiye\b|\bchaiye\b|हवी|हवा|हवे|જોઈએ|চাই|வேண்டும்|కావాలి|വേണം"))
NEGATION = re.compile(_alternatives("मत नहीं नही mat nahi nahin नको नका வேண்டாம் వద్దు വേണ്ട"))
CANCEL = re.compile(
    nfc(
        r"रद्द|कैंसल|कॅन्सल|कैन्सल|કેન્સલ|રદ|বাতিল|ক্যানসেল|ক্যান্সেল|ரத்து|கேன்சல்|రద్దు|క్యాన్సిల్|క్యాన్సల్|"
        r"റദ്ദാക്ക|ക്യാൻസൽ|\bcancel\s+(?:karo|kar|kardo|karna|karni|kariye|kijiye|karein|karen|karwa|"
        r"karwana|ho|hai|chahiye)\b"
    )
)
BOOK = re.compile(
    nfc(
        r"बुक|બુક|বুক|புக்|బుక్|ബുക്ക്|பதிவு\s+செய்|\bbook\s+(?:karo|kar|kardo|karna|karni|kariye|kijiye|"
        r"karein|karen|karwa|karwana|ho|hai|chahiye|kar\s+do)\b|\bappointment\s+(?:chahiye|lena|fix)\b|"
        r"\b(?:fix|set)\s+(?:karo|kar\s+do|kardo)\b"
    )
)
LIST = re.compile(
    nfc(
        r"दिखा|बताओ|बताइए|बताइये|कौन|कितने|दाखव|सांगा|कोणत्या|किती|બતાવ|કહો|કઈ|કેટલી|দেখাও|দেখান|বলো|বলুন|"
        r"কী\s+কী|কটা|காட்டு|காண்பி|சொல்லு|சொல்லுங்க|என்ன|எத்தனை|చూపించు|చూపించండి|చెప్పు|చెప్పండి|ఏమిటి|"
        r"ఎన్ని|കാണിക്ക|കാണിച്ചു|പറയ|ഏതൊക്കെ|എത്ര|किस|\b(?:dikhao|dikha|dikhaiye|batao|bataiye|kitne|"
        r"kaunse|konse|kab|kya|kis)\b"
    )
)
TIME_Q = re.compile(
    nfc(
        r"(?:कितने|kitne|kitna|किती|કેટલા|কটা|ఎన్ని|എത്ര)\s+oclock|oclock\s+(?:என்ன|എത്ര|ఎంత)|"
        r"(?:समय|टाइम|time|samay|टाईम)\s+(?:क्या|kya)|(?:क्या|kya)\s+(?:समय|टाइम|time|samay)|"
        r"(?:वेळ|वाजले)\s+काय|किती\s+वाजले|કેટલા\s+વાગ્યા|সময়\s+কত|কটা\s+বাজে|நேரம்\s+என்ன|"
        r"(?:టైం|సమయం)\s+ఎంత|(?:സമയം|മണി)\s+എത്ര"
    )
)
DATE_Q = re.compile(
    nfc(
        r"(?:तारीख|tareekh|tarikh|date|तारीख़|वार|તારીખ|তারিখ|தேதி|கிழமை|తేదీ|തീയതി)\s*"
        r"(?:क्या|kya|कौन|kaun|काय|कोणती|कोणता|કઈ|શું|কত|কী|என்ன|ఏమిటి|എന്ത്|ഏത്)|"
        r"(?:क्या|kya|कौन\s*सा|kaun\s*sa|konsa|kaunsa|काय|कोणती|कोणता|કઈ|શું|কত|কী|என்ன|ఏ|എന്ത്|ഏത്)\s+"
        r"(?:तारीख|tareekh|tarikh|date|din|दिन|वार|તારીખ|তারিখ|বার|தேதி|கிழமை|తేదీ|రోజు|തീയതി|ദിവസം)"
    )
)
# what a purpose is not: function words, verbs, day and time words (after normalisation)
_FILLER = _words(
    "का की के को से में मे पर लिए वाला वाली मेरा मेरी मेरे मुझे एक करो कर करना करें कीजिए करिए दो दीजिए दे "
    "है हैं हो please plz pls ji जी ka ki ke ko se mein me par liye wala wali mera meri mere mujhe ek karo "
    "kar karna karni karein karen kariye kijiye do dijiye de hai hain ho book बुक cancel appointment "
    "appointments "
    "time टाइम समय slot chahiye चाहिए oclock at the a for and ya ya aur और "
    "करा करून द्या माझी माझा माझे साठी ची चा चे રાખો કરો કરી કર આપો મારી મારું માટે ની નો ના করুন করো কর "
    "দিন দাও আমার জন্য এর টা পண்ணு பண்ணுங்க பண்ணுங்கள் செய்யுங்கள் செய் என் எனக்கு ஒரு చేయండి చేయి చేసి "
    "నా నాకు ఒక ചെയ്യൂ ചെയ്യുക ചെയ്യണം എന്റെ എനിക്ക് ഒരു"
)
FILLER = frozenset(_FILLER) | frozenset(PERIODS) | frozenset(HOUR_WORDS) | frozenset(FRACTIONS)

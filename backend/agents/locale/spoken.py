"""Numbers, dates, times and rupee amounts as a native speaker says them, per reply language.

Reply languages: our codes (en, hi, mr, gu, bn, ta, te, ml) and `hi-Latn` (romanised Hindi: Hinglish).
An unknown code is spoken as English.

What is spelled out, and why (tried with `espeak-ng -v <lang> -q -x`; Piper phonemizes with the same
eSpeak NG, so it reads numbers alike):
- plain cardinals are read correctly in every language ("3" → तीन, மூன்று, మూడు...), yet the agent
  writes counts in words in the Indic scripts, so a cloud voice that reads digits in English cannot
  get them wrong; day of month and year stay digits (read correctly everywhere);
- clock times are always words in the Indic languages: "10:30" is read "दस तीस", but a Hindi speaker
  says "साढ़े दस बजे" (and "सवा", "पौने", "डेढ़", "ढाई"; Marathi साडे/सव्वा/पावणे, Gujarati
  સાડા/સવા/પોણા, Bengali সাড়ে/সোয়া/পৌনে; Tamil, Telugu and Malayalam say the half as one word:
  மூன்றரை, మూడున్నర, മൂന്നര), always with the part of the day ("दोपहर", "शाम");
- rupee amounts are always words with the currency word after the number: eSpeak drops "₹" in most
  voices and says "rupee" *before* the number in English and Tamil; Hindi says 1,250 as "बारह सौ पचास".

Hinglish (hi-Latn) keeps digits ("kal dopahar 3 baje"): that is how it is written, and a romanised
reply is for reading or for a voice that reads Latin script.

Cardinals in the Indic languages come from `indic-numtowords` (AI4Bharat, MIT); English and the
Hindi "hundreds" style of amounts are ours.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from indic_numtowords import num2words as _indic_words  # type: ignore[import-untyped]

REPLY_LANGUAGES: tuple[str, ...] = ("en", "hi", "hi-Latn", "mr", "gu", "bn", "ta", "te", "ml")
_INDIC = frozenset({"hi", "mr", "gu", "bn", "ta", "te", "ml"})


def reply_code(lang: str | None) -> str:
    """One of REPLY_LANGUAGES: "hi-IN" → "hi", "hi-latn" → "hi-Latn", anything unknown → "en"."""
    if not lang:
        return "en"
    value = lang.strip().replace("_", "-")
    if value.lower() == "hi-latn":
        return "hi-Latn"
    code = value.split("-")[0].lower()
    return code if code in REPLY_LANGUAGES else "en"


# ---------------------------------------------------------------- cardinals
_EN_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _english(n: int) -> str:
    """Indian English: "one thousand two hundred fifty", "one lakh twenty thousand", "two crore"."""
    if n < 20:
        return _EN_UNITS[n]
    if n < 100:
        return _EN_TENS[n // 10] + ("" if n % 10 == 0 else " " + _EN_UNITS[n % 10])
    for size, word in ((10_000_000, "crore"), (100_000, "lakh"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{_english(head)} {word}" + (f" {_english(rest)}" if rest else "")
    raise AssertionError(n)  # pragma: no cover


def cardinal(n: int, lang: str) -> str:
    """`n` (>= 0) in words as said in `lang`; Hinglish keeps digits."""
    if n < 0:
        raise ValueError(f"{n} is negative")
    lang = reply_code(lang)
    if lang == "hi-Latn":
        return str(n)
    if lang not in _INDIC:
        return _english(n)
    if lang == "hi" and n == 6:
        return "छह"  # the library writes छः; छह is the usual spelling
    words = unicodedata.normalize("NFC", str(_indic_words(n, lang=lang)))  # (its Telugu is not NFC)
    if lang == "mr":
        return words.replace("ज़", "ज")  # Marathi writes हजार
    return words.removeprefix("ఒక ") if lang == "te" and words.startswith("ఒక వెయ్యి") else words


def _hindi_amount(n: int) -> str:
    """Hindi says amounts from 1,100 to 9,999 in hundreds: 1,250 → "बारह सौ पचास"."""
    if 1100 <= n < 10_000 and n % 1000 >= 100:
        rest = n % 100
        return f"{cardinal(n // 100, 'hi')} सौ" + (f" {cardinal(rest, 'hi')}" if rest else "")
    return cardinal(n, "hi")


# ---------------------------------------------------------------- rupees
_RUPEE_WORDS = {  # (one rupee, rupees, paise)
    "en": ("rupee", "rupees", "paise"),
    "hi": ("रुपया", "रुपये", "पैसे"),
    "hi-Latn": ("rupaya", "rupaye", "paise"),
    "mr": ("रुपया", "रुपये", "पैसे"),
    "gu": ("રૂપિયો", "રૂપિયા", "પૈસા"),
    "bn": ("টাকা", "টাকা", "পয়সা"),
    "ta": ("ரூபாய்", "ரூபாய்", "பைசா"),
    "te": ("రూపాయి", "రూపాయలు", "పైసలు"),
    "ml": ("രൂപ", "രൂപ", "പൈസ"),
}


def rupees(amount: Decimal | int | float | str, lang: str) -> str:
    """₹ amount in words: "₹1,250" → "one thousand two hundred fifty rupees" / "बारह सौ पचास रुपये";
    paise when there are any ("twelve rupees fifty paise")."""
    lang = reply_code(lang)
    try:
        value = Decimal(str(amount).replace(",", "").replace("₹", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not an amount") from exc
    if value < 0:
        raise ValueError(f"{amount!r} is negative")
    paise_total = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    whole, paise = divmod(paise_total, 100)
    one, many, paise_word = _RUPEE_WORDS[lang]
    number = _hindi_amount(whole) if lang == "hi" else cardinal(whole, lang)
    spoken = f"{number} {one if whole == 1 else many}"
    if paise:
        spoken += f" {cardinal(paise, lang)} {paise_word}"
    return spoken


_AMOUNT = re.compile(r"(?:₹|\bRs\.?|\bINR)\s*(\d{1,3}(?:,\d{2,3})+|\d+)(\.\d{1,2})?(?!\d)", re.I)


def speak_rupees(text: str, lang: str) -> str:
    """Every "₹1,250" / "Rs. 500" / "INR 99.50" in `text` in words (see `rupees`)."""
    return _AMOUNT.sub(lambda m: rupees(m.group(1) + (m.group(2) or ""), lang), text)


# ---------------------------------------------------------------- calendar words
_WEEKDAYS = {  # Monday first
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "hi": "सोमवार मंगलवार बुधवार गुरुवार शुक्रवार शनिवार रविवार",
    "hi-Latn": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "mr": "सोमवार मंगळवार बुधवार गुरुवार शुक्रवार शनिवार रविवार",
    "gu": "સોમવાર મંગળવાર બુધવાર ગુરુવાર શુક્રવાર શનિવાર રવિવાર",
    "bn": "সোমবার মঙ্গলবার বুধবার বৃহস্পতিবার শুক্রবার শনিবার রবিবার",
    "ta": "திங்கட்கிழமை செவ்வாய்க்கிழமை புதன்கிழமை வியாழக்கிழமை வெள்ளிக்கிழமை சனிக்கிழமை ஞாயிற்றுக்கிழமை",
    "te": "సోమవారం మంగళవారం బుధవారం గురువారం శుక్రవారం శనివారం ఆదివారం",
    "ml": "തിങ്കളാഴ്ച ചൊവ്വാഴ്ച ബുധനാഴ്ച വ്യാഴാഴ്ച വെള്ളിയാഴ്ച ശനിയാഴ്ച ഞായറാഴ്ച",
}
WEEKDAYS: dict[str, list[str]] = {lang: names.split() for lang, names in _WEEKDAYS.items()}
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "hi": "जनवरी फ़रवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर अक्टूबर नवंबर दिसंबर",
    "hi-Latn": "January February March April May June July August September October November December",
    "mr": "जानेवारी फेब्रुवारी मार्च एप्रिल मे जून जुलै ऑगस्ट सप्टेंबर ऑक्टोबर नोव्हेंबर डिसेंबर",
    "gu": "જાન્યુઆરી ફેબ્રુઆરી માર્ચ એપ્રિલ મે જૂન જુલાઈ ઓગસ્ટ સપ્ટેમ્બર ઓક્ટોબર નવેમ્બર ડિસેમ્બર",
    "bn": "জানুয়ারি ফেব্রুয়ারি মার্চ এপ্রিল মে জুন জুলাই আগস্ট সেপ্টেম্বর অক্টোবর নভেম্বর ডিসেম্বর",
    "ta": "ஜனவரி பிப்ரவரி மார்ச் ஏப்ரல் மே ஜூன் ஜூலை ஆகஸ்ட் செப்டம்பர் அக்டோபர் நவம்பர் டிசம்பர்",
    "te": "జనవరి ఫిబ్రవరి మార్చి ఏప్రిల్ మే జూన్ జూలై ఆగస్టు సెప్టెంబర్ అక్టోబర్ నవంబర్ డిసెంబర్",
    "ml": "ജനുവരി ഫെബ്രുവരി മാർച്ച് ഏപ്രിൽ മേയ് ജൂൺ ജൂലൈ ഓഗസ്റ്റ് സെപ്റ്റംബർ ഒക്ടോബർ നവംബർ ഡിസംബർ",
}
MONTHS: dict[str, list[str]] = {lang: names.split() for lang, names in _MONTHS.items()}
# today, tomorrow, the day after: the words said instead of a date
RELATIVE_DAYS: dict[str, tuple[str, ...]] = {
    "en": ("today", "tomorrow"),
    "hi": ("आज", "कल", "परसों"),
    "hi-Latn": ("aaj", "kal", "parson"),
    "mr": ("आज", "उद्या", "परवा"),
    "gu": ("આજે", "કાલે", "પરમ દિવસે"),
    "bn": ("আজ", "কাল", "পরশু"),
    "ta": ("இன்று", "நாளை", "நாளை மறுநாள்"),
    "te": ("ఈరోజు", "రేపు", "ఎల్లుండి"),
    "ml": ("ഇന്ന്", "നാളെ", "മറ്റന്നാൾ"),
}
# after a full date: "on" ("शुक्रवार, 27 नवंबर को")
_ON_DATE = {"en": "on ", "hi": " को", "hi-Latn": " ko", "mr": " रोजी", "gu": "ના રોજ", "ta": " அன்று"}
_AND = {
    "en": ", and ", "hi": " और ", "hi-Latn": " aur ", "mr": " आणि ", "gu": " અને ", "bn": " আর ",
    "ta": " மற்றும் ", "te": " మరియు ", "ml": " പിന്നെ ",
}  # fmt: skip


def date_name(d: date, lang: str, year: bool = False) -> str:
    """ "Friday 27 November" / "शुक्रवार, 27 नवंबर" (with the year when asked)."""
    lang = reply_code(lang)
    weekday, month = WEEKDAYS[lang][d.weekday()], MONTHS[lang][d.month - 1]
    sep = " " if lang == "en" else ", "
    return f"{weekday}{sep}{d.day} {month}" + (f" {d.year}" if year else "")


def day_phrase(d: date, today: date, lang: str) -> str:
    """The day as said before a time or a question: "tomorrow", "कल", "on Friday 27 November",
    "शुक्रवार, 27 नवंबर को" (a full date gets the language's "on"; the year when it is not this one)."""
    lang = reply_code(lang)
    days = (d - today).days
    relative = RELATIVE_DAYS[lang]
    if 0 <= days < len(relative):
        return relative[days]
    if lang == "en" and days == -1:
        return "yesterday"
    name = date_name(d, lang, year=d.year != today.year)
    on = _ON_DATE.get(lang, "")
    return on + name if lang == "en" else name + on


def join_items(items: Sequence[str], lang: str) -> str:
    """ "a, b, and c" / "a, b और c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + _AND[reply_code(lang)] + items[-1]


# ---------------------------------------------------------------- clock times
# (first hour, part of the day); the last entry that starts at or before the hour applies
_PERIODS: dict[str, list[tuple[int, str]]] = {
    "hi": [(0, "रात"), (4, "सुबह"), (12, "दोपहर"), (16, "शाम"), (20, "रात")],
    "hi-Latn": [(0, "raat"), (4, "subah"), (12, "dopahar"), (16, "shaam"), (20, "raat")],
    "mr": [(0, "रात्री"), (4, "सकाळी"), (12, "दुपारी"), (16, "संध्याकाळी"), (20, "रात्री")],
    "gu": [(0, "રાત્રે"), (4, "સવારે"), (12, "બપોરે"), (16, "સાંજે"), (20, "રાત્રે")],
    "bn": [(0, "রাত"), (4, "সকাল"), (12, "দুপুর"), (15, "বিকেল"), (18, "সন্ধ্যা"), (20, "রাত")],
    "ta": [(0, "இரவு"), (4, "காலை"), (12, "மதியம்"), (16, "மாலை"), (19, "இரவு")],
    "te": [(0, "రాత్రి"), (4, "ఉదయం"), (12, "మధ్యాహ్నం"), (16, "సాయంత్రం"), (20, "రాత్రి")],
    "ml": [(0, "രാത്രി"), (4, "രാവിലെ"), (12, "ഉച്ചയ്ക്ക്"), (14, "ഉച്ചകഴിഞ്ഞ്"), (16, "വൈകുന്നേരം"),
           (19, "രാത്രി")],
}  # fmt: skip
# the part of the day in "it is now ..." ("दोपहर के तीन बजे हैं"): Marathi and Gujarati use the genitive
_PERIOD_OF = {
    "mr": {"रात्री": "रात्रीचे", "सकाळी": "सकाळचे", "दुपारी": "दुपारचे", "संध्याकाळी": "संध्याकाळचे"},
    "gu": {"રાત્રે": "રાતના", "સવારે": "સવારના", "બપોરે": "બપોરના", "સાંજે": "સાંજના"},
}
_BN_HOURS = "একটা দুটো তিনটে চারটে পাঁচটা ছটা সাতটা আটটা নটা দশটা এগারোটা বারোটা".split()
_BN_AT = "\u09af\u09bc"  # য়: "তিনটেয়" (at three)


def part_of_day(hour: int, lang: str) -> str:
    """ "दोपहर" for 15 in Hindi; "" for English (am/pm says it)."""
    table = _PERIODS.get(reply_code(lang))
    return [word for start, word in table if start <= hour][-1] if table else ""


def _fraction(h12: int, minute: int, lang: str) -> str | None:
    """The quarter/half forms of the north Indian languages: (साढ़े, सवा, पौने, डेढ़, ढाई) or None."""
    words = {
        "hi": ("साढ़े", "सवा", "पौने", "डेढ़", "ढाई"),
        "hi-Latn": ("saadhe", "savaa", "paune", "dedh", "dhaai"),
        "mr": ("साडे", "सव्वा", "पावणे", "दीड", "अडीच"),
        "gu": ("સાડા", "સવા", "પોણા", "દોઢ", "અઢી"),
        "bn": ("সাড়ে", "সোয়া", "পৌনে", "দেড়", "আড়াই"),
    }.get(lang)
    if words is None:
        return None
    half, quarter, to, one_half, two_half = words
    if lang == "gu" and (h12, minute) == (12, 45):
        return None  # not "પોણા એક": said with the minutes

    def hour(h: int) -> str:
        return _BN_HOURS[h - 1] if lang == "bn" else cardinal(h, lang)

    if minute == 30:
        if h12 in (1, 2):
            special = (one_half, two_half)[h12 - 1]
            return special + ("টা" if lang == "bn" and h12 == 1 else "টে" if lang == "bn" else "")
        return f"{half} {hour(h12)}"
    if minute == 15:
        return f"{quarter} {hour(h12)}"
    if minute == 45:
        return f"{to} {hour(h12 % 12 + 1)}"
    return None


def _suffix_half(word: str, lang: str) -> str:
    """Tamil, Telugu, Malayalam say "and a half" as one word: மூன்றரை, మూడున్నర, മൂന്നര."""
    if lang == "ta":
        return word.removesuffix("\u0bcd").removesuffix("\u0bc1") + "ரை"
    if lang == "te":
        return word + "న్నర"
    return word.removesuffix("\u0d4d") + "ര"  # ml


def _hindi(h12: int, minute: int, now: bool, latin: bool, period: str) -> str:
    def num(n: int) -> str:
        return str(n) if latin else cardinal(n, "hi")

    baje, baja, hain, hai = ("baje", "baja", "hain", "hai") if latin else ("बजे", "बजा", "हैं", "है")
    frac = _fraction(h12, minute, "hi-Latn" if latin else "hi")
    if minute and frac is None:  # "तीन बजकर बीस मिनट"
        clock = f"{num(h12)} {'bajkar' if latin else 'बजकर'} {num(minute)} {'minute' if latin else 'मिनट'}"
        if now:
            return f"{period} {'ke' if latin else 'के'} {clock} {'hue hain' if latin else 'हुए हैं'}"
        return f"{period} {clock} {'par' if latin else 'पर'}"
    clock = frac or num(h12)
    singular = clock in (num(1), "dedh", "डेढ़") or clock.endswith((" 1", " एक"))
    if now:
        of = ("ka" if latin else "का") if singular else ("ke" if latin else "के")
        return f"{period} {of} {clock} {baja if singular else baje} {hai if singular else hain}"
    return f"{period} {clock} {baje}"


def clock(hour: int, minute: int, lang: str, now: bool = False) -> str:
    """A time of day as said in `lang`, with its part of the day.

    `now` False: "at" that time, for a booking ("3 pm", "दोपहर तीन बजे", "உச்சக்கு..."); True: the
    time it is now ("3:10 p.m.", "दोपहर के तीन बजकर दस मिनट हुए हैं", "ఇప్పుడు ... గంటలు")."""
    lang = reply_code(lang)
    if lang == "en":
        if not now and (hour, minute) in ((12, 0), (0, 0)):
            return "noon" if hour else "midnight"
        h12 = hour % 12 or 12
        digits = f"{h12}:{minute:02d}" if minute else str(h12)
        return f"{digits} {('a.m.' if hour < 12 else 'p.m.') if now else ('am' if hour < 12 else 'pm')}"
    h12, period = hour % 12 or 12, part_of_day(hour, lang)
    if lang in ("hi", "hi-Latn"):
        return _hindi(h12, minute, now, lang == "hi-Latn", period)
    frac = _fraction(h12, minute, lang)

    def speak(n: int) -> str:
        return cardinal(n, lang)

    if lang == "mr":
        if minute and frac is None:
            if now:
                return f"{_PERIOD_OF['mr'][period]} {speak(h12)} वाजून {speak(minute)} मिनिटे झाली आहेत"
            return f"{period} {speak(h12)} वाजून {speak(minute)} मिनिटांनी"
        said = frac or speak(h12)
        if now:
            one = said.endswith("एक") or said == "दीड"
            of = _PERIOD_OF["mr"][period].removesuffix("चे") + ("चा" if one else "चे")
            return f"{of} {said} {'वाजला आहे' if one else 'वाजले आहेत'}"
        return f"{period} {said} वाजता"
    if lang == "gu":
        if minute and frac is None:
            if now:
                return f"{_PERIOD_OF['gu'][period]} {speak(h12)} વાગીને {speak(minute)} મિનિટ થઈ છે"
            return f"{period} {speak(h12)} વાગીને {speak(minute)} મિનિટે"
        said = frac or speak(h12)
        if now:
            one = said.endswith("એક") or said == "દોઢ"
            of = _PERIOD_OF["gu"][period].removesuffix("ના") + ("નો" if one else "ના")
            return f"{of} {said} {'વાગ્યો છે' if one else 'વાગ્યા છે'}"
        return f"{period} {said} વાગ્યે"
    if lang == "bn":
        if minute and frac is None:
            return f"{period} {_BN_HOURS[h12 - 1]} বেজে {speak(minute)} মিনিট" + ("" if now else "ে")
        said = frac or _BN_HOURS[h12 - 1]
        return f"{period} {said} বাজে" if now else f"{period} {said}{_BN_AT}"
    # ta, te, ml: a half in one word, other minutes counted
    if lang == "ta":
        hour_w = "ஒரு" if h12 == 1 else speak(h12)
        if minute == 30:
            return f"{period} {_suffix_half(speak(h12), lang)} மணி" + ("" if now else "க்கு")
        if minute:
            return f"{period} {hour_w} மணி {speak(minute)} " + ("நிமிடம்" if now else "நிமிடத்துக்கு")
        return f"{period} {hour_w} மணி" + ("" if now else "க்கு")
    if lang == "te":
        if minute == 30:
            return f"{period} {_suffix_half(speak(h12), lang)} " + ("గంటలు" if now else "గంటలకు")
        hours = "ఒంటి గంట" if h12 == 1 else f"{speak(h12)} గంటల"
        if minute:
            return f"{period} {hours} {speak(minute)} " + ("నిమిషాలు" if now else "నిమిషాలకు")
        if h12 == 1:
            return f"{period} ఒంటి " + ("గంట" if now else "గంటకు")
        return f"{period} {speak(h12)} " + ("గంటలు" if now else "గంటలకు")
    # ml
    hour_w = "ഒരു" if h12 == 1 else speak(h12)
    if minute == 30:
        return f"{period} {_suffix_half(speak(h12), lang)} മണി" + ("" if now else "ക്ക്")
    if minute:
        return f"{period} {hour_w} മണി {speak(minute)} " + ("മിനിറ്റ്" if now else "മിനിറ്റിന്")
    return f"{period} {hour_w} മണി" + ("" if now else "ക്ക്")


def when_phrase(when: datetime, now: datetime, lang: str) -> str:
    """A booking's day and time: "tomorrow at 3 pm", "कल दोपहर तीन बजे",
    "शुक्रवार, 27 नवंबर को सुबह साढ़े दस बजे", "Tuesday 25 November at 10:30 am"."""
    lang = reply_code(lang)
    when = when.astimezone(now.tzinfo) if now.tzinfo else when
    if lang == "en":
        day = day_phrase(when.date(), now.date(), "en").removeprefix("on ")
        return f"{day} at {clock(when.hour, when.minute, 'en')}"
    return f"{day_phrase(when.date(), now.date(), lang)} {clock(when.hour, when.minute, lang)}"

"""Which of the configured languages is this? Recognisers' guesses, checked by the script of the words.

Whisper guesses among its 99 languages, and on short or accented speech often names one nobody here
speaks ("pl" for eSpeak's Hindi). A conversation only ever speaks the deployment's `languages`, so:
- `restricted(probabilities, allowed)`: the most likely *allowed* language and its probability among
  the allowed ones (Whisper's language-detection output, re-ranked);
- `text_language(text, allowed)`: the language the text is written in — Devanagari, Bengali, Gujarati,
  Tamil, Telugu and Malayalam letters each name their language (Devanagari: Hindi, Marathi or Nepali, told
  apart by their commonest function words); Latin letters are English, or romanised Hindi ("Hinglish",
  `is_hinglish`) when Hindi words ("karo", "baje", "mujhe") are there and Hindi is allowed;
- `confirm_language(text, detected, allowed)`: what a transcript's language really is: the script's
  language where the script is unambiguous, else the recogniser's guess (if allowed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

# Unicode blocks of the Indic scripts we speak, and the languages written in each
_SCRIPT_BLOCKS: dict[str, tuple[int, int]] = {
    "devanagari": (0x0900, 0x097F),
    "bengali": (0x0980, 0x09FF),
    "gurmukhi": (0x0A00, 0x0A7F),
    "gujarati": (0x0A80, 0x0AFF),
    "oriya": (0x0B00, 0x0B7F),
    "tamil": (0x0B80, 0x0BFF),
    "telugu": (0x0C00, 0x0C7F),
    "kannada": (0x0C80, 0x0CFF),
    "malayalam": (0x0D00, 0x0D7F),
}
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "devanagari": ("hi", "mr", "ne"),
    "bengali": ("bn",),
    "gurmukhi": ("pa",),
    "gujarati": ("gu",),
    "oriya": ("or",),
    "tamil": ("ta",),
    "telugu": ("te",),
    "kannada": ("kn",),
    "malayalam": ("ml",),
    "latin": ("en",),
}
_DANDA = {0x0964, 0x0965}  # । ॥ are punctuation shared by several scripts

# the commonest words of each Devanagari language that the others do not use
_DEVANAGARI_MARKERS: dict[str, frozenset[str]] = {
    "hi": frozenset(
        "है हैं था थी थे का की के में और मुझे मेरा मेरी मेरे क्या नहीं करो करें कीजिए करना चाहिए लिए "
        "आप हम यह वह से को पर कल परसों बजे दिखाओ बताओ बुक हूँ हूं".split()
    ),
    "mr": frozenset(
        "आहे आहेत होता होती आणि मला माझा माझी माझे काय नाही करा करायचे पाहिजे साठी मध्ये तुम्ही आम्ही "
        "हे ते उद्या परवा वाजता दाखवा सांगा".split()
    ),
    "ne": frozenset("छ छन् छैन मलाई मेरो गर्नुहोस् भयो तपाईं हुन्छ भोलि बजे".split()),
}
# romanised Hindi ("Hinglish") that English does not use
HINGLISH_STRONG = frozenset(
    "karo kar karna karni karne kariye kijiye karein karen kardo dijiye dijie baje bje bajkar bajke "
    "kitne kitna kitni kya kyun kaise kahan kab mera meri mujhe mujhko hamara hamari humko aapka "
    "aapki aapke apna apni chahiye chaiye nahi nahin nai haan hain dikhao dikha dikhana batao bataiye "
    "bataye parson parso aaj abhi subah dopahar dophar dopehar shaam raat wala wali liye "
    "hoga hogi raha rahi rahe gaya gayi thik theek accha acha achha naam samay tareekh tarikh".split()
)
# romanised Hindi that is also (or almost) English: it takes more of them
HINGLISH_WEAK = frozenset(
    "hai ka ki ke ko se mein me kal aur ho do ek teen char tha thi mere wale sham".split()
)


def _script_of(char: str) -> str | None:
    code = ord(char)
    if code in _DANDA:
        return None
    for script, (low, high) in _SCRIPT_BLOCKS.items():
        if low <= code <= high:
            return script
    if char.isalpha() and unicodedata.name(char, "").startswith("LATIN"):
        return "latin"
    return None


def dominant_script(text: str) -> str | None:
    """The script most of the text's letters are in (None: no letters)."""
    counts: dict[str, int] = {}
    for char in text:
        script = _script_of(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else None


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower())
    return re.findall(r"[\w\u0900-\u0DFF]+", text.replace("।", " ").replace("॥", " "))


def is_hinglish(text: str) -> bool:
    """Romanised Hindi: Latin letters with two words only Hindi uses ("karo", "baje", "mujhe"), or one and
    a Hindi word English also has ("kal", "hai"), or one in a short text ("kitne baje?"), or three of
    the latter: "mera naam Priya hai" is Hinglish; "Hi, my name is Priya" and "what do I have" are not."""
    if dominant_script(text) != "latin":
        return False
    words = re.findall(r"[a-z]+", unicodedata.normalize("NFC", text).lower())
    strong = sum(w in HINGLISH_STRONG for w in words)
    weak = len({w for w in words if w in HINGLISH_WEAK})
    return strong >= 2 or (strong == 1 and (weak >= 1 or len(words) <= 4)) or weak >= 3


def text_language(text: str, allowed: Sequence[str]) -> str | None:
    """The allowed language `text` is written in, or None when its script names none of them."""
    script = dominant_script(text)
    if script is None:
        return None
    if script == "latin":
        if "hi" in allowed and is_hinglish(text):
            return "hi"
        return "en" if "en" in allowed else None
    candidates = [lang for lang in SCRIPT_LANGUAGES.get(script, ()) if lang in allowed]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    words = _words(text)
    scores = {
        lang: sum(w in _DEVANAGARI_MARKERS.get(lang, frozenset()) for w in words) for lang in candidates
    }
    best = max(candidates, key=lambda lang: scores[lang])  # ties: the first (Hindi before Marathi)
    return best


def confirm_language(text: str, detected: str | None, allowed: Sequence[str]) -> str | None:
    """The language of a transcript: the one its script (and, in Devanagari, its function words; in
    Latin letters, Hindi words) names among the allowed ones; the recogniser's guess when the text names
    none (no letters, or a script no allowed language is written in)."""
    written = text_language(text, allowed)
    return detected if written is None else written


def restricted(
    probabilities: Iterable[tuple[str, float]], allowed: Sequence[str]
) -> tuple[str, float] | None:
    """The most likely allowed language and its share of the allowed languages' probability."""
    kept = [(lang, p) for lang, p in probabilities if lang in allowed]
    if not kept:
        return None
    total = sum(p for _, p in kept)
    lang, p = max(kept, key=lambda item: item[1])
    return lang, (p / total if total > 0 else 0.0)

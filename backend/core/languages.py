"""The languages the platform knows: names, native names and the engine codes for each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One language and how each local engine names it."""

    code: str
    name: str
    native_name: str
    espeak_voice: str
    whisper_code: str


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "English", "en-us", "en"),
        Language("hi", "Hindi", "हिन्दी", "hi", "hi"),
        Language("ml", "Malayalam", "മലയാളം", "ml", "ml"),
        Language("mr", "Marathi", "मराठी", "mr", "mr"),
        Language("ta", "Tamil", "தமிழ்", "ta", "ta"),
        Language("te", "Telugu", "తెలుగు", "te", "te"),
        Language("bn", "Bengali", "বাংলা", "bn", "bn"),
        Language("gu", "Gujarati", "ગુજરાતી", "gu", "gu"),
        Language("ne", "Nepali", "नेपाली", "ne", "ne"),
    )
}

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "hi", "ml", "mr", "ta", "te", "bn", "gu")


def normalize_language(value: str) -> str:
    """Map 'hi_IN', 'hi-IN', 'HI' to 'hi'; unknown codes are returned lower-cased as they are."""
    return value.strip().replace("_", "-").split("-")[0].lower()


# Short acknowledgements a listener says while the other one talks ("backchannels"): said over a
# reply on /voice they do not interrupt it (`realtime.backchannels` overrides a language's list).
# Phrases are matched whole, lower-cased, without punctuation; romanised forms are included because
# recognisers write Hinglish in Latin letters.
# fmt: off
DEFAULT_BACKCHANNELS: dict[str, tuple[str, ...]] = {
    "en": ("ok", "okay", "yeah", "yes", "yep", "yup", "uh-huh", "uh huh", "mm-hmm", "mm hmm", "mhm", "hmm",
           "mm", "right", "sure", "i see", "got it", "alright", "all right", "cool", "uh", "um", "oh",
           "hm", "mhmm", "em", "ah", "aha", "huh"),
    "hi": ("हाँ", "हां", "हाँ जी", "हां जी", "जी", "जी हाँ", "अच्छा", "ठीक", "ठीक है", "हम्म", "हूँ", "ओके",
           "haan", "han", "haa", "ha", "ji", "haan ji", "han ji", "accha", "acha", "achha", "theek", "thik",
           "theek hai", "thik hai", "hanji", "haanji", "achcha", "hmm", "ok"),
    "mr": ("हो", "होय", "हं", "बरं", "ठीक", "ठीक आहे", "अच्छा", "ho", "hoy", "bara", "barr", "hmm", "ok"),
    "ta": ("ஆமா", "ஆமாம்", "சரி", "ம்ம்", "ம்", "aama", "aamam", "sari", "seri", "hmm", "ok"),
    "te": ("అవును", "సరే", "ఊ", "ఆ", "avunu", "sare", "hmm", "ok"),
    "ml": ("ശരി", "അതെ", "ഉം", "ആ", "shari", "sari", "athe", "hmm", "ok"),
    "bn": ("হ্যাঁ", "হাঁ", "আচ্ছা", "ঠিক", "ঠিক আছে", "হুম", "hyan", "accha", "thik", "thik ache", "hmm", "ok"),
    "gu": ("હા", "હં", "બરાબર", "સારું", "ઠીક", "ha", "barabar", "saru", "hmm", "ok"),
}
# fmt: on

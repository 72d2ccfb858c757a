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

"""Which configured language a transcript or a typed text is in (backend/speech/language_id.py)."""

from __future__ import annotations

import pytest

from backend.core.languages import DEFAULT_LANGUAGES
from backend.media.language_id import (
    confirm_language,
    dominant_script,
    is_hinglish,
    restricted,
    text_language,
)

ALL = DEFAULT_LANGUAGES  # en hi ml mr ta te bn gu


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("कल दोपहर तीन बजे हेयरकट बुक करो", "hi"),
        ("मेरे अपॉइंटमेंट दिखाओ", "hi"),
        ("मला उद्या तीन वाजता अपॉइंटमेंट पाहिजे", "mr"),
        ("माझी अपॉइंटमेंट रद्द करा", "mr"),
        ("নাগামীকাল তিনটায় বুক করুন", "bn"),
        ("કાલે ત્રણ વાગ્યે બુક કરો", "gu"),
        ("நாளை மூன்று மணிக்கு புக் செய்யுங்கள்", "ta"),
        ("రేపు మూడు గంటలకు బుక్ చేయండి", "te"),
        ("നാളെ മൂന്ന് മണിക്ക് ബുക്ക് ചെയ്യൂ", "ml"),
        ("Book a haircut for tomorrow at 3 pm.", "en"),
        ("kal 3 baje haircut book karo", "hi"),  # Hinglish: romanised Hindi
        ("mera appointment cancel karo", "hi"),
        ("Cancel my appointment, karo na.", "en"),  # one Hindi word in an English sentence
        ("Kal wala appointment cancel karo.", "hi"),
    ],
)
def test_the_script_and_its_words_name_the_language(text: str, language: str) -> None:
    assert text_language(text, ALL) == language


def test_only_allowed_languages_are_named() -> None:
    assert text_language("मला उद्या तीन वाजता पाहिजे", ["en", "hi"]) == "hi"  # Marathi off: Devanagari is Hindi
    assert text_language("kal 3 baje karo", ["en", "ta"]) == "en"  # no Hindi: Latin letters are English
    assert text_language("நாளை", ["en", "hi"]) is None
    assert text_language("3:30 ...", ALL) is None  # no letters


def test_hinglish_needs_a_hindi_word() -> None:
    assert is_hinglish("kal teen baje aana")
    assert not is_hinglish("Call me at three")
    assert not is_hinglish("कल तीन बजे")  # Devanagari is Hindi, not Hinglish
    assert dominant_script("Book हेयरकट कल तीन बजे") == "devanagari"  # most letters


@pytest.mark.parametrize(
    ("text", "guess", "expected"),
    [
        ("कल दोपहर तीन बजे", "pl", "hi"),  # Whisper's guess outside the configured languages
        ("நாளை மூன்று மணிக்கு", "ml", "ta"),  # a neighbouring language's guess: the script decides
        ("Book a haircut tomorrow", "hi", "en"),  # English words, guessed Hindi
        ("मला उद्या पाहिजे", "hi", "mr"),  # Marathi's function words
        ("", "hi", "hi"),  # nothing to check: the guess stands
    ],
)
def test_the_transcript_confirms_or_corrects_the_recogniser(text: str, guess: str, expected: str) -> None:
    assert confirm_language(text, guess, ALL) == expected


def test_detection_is_restricted_to_the_configured_languages() -> None:
    whisper = [("pl", 0.27), ("en", 0.02), ("bn", 0.008), ("hi", 0.012), ("de", 0.2)]
    language, share = restricted(whisper, ALL)  # type: ignore[misc]
    assert language == "en" and share == pytest.approx(0.02 / 0.04)
    assert restricted(whisper, ["hi", "bn"]) == ("hi", pytest.approx(0.6))
    assert restricted([("fr", 1.0)], ALL) is None

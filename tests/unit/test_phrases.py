"""The agent's phrasebook (backend/agents/locale/phrases.py): complete in every language, consistent."""

from __future__ import annotations

import pytest

from backend.agents.locale.phrases import PHRASES, phrase, placeholders
from backend.agents.locale.spoken import REPLY_LANGUAGES
from backend.core.languages import DEFAULT_LANGUAGES

SCRIPTS = {  # the letters each language's templates must be written in
    "hi": (0x0900, 0x097F), "mr": (0x0900, 0x097F), "bn": (0x0980, 0x09FF), "gu": (0x0A80, 0x0AFF),
    "ta": (0x0B80, 0x0BFF), "te": (0x0C00, 0x0C7F), "ml": (0x0D00, 0x0D7F),
}  # fmt: skip


def test_every_configured_language_has_a_reply_language() -> None:
    assert set(DEFAULT_LANGUAGES) <= set(REPLY_LANGUAGES)
    assert "hi-Latn" in REPLY_LANGUAGES


@pytest.mark.parametrize("message_id", sorted(PHRASES))
def test_every_message_exists_in_every_language(message_id: str) -> None:
    texts = PHRASES[message_id]
    assert set(texts) == set(REPLY_LANGUAGES), f"{message_id}: missing {set(REPLY_LANGUAGES) - set(texts)}"
    assert all(t.strip() for t in texts.values())


@pytest.mark.parametrize("message_id", sorted(PHRASES))
def test_placeholders_are_the_same_in_every_language(message_id: str) -> None:
    english = placeholders(PHRASES[message_id]["en"])
    for lang, text in PHRASES[message_id].items():
        assert placeholders(text) == english, f"{message_id} [{lang}]: {text!r}"


@pytest.mark.parametrize("lang", sorted(SCRIPTS))
def test_templates_are_in_their_own_script(lang: str) -> None:
    """A template pasted into the wrong language (or left in English) fails here."""
    first, last = SCRIPTS[lang]
    for message_id, texts in PHRASES.items():
        text = texts[lang]
        if message_id == "appointments.item_for":  # "{purpose}, {when}": no words of its own
            continue
        indic = [c for c in text if 0x0900 <= ord(c) <= 0x0D7F and c not in "।॥"]  # (Bengali uses ।)
        assert indic, f"{message_id} [{lang}] has no {lang} letters: {text!r}"
        assert all(first <= ord(c) <= last for c in indic), f"{message_id} [{lang}] mixes scripts: {text!r}"


def test_romanised_hindi_is_latin() -> None:
    for message_id, texts in PHRASES.items():
        assert texts["hi-Latn"].isascii(), message_id


def test_phrase_fills_in_and_falls_back_to_english() -> None:
    when = "कल दोपहर तीन बजे"
    assert phrase("book.done_for", "hi", when=when, purpose="हेयरकट") == (
        "कल दोपहर तीन बजे के लिए आपका हेयरकट बुक हो गया है।"
    )
    assert phrase("book.done", "hi-IN", when=when) == "कल दोपहर तीन बजे के लिए बुक हो गया है।"
    assert phrase("book.done", "fr", when="tomorrow at 3 pm") == "Booked for tomorrow at 3 pm."
    assert phrase("book.done", None, when="tomorrow at 3 pm") == "Booked for tomorrow at 3 pm."
    assert phrase("list.none", "ne") == "You have no upcoming appointments."  # Nepali: no templates yet


def test_latin_sentences_start_with_a_capital() -> None:
    assert (
        phrase("book.done", "hi-Latn", when="kal dopahar 3 baje")
        == "Kal dopahar 3 baje ke liye book ho gaya hai."
    )
    piece = phrase("appointments.item_for", "en", sentence=False, when="tomorrow at 3 pm", purpose="haircut")
    assert piece == "tomorrow at 3 pm for haircut"

"""Which language to answer a turn in: the language of what the user said, not only the one declared.

`reply_language(text, declared, previous)`:
1. Text mostly in an Indic script is answered in that script's language: Devanagari is Hindi unless
   the turn's declared language is Marathi or Marathi's function words are there ("आहे", "मला"),
   Bengali, Gujarati, Tamil, Telugu, Malayalam scripts are those languages.
2. Latin text with romanised Hindi in it (Hinglish: "kal 3 baje haircut book karo") is answered in
   `hi-Latn`, romanised Hindi (`backend.media.language_id.is_hinglish`).
3. Other Latin text is English, whatever language was declared (the user switched).
4. Text without letters ("3", "10:30") keeps the language of the conversation's previous reply, else
   the declared language.
"""

from __future__ import annotations

from backend.agents.locale.spoken import reply_code
from backend.media.language_id import dominant_script, is_hinglish, text_language

_OTHER_SCRIPTS = ("bn", "gu", "ta", "te", "ml")  # the languages of the other Indic scripts we answer in


def reply_language(text: str, declared: str | None = None, previous: str | None = None) -> str:
    """The reply language (`spoken.REPLY_LANGUAGES`) for a turn: see the module docstring."""
    declared_code = (declared or "").strip().replace("_", "-").split("-")[0].lower()
    script = dominant_script(text)
    if script is None:
        return reply_code(previous or declared)
    if script == "latin":
        return "hi-Latn" if is_hinglish(text) else "en"
    if script == "devanagari":  # Hindi, unless the turn says Marathi or Marathi's words are there
        if declared_code == "mr":
            return "mr"
        return text_language(text, ("hi", "mr")) or "hi"
    return reply_code(text_language(text, _OTHER_SCRIPTS))

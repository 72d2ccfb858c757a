"""Backchannels: "haan", "hmm", "ok", "uh-huh" said while the bot speaks are not interruptions.

The policy (backend/engine/session.py): speech over a reply that is being generated or played interrupts
it once it has lasted `realtime.barge_in_ms` (the VAD's `sustained` event); speech that ends before
that is transcribed, and the reply goes on if its words are only backchannels (`is_backchannel`) in one
of the configured languages — else it interrupts and is answered like any turn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# letters and marks of any script (Indic vowel signs are marks), digits, apostrophes and hyphens inside
_TOKEN = re.compile(r"[\w\u0900-\u0DFF'’-]+")


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower()).replace("।", " ").replace("॥", " ")  # dandas
    return [t.strip("-'’") for t in _TOKEN.findall(text) if t.strip("-'’")]


class Backchannels:
    """The phrases that count as backchannels, for the languages a deployment speaks."""

    def __init__(self, phrases_by_language: Mapping[str, Iterable[str]], languages: Iterable[str]) -> None:
        phrases: set[tuple[str, ...]] = set()
        for language in languages:
            for phrase in phrases_by_language.get(language, ()):
                words = tuple(_tokens(phrase))
                if words:
                    phrases.add(words)
        self._phrases = sorted(phrases, key=len, reverse=True)  # longest first

    def matches(self, text: str) -> bool:
        """Whether `text` is nothing but backchannel phrases ("Haan haan, theek hai." / "Mm-hmm."). An
        empty transcript (a cough, a noise: nothing, or lone letters) counts too: it is no reason to stop
        talking."""
        # a lone letter ("H", "A.") is a recogniser's guess at a sound, not a word
        words = [w for w in _tokens(text) if not (len(w) == 1 and w.isascii())]
        i = 0
        while i < len(words):
            for phrase in self._phrases:
                if tuple(words[i : i + len(phrase)]) == phrase:
                    i += len(phrase)
                    break
            else:
                return False
        return True

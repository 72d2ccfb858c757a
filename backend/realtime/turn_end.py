"""Does what was said so far sound finished? The text half of end-of-turn detection.

At the first pause in a turn the utterance so far is transcribed (for the early answer); this looks at
that transcript. A trailing "and", "the", "for", "um", a comma or an ellipsis means the speaker is in
the middle of a phrase ("unfinished"): the turn waits longer (`realtime.unfinished_hangover_ms`) before it
ends on silence. Words without a full stop, question or exclamation mark at the end ("unclear": the
recogniser punctuates what it hears as a finished sentence) wait `unclear_hangover_ms`; a finished
sentence ends after the usual `hangover_ms`.

Only words that rarely end a sentence count: articles, conjunctions, possessives, auxiliaries, fillers
and the prepositions that do not double as adverbs ("on", "about", "over", "like" are left out: "Turn
it on.", "What is the weather like?"). A question that ends on one of them ("Who is it for?") waits the
longer hangover: slower, never cut off. A phrase that is a sentence by itself ("What is the largest
planet") cannot be told from a finished question by its words, and the recogniser sometimes completes
a fragment ("Give me a tip for" → "Give me a tip for it."): both end the turn on the normal hangover.
Languages other than English have no word list yet: only the punctuation rule applies to them.
"""

from __future__ import annotations

import re
from typing import Literal

Verdict = Literal["finished", "unclear", "unfinished"]

# words after which an English sentence is not over
_ENGLISH_UNFINISHED = frozenset(
    """
    a an the
    and or but nor so because if unless although though while whereas than
    of to for with from in at by into onto between during toward towards upon via per as
    my your his her its our their whose which
    is are was were am be been being
    um uh er erm uhm hmm mm ah eh
    """.split()
)
_UNFINISHED_WORDS: dict[str, frozenset[str]] = {"en": _ENGLISH_UNFINISHED}
# a trailing comma, colon, dash or ellipsis: the recogniser heard the voice trail off
_TRAILING_MARK = re.compile(r"(,|;|:|-|–|—|\.\.\.|…)\s*$")
_LAST_WORD = re.compile(r"([\w']+)\W*$")
_SENTENCE_END = re.compile(r"[.?!।॥。？！]['\"”’)]*$")


def verdict(text: str, language: str | None = "en") -> Verdict:
    """How the words so far end: mid-phrase, without a sentence mark, or as a finished sentence."""
    if looks_unfinished(text, language):
        return "unfinished"
    return "finished" if not text.strip() or _SENTENCE_END.search(text.strip()) else "unclear"


def looks_unfinished(text: str, language: str | None = "en") -> bool:
    """True when `text` (a transcript of speech so far) stops in the middle of a phrase."""
    text = text.strip()
    if not text:
        return False
    if _TRAILING_MARK.search(text):
        return True
    words = _UNFINISHED_WORDS.get((language or "en").split("-")[0].split("_")[0].lower())
    match = _LAST_WORD.search(text)
    return bool(words and match and match.group(1).lower() in words)

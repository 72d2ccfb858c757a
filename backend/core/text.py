"""Text helpers shared by TTS and, later, the streaming agent: sentence splitting for low first-audio."""

from __future__ import annotations

import re

# Sentence ends: . ! ? … and the Devanagari/Bengali danda (। ॥), followed by space or end of text.
_SENTENCE_END = re.compile(r"(?<=[.!?…।॥])[\"'”’)\]]*\s+")
_MAX_CHUNK = 300


def split_sentences(text: str, max_chars: int = _MAX_CHUNK) -> list[str]:
    """Split text into sentences for incremental synthesis.

    Over-long sentences are cut at a comma/semicolon or, failing that, at a space, so no piece is longer
    than `max_chars` and the first audio never waits for a whole paragraph.
    """
    pieces: list[str] = []
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            sentence = sentence.strip()
            while len(sentence) > max_chars:
                cut = max(sentence.rfind(", ", 0, max_chars), sentence.rfind("; ", 0, max_chars))
                if cut <= 0:
                    cut = sentence.rfind(" ", 0, max_chars)
                if cut <= 0:
                    cut = max_chars - 1
                pieces.append(sentence[: cut + 1].strip())
                sentence = sentence[cut + 1 :].strip()
            if sentence:
                pieces.append(sentence)
    return pieces

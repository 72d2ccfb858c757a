"""Text helpers shared by TTS and, later, the streaming agent: sentence splitting for low first-audio."""

from __future__ import annotations

import re

# Sentence ends: . ! ? … and the Devanagari/Bengali danda (। ॥), followed by space or end of text.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…।॥])|(?<=[.!?…।॥][\"'”’)\]]))\s+")
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


_CLAUSE_MARKS = ",;:—–،"
# English words that usually open a new prosodic phrase (prepositions, conjunctions, and the auxiliary
# that starts a predicate): a short pause before them sounds natural.
_EN_PHRASE_STARTS = frozenset(
    "for at in on of to with and but because so from about after before when which that if or until while "
    "where since is are was were will would can could should has have had do does did".split()
)


def split_first_phrase(
    sentence: str, language: str, max_words: int = 6, min_words: int = 2, whole_up_to: int = 4
) -> list[str]:
    """Cut a short leading phrase off the first sentence, so streaming can start speaking sooner.

    Piper's cost is proportional to the audio it makes (~45 ms per second of speech here), so the first
    audio can only be early if the first piece is short. The cut is made only at a natural pause: after
    clause punctuation within the first `max_words` words, or (English) before a preposition,
    conjunction or auxiliary verb after `min_words` to `max_words` words. A sentence of `whole_up_to`
    words or fewer, or one without such a pause, is returned whole.
    """
    words = sentence.split()
    if len(words) <= whole_up_to:
        return [sentence]
    for i, word in enumerate(words[:max_words], start=1):
        if word[-1] in _CLAUSE_MARKS and i < len(words):
            return [" ".join(words[:i]), " ".join(words[i:])]
    if language == "en":
        for i in range(min_words, min(max_words, len(words) - 1) + 1):
            if words[i].lower() in _EN_PHRASE_STARTS:
                return [" ".join(words[:i]), " ".join(words[i:])]
    return [sentence]


def speech_pieces(text: str, language: str, eager_first: bool) -> list[str]:
    """Sentences to synthesize one by one; with `eager_first` the first one may be cut at a phrase."""
    pieces = split_sentences(text)
    if eager_first and pieces:
        pieces[:1] = split_first_phrase(pieces[0], language)
    return pieces


_MARKDOWN = [
    (re.compile(r"```.*?```", re.S), " "),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), " "),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"https?://\S+"), " "),
    (re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),
    (re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.M), ""),
    (re.compile(r"^\s*>\s?", re.M), ""),
    (re.compile(r"[*#_|]{1,}"), " "),
]


def strip_markup(text: str) -> str:
    """Markdown, list markers and links removed; '&' spoken as 'and'."""
    for pattern, repl in _MARKDOWN:
        text = pattern.sub(repl, text)
    return text.replace("&", " and ")


def for_speech(text: str, max_sentences: int = 3) -> str:
    """Make model output speakable: no markdown, lists or links, at most `max_sentences` sentences,
    and no trailing half sentence (a reply cut by the token limit ends at its last full stop)."""
    text = strip_markup(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = (
        " ".join(line if line[-1] in ".!?…।:;," else line + "." for line in lines) if len(lines) > 1 else text
    )
    text = re.sub(r"\s+", " ", text).strip()
    sentences = split_sentences(text, max_chars=10_000)
    if not sentences:
        return ""
    if len(sentences) > 1 and sentences[-1][-1] not in ".!?…।॥":
        sentences = sentences[:-1]  # drop a fragment cut off by max_tokens
    text = " ".join(sentences[:max_sentences])
    return text if text[-1] in ".!?…।॥\"'”" else text + "."

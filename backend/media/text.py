"""Text helpers for speech: the one sentence splitter (REST TTS, /voice, Wyoming) with the first-phrase
rule that keeps the first audio early, and markup stripping."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … or the Devanagari/Bengali danda (। ॥), after any closing quotes or brackets,
# before a space or the end of the text; a line break ends one too.
_SENTENCE_END = re.compile(r"[.!?…।॥][\"'”’)\]]*(?:\s+|$)|\s*\n\s*")
_MAX_CHUNK = 300


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than `max_chars`, cut at a comma/semicolon or, failing that, at a space."""
    pieces: list[str] = []
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


_FIRST_WORDS = 4  # streaming: a clause mark within the first four words ends the first phrase


class SentenceChunker:
    """The one sentence splitter, for text that streams in (an LLM's reply on /voice, Wyoming) and for
    whole texts (REST TTS: `speech_pieces`, `split_sentences`): whole sentences, none longer than
    `max_chars`, and with `eager_first` a short first phrase (`split_first_phrase`) that goes as soon as
    its words are complete, before its sentence is."""

    def __init__(self, language: str, eager_first: bool = True, max_chars: int = _MAX_CHUNK) -> None:
        self.language = language
        self.eager_first = eager_first
        self.max_chars = max_chars
        self.buffer = ""
        self.first = True

    def feed(self, text: str) -> list[str]:
        self.buffer += text
        out = []
        while (match := self._sentence_end()) is not None:
            piece, self.buffer = self.buffer[: match.end()].strip(), self.buffer[match.end() :]
            out.extend(self._pieces(piece))
        if self.first and self.eager_first and not out and self.buffer.strip():
            # the first phrase can go before its sentence is complete: judged on the words so far but
            # the last, which may still grow ("of" → "often")
            spoken = self.buffer.split()
            words = spoken[:-1] if spoken and not self.buffer[-1].isspace() else spoken
            head = split_first_phrase(" ".join(words), self.language)
            clause = next((i for i, w in enumerate(words[:_FIRST_WORDS]) if w[-1] in ",;:"), None)
            if clause is not None and clause + 1 < len(spoken):  # "Sure," and a word after it
                head = [" ".join(words[: clause + 1])]
                head.append(self.buffer.strip()[len(head[0]) :])
            if len(head) > 1:
                out.append(head[0])
                self.buffer = self.buffer.lstrip()[len(head[0]) :]  # (its trailing space stays)
                self.first = False
        if len(self.buffer.strip()) > self.max_chars:  # a long run without a sentence end: cut it
            *done, rest = _cut_long(self.buffer.strip(), self.max_chars)
            self.buffer = rest + self.buffer[len(self.buffer.rstrip()) :]  # its trailing space stays
            for piece in done:
                out.extend(self._pieces(piece))
        return [p for p in out if p]

    def _sentence_end(self) -> re.Match[str] | None:
        match = _SENTENCE_END.search(self.buffer)
        if match is None or match.end() < len(self.buffer) or not match.group().startswith("."):
            return match
        # a "." that ends the text so far after a digit may be a decimal point ("3." then "5"): wait
        before = self.buffer[: match.start()]
        return None if before[-1:].isdigit() and not match.group()[-1:].isspace() else match

    def _pieces(self, sentence: str) -> list[str]:
        pieces = _cut_long(sentence, self.max_chars)
        if self.first and pieces:
            self.first = False
            if self.eager_first:
                pieces[:1] = split_first_phrase(pieces[0], self.language)
        return pieces

    def flush(self) -> list[str]:
        rest, self.buffer = self.buffer.strip(), ""
        return self._pieces(rest) if rest else []


def split_sentences(text: str, max_chars: int = _MAX_CHUNK) -> list[str]:
    """Split text into sentences for incremental synthesis; none is longer than `max_chars` (cut at a
    comma/semicolon or, failing that, at a space), so the first audio never waits for a paragraph."""
    chunker = SentenceChunker("", eager_first=False, max_chars=max_chars)
    return chunker.feed(text) + chunker.flush()


def speech_pieces(text: str, language: str, eager_first: bool) -> list[str]:
    """Sentences to synthesize one by one; with `eager_first` the first one may be cut at a phrase."""
    chunker = SentenceChunker(language, eager_first)
    return chunker.feed(text) + chunker.flush()


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

"""The streamed reply is cut into speakable pieces: the first phrase goes as soon as its words are
complete (not when its sentence is), later text by whole sentences."""

from __future__ import annotations

from backend.engine.responder import SentenceChunker


def _stream(tokens: list[str]) -> list[list[str]]:
    chunker = SentenceChunker("en")
    return [chunker.feed(token) for token in tokens] + [chunker.flush()]


def test_the_first_phrase_goes_before_its_sentence_is_complete() -> None:
    out = _stream([" Paris", " is", " the", " capital", " of", " France", ".", " It", " is", " big", "."])
    assert out[5] == ["Paris is the capital"]  # when " France" shows that "of" is a whole word
    assert [p for step in out for p in step] == ["Paris is the capital", "of France.", "It is big."]


def test_a_word_that_may_still_grow_is_not_cut_at() -> None:
    chunker = SentenceChunker("en")
    assert chunker.feed(" Paris is the capital o") == []
    assert chunker.feed("ften") == []  # "capital often": not a phrase start
    assert chunker.feed(" visited by") == []
    assert chunker.flush() == ["Paris is the capital often visited by"]


def test_a_clause_mark_ends_the_first_phrase() -> None:
    out = _stream([" I", "'m", " sorry", ",", " I", " can", "not", "."])
    assert out[4] == ["I'm sorry,"]  # as soon as a word follows the comma
    assert [p for step in out for p in step] == ["I'm sorry,", "I cannot."]


def test_short_sentences_stay_whole() -> None:
    out = _stream([" I", "'m", " fine", ".", " And", " you", "?"])
    assert [p for step in out for p in step] == ["I'm fine.", "And you?"]

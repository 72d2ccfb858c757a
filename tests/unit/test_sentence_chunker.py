"""The streamed reply is cut into speakable pieces: the first phrase goes as soon as its words are
complete (not when its sentence is), later text by whole sentences."""

from __future__ import annotations

from backend.media.text import SentenceChunker


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


def test_a_decimal_point_at_the_end_of_the_text_so_far_is_not_a_sentence_end() -> None:
    out = _stream([" It", " costs", " 3", ".", "5", " dollars", ".", " Thanks", "."])
    assert [p for step in out for p in step] == ["It costs 3.5 dollars.", "Thanks."]


def test_streamed_and_whole_text_are_cut_alike() -> None:
    """REST (`speech_pieces`) and /voice (tokens fed one by one) speak the same pieces."""
    from backend.media.text import speech_pieces

    text = "Your appointment is booked for Tuesday at three. See you then!\nBring your card."
    tokens = [w + " " for w in text.split(" ")]
    streamed = [p for step in _stream(tokens) for p in step]
    assert (
        streamed
        == speech_pieces(text, "en", eager_first=True)
        == [
            "Your appointment",
            "is booked for Tuesday at three.",
            "See you then!",
            "Bring your card.",
        ]
    )


def test_a_long_run_without_a_sentence_end_is_cut_while_it_streams() -> None:
    from backend.media.text import SentenceChunker

    chunker = SentenceChunker("en", eager_first=False, max_chars=40)
    pieces = chunker.feed("one two three four five six seven eight nine ten eleven twelve ")
    assert pieces and all(len(p) <= 40 for p in pieces)
    assert (
        " ".join(pieces + chunker.flush()).split()
        == "one two three four five six seven eight nine ten eleven twelve".split()
    )


def test_a_long_run_cut_while_streaming_keeps_the_space_before_the_next_token() -> None:
    from backend.media.text import SentenceChunker

    chunker = SentenceChunker("en", eager_first=False, max_chars=20)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    pieces = [p for w in words for p in chunker.feed(w + " ")] + chunker.flush()
    assert " ".join(pieces).split() == words  # no word glued to the next
    assert chunker.feed(" " * 50) == [] and chunker.flush() == []  # only spaces: nothing to cut, no error

"""What a barge-in leaves in memory: the playback clock of a /voice reply (`Turn.heard`)."""

from __future__ import annotations

from backend.engine.responder import Turn

FIRST = "You have three appointments."  # plays 10.0 → 12.0
SECOND = "Monday at nine, Tuesday at ten and Friday at noon."  # plays 12.0 → 16.0 (10 words)


def turn() -> Turn:
    t = Turn(id="t1")
    t.playback_start = 10.0
    t.sentences = [(FIRST, 10.0, 12.0), (SECOND, 12.0, 16.0)]
    return t


def test_nothing_before_playback_starts() -> None:
    assert turn().heard(9.0) == ""
    assert turn().heard(10.0) == ""


def test_whole_sentences_once_played() -> None:
    assert turn().heard(12.0) == FIRST
    assert turn().heard(16.0) == f"{FIRST} {SECOND}"
    assert turn().heard(99.0) == f"{FIRST} {SECOND}"


def test_the_sentence_in_progress_counts_the_words_its_playback_covered() -> None:
    assert turn().heard(11.0) == "You have"  # half of 4 words
    assert turn().heard(14.0) == f"{FIRST} Monday at nine, Tuesday at"  # half of 10 words
    assert turn().heard(12.3) == FIRST  # 0.75 of a word is not a word heard


def test_a_gap_before_a_sentence_is_not_counted_as_its_playback() -> None:
    t = turn()
    t.sentences[1] = (SECOND, 13.0, 17.0)  # the client ran dry for 1 s before the second sentence
    assert t.heard(12.9) == FIRST
    assert t.heard(15.0) == f"{FIRST} Monday at nine, Tuesday at"

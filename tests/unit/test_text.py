from backend.core.text import split_sentences


def test_splits_on_sentence_ends_and_keeps_punctuation() -> None:
    assert split_sentences("Hello there! How are you? I am fine.") == [
        "Hello there!",
        "How are you?",
        "I am fine.",
    ]


def test_splits_on_danda_and_newlines() -> None:
    assert split_sentences("नमस्ते। आप कैसे हैं?\nठीक") == ["नमस्ते।", "आप कैसे हैं?", "ठीक"]


def test_does_not_split_decimals_or_empty() -> None:
    assert split_sentences("It costs 3.50 dollars.") == ["It costs 3.50 dollars."]
    assert split_sentences("   \n  ") == []


def test_long_sentence_is_cut_at_a_comma_or_space() -> None:
    text = "word, " * 100 + "end."
    pieces = split_sentences(text, max_chars=50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).replace("  ", " ") == text.strip()

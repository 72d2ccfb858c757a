from backend.media.text import split_sentences


def test_splits_on_sentence_ends_and_keeps_punctuation() -> None:
    assert split_sentences("Hello there! How are you? I am fine.") == [
        "Hello there!",
        "How are you?",
        "I am fine.",
    ]


def test_splits_on_danda_and_newlines() -> None:
    assert split_sentences("नमस्ते। आप कैसे हैं?\nठीक") == ["नमस्ते।", "आप कैसे हैं?", "ठीक"]


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    assert split_sentences('He said "Yes." (Okay.) Then left.') == ['He said "Yes."', "(Okay.)", "Then left."]


def test_does_not_split_decimals_or_empty() -> None:
    assert split_sentences("It costs 3.50 dollars.") == ["It costs 3.50 dollars."]
    assert split_sentences("   \n  ") == []


def test_long_sentence_is_cut_at_a_comma_or_space() -> None:
    text = "word, " * 100 + "end."
    pieces = split_sentences(text, max_chars=50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).replace("  ", " ") == text.strip()


def test_first_phrase_cut_at_clause_punctuation() -> None:
    from backend.media.text import split_first_phrase

    assert split_first_phrase("Sure, I can help you with that today.", "en") == [
        "Sure,",
        "I can help you with that today.",
    ]
    assert split_first_phrase("Okay then, I can help you with that today.", "en") == [
        "Okay then,",
        "I can help you with that today.",
    ]
    assert split_first_phrase("Take the second road right after the bridge.", "en") == [
        "Take the second road right",
        "after the bridge.",
    ]  # a phrase word within the first six words
    assert split_first_phrase("Take the second big road right towards the bridge.", "en") == [
        "Take the second big road right towards the bridge."
    ]  # no natural pause in the first six words: left whole


def test_first_phrase_cut_before_english_phrase_word() -> None:
    from backend.media.text import split_first_phrase

    assert split_first_phrase("Your appointment is booked for Tuesday at three in the afternoon.", "en") == [
        "Your appointment",
        "is booked for Tuesday at three in the afternoon.",
    ]
    assert split_first_phrase("The nearest pharmacy is open until nine tonight.", "en") == [
        "The nearest pharmacy",
        "is open until nine tonight.",
    ]
    # no word rule for other languages, short sentences stay whole
    assert split_first_phrase("यह एक लंबा वाक्य है जिसमें कोई विराम चिह्न नहीं है", "hi") == [
        "यह एक लंबा वाक्य है जिसमें कोई विराम चिह्न नहीं है"
    ]
    assert split_first_phrase("Hello there friend.", "en") == ["Hello there friend."]


def test_speech_pieces_only_cuts_the_first_sentence() -> None:
    from backend.media.text import speech_pieces

    text = "Your appointment is booked for Tuesday morning. It is booked for the morning at nine."
    assert speech_pieces(text, "en", eager_first=True) == [
        "Your appointment",
        "is booked for Tuesday morning.",
        "It is booked for the morning at nine.",
    ]
    assert speech_pieces(text, "en", eager_first=False) == [
        "Your appointment is booked for Tuesday morning.",
        "It is booked for the morning at nine.",
    ]


def test_for_speech_strips_markdown_and_limits_sentences() -> None:
    from backend.media.text import for_speech

    md = "**Sure!** Here are the steps:\n\n1. Open the `app`.\n2. Tap [Book](http://x.y/z).\n- Done & dusted"
    assert (
        for_speech(md, max_sentences=10)
        == "Sure! Here are the steps: Open the app. Tap Book. Done and dusted."
    )
    assert for_speech("One. Two. Three. Four.", max_sentences=2) == "One. Two."
    assert for_speech("It is sunny today. And tomorrow it will be", max_sentences=3) == "It is sunny today."
    assert for_speech("Just a fragment") == "Just a fragment."
    assert for_speech("  ") == ""


def test_first_phrase_is_cut_as_soon_as_the_words_so_far_allow() -> None:
    """Streaming judges the words received so far: a phrase word at position 3 cuts at 5 words already
    (a longer reach must not make the first audio wait for more words)."""
    from backend.media.text import split_first_phrase

    assert split_first_phrase("I'd recommend you to eat", "en") == ["I'd recommend you", "to eat"]
    assert split_first_phrase("Jupiter is the largest planet in our solar system.", "en") == [
        "Jupiter is the largest planet",
        "in our solar system.",
    ]
    assert split_first_phrase("I'd recommend you to", "en") == ["I'd recommend you to"]  # short: whole

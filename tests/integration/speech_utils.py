"""Helpers for speech round-trip tests: text normalisation and word error rate."""

from __future__ import annotations

import re

import jiwer

_NUMBERS = {"two": "2", "seven": "7", "three": "3", "ten": "10", "one": "1", "four": "4", "five": "5"}


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    words = [_NUMBERS.get(w, w) for w in text.split()]
    return " ".join(words)


def word_error_rate(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))

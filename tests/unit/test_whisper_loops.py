"""A short encoder window sometimes makes Whisper loop; `repeats_itself` tells such a result (it is then
decoded again in the full window)."""

from __future__ import annotations

import pytest

from backend.speech.providers.whisper_local_stt import repeats_itself


@pytest.mark.parametrize(
    "text",
    [
        "3 3 3 3 3",
        "Give me a tip for 3-0-0-0-0-",
        "Turn off the lights. Turn off the lights. Turn off",
        "I would like to cancel my appointment with a dentist. my appointment with the dentist.",
    ],
)
def test_a_loop_is_told(text: str) -> None:
    assert repeats_itself(text)


@pytest.mark.parametrize(
    "text", ["What is the capital of France?", "Yes. No. Maybe so.", "bye bye", "www.example.com", ""]
)
def test_ordinary_speech_is_not(text: str) -> None:
    assert not repeats_itself(text)

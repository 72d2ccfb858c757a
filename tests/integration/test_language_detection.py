"""Language ID on /voice's recogniser path: detection among the configured languages only, English
first with the English-only default model, the transcript's script having the last word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.speech.base import STTConfig
from backend.speech.stt_chain import STTChain
from bench.multilingual_set import PHRASES, espeak_audio
from tests.conftest import make_settings
from tests.helpers.speech import piper_audio, word_error_rate

ENGLISH = "What time is my appointment tomorrow?"
ALL = ("en", "hi", "ml", "mr", "ta", "te", "bn", "gu")


@pytest.fixture(scope="module")
def english_audio(assembled_models: Path) -> np.ndarray:
    return piper_audio(assembled_models, [ENGLISH])[ENGLISH]


@pytest.fixture(scope="module")
async def chain(assembled_models: Path) -> STTChain:
    stt = STTChain(make_settings({"stt": {"model_size": "tiny.en"}}, models=assembled_models))
    await stt.load()  # tiny.en, and base preloaded (config.yml)
    return stt


async def test_english_is_heard_by_the_english_model_at_no_extra_cost(
    chain: STTChain, english_audio: np.ndarray
) -> None:
    result = await chain.transcribe(english_audio, STTConfig(languages=ALL))
    assert result.language == "en" and result.model == "tiny.en"
    assert word_error_rate(ENGLISH, result.text) <= 0.2, result.text


async def test_detection_names_only_configured_languages(chain: STTChain) -> None:
    # eSpeak's Tamil: Whisper's own guess is a language nobody configured here
    audio = espeak_audio(PHRASES["ta"][0], "ta")
    primary = chain.primary_provider
    model = primary._get_model("base")  # type: ignore[attr-defined]
    whisper_guess = model.detect_language(audio=audio)[0]
    assert whisper_guess not in ("en", "hi"), "the set-up needs a clip Whisper itself gets wrong"
    result = await chain.transcribe(audio, STTConfig(languages=("en", "hi")))
    assert result.language in ("en", "hi")
    assert result.model == ("tiny.en" if result.language == "en" else "base")


async def test_a_language_the_session_locks_is_not_detected(chain: STTChain) -> None:
    audio = espeak_audio(PHRASES["hi"][1], "hi")
    result = await chain.transcribe(audio, STTConfig(language="hi", languages=ALL))
    assert result.language == "hi" and result.model == "base"

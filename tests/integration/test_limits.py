"""Configured limits are enforced with clear 4xx errors (a server started with small limits)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from backend.media.audio import pcm16_to_wav
from tests.conftest import LiveServer, make_settings
from tests.helpers.rest import assert_error

LIMITS = {
    "max_text_chars": 40,
    "max_upload_mb": 0.05,
    "max_audio_seconds": 2,
    "min_speed": 0.8,
    "max_speed": 1.25,
}


@pytest.fixture(scope="module")
def small(assembled_models: Path) -> Iterator[str]:
    settings = make_settings({"limits": LIMITS, "languages": ["en", "hi"]}, models=assembled_models)
    with LiveServer(settings) as live:
        yield live.url


def tone(seconds: float, rate: int) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return pcm16_to_wav((np.sin(2 * np.pi * 300 * t) * 6000).astype("<i2").tobytes(), rate)


def test_text_limit_from_config(small: str) -> None:
    resp = httpx.post(f"{small}/api/tts/generate", json={"text": "x" * 41})
    assert_error(resp, 422, "text_too_long", "limit is 40")
    assert (
        httpx.post(f"{small}/api/tts/generate", json={"text": "Forty characters or fewer."}).status_code
        == 200
    )


def test_speed_range_from_config(small: str) -> None:
    assert_error(
        httpx.post(f"{small}/api/tts/generate", json={"text": "hi", "speed": 1.5}),
        422,
        "invalid_speed",
        "0.8 to 1.25",
    )


def test_upload_size_limit(small: str) -> None:
    big = tone(2.0, 16000)  # 64 KB > 0.05 MB
    resp = httpx.post(f"{small}/api/stt/transcribe", files={"file": ("a.wav", big)})
    assert_error(resp, 413, "upload_too_large", "0.05 MiB")


def test_audio_duration_limit(small: str) -> None:
    long_but_small = tone(3.0, 8000)  # 48 KB, 3 s
    resp = httpx.post(f"{small}/api/stt/transcribe", files={"file": ("a.wav", long_but_small)})
    assert_error(resp, 413, "audio_too_long", "2 s")


def test_only_enabled_languages(small: str) -> None:
    assert_error(
        httpx.post(f"{small}/api/tts/generate", json={"text": "hi", "language": "ta"}),
        422,
        "unsupported_language",
        "en, hi",
    )

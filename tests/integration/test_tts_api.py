"""POST /api/tts/generate against the real app (Piper + eSpeak NG) over real HTTP."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from backend.media.audio import decode_audio
from tests.helpers.rest import assert_error

TEXT = "Hello there! This is a test of the speech platform. It has three sentences."


def post(base_url: str, body: object, **kw: object) -> httpx.Response:
    return httpx.post(f"{base_url}/api/tts/generate", json=body, timeout=60, **kw)


def test_default_is_wav_from_piper_with_duration_header(base_url: str) -> None:
    resp = post(base_url, {"text": TEXT})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "audio/wav"
    assert resp.headers["x-tts-provider"] == "piper"
    assert resp.headers["x-voice-id"] == "en_US-joe-medium"
    duration = float(resp.headers["x-audio-duration"])
    audio = decode_audio(resp.content)
    assert abs(len(audio) / 16000 - duration) < 0.05
    assert 2.0 < duration < 10.0
    assert np.abs(audio).max() > 0.1


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("mp3", "audio/mpeg"), ("opus", "audio/ogg; codecs=opus"), ("flac", "audio/flac"), ("aac", "audio/aac")],
)
def test_compressed_formats(base_url: str, fmt: str, media_type: str) -> None:
    resp = post(base_url, {"text": "Format check.", "format": fmt})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == media_type
    assert len(decode_audio(resp.content)) / 16000 > 0.3


def test_pcm_is_raw_int16_at_the_declared_rate(base_url: str) -> None:
    resp = post(base_url, {"text": "Raw samples.", "format": "pcm"})
    assert resp.status_code == 200
    rate = int(resp.headers["x-sample-rate"])
    assert rate == 22050
    assert len(resp.content) % 2 == 0
    assert abs(len(resp.content) / 2 / rate - float(resp.headers["x-audio-duration"])) < 0.01


def test_speed_changes_duration(base_url: str) -> None:
    slow = float(post(base_url, {"text": TEXT, "speed": 0.7}).headers["x-audio-duration"])
    fast = float(post(base_url, {"text": TEXT, "speed": 1.6}).headers["x-audio-duration"])
    assert slow > fast * 1.6


def test_streaming_sends_first_sentence_before_the_rest(base_url: str) -> None:
    text = "Hi. " + " ".join(["This second part is a much longer sentence with many more words in it."] * 4)
    arrivals: list[tuple[float, int]] = []
    start = time.perf_counter()
    with httpx.stream("POST", f"{base_url}/api/tts/generate", json={"text": text, "stream": True}) as resp:
        assert resp.status_code == 200
        assert resp.headers.get("transfer-encoding") == "chunked"
        for chunk in resp.iter_raw():
            arrivals.append((time.perf_counter() - start, len(chunk)))
    total = sum(n for _, n in arrivals)
    first_time, _ = arrivals[0]
    last_time, _ = arrivals[-1]
    assert len(arrivals) >= 2
    # The first audio is there long before the whole text is synthesized.
    assert first_time < last_time / 2
    assert total > 44 + 22050 * 2 * 3  # more than 3 s of audio overall


def test_streamed_wav_is_a_valid_file(base_url: str) -> None:
    resp = post(base_url, {"text": TEXT, "stream": True})
    assert resp.status_code == 200
    assert abs(len(decode_audio(resp.content)) / 16000 - 4) < 3


def test_language_without_neural_voice_falls_back_to_espeak(base_url: str) -> None:
    resp = post(base_url, {"text": "नमस्ते, आप कैसे हैं?", "language": "hi"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-tts-provider"] == "espeak"
    assert resp.headers["x-voice-id"] == "espeak-hi"
    assert float(resp.headers["x-audio-duration"]) > 0.5


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Good morning."),
        ("hi", "सुप्रभात।"),
        ("ml", "സുപ്രഭാതം."),
        ("mr", "सुप्रभात."),
        ("ta", "காலை வணக்கம்."),
        ("te", "శుభోదయం."),
        ("bn", "সুপ্রভাত।"),
        ("gu", "સુપ્રભાત."),
    ],
)
def test_all_eight_languages_speak(base_url: str, lang: str, text: str) -> None:
    resp = post(base_url, {"text": text, "voice_id": f"espeak-{lang}"})
    assert resp.status_code == 200, resp.text
    assert float(resp.headers["x-audio-duration"]) > 0.3
    assert np.abs(decode_audio(resp.content)).max() > 0.05


# ----------------------------------------------------------------------------- bad input


def test_empty_text(base_url: str) -> None:
    assert_error(post(base_url, {"text": "   "}), 422, "empty_text")


def test_too_long_text_names_the_limit(base_url: str) -> None:
    assert_error(post(base_url, {"text": "a" * 5001}), 422, "text_too_long", "5001", "5000")


def test_unknown_voice_lists_valid_ones(base_url: str) -> None:
    assert_error(
        post(base_url, {"text": "hi", "voice_id": "nobody"}),
        422,
        "unknown_voice",
        "en_US-joe-medium",
        "espeak-hi",
    )


def test_known_but_not_installed_voice_says_how_to_install(base_url: str) -> None:
    assert_error(
        post(base_url, {"text": "hi", "voice_id": "hi_IN-pratham-medium"}),
        422,
        "unknown_voice",
        "download_models.py --voices hi_IN-pratham-medium",
    )


def test_voice_language_mismatch(base_url: str) -> None:
    assert_error(
        post(base_url, {"text": "hi", "voice_id": "en_US-joe-medium", "language": "hi"}),
        422,
        "voice_language_mismatch",
    )


def test_unsupported_language(base_url: str) -> None:
    assert_error(post(base_url, {"text": "hola", "language": "es"}), 422, "unsupported_language", "en, hi")


def test_unsupported_format(base_url: str) -> None:
    assert_error(post(base_url, {"text": "hi", "format": "wma"}), 422, "invalid_format", "mp3")


@pytest.mark.parametrize("speed", [0.1, 5, 0])
def test_speed_out_of_range(base_url: str, speed: float) -> None:
    assert_error(post(base_url, {"text": "hi", "speed": speed}), 422, "invalid_speed", "0.5 to 2")


@pytest.mark.parametrize(
    "body",
    [
        {"text": 123},
        {"text": ["a"]},
        {"text": "hi", "speed": "fast"},
        {"text": "hi", "stream": "maybe"},
        {"voice_id": "x"},
        {"text": "hi", "colour": "blue"},
        [],
        "just a string",
        None,
    ],
)
def test_wrong_field_types_are_422(base_url: str, body: object) -> None:
    assert_error(post(base_url, body), 422, "invalid_request")


def test_malformed_json_and_wrong_content_type(base_url: str) -> None:
    raw = httpx.post(
        f"{base_url}/api/tts/generate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(raw, 422, "invalid_request")
    form = httpx.post(f"{base_url}/api/tts/generate", data={"text": "hi"})
    assert_error(form, 422, "invalid_request")


def test_unknown_route_and_method(base_url: str) -> None:
    assert_error(httpx.get(f"{base_url}/api/nothing"), 404, "not_found")
    assert_error(httpx.get(f"{base_url}/api/tts/generate"), 405, "method_not_allowed")


@pytest.mark.parametrize("text", ["...", "   ,  ", "-"])
def test_text_without_speakable_content(base_url: str, text: str) -> None:
    assert_error(post(base_url, {"text": text}), 422, "no_audio")

from backend.app.api.openai_compat import to_srt, to_vtt
from backend.speech.base import Segment

SEGMENTS = [Segment(0, 0.0, 1.5, "Hello there."), Segment(1, 1.5, 3661.25, "Second line.")]


def test_srt() -> None:
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:01,500 --> 01:01:01,250\nSecond line.\n"
    )


def test_vtt() -> None:
    assert to_vtt(SEGMENTS).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n")

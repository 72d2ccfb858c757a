"""End of turn on what was said: the unfinished-phrase rule, and the turn detector (real Silero VAD on
real eSpeak NG speech) waiting the longer hangover only when the words at the pause sound unfinished."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from backend.media.audio import decode_audio
from backend.realtime.turn_end import looks_unfinished, verdict
from backend.realtime.vad import WINDOW_MS, TurnDetector, VADConfig


@pytest.mark.parametrize(
    "text",
    [
        "What is the largest planet in?",
        "Can you recommend a",
        "I would like to book a table for.",
        "Give me a tip for...",
        "My name is Priya and…",
        "Hello,",
        "So, um",
        "It is the one with the",
    ],
)
def test_a_phrase_that_stops_mid_way_is_unfinished(text: str) -> None:
    assert looks_unfinished(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "What is the weather like?",
        "Turn it on.",
        "Book me a checkup tomorrow at three.",
        "What time is it",
        "Thank you",
        "",
    ],
)
def test_a_finished_sentence_is_not(text: str) -> None:
    assert not looks_unfinished(text, "en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What time is it?", "finished"),
        ("Turn it on.", "finished"),
        ("मुझे एक टेबल चाहिए।", "finished"),
        ("Welcome to our checkup tomorrow", "unclear"),
        ("Give me a tip for", "unfinished"),
        ("", "finished"),
    ],
)
def test_the_verdict(text: str, expected: str) -> None:
    assert verdict(text, "hi" if "टेबल" in text else "en") == expected


def test_other_languages_use_only_the_punctuation_rule() -> None:
    assert not looks_unfinished("मुझे एक टेबल चाहिए for", "hi")
    assert looks_unfinished("मुझे एक टेबल चाहिए,", "hi")
    assert looks_unfinished("a table for", "en-US")
    assert looks_unfinished("a table for", None)  # unknown language: English rules


def _speech(text: str = "Book a table for") -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", text], check=True, capture_output=True
    ).stdout
    return decode_audio(wav, sample_rate=16000)


def _feed(detector: TurnDetector, audio: np.ndarray, on_pause=None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Feed 20 ms frames; returns the stream position (ms) at which each event was last emitted."""
    seen: dict[str, float] = {}
    for start in range(0, len(audio), 320):
        for event in detector.feed(audio[start : start + 320]):
            seen[event.kind] = detector.position_ms
            if event.kind == "pause" and on_pause is not None:
                on_pause(detector)
    return seen


CONFIG = {
    "hangover_ms": 300,
    "speculative_ms": 120,
    "unfinished_hangover_ms": 900,
    "unclear_hangover_ms": 500,
}


def _utterance_then_silence(seconds: float = 1.5) -> np.ndarray:
    return np.concatenate([np.zeros(8000, np.float32), _speech(), np.zeros(int(16000 * seconds), np.float32)])


def _silence_before_end(said: str | None) -> float:
    detector = TurnDetector(VADConfig(**CONFIG))
    audio = _utterance_then_silence()

    def judge(d: TurnDetector) -> None:
        if said is not None:
            d.judge(d.pause_id, said)

    seen = _feed(detector, audio, judge)
    assert "speech_start" in seen and "pause" in seen and "speech_end" in seen, seen
    return seen["speech_end"] - seen["pause"]


def test_a_finished_verdict_ends_the_turn_on_the_usual_hangover() -> None:
    waited = _silence_before_end("finished")
    assert waited == pytest.approx(300 - 120, abs=2 * WINDOW_MS)


def test_words_without_a_sentence_mark_wait_a_little_longer() -> None:
    waited = _silence_before_end("unclear")
    assert waited == pytest.approx(500 - 120, abs=2 * WINDOW_MS)


def test_an_unfinished_verdict_waits_the_longer_hangover() -> None:
    waited = _silence_before_end("unfinished")
    assert waited == pytest.approx(900 - 120, abs=2 * WINDOW_MS)


def test_no_verdict_yet_holds_the_end_up_to_the_longer_hangover() -> None:
    assert _silence_before_end(None) == pytest.approx(900 - 120, abs=2 * WINDOW_MS)


def test_a_late_verdict_that_it_is_finished_ends_the_turn_at_once() -> None:
    detector = TurnDetector(VADConfig(**CONFIG))
    audio = _utterance_then_silence()
    pause_at: list[float] = []
    seen: dict[str, float] = {}
    for start in range(0, len(audio), 320):
        for event in detector.feed(audio[start : start + 320]):
            seen[event.kind] = detector.position_ms
            if event.kind == "pause":
                pause_at.append(detector.position_ms)
        # the transcription at the pause takes 400 ms: past the 300 ms hangover
        if pause_at and "speech_end" not in seen and detector.position_ms >= pause_at[-1] + 400:
            detector.judge(detector.pause_id, "finished")
    assert seen["speech_end"] - pause_at[-1] == pytest.approx(400, abs=2 * WINDOW_MS)


def test_a_verdict_on_an_earlier_pause_is_ignored() -> None:
    detector = TurnDetector(VADConfig(**CONFIG))
    audio = _utterance_then_silence()

    def judge_the_wrong_pause(d: TurnDetector) -> None:
        d.judge(d.pause_id - 1, "finished")

    seen = _feed(detector, audio, judge_the_wrong_pause)
    assert seen["speech_end"] - seen["pause"] == pytest.approx(900 - 120, abs=2 * WINDOW_MS)


def test_judging_off_ends_on_silence_alone() -> None:
    detector = TurnDetector(VADConfig(**{**CONFIG, "unfinished_hangover_ms": 0}))
    audio = _utterance_then_silence()
    seen = _feed(detector, audio, lambda d: d.judge(d.pause_id, "unfinished"))
    assert seen["speech_end"] - seen["pause"] == pytest.approx(300 - 120, abs=2 * WINDOW_MS)


def test_speech_is_sustained_after_barge_in_ms_once_per_turn() -> None:
    """The VAD's `sustained` event (a barge-in over a reply): once the turn's speech is longer than
    `sustained_ms` (the first 32 ms window past it), and not at all for shorter speech."""
    detector = TurnDetector(VADConfig(**CONFIG, sustained_ms=300))
    kinds: list[tuple[str, float]] = []
    audio = _utterance_then_silence()
    for start in range(0, len(audio), 320):
        kinds += [(e.kind, detector.position_ms) for e in detector.feed(audio[start : start + 320])]
    names = [k for k, _ in kinds]
    assert names.count("sustained") == 1 and names.index("speech_start") < names.index("sustained")
    began = next(e for e in TurnDetector(VADConfig(**CONFIG)).feed(audio) if e.kind == "speech_start").at_ms
    sustained_at = dict(kinds)["sustained"]
    assert 300 < sustained_at - began <= 300 + WINDOW_MS, (began, sustained_at)

    short = TurnDetector(VADConfig(**CONFIG, sustained_ms=300))
    blip = np.concatenate([np.zeros(8000, np.float32), _speech("ok")[:3200], np.zeros(16000, np.float32)])
    blip_kinds = [e.kind for e in short.feed(blip)]
    assert "speech_start" in blip_kinds and "sustained" not in blip_kinds

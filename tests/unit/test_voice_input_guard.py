"""The /voice input guards as pure logic: the flood shedder's token bucket and flood reports, and the
text-message parser's limits (size, nesting depth)."""

from __future__ import annotations

import json

import pytest

from backend.realtime.overflow import MIN_FRAME_S, InputGuard, Overflow
from backend.realtime.protocol import ProtocolError, TextInput, parse_client_event, text_size
from tests.conftest import ManualClock

FRAME_S = 0.02  # a 20 ms frame


def test_real_time_audio_is_never_dropped() -> None:
    clock = ManualClock()
    guard = InputGuard(speed=4, burst_s=1.0, clock=clock)
    for _ in range(30_000):  # 10 minutes of 20 ms frames at real time
        assert guard.admit(FRAME_S)
        clock.advance(FRAME_S)
    assert not guard.flooding and guard.report() is None


def test_a_burst_is_admitted_then_the_rate_is_capped() -> None:
    clock = ManualClock()
    guard = InputGuard(speed=4, burst_s=1.0, clock=clock)
    assert all(guard.admit(FRAME_S) for _ in range(50))  # 1 s of audio at once: the whole burst
    assert not guard.admit(FRAME_S) and guard.flooding
    admitted = 0
    for _ in range(10_000):  # 1 s at 10,000 frames/s: 200 s of audio offered
        clock.advance(0.0001)
        admitted += guard.admit(FRAME_S)
    assert admitted == pytest.approx(4 / FRAME_S, abs=2)  # 4 s of audio per second: speed × real time


def test_tiny_frames_count_as_min_frame() -> None:
    clock = ManualClock()
    guard = InputGuard(speed=1, burst_s=1.0, clock=clock)
    admitted = sum(guard.admit(0.00006) for _ in range(1000))  # 2-byte frames
    assert admitted == int(1.0 / MIN_FRAME_S)


def test_one_report_per_flood_after_it_ends() -> None:
    clock = ManualClock()
    guard = InputGuard(speed=1, burst_s=0.1, quiet_s=0.5, max_s=10, clock=clock)
    for _ in range(5):
        guard.admit(FRAME_S)
    assert guard.due() is None
    for _ in range(100):  # 1 s at twice real time (20 ms of audio every 10 ms): half is dropped
        guard.admit(FRAME_S)
        clock.advance(0.01)
    guard.drop(FRAME_S)  # one more, dropped for a full backlog
    assert guard.report() is None and guard.due() == pytest.approx(0.5)  # still flooding
    clock.advance(0.49)
    assert guard.report() is None
    clock.advance(0.02)
    report = guard.report()
    assert isinstance(report, Overflow) and 48 <= report.frames <= 54
    assert report.seconds == pytest.approx(report.frames * FRAME_S)
    assert guard.report() is None and not guard.flooding  # told once
    clock.advance(5)
    assert guard.admit(FRAME_S)  # refilled: the session goes on


def test_an_endless_flood_is_reported_every_max_s() -> None:
    clock = ManualClock()
    guard = InputGuard(speed=1, burst_s=0.02, quiet_s=0.5, max_s=2, clock=clock)
    reports = []
    for _ in range(600):  # 6 s of flood
        guard.admit(1.0)
        clock.advance(0.01)
        if (report := guard.report()) is not None:
            reports.append(report)
    assert len(reports) == 2 and all(r.frames >= 190 for r in reports)


def test_bad_guard_settings() -> None:
    with pytest.raises(ValueError):
        InputGuard(speed=0, burst_s=1)


# ----------------------------------------------------------------------------- text messages


def test_deeply_nested_json_is_invalid_json() -> None:
    for raw in ("[" * 100_000 + "]" * 100_000, '{"a":' * 30_000 + "1" + "}" * 30_000):
        with pytest.raises(ProtocolError) as err:
            parse_client_event(raw, max_bytes=256 * 1024)
        assert err.value.code == "invalid_json" and not err.value.fatal


def test_nesting_the_parser_takes_is_still_validated() -> None:
    raw = json.dumps({"type": "text.input", "text": "hi", "x": [[[[[[[[[[1]]]]]]]]]]})
    with pytest.raises(ProtocolError) as err:
        parse_client_event(raw)
    assert err.value.code == "invalid_event"
    assert isinstance(parse_client_event('{"type": "text.input", "text": "hi"}', 1000), TextInput)


def test_text_over_max_bytes_is_refused_unparsed() -> None:
    raw = json.dumps({"type": "text.input", "text": "é" * 600}, ensure_ascii=False)  # 1200+ bytes
    assert text_size(raw) > 1200 > len(raw)
    with pytest.raises(ProtocolError) as err:
        parse_client_event(raw, max_bytes=1000)
    assert err.value.code == "frame_too_large" and "1000" in err.value.message
    assert isinstance(parse_client_event(raw, max_bytes=2000), TextInput)


def test_a_type_that_is_not_a_string() -> None:
    for kind in ([1, 2], {"a": 1}, 7, "x" * 10_000):
        with pytest.raises(ProtocolError) as err:
            parse_client_event(json.dumps({"type": kind}))
        assert err.value.code in ("invalid_event", "unknown_event") and len(err.value.message) < 300

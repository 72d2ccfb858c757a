"""The /voice client's reconnection backoff: exponential, capped, jittered."""

from __future__ import annotations

from backend.realtime.client import Backoff


def test_delays_grow_exponentially_with_jitter_and_a_cap() -> None:
    backoff = Backoff(initial=0.25, maximum=4.0, factor=2.0)
    for attempt in range(10):
        ceiling = min(4.0, 0.25 * 2**attempt)
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, min(delays), max(delays))
        assert len(set(delays)) > 1  # jittered: clients that dropped together do not retry together
    assert max(backoff.delay(30) for _ in range(50)) <= 4.0

"""Shedding a flood of inbound /voice audio: a per-connection guard in front of the Redis frame stream.

A microphone sends audio at real time. A connection may send faster, in bursts (a reconnecting client
flushing what it recorded, a test pushing a file): it may run up to `burst_s` seconds of audio ahead of
real time, and is refilled at `speed` seconds of audio per second. This is a token bucket counted in
seconds of audio; a frame shorter than `MIN_FRAME_S` counts as `MIN_FRAME_S`, so a storm of tiny frames is
a flood too. A frame that does not fit is dropped: it is never written to Redis nor processed, so a
flooding client cannot make its own next turn (or its neighbours) wait behind audio it sent too fast.
Frames dropped for another reason (the pipeline's backlog is full) are counted with `drop()`.

A *flood* is a run of drops; the client is told once per flood, after it ends:

    calm ──drop──▶ flooding ──(quiet_s without a drop, or max_s since it began)──▶ calm
                                   report() → Overflow(frames, seconds)

`due()` says how long until the flood is over (the caller sleeps that long and asks again); `report()`
returns the flood's totals once it is over and resets the guard. Pure and deterministic: the clock is
injected, nothing here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_FRAME_S = 0.01  # a frame counts as at least 10 ms of audio
QUIET_S = 0.5  # a flood is over after this long without a dropped frame
MAX_FLOOD_S = 10.0  # a flood that goes on is reported every this many seconds


@dataclass(frozen=True)
class Overflow:
    """What one flood cost the client: frames and seconds of audio dropped."""

    frames: int
    seconds: float


class InputGuard:
    """Token bucket of audio seconds plus flood bookkeeping for one connection (see the module doc)."""

    def __init__(
        self,
        speed: float,
        burst_s: float,
        quiet_s: float = QUIET_S,
        max_s: float = MAX_FLOOD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0 or burst_s <= 0:
            raise ValueError("speed and burst_s must be positive")
        self.speed = speed
        self.burst_s = burst_s
        self.quiet_s = quiet_s
        self.max_s = max_s
        self.clock = clock
        self.tokens = burst_s
        self._refilled_at = clock()
        self.flood_started: float | None = None  # None = calm
        self.last_drop = 0.0
        self.frames = 0
        self.seconds = 0.0

    @property
    def flooding(self) -> bool:
        return self.flood_started is not None

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst_s, self.tokens + (now - self._refilled_at) * self.speed)
        self._refilled_at = now

    def admit(self, seconds: float) -> bool:
        """True: the frame (`seconds` of audio) may go on; False: it is dropped and counted."""
        now = self.clock()
        self._refill(now)
        cost = max(seconds, MIN_FRAME_S)
        if self.tokens >= cost - 1e-9:  # (float sums of 20 ms frames)
            self.tokens -= cost
            return True
        self._count(now, seconds)
        return False

    def drop(self, seconds: float) -> None:
        """A frame admitted here was dropped further on (the backlog was full): count it in the flood."""
        self._count(self.clock(), seconds)

    def _count(self, now: float, seconds: float) -> None:
        if self.flood_started is None:
            self.flood_started = now
        self.last_drop = now
        self.frames += 1
        self.seconds += seconds

    def due(self) -> float | None:
        """Seconds until the current flood is over (≤ 0: over now); None when calm."""
        if self.flood_started is None:
            return None
        end = min(self.last_drop + self.quiet_s, self.flood_started + self.max_s)
        return end - self.clock()

    def report(self) -> Overflow | None:
        """The totals of a flood that is over, resetting the count; None when calm or still flooding."""
        wait = self.due()
        if wait is None or wait > 0:
            return None
        overflow = Overflow(self.frames, round(self.seconds, 3))
        self.flood_started, self.frames, self.seconds = None, 0, 0.0
        return overflow

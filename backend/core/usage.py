"""What the speech paths need of a caller's quota meter (implemented by `backend.app.quotas.Meter`)."""

from __future__ import annotations

from typing import Protocol


class UsageMeter(Protocol):
    """Spends the caller's daily quotas; raises `backend.core.errors.RateLimited` when one is used up."""

    async def tts(self, chars: int) -> None: ...

    async def stt(self, seconds: float) -> None: ...

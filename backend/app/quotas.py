"""Per-key quotas and rate limits, shared by every worker through atomic Redis scripts.

| limit (config `limits.`)   | counted                                   | window               |
|----------------------------|-------------------------------------------|----------------------|
| `requests_per_minute`      | each request under /api, /v1, /voice      | the current minute   |
| `voice_sessions_per_key`   | open `/voice` sessions (a lease per socket)| while open          |
| `tts_chars_per_day`        | characters sent to TTS (REST and /voice)  | the UTC day          |
| `stt_seconds_per_day`      | seconds of decoded audio transcribed      | the UTC day          |

0 means no limit. A key's own value overrides the config: ``HSET mithi:limits:<key name> <limit> <n>``
(read every few seconds, so a change reaches every worker without a restart). Over a limit: 429
``rate_limited`` with ``Retry-After`` and a message naming the limit and its value. A request that is
refused is not counted. The counters are bounded-increment Lua scripts: check and add in one step, so two
workers can never both take the last unit. Voice leases carry an expiry refreshed while the socket is
open, so a worker killed with -9 does not hold its sessions' slots for more than a minute.

While Redis is unreachable the limits fail open (logged once a minute): speech keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError

from backend.app.auth import Principal
from backend.core import metrics
from backend.core.config import Settings
from backend.core.errors import RateLimited
from backend.core.redis import RedisService

logger = logging.getLogger(__name__)

PREFIX = "mithi:quota"
OVERRIDES = "mithi:limits"
LIMIT_NAMES = ("requests_per_minute", "voice_sessions_per_key", "tts_chars_per_day", "stt_seconds_per_day")
_OVERRIDE_CACHE_S = 5.0
_LEASE_S = 90  # a voice session's slot lives this long unless refreshed
_HEARTBEAT_S = 30

# KEYS[1] counter; ARGV: amount, limit, ttl seconds. Adds only if the total stays within the limit.
_BOUNDED_INCR = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if cur + amount > tonumber(ARGV[2]) then return {0, cur} end
local new = redis.call('INCRBY', KEYS[1], amount)
if new == amount then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {1, new}
"""
# KEYS[1] zset of leases; ARGV: member, now, expiry, limit
_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[4]) then return {0, n} end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], 3600)
return {1, n + 1}
"""


@dataclass(frozen=True)
class _Window:
    suffix: str
    ttl: int
    retry_after: float


def _minute(now: float) -> _Window:
    return _Window(str(int(now // 60)), 120, 60 - now % 60)


def _day(now: float) -> _Window:
    today = datetime.fromtimestamp(now, UTC)
    midnight = (today + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return _Window(today.strftime("%Y%m%d"), 2 * 86400, (midnight - today).total_seconds())


def _rejected(limit: str) -> None:
    metrics.rate_limited(limit)  # mithi_rate_limited_total{limit}


class Quotas:
    """The limits of `settings.limits`, enforced in `redis` for every worker at once."""

    def __init__(self, settings: Settings, redis: RedisService) -> None:
        self.limits = settings.limits
        self.redis = redis
        self._overrides: dict[str, tuple[float, dict[str, float]]] = {}
        self._warned_at = 0.0

    # ------------------------------------------------------------------ limits in effect
    async def limit(self, principal: Principal, name: str) -> float:
        """The value of limit `name` for this caller: its Redis override, else the config."""
        default = float(getattr(self.limits, name))
        if not principal.authenticated:
            return default
        now = time.monotonic()
        cached = self._overrides.get(principal.name)
        if cached is None or now - cached[0] > _OVERRIDE_CACHE_S:
            raw = await self._client().hgetall(f"{OVERRIDES}:{principal.name}")
            values: dict[str, float] = {}
            for key, value in raw.items():
                field = key.decode() if isinstance(key, bytes) else str(key)
                with suppress(ValueError):
                    values[field] = float(value)
            cached = (now, values)
            self._overrides[principal.name] = cached
        return cached[1].get(name, default)

    def _client(self):  # type: ignore[no-untyped-def]
        if self.redis.client is None or not getattr(self.redis, "reachable", True):
            # the supervisor has seen Redis away: fail open at once instead of waiting on a dead server
            raise RedisError("Redis is not reachable")
        return self.redis.client

    def _fail_open(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60:
            self._warned_at = now
            logger.warning("quotas not enforced while Redis is unreachable: %s", exc)

    # ------------------------------------------------------------------ counters
    async def _spend(
        self, principal: Principal, name: str, amount: int, window: _Window, unit: str, scale: float = 1
    ) -> None:
        try:
            limit = await self.limit(principal, name)
            if limit <= 0:
                return
            key = f"{PREFIX}:{principal.limit_id}:{name}:{window.suffix}"
            ok, used = await self._client().eval(
                _BOUNDED_INCR, 1, key, amount, int(limit * scale), window.ttl
            )
        except (RedisError, OSError) as exc:
            self._fail_open(exc)
            return
        if ok:
            return
        _rejected(name)
        shown = f"{limit:g}"
        left = max(0.0, (limit * scale - int(used)) / scale)
        who = f"key '{principal.name}'" if principal.authenticated else "this client"
        detail = f"; {left:g} {unit} left, this request needs {amount / scale:g}" if amount > scale else ""
        raise RateLimited(
            f"limits.{name} is {shown} for {who}{detail}; retry in {int(window.retry_after + 0.999)} s",
            retry_after=window.retry_after,
            limit=name,
        )

    async def count_request(self, principal: Principal) -> None:
        """One request against `requests_per_minute`."""
        await self._spend(principal, "requests_per_minute", 1, _minute(time.time()), "requests")

    async def charge_tts(self, principal: Principal, chars: int) -> None:
        """`chars` characters against `tts_chars_per_day` (refused whole if they do not fit)."""
        await self._spend(principal, "tts_chars_per_day", max(1, chars), _day(time.time()), "characters")

    async def charge_stt(self, principal: Principal, seconds: float) -> None:
        """`seconds` of audio against `stt_seconds_per_day` (counted in milliseconds)."""
        millis = max(1, int(seconds * 1000))
        await self._spend(principal, "stt_seconds_per_day", millis, _day(time.time()), "seconds", scale=1000)

    # ------------------------------------------------------------------ concurrent voice sessions
    @asynccontextmanager
    async def voice_session(self, principal: Principal) -> AsyncIterator[None]:
        """Hold one of the caller's `voice_sessions_per_key` slots while the body runs."""
        member = uuid.uuid4().hex
        key = f"{PREFIX}:{principal.limit_id}:voice_sessions"
        held = False
        try:
            limit = await self.limit(principal, "voice_sessions_per_key")
            if limit > 0:
                now = time.time()
                ok, count = await self._client().eval(_LEASE, 1, key, member, now, now + _LEASE_S, int(limit))
                if not ok:
                    _rejected("voice_sessions_per_key")
                    who = f"key '{principal.name}'" if principal.authenticated else "this client"
                    raise RateLimited(
                        f"limits.voice_sessions_per_key is {limit:g} for {who} and {count} are open; "
                        "close one or retry later",
                        retry_after=_HEARTBEAT_S,
                        code="too_many_sessions",
                        limit="voice_sessions_per_key",
                    )
                held = True
        except (RedisError, OSError) as exc:
            self._fail_open(exc)
        heartbeat = asyncio.create_task(self._heartbeat(key, member)) if held else None
        try:
            yield
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
                with suppress(asyncio.CancelledError):
                    await heartbeat
            if held:
                with suppress(RedisError, OSError):
                    await self._client().zrem(key, member)

    async def _heartbeat(self, key: str, member: str) -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT_S)
            with suppress(RedisError, OSError):
                await self._client().zadd(key, {member: time.time() + _LEASE_S}, xx=True)


@dataclass(frozen=True)
class Meter:
    """One caller's usage meter, handed to the code that spends TTS characters or STT seconds."""

    quotas: Quotas | None
    principal: Principal

    async def tts(self, chars: int) -> None:
        if self.quotas is not None:
            await self.quotas.charge_tts(self.principal, chars)

    async def stt(self, seconds: float) -> None:
        if self.quotas is not None:
            await self.quotas.charge_stt(self.principal, seconds)

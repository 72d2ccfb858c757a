"""Provider fallback chains and the circuit breaker behind them (TTS, STT and the LLM alike).

A chain is ``<kind>.provider`` followed by ``<kind>.fallback`` (config.yml). A request goes to the first
provider whose circuit lets it through; when that provider fails in a way another provider can help with
(:func:`is_provider_failure`: timeout, 5xx, 429, network error, rejected key, malformed reply, or any
unexpected exception of a local engine), the next one serves it. An error caused by the request itself
(a :class:`MithiError` that is not a :class:`ProviderError`, or a ``ProviderError`` with
``failover=False``, such as a vendor's 400/422) is raised at once: another provider would reject it too.

Circuit breaker, one per provider (:class:`CircuitBreaker`)::

    closed ──(failure_threshold consecutive failures)──▶ open ──(cooldown_seconds)──▶ half_open
      ▲                                                   ▲                              │
      └────────────── the probe succeeds ─────────────────┴──── the probe fails ─────────┘

* **closed**: every request may use it; failures are counted (a success resets the count).
* **open**: skipped for ``resilience.cooldown_seconds``.
* **half_open**: the cool-down is over; the next request *probes* it, one at a time (while a probe is in
  flight, other requests skip it). Success closes the circuit, failure re-opens it for another cool-down.
* A request's own fault does not count either way (it releases a probe without a verdict).
* **Every circuit open**: rather than failing without trying, the provider whose cool-down ends first is
  probed (so a chain of one provider behaves like no chain at all, and a recovered vendor is found).

Which provider served, and every failover on the way (from, to, reason), are reported to the request
through a :class:`FailoverLog` set with :func:`recording` (a context variable, so a /voice session or an
HTTP request sees only its own); the API layers turn that into headers, JSON fields and events. Every
failover is also counted in the Prometheus counter ``mithi_provider_failovers_total``
(``backend.core.metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from backend.core import metrics
from backend.core.errors import ConfigError, MithiError, ProviderError
from backend.core.urls import mask_secrets_in_text

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
P = TypeVar("P")
T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def is_provider_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the provider's fault (count it, try the next provider) rather than the request's."""
    if isinstance(exc, ProviderError):
        return exc.failover
    if isinstance(exc, MithiError):  # InvalidRequest, UnsupportedMedia, ...: the request's own fault
        return False
    return isinstance(exc, Exception)  # an engine crashed: another provider may well manage


def reason_code(exc: BaseException) -> str:
    if isinstance(exc, MithiError):
        return exc.code
    return "provider_error"


def describe(exc: BaseException) -> str:
    """The error as /health's `last_error` shows it (a URL's password masked: backend.core.urls)."""
    if isinstance(exc, MithiError):
        return exc.message  # masked when it was made
    return mask_secrets_in_text(f"{type(exc).__name__}: {exc}")


class CircuitBreaker:
    """The circuit of one provider. ``clock`` is monotonic seconds (injected by unit tests)."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 3,
        cooldown_seconds: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock
        self.consecutive_failures = 0
        self.failures = 0
        self.successes = 0
        self.opened = 0  # how many times the circuit opened
        self.last_error: str | None = None
        self.last_error_code: str | None = None
        self.last_error_at: float | None = None  # Unix time, for people
        self._open_until: float | None = None  # clock() time; None = closed
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._open_until is None:
            return BreakerState.CLOSED
        return BreakerState.OPEN if self.clock() < self._open_until else BreakerState.HALF_OPEN

    def seconds_until_probe(self) -> float:
        """0 unless open: then how long until a request may re-probe it."""
        if self._open_until is None:
            return 0.0
        return max(0.0, self._open_until - self.clock())

    def available(self) -> bool:
        """Whether a request may use it now (without taking the probe)."""
        state = self.state
        return state is BreakerState.CLOSED or (state is BreakerState.HALF_OPEN and not self._probing)

    def acquire(self, force: bool = False) -> bool:
        """Take it for one call. In half-open state this takes the single probe slot; ``force`` probes an
        open (or busy half-open) circuit anyway (every circuit of the chain is open)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if force or (state is BreakerState.HALF_OPEN and not self._probing):
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        if self._open_until is not None:
            logger.info("circuit of %s closed again: the probe succeeded", self.name)
        self.successes += 1
        self.consecutive_failures = 0
        self._open_until = None
        self._probing = False

    def record_failure(self, exc: BaseException) -> None:
        self.failures += 1
        self.consecutive_failures += 1
        self.last_error = describe(exc)
        self.last_error_code = reason_code(exc)
        self.last_error_at = time.time()
        probe = self._probing or self._open_until is not None
        self._probing = False
        if probe or self.consecutive_failures >= self.failure_threshold:
            self._open_until = self.clock() + self.cooldown_seconds
            self.opened += 1
            logger.warning(
                "circuit of %s opened for %g s after %d consecutive failure(s): %s",
                self.name,
                self.cooldown_seconds,
                self.consecutive_failures,
                self.last_error,
            )

    def release(self) -> None:
        """The call ended without a verdict on the provider (the request's own fault, or cancelled)."""
        self._probing = False

    def attempt(self, force: bool = False) -> Attempt:
        """One call to the provider, as ``async with breaker.attempt(forced) as attempt:`` (see Attempt)."""
        return Attempt(self, force)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "consecutive_failures": self.consecutive_failures,
            "failures": self.failures,
            "successes": self.successes,
            "times_opened": self.opened,
            "last_error": self.last_error,
            "last_error_code": self.last_error_code,
            "last_error_at": self.last_error_at,
            "retry_in_s": round(self.seconds_until_probe(), 1),
        }


class Attempt:
    """One call through a circuit breaker: the slot is taken on entry (``taken``: false when the circuit
    is open, then the body skips this provider) and the verdict given on exit:

    - the block ended normally: success;
    - a provider failure (``is_provider_failure``) escaped it: failure (the exception goes on: the caller
      tries the next provider or gives up);
    - cancelled or closed (barge-in, client gone): success once the provider has ``started`` answering
      (it was working), else no verdict;
    - any other error (the request's own fault): no verdict.
    """

    def __init__(self, breaker: CircuitBreaker, force: bool) -> None:
        self.breaker = breaker
        self.force = force
        self.taken = False
        self.started = False  # set by the caller once something reached its own caller

    async def __aenter__(self) -> Attempt:
        self.taken = self.breaker.acquire(self.force)
        return self

    async def __aexit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        if not self.taken:
            return False
        if exc is None:
            self.breaker.record_success()
        elif isinstance(exc, asyncio.CancelledError | GeneratorExit):
            if self.started:
                self.breaker.record_success()
            else:
                self.breaker.release()
        elif is_provider_failure(exc):
            self.breaker.record_failure(exc)
        else:
            self.breaker.release()
        return False


# --------------------------------------------------------------------------- reporting


@dataclass(frozen=True)
class FailoverEvent:
    """``kind`` (tts / stt / llm) moved from one provider to the next, and why (an error code, or
    ``circuit_open`` when the provider was skipped because its circuit is open)."""

    kind: str
    from_provider: str
    to_provider: str
    reason: str
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "service": self.kind,
            "from": self.from_provider,
            "to": self.to_provider,
            "reason": self.reason,
            "message": self.message,
        }

    def header(self) -> str:
        return f"{self.from_provider} -> {self.to_provider} ({self.reason})"


@dataclass
class FailoverLog:
    """What one request (or one /voice session) was served by: the last provider per kind, and failovers."""

    served: dict[str, str] = field(default_factory=dict)
    events: list[FailoverEvent] = field(default_factory=list)

    def drain(self, kind: str | None = None) -> list[FailoverEvent]:
        """Events not drained before (of ``kind``, or all); other kinds stay for their own drain."""
        if not self.events:  # the usual case, asked once per audio chunk and per token on /voice
            return []
        out = [e for e in self.events if kind is None or e.kind == kind]
        self.events = [e for e in self.events if not (kind is None or e.kind == kind)]
        return out


_log: ContextVar[FailoverLog | None] = ContextVar("mithi_failover_log", default=None)


@contextlib.contextmanager
def recording(log: FailoverLog | None = None) -> Iterator[FailoverLog]:
    """Collect what the chains report while the block runs (tasks created inside it report here too)."""
    log = log or FailoverLog()
    token = _log.set(log)
    try:
        yield log
    finally:
        with contextlib.suppress(ValueError):  # reset from another context: nothing to undo there
            _log.reset(token)


def current_log() -> FailoverLog | None:
    return _log.get()


def note_served(kind: str, provider: str) -> None:
    log = _log.get()
    if log is not None:
        log.served[kind] = provider


def note_failover(event: FailoverEvent) -> None:
    logger.info("%s failover: %s", event.kind, event.header())
    metrics.failover(event.kind, event.from_provider, event.to_provider, event.reason)
    log = _log.get()
    if log is not None:
        log.events.append(event)


# --------------------------------------------------------------------------- chains


@dataclass
class ChainMember(Generic[P]):
    name: str
    provider: P
    role: str  # primary | fallback | language_fallback
    breaker: CircuitBreaker


def chain_names(primary: str, fallback: list[str], key: str) -> list[str]:
    """``[primary, *fallback]``, or a ConfigError for a fallback that repeats the primary or itself."""
    names = [primary]
    for i, name in enumerate(fallback):
        if name == primary:
            raise ConfigError(f"{key}[{i}]: '{name}' is already the primary provider; list other providers")
        if name in names:
            raise ConfigError(f"{key}[{i}]: '{name}' is listed twice")
        names.append(name)
    return names


def configured_chain_names(kind: str, settings: Any, lookup: Callable[..., object]) -> list[str]:
    """``[<kind>.provider, *<kind>.fallback]``, checked: an unknown name (``lookup(name, key)`` raises), a
    repeated one or the primary again is a ConfigError."""
    section = getattr(settings, kind)
    lookup(section.provider)
    names = chain_names(section.provider, section.fallback, f"{kind}.fallback")
    for i, name in enumerate(section.fallback):
        lookup(name, f"{kind}.fallback[{i}]")
    return names


class ProviderChain(Generic[P]):
    """An ordered set of providers of one kind, each with its circuit breaker."""

    def __init__(
        self,
        kind: str,
        failure_threshold: int = 3,
        cooldown_seconds: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.kind = kind
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self.clock = clock
        self.members: dict[str, ChainMember[P]] = {}

    @classmethod
    def from_settings(cls, kind: str, settings: Any, clock: Clock = time.monotonic) -> ProviderChain[P]:
        res = settings.resilience
        return cls(kind, res.failure_threshold, res.cooldown_seconds, clock)

    def add(self, name: str, provider: P, role: str) -> ChainMember[P]:
        if name in self.members:
            return self.members[name]
        breaker = CircuitBreaker(
            f"{self.kind}:{name}", self.failure_threshold, self.cooldown_seconds, self.clock
        )
        member = ChainMember(name, provider, role, breaker)
        self.members[name] = member
        return member

    @property
    def names(self) -> list[str]:
        return list(self.members)

    @property
    def primary(self) -> ChainMember[P]:
        return next(iter(self.members.values()))

    def breaker(self, name: str) -> CircuitBreaker:
        return self.members[name].breaker

    def candidates(self, names: list[str] | None = None) -> list[tuple[ChainMember[P], bool]]:
        """The members to try, in order, each with whether it must be forced (every circuit is open).

        Members whose circuit is open, or half-open with a probe in flight, are left out; if that leaves
        none, the one whose cool-down ends first is tried (forced).
        """
        members = [self.members[n] for n in (names if names is not None else self.members)]
        usable = [(m, False) for m in members if m.breaker.available()]
        if usable or not members:
            return usable
        soonest = min(members, key=lambda m: m.breaker.seconds_until_probe())
        return [(soonest, True)]

    def skipped_before(self, name: str, names: list[str] | None = None) -> list[str]:
        """Members ahead of ``name`` that are skipped because their circuit is open."""
        order = names if names is not None else list(self.members)
        ahead = order[: order.index(name)] if name in order else []
        return [n for n in ahead if not self.members[n].breaker.available()]

    def exhausted(self, errors: list[tuple[str, BaseException]]) -> BaseException:
        """The error for a request no provider could serve."""
        if not errors:
            return ProviderError(
                f"{self.kind}: no provider is available (every circuit is open or busy)",
                code="no_provider_available",
                status_code=503,
            )
        last = errors[-1][1]
        if len(errors) == 1:
            return last
        detail = "; ".join(describe(e) for _, e in errors)
        status = last.status_code if isinstance(last, MithiError) else 502
        code = last.code if isinstance(last, MithiError) else "provider_error"
        return ProviderError(
            f"every {self.kind} provider failed: {detail}",
            code=code,
            status_code=status,
            provider=errors[-1][0],
        )

    def report(self, served: str, errors: list[tuple[str, BaseException]], names: list[str] | None) -> None:
        """Tell the current request who served it and how it got there."""
        for skipped in self.skipped_before(served, names):
            if all(skipped != n for n, _ in errors):
                note_failover(FailoverEvent(self.kind, skipped, served, "circuit_open", "circuit open"))
        for i, (name, exc) in enumerate(errors):
            to = errors[i + 1][0] if i + 1 < len(errors) else served
            note_failover(FailoverEvent(self.kind, name, to, reason_code(exc), describe(exc)))
        note_served(self.kind, served)

    async def call(
        self, fn: Callable[[ChainMember[P]], Awaitable[T]], names: list[str] | None = None
    ) -> tuple[T, str]:
        """Run ``fn`` with the first provider that succeeds; returns (result, provider name)."""
        errors: list[tuple[str, BaseException]] = []
        for member, forced in self.candidates(names):
            try:
                async with member.breaker.attempt(forced) as attempt:
                    if not attempt.taken:
                        continue
                    result = await fn(member)
            except Exception as exc:
                if not is_provider_failure(exc):
                    raise
                logger.warning("%s provider %s failed: %s", self.kind, member.name, describe(exc))
                errors.append((member.name, exc))
                continue
            self.report(member.name, errors, names)
            return result, member.name
        raise self.exhausted(errors)

    def health(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for member in self.members.values():
            status = getattr(member.provider, "status", None)
            details = status() if callable(status) else {}
            out[member.name] = {
                "status": "loaded",
                "role": member.role,
                "circuit": member.breaker.snapshot(),
                **details,
            }
        return out

    def degraded(self) -> bool:
        """The primary is not taking requests normally (its circuit is open or being re-probed)."""
        return bool(self.members) and self.primary.breaker.state is not BreakerState.CLOSED


def attach(log: FailoverLog) -> FailoverLog:
    """Make ``log`` the current task's log from now on (tasks it creates afterwards report there too)."""
    _log.set(log)
    return log


class Chainable(Protocol):
    """What a chained provider offers the chain (LLMProvider, STTProvider)."""

    name: str

    async def load(self) -> None: ...

    async def close(self) -> None: ...

    def status(self) -> dict[str, object]: ...


C = TypeVar("C", bound=Chainable)


class ChainedProviders(Generic[C]):
    """The part of a provider that is a chain of providers (LLMChain, STTChain): set-up, load, close, status.

    The first provider is the primary; the chain's name is the primary's.
    """

    chain: ProviderChain[C]
    name: str

    def _set_up_chain(self, kind: str, settings: Any, providers: Sequence[C], clock: Clock) -> None:
        self.chain = ProviderChain.from_settings(kind, settings, clock)
        for i, provider in enumerate(providers):
            self.chain.add(provider.name, provider, "primary" if i == 0 else "fallback")
        self.name = providers[0].name

    @property
    def providers(self) -> list[C]:
        return [m.provider for m in self.chain.members.values()]

    @property
    def primary_provider(self) -> C:
        return self.chain.primary.provider

    async def load(self) -> None:
        for provider in self.providers:
            await provider.load()

    async def close(self) -> None:
        for provider in reversed(self.providers):
            await provider.close()

    def status(self) -> dict[str, object]:
        return self.primary_provider.status()

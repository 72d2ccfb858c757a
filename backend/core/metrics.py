"""The Prometheus metrics of this process and the functions every layer calls to record them.

Exposition (``GET /metrics``), the HTTP middleware and the per-app circuit states live in
``backend.app.metrics``, which re-exports the recording functions below; this module needs only
``prometheus_client``, so the realtime engine and the provider chains can record without importing the app.

Multiprocess mode: when ``PROMETHEUS_MULTIPROC_DIR`` is set *before the process starts*, prometheus_client
keeps every value in memory-mapped files in that directory (one set per process), and a scrape sums them
over all the workers (``backend.app.metrics.render``). Otherwise values live in this process's registry.
"""

from __future__ import annotations

import atexit
import contextlib
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.multiprocess import mark_process_dead

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
VOICE_STAGES = ("stt", "llm_first_token", "tts_first_audio", "first_audio", "total")

_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_VOICE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0)


# prometheus_client chooses where values live once, when it is first imported: read the variable once
# too, so a later change of the environment (a test starting a subprocess) cannot make the two disagree
MULTIPROC_DIR = os.environ.get(MULTIPROC_ENV, "")


def multiprocess_mode() -> bool:
    """Whether values are shared through ``PROMETHEUS_MULTIPROC_DIR`` (as set when the process started)."""
    return bool(MULTIPROC_DIR)


disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series: they double the output and nothing here reads them
REGISTRY = CollectorRegistry(auto_describe=True)  # this process's metrics (not scraped in multiprocess mode)

HTTP_REQUESTS = Counter(
    "mithi_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "mithi_http_request_seconds",
    "Time from the request to the last byte of its response (streamed responses included).",
    ["route", "method"],
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)
VOICE_ACTIVE = Gauge(
    "mithi_voice_sessions_active",
    "Open /voice sessions (from session.started until the socket closes).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
VOICE_STAGE = Histogram(
    "mithi_voice_stage_seconds",
    "Per answered /voice turn (response.done latency_ms): stt, first_audio and total from the end of "
    "the user's turn; llm_first_token from the agent's start; tts_first_audio from the first sentence.",
    ["stage"],
    buckets=_VOICE_BUCKETS,
    registry=REGISTRY,
)
FAILOVERS = Counter(
    "mithi_provider_failovers",
    "Requests moved from one provider to the next, by kind (tts/stt/llm), providers and reason.",
    ["kind", "from", "to", "reason"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "mithi_rate_limited",
    "Requests and /voice sessions refused by a per-key limit (the limits.* key's name).",
    ["limit"],
    registry=REGISTRY,
)
PHRASE_CACHE = Counter(
    "mithi_tts_phrase_cache",
    "Spoken phrases looked up in the phrase cache (tts.phrase_cache_entries), by result: hit or miss.",
    ["result"],
    registry=REGISTRY,
)
PHRASE_CACHE.labels("hit")
PHRASE_CACHE.labels("miss")
for _stage in VOICE_STAGES:  # every stage is exported (count 0) before the first turn
    VOICE_STAGE.labels(_stage)


def voice_session_started() -> None:
    VOICE_ACTIVE.inc()


def voice_session_ended() -> None:
    VOICE_ACTIVE.dec()


def observe_voice_turn(latency_ms: dict[str, float]) -> None:
    """One answered turn's ``latency_ms`` (as sent in response.done); other keys are ignored."""
    for stage in VOICE_STAGES:
        value = latency_ms.get(stage)
        if value is not None and value >= 0:
            VOICE_STAGE.labels(stage).observe(value / 1000)


def phrase_cache(result: str) -> None:
    """One phrase-cache lookup: ``hit`` or ``miss``."""
    PHRASE_CACHE.labels(result).inc()


def rate_limited(limit: str) -> None:
    """A request or session was refused by ``limit``: a fixed name such as ``requests_per_minute``."""
    RATE_LIMITED.labels(limit).inc()


def failover(kind: str, from_provider: str, to_provider: str, reason: str) -> None:
    FAILOVERS.labels(kind, from_provider, to_provider, reason).inc()


def observe_http(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_SECONDS.labels(route, method).observe(seconds)


def _mark_dead() -> None:
    """On a normal exit, this worker's live gauges leave the multiprocess sums (a killed worker's stay
    until the directory is wiped: docs/DEPLOY.md)."""
    with contextlib.suppress(OSError):
        mark_process_dead(os.getpid(), MULTIPROC_DIR)  # type: ignore[no-untyped-call]


if multiprocess_mode():
    atexit.register(_mark_dead)

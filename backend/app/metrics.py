"""``GET /metrics`` (Prometheus text format 0.0.4) and the HTTP instrumentation.

What is measured (docs/API.md lists every family with its labels):

* HTTP: ``mithi_http_requests_total{route,method,status}`` and ``mithi_http_request_seconds{route,method}``,
  recorded by :class:`MetricsMiddleware` (pure ASGI, so a streamed response is counted and timed when
  its last byte is sent). ``route`` is the route's template (``/api/sessions/{session_id}``), never the
  raw path; a path no route serves is ``unmatched``: the label set stays bounded whatever clients send.
* /voice: ``mithi_voice_sessions_active``, and per answered turn ``mithi_voice_stage_seconds{stage}``.
* Providers: ``mithi_provider_failovers_total{kind,from,to,reason}`` (every chain's failovers) and
  ``mithi_circuit_state{kind,provider,worker}`` (0 closed, 1 half-open, 2 open), read from this app's
  chains at scrape time.
* Quotas: ``mithi_rate_limited_total{limit}``.

The recording functions (``voice_session_started``, ``observe_voice_turn``, ``rate_limited``, ...) are
defined in ``backend.core.metrics`` and re-exported here.

Several workers (docs/DEPLOY.md, "Metrics"):

* ``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory, wiped before the workers start): prometheus_client's
  multiprocess mode. A scrape of any worker reports the sum over all workers of the host (the active
  sessions gauge sums the live ones; a worker that died is dropped at the next scrape). Circuit
  breakers belong to each process: ``mithi_circuit_state`` is the scraped worker's.
* otherwise: one registry per process; every sample carries ``worker="<hostname>:<pid>"``, and the
  ``process_*`` families (CPU, memory) of that process are included. Scrape each worker directly.

Labels never carry secrets, key names or session ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hmac
import os
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.app.auth import principal_of
from backend.app.openapi import errors
from backend.app.web import CATCH_ALL
from backend.core import metrics as core
from backend.core.errors import MithiError
from backend.core.metrics import (
    VOICE_STAGES,
    failover,
    multiprocess_mode,
    observe_voice_turn,
    rate_limited,
    voice_session_ended,
    voice_session_started,
)
from backend.core.worker import worker_id
from backend.providers.failover import BreakerState, ProviderChain

__all__ = [
    "VOICE_STAGES",
    "MetricsMiddleware",
    "failover",
    "install_metrics",
    "observe_voice_turn",
    "rate_limited",
    "render",
    "route_label",
    "router",
    "voice_session_ended",
    "voice_session_started",
]

UNMATCHED = "unmatched"
WEB_APP_ROUTE = CATCH_ALL  # the web app's files, and every path no API route serves
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CIRCUIT_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


# --------------------------------------------------------------------------- HTTP instrumentation


def _candidates(routes: Iterable[BaseRoute]) -> Iterator[Any]:
    """Every route with its full template: FastAPI >= 0.16x keeps an included router as one entry whose
    ``effective_route_contexts()`` are its routes with the prefixes applied (``.path``, ``.matches``)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            yield from contexts()
        else:
            yield route


def match_template(routes: Iterable[BaseRoute], scope: Scope) -> str | None:
    """The template of the route that would serve ``scope``: a full match, else one whose path matches
    with another method (a 405), else the web app's catch-all; None when none matches."""
    probe = {**scope, "path_params": {}}
    partial: str | None = None
    catch_all = False
    for candidate in _candidates(routes):
        path = getattr(candidate, "path", None)
        if not isinstance(path, str) or not path:
            continue
        try:
            match, _ = candidate.matches(probe)
        except Exception:  # noqa: BLE001 - a route that cannot judge this scope does not serve it
            continue
        if match is Match.NONE:
            continue
        if path == WEB_APP_ROUTE:
            catch_all = True
        elif match is Match.FULL:
            return path
        elif partial is None:
            partial = path
    return partial or (WEB_APP_ROUTE if catch_all else None)


def route_label(scope: Scope, routes: Iterable[BaseRoute] = ()) -> str:
    """The template of the route that served ``scope``, read after routing (FastAPI records the route it
    chose in the scope); for a request answered before routing (a middleware's 400 / 401 / 413 / 429),
    the route that would have served it, matched against ``routes``. :data:`UNMATCHED` otherwise."""
    # FastAPI >= 0.16x resolves included routers lazily: the full template is on the effective context;
    # scope["route"] then holds the route as declared in its own router (without the prefixes).
    context = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    if not isinstance(path, str) or not path:
        path = match_template(routes, scope)
    return path or UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request when its response has ended (pure ASGI: streaming intact)."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        method = method if method in HTTP_METHODS else "other"  # any token is a method to the server
        status = 0
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:  # an exception before the response started becomes the server's 500
            status = status or 500
            route = route_label(scope, self.router.routes)
            if route == WEB_APP_ROUTE and status in (404, 405):  # the catch-all's "no such route": a
                other = match_template(self.router.routes, scope)  # route for another method (405), or none
                route = other if other not in (None, WEB_APP_ROUTE) else UNMATCHED
            core.observe_http(route, method, status, time.perf_counter() - start)


def install_metrics(app: FastAPI) -> None:
    """Add ``GET /metrics`` and the HTTP instrumentation. Call it after the other middleware is added
    (before ``CleanStartupErrors``), so what they answer themselves (400, 401, 413, 429) is counted.

    The web app's catch-all route (``backend.app.web``) is moved back to the end of the routes, so
    ``/metrics`` is matched before it whichever was added first."""
    app.include_router(router)
    routes = app.router.routes
    for route in [r for r in routes if getattr(r, "path", None) == WEB_APP_ROUTE]:
        routes.remove(route)
        routes.append(route)
    app.add_middleware(MetricsMiddleware, router=app.router)


# --------------------------------------------------------------------------- scraping


class _WorkerLabelled(Collector):
    """The families of ``source`` with ``worker="<hostname>:<pid>"`` added to every sample."""

    def __init__(self, source: Collector, worker: str) -> None:
        self.source = source
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = [s._replace(labels={"worker": self.worker, **s.labels}) for s in family.samples]
            yield out


class _CircuitStates(Collector):
    """``mithi_circuit_state`` of one app's provider chains, as they are at the scrape."""

    def __init__(self, chains: dict[str, ProviderChain[Any]], worker: str) -> None:
        self.chains = chains
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "mithi_circuit_state",
            "Circuit breaker of each provider in this process: 0 closed, 1 half-open, 2 open.",
            labels=["kind", "provider", "worker"],
        )
        for kind, chain in self.chains.items():
            for name in chain.names:
                family.add_metric([kind, name, self.worker], CIRCUIT_VALUES[chain.breaker(name).state])
        yield family


def _chains(state: Any) -> dict[str, ProviderChain[Any]]:
    """The tts / stt / llm chains on ``app.state`` (as /health walks them)."""
    out: dict[str, ProviderChain[Any]] = {}
    for kind in ("tts", "stt", "llm"):
        chain = getattr(getattr(state, kind, None), "chain", None)
        if isinstance(chain, ProviderChain):
            out[kind] = chain
    return out


_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_workers(path: str) -> list[int]:
    """Drop the live gauges of workers that died without exiting normally (``kill -9``, OOM): the
    directory is host-local, so a pid that no longer exists is a dead worker. Returns their pids."""
    dead: set[int] = set()
    for file in glob.glob(os.path.join(path, "gauge_live*.db")):
        match = _LIVE_FILE.search(os.path.basename(file))
        if match and not _pid_alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        with contextlib.suppress(OSError):
            mark_process_dead(pid, path)
    return sorted(dead)


def render(state: Any) -> bytes:
    """This process's metrics (every worker's, in multiprocess mode) and ``state``'s circuit states."""
    worker = worker_id()
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        path = core.MULTIPROC_DIR
        reap_dead_workers(path)
        MultiProcessCollector(registry, path)
    else:
        registry.register(_WorkerLabelled(core.REGISTRY, worker))
        process = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=process)
        registry.register(_WorkerLabelled(process, worker))
    registry.register(_CircuitStates(_chains(state), worker))
    return generate_latest(registry)


class MetricsUnauthorized(MithiError):
    status_code = 401
    code = "unauthorized"


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


def _allowed(request: Request) -> bool:
    """With ``auth.metrics_token`` set: that bearer, or an API key the auth middleware accepted."""
    token = request.app.state.settings.auth.metrics_token
    if not token:
        return True  # the auth middleware already required an API key (when keys are configured)
    given = _bearer(request)
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    return principal_of(request).authenticated


router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"},
        **errors(400, 401, 413, 429),  # Host check, key or metrics_token, body limit, the key's rate limit
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (docs/API.md): any API key, or ``auth.metrics_token`` as a bearer token."""
    if not _allowed(request):
        raise MetricsUnauthorized(
            "GET /metrics needs auth.metrics_token (Authorization: Bearer <token>) or an API key"
        )
    body = await asyncio.to_thread(render, request.app.state)  # multiprocess mode reads files
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

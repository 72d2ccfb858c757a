"""The FastAPI application: `python -m uvicorn backend.app.main:app --port 8000`.

`create_app()` reads config.yml (or MITHI_CONFIG), and the lifespan loads every provider once; a
provider that cannot load stops startup with a message that says what to do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.agents.conversation import running_agent
from backend.app.api import auth_token, chat, health, openai_compat, realtime_ws, stt, tts, voice_ws, voices
from backend.app.auth import AccessGuard, KeyRing, install_log_redaction
from backend.app.auto_download import AutoDownload
from backend.app.body_limit import BodySizeLimit
from backend.app.lifecycle import Lifecycle
from backend.app.metrics import install_metrics
from backend.app.openapi import ERRORS, OPEN_ERRORS, install_openapi
from backend.app.quotas import Quotas
from backend.app.web import mount_web_app
from backend.app.worker import WorkerHeader
from backend.core.config import Settings, load_config
from backend.core.errors import ConfigError, install_error_handlers
from backend.core.urls import install_log_masking
from backend.doors.wyoming_server import WyomingDoor
from backend.llm.chain import LLMChain, validate_llm_chain
from backend.speech.factory import validate_provider_names
from backend.speech.stt_chain import STTChain, validate_stt_chain
from backend.speech.tts_chain import validate_tts_chain
from backend.speech.tts_service import TTSService

logger = logging.getLogger(__name__)

_BODY_OVERHEAD = 1024 * 1024  # multipart framing and form fields on top of the audio itself


def _version() -> str:
    try:
        return metadata.version("mithivoices")
    except metadata.PackageNotFoundError:
        return "0.1.0"


class CleanStartupErrors:
    """ASGI middleware: a ConfigError during startup is reported as one line, not a traceback.

    Starlette reports a failing lifespan to the server with the formatted traceback; this replaces that
    message with the error's own text when the failure is a configuration problem (uvicorn then logs it
    and exits with status 3).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_clean(message: Message) -> None:
            error = getattr(scope["app"].state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and isinstance(error, ConfigError):
                message = {**message, "message": f"mithivoices: configuration error: {error.message}"}
            await send(message)

        await self.app(scope, receive, send_clean)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        async with _startup(app):
            yield
    except ConfigError as exc:
        app.state.startup_error = exc
        raise


@asynccontextmanager
async def _startup(app: FastAPI) -> AsyncIterator[None]:
    """Load everything once, in dependency order; whatever started is stopped again, in reverse."""
    settings: Settings = app.state.settings
    start = time.perf_counter()
    validate_provider_names(settings)
    validate_tts_chain(settings)
    validate_stt_chain(settings)
    validate_llm_chain(settings)
    async with AsyncExitStack() as stack:
        tts_service = TTSService(settings)
        stack.push_async_callback(tts_service.close)
        await tts_service.load()
        stt_provider = STTChain(settings)  # stt.provider, then stt.fallback (backend.providers.failover)
        stack.push_async_callback(stt_provider.close)
        await stt_provider.load()
        agent = await stack.enter_async_context(running_agent(settings))
        app.state.tts, app.state.stt, app.state.agent = tts_service, stt_provider, agent
        app.state.redis, app.state.llm = agent.redis, agent.llm
        app.state.quotas = Quotas(settings, agent.redis)
        if settings.wyoming.enabled:  # the Wyoming door for Home Assistant, on the same engines
            app.state.wyoming = await stack.enter_async_context(
                wyoming_door(settings, tts_service, stt_provider)
            )
        lifecycle: Lifecycle = app.state.lifecycle
        stack.callback(lifecycle.install_sigterm(asyncio.get_running_loop()))  # drain, then uvicorn exits
        stack.push_async_callback(lifecycle.drain)  # also when stopped another way: sessions get 1012
        app.state.started = time.monotonic()
        app.state.startup_ms = round((time.perf_counter() - start) * 1000, 1)
        logger.info(
            "ready in %.0f ms: tts=%s (fallback %s), stt=%s/%s, llm=%s, redis=%s",
            app.state.startup_ms,
            " -> ".join(tts_service.chain.names),
            settings.tts.language_fallback,
            " -> ".join(stt_provider.chain.names),
            settings.stt.model_size,
            " -> ".join(agent.llm.chain.names) if isinstance(agent.llm, LLMChain) else settings.llm.provider,
            agent.redis.status()["url"],
        )
        if settings.auth.enabled:
            names = ", ".join(settings.auth.api_keys)  # the keys' names, never their secrets
            logger.info("auth on: %d API key(s): %s", len(settings.auth.api_keys), names)
        else:
            logger.info("auth off (no auth.api_keys): serving loopback only")
        lifecycle.ready = True
        # models.auto_download: missing Piper voices fetched in the background, after startup, never before
        app.state.auto_download = AutoDownload(settings, tts_service)
        stack.push_async_callback(app.state.auto_download.stop)  # cancelled first on shutdown
        app.state.auto_download.start()
        yield
        lifecycle.ready = False


@asynccontextmanager
async def wyoming_door(settings: Settings, tts: TTSService, stt: STTChain) -> AsyncIterator[WyomingDoor]:
    door = WyomingDoor(settings, tts, stt)
    try:
        await door.start()
    except OSError as exc:
        cfg = settings.wyoming
        raise ConfigError(f"wyoming: cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}") from None
    try:
        yield door
    finally:
        await door.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; `settings` defaults to the config file (MITHI_CONFIG or ./config.yml)."""
    settings = settings or load_config()
    app = FastAPI(
        title="Mithivoices",
        version=_version(),
        description='Self-hosted TTS / STT / voice-agent platform. Errors: {"error": {"code", "message"}}.',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.version = _version()
    app.state.keys = KeyRing(settings.auth.api_keys, settings.auth.token_ttl_seconds)
    app.state.lifecycle = Lifecycle(settings.server.max_voice_sessions, settings.server.drain_seconds)
    app.add_middleware(AccessGuard, settings=settings, keys=app.state.keys)  # inside CORS: 401s get CORS
    install_error_handlers(app)
    install_log_masking()  # a password inside a URL never reaches a log line (backend/core/urls.py)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.server.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Voice-Id",
            "X-TTS-Provider",
            "X-Sample-Rate",
            "X-Audio-Duration",
            "X-Processing-Ms",
            "X-Failover",
            "X-Mithi-Worker",
        ],
    )

    app.add_middleware(  # 413 as soon as a body passes the limit, chunked or not (backend.app.body_limit)
        BodySizeLimit,
        max_bytes=settings.limits.max_upload_bytes + _BODY_OVERHEAD,
        limit_text=f"{settings.limits.max_upload_mb:g} MiB (limits.max_upload_mb)",
    )

    for module in (health, voices, tts, stt, openai_compat, chat, auth_token, voice_ws, realtime_ws):
        # every route declares its errors ({"error": {"code", "message"}}): backend.app.openapi
        app.include_router(module.router, responses=OPEN_ERRORS if module is health else ERRORS)
    mount_web_app(app, settings.web_dist)
    install_openapi(app)  # /openapi.json with this server's limits, languages, voices and models
    app.add_middleware(WorkerHeader)  # outside the others: every response names its process
    install_metrics(app)  # GET /metrics; outside the others, so their own 400/401/413/429 are counted
    app.add_middleware(CleanStartupErrors)
    return app


def _configure_logging() -> None:
    level = os.environ.get("MITHI_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()


def _module_app() -> FastAPI:
    """The app uvicorn imports; a config mistake prints one clear message instead of a traceback."""
    _configure_logging()
    try:
        return create_app()
    except ConfigError as exc:
        sys.stderr.write(f"mithivoices: configuration error: {exc.message}\n")
        raise SystemExit(2) from None


def __getattr__(name: str) -> FastAPI:
    """`backend.app.main:app` is built on first access (by uvicorn), not on import, so importing
    `create_app` never reads the default config file."""
    if name == "app":
        global app
        app = _module_app()
        return app
    raise AttributeError(name)

"""GET /health — what is loaded, each provider's role and circuit breaker, versions, uptime."""

from __future__ import annotations

import platform
import time
from importlib import metadata

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])

_PACKAGES = (
    "mithivoices", "fastapi", "piper-tts", "faster-whisper", "ctranslate2", "onnxruntime", "av",
    "llama-cpp-python", "langgraph", "langgraph-checkpoint-redis", "redis",
)  # fmt: skip


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@router.get("/health")
async def health(request: Request) -> dict:
    state = request.app.state
    chains = {"tts": state.tts.chain, "stt": state.stt.chain, "llm": state.llm.chain}
    providers = {kind: chain.health() for kind, chain in chains.items()}  # roles + circuit breakers
    degraded = [kind for kind, chain in chains.items() if chain.degraded()]
    redis = await state.redis.health()  # `reachable`: a PING now, bounded by 0.5 s
    if not redis["reachable"]:
        degraded.append("redis")  # conversations cannot be stored; REST TTS/STT still work
    return {
        "status": "degraded" if degraded else "ok",
        "degraded": degraded,  # kinds whose primary provider's circuit is open (a fallback serves), "redis"
        "version": state.version,
        "uptime_s": round(time.monotonic() - state.started, 1),
        "startup_ms": state.startup_ms,
        "providers": providers,
        "redis": redis,
        "versions": _versions(),
        "languages": state.settings.languages,
        "auth": {"enabled": state.settings.auth.enabled},  # never the keys
        "voice_sessions": {
            "active": len(state.lifecycle.sessions),
            "max": state.lifecycle.max_voice_sessions,
        },
        "config": state.settings.public_view(),
    }


@router.get(
    "/health/ready",
    responses={503: {"description": "starting, draining, or Redis is unreachable"}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness for load balancers: 200 when this process should get traffic, else 503 with the reason."""
    state = request.app.state
    lifecycle = getattr(state, "lifecycle", None)
    reasons = []
    if lifecycle is None or not lifecycle.ready:
        reasons.append("starting")
    elif lifecycle.draining:
        reasons.append("draining")
    if not reasons and not await state.redis.ping():  # bounded (RedisService.ping)
        reasons.append("redis_unreachable")
    if reasons:
        return JSONResponse({"status": "not_ready", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready"})

"""GET /health — what is loaded, each provider's role and circuit breaker, versions, uptime."""

from __future__ import annotations

import platform
import time
from importlib import metadata

from fastapi import APIRouter, Request

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
    return {
        "status": "degraded" if degraded else "ok",
        "degraded": degraded,  # kinds whose primary provider's circuit is open (a fallback serves)
        "version": state.version,
        "uptime_s": round(time.monotonic() - state.started, 1),
        "startup_ms": state.startup_ms,
        "providers": providers,
        "redis": state.redis.status(),
        "versions": _versions(),
        "languages": state.settings.languages,
        "config": state.settings.public_view(),
    }

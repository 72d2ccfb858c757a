"""GET /health — what is loaded, versions, uptime."""

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
    tts, stt = state.tts, state.stt
    providers = {
        "tts": {
            name: {
                "status": "loaded",
                "role": "primary" if name == state.settings.tts.provider else "language_fallback",
                **p.status(),
            }
            for name, p in tts.providers.items()
        },
        "stt": {stt.name: {"status": "loaded", "role": "primary", **stt.status()}},
        "llm": {state.llm.name: {"status": "loaded", "role": "primary", **state.llm.status()}},
    }
    return {
        "status": "ok",
        "version": state.version,
        "uptime_s": round(time.monotonic() - state.started, 1),
        "startup_ms": state.startup_ms,
        "providers": providers,
        "redis": state.redis.status(),
        "versions": _versions(),
        "languages": state.settings.languages,
        "config": state.settings.public_view(),
    }

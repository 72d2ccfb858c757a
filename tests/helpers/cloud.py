"""Helpers shared by the cloud-provider and failover tests: the TTS vendor fakes, /health, circuits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.providers.failover import ProviderChain
from tests.conftest import LiveServer, make_settings, write_config
from tests.fakes.coqui import FakeCoqui
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.openai_chat import FakeChatServer
from tests.fakes.openai_speech import FakeOpenAISpeech
from tests.fakes.tts_vendor import FakeTTSVendor

EL_KEY = "xi-test-key"
OA_KEY = "sk-test-key"


@contextmanager
def tts_vendor_fakes() -> Iterator[dict[str, FakeTTSVendor]]:
    """The three TTS vendor fakes, started, by provider name (ElevenLabs and OpenAI check their keys)."""
    servers: dict[str, FakeTTSVendor] = {
        "elevenlabs": FakeElevenLabs(api_key=EL_KEY),
        "openai": FakeOpenAISpeech(api_key=OA_KEY),
        "coqui": FakeCoqui(),
    }
    with ExitStack() as stack:
        for fake in servers.values():
            stack.enter_context(fake)
        yield servers


@contextmanager
def failover_server(overrides: dict[str, Any], models: Path, cooldown: float) -> Iterator[LiveServer]:
    """A live server with ``overrides`` (the chain and its vendors): English only, no Whisper model
    preloaded, a circuit that opens after two failures and stays open ``cooldown`` seconds, and Piper
    without sampling noise, so the same text always gives the same audio (lengths can be compared)."""
    settings = make_settings(
        {
            **overrides,
            "piper": {"noise_scale": 0.0, "noise_w_scale": 0.0},
            "resilience": {"failure_threshold": 2, "cooldown_seconds": cooldown},
            "whisper_local": {"preload": []},
            "languages": ["en"],
        },
        models=models,
    )
    with LiveServer(settings) as server:
        yield server


def health(live: LiveServer) -> dict[str, Any]:
    """The server's /health body."""
    return dict(httpx.get(f"{live.url}/health", timeout=10).json())


def close_circuits(*chains: ProviderChain[Any]) -> None:
    """Closed circuits (no failures counted) for every member of ``chains``: a clean start per test."""
    for chain in chains:
        for member in chain.members.values():
            member.breaker.record_success()


def config_with_provider(tmp_path: Path, models: Path, provider: str) -> Path:
    """config.yml with `llm.provider` set to `provider` (nothing preloaded)."""
    return write_config(
        tmp_path / f"config-{provider}.yml",
        models,
        {
            "  provider: ${MITHI_LLM_PROVIDER:-llama_cpp}": f"  provider: {provider}",
            "  preload: [base]": "  preload: []",
        },
    )


@contextmanager
def hosted_chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeChatServer]:
    """The OpenAI chat stand-in, started, with OpenAI's and Groq's key and base URL pointing at it."""
    server = FakeChatServer(api_key=OA_KEY).start()
    monkeypatch.setenv("OPENAI_API_KEY", OA_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("GROQ_API_KEY", OA_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", f"{server.url}/openai/v1")
    try:
        yield server
    finally:
        server.stop()

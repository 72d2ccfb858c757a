"""Secrets in URLs are masked wherever a URL is shown: config view, errors, circuit breakers, logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from backend.core.config import parse_config
from backend.core.errors import ProviderError
from backend.core.net import free_port
from backend.core.urls import install_log_masking, mask_secrets_in_text, mask_url
from backend.providers.failover import CircuitBreaker
from backend.providers.hosted import error_from_exception


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:key@host:8080/v1", "http://user:***@host:8080/v1"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("https://ghp_token@example.com/x", "https://***@example.com/x"),
        ("http://host/path?mail=a@b.c", "http://host/path?mail=a@b.c"),
        ("redis://user:p@ss@host:6379/0", "redis://user:***@host:6379/0"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("", ""),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_mask_secrets_in_text() -> None:
    text = "openai: cannot reach http://me:sk-123@api.x/v1 (ConnectError); also 'rediss://u:p@r:6380/0'"
    masked = mask_secrets_in_text(text)
    assert "sk-123" not in masked and ":p@" not in masked
    assert "http://me:***@api.x/v1" in masked and "rediss://u:***@r:6380/0" in masked
    assert mask_secrets_in_text("write to ops@example.com") == "write to ops@example.com"
    assert "ss@" not in mask_secrets_in_text("at redis://user:p@ss@host:6379/0 now")


def test_config_view_masks_every_url() -> None:
    settings = parse_config(
        {
            "openai": {"base_url": "http://me:sk-openai@127.0.0.1:9/v1"},
            "coqui": {"base_url": "http://me:sk-coqui@127.0.0.1:9"},
            "redis": {"url": "redis://:redis-pass@127.0.0.1:6379/0"},
        }
    )
    view = str(settings.public_view())
    for secret in ("sk-openai", "sk-coqui", "redis-pass"):
        assert secret not in view
    assert settings.public_view()["openai"]["base_url"] == "http://me:***@127.0.0.1:9/v1"


async def test_provider_errors_and_circuits_never_show_the_password() -> None:
    base_url = f"http://me:sk-secret-9@127.0.0.1:{free_port()}/v1"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.TransportError) as failure:
            await client.get(f"{base_url}/models")  # nothing listens: a real connection error
    error = error_from_exception("openai", failure.value, base_url)
    assert isinstance(error, ProviderError) and "sk-secret-9" not in error.message
    assert "me:***@127.0.0.1" in error.message
    breaker = CircuitBreaker("openai")
    breaker.record_failure(error)
    breaker.record_failure(RuntimeError(f"boom at {base_url}"))  # not ours: masked when described
    assert "sk-secret-9" not in str(breaker.snapshot())


def test_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    with caplog.at_level(logging.INFO):
        logging.getLogger("httpx").info("HTTP Request: POST %s", "http://me:sk-log-1@host/v1/chat")
    assert "sk-log-1" not in caplog.text and "me:***@host" in caplog.text

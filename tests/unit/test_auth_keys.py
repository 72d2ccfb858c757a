"""API key parsing, constant-time lookup and short-lived tokens (backend/app/auth.py)."""

from __future__ import annotations

import pytest

from backend.app.auth import HostPolicy, KeyRing, redact_tokens
from backend.core.config import parse_api_keys
from backend.core.tenancy import scoped_session_id, split_scoped
from tests.conftest import make_settings


def test_key_list_parses_and_rejects_mistakes() -> None:
    assert parse_api_keys("clinic:sk-clinic-1, kiosk:sk-kiosk-2") == {
        "clinic": "sk-clinic-1",
        "kiosk": "sk-kiosk-2",
    }
    assert parse_api_keys("") == {} and parse_api_keys(None) == {}
    assert parse_api_keys(["a:secret-aaaa"]) == {"a": "secret-aaaa"}
    for bad, reason in (
        ("clinic", "name:secret"),
        ("cl inic:sk-clinic-1", "letters"),
        ("a:sk-aaaa-1,a:sk-aaaa-2", "twice"),
        ("a:sk-same-1,b:sk-same-1", "another key"),
        ("a:short", "shorter"),
    ):
        with pytest.raises(ValueError, match=reason):
            parse_api_keys(bad)


def test_tokens_carry_the_key_expire_and_cannot_be_forged() -> None:
    ring = KeyRing({"clinic": "sk-clinic-1", "kiosk": "sk-kiosk-2"}, token_ttl_seconds=60)
    assert ring.identify("sk-kiosk-2") == "kiosk" and ring.identify("sk-kiosk-") is None
    token, expires = ring.issue("clinic", now=1000.0)
    assert expires == 1060 and token.startswith("mvt_")
    assert ring.verify(token, now=1059.0) == "clinic"
    assert ring.verify(token, now=1061.0) is None  # expired
    payload, _, signature = token.partition(".")
    forged = payload.replace(payload[-2:], "xx") + "." + signature
    assert ring.verify(forged, now=1001.0) is None
    # a token signed by another server's key of the same name is refused
    other = KeyRing({"clinic": "sk-other-secret"}, token_ttl_seconds=60)
    assert ring.verify(other.issue("clinic", now=1000.0)[0], now=1001.0) is None
    # removing the key revokes its tokens
    assert KeyRing({"kiosk": "sk-kiosk-2"}, 60).verify(token, now=1001.0) is None
    assert ring.verify("mvt_not-base64!.x") is None and ring.verify("sk-clinic-1") is None


def test_host_and_origin_policy() -> None:
    policy = HostPolicy(
        make_settings({"server": {"public_url": "https://voice.example.com", "allowed_hosts": ["box.lan"]}})
    )
    for host in (
        "127.0.0.1:8000",
        "localhost",
        "[::1]:8000",
        "voice.example.com",
        "box.lan:80",
        "a.localhost",
    ):
        assert policy.host_allowed(host), host
    assert not policy.host_allowed("evil.example") and not policy.host_allowed("127.0.0.1.evil.example")
    assert policy.origin_allowed(None, "localhost:8000")  # not a browser
    assert policy.origin_allowed("http://localhost:5173", "127.0.0.1:8000")  # cors_origins
    assert policy.origin_allowed("https://voice.example.com", "voice.example.com")
    assert policy.origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")  # same origin
    assert not policy.origin_allowed("http://evil.example", "127.0.0.1:8000")
    assert not policy.origin_allowed("null", "127.0.0.1:8000")


def test_memory_ids_namespace_tenants() -> None:
    assert scoped_session_id("", "demo") == "demo" and split_scoped("demo") == ("", "demo")
    assert scoped_session_id("clinic", "demo") == "clinic.demo"
    assert split_scoped("clinic.demo") == ("clinic", "demo")
    assert scoped_session_id("clinic", "demo") != scoped_session_id("kiosk", "demo")


def test_tokens_are_redacted_from_logged_urls() -> None:
    line = '"WebSocket /voice?session_id=a&token=mvt_abc.def" 101'
    assert redact_tokens(line) == '"WebSocket /voice?session_id=a&token=***" 101'

"""API keys, tokens, ownership, Host/Origin guards, quotas and capacity — over real HTTP and WebSockets
against one app with auth on (real models, real embedded Redis)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from backend.core.errors import ConfigError
from tests.conftest import LiveServer, make_settings

CLINIC = "sk-clinic-test-0001"
KIOSK = "sk-kiosk-test-0002"
LIMITED = "sk-limited-test-0003"
SOLO = "sk-solo-test-0004"
FRUGAL = "sk-frugal-test-0005"  # used only once its override is set: overrides are cached for 5 s per key
KEYS = f"clinic:{CLINIC},kiosk:{KIOSK},limited:{LIMITED},solo:{SOLO},frugal:{FRUGAL}"


@pytest.fixture(scope="module")
def authed(assembled_models: Path, web_dist: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        {"auth": {"api_keys": KEYS, "token_ttl_seconds": 60}, "paths": {"web_dist": str(web_dist)}},
        models=assembled_models,
    )
    with LiveServer(settings) as live:
        yield live


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def sid() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def ws_url(server: LiveServer, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return server.url.replace("http://", "ws://") + "/voice" + (f"?{query}" if query else "")


async def next_event(ws: Any, kind: str, within: float = 60) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message = await ws.recv()
            if isinstance(message, str):
                event = json.loads(message)
                if event["type"] == kind:
                    return event
                if event["type"] == "error" and event.get("fatal"):
                    raise AssertionError(f"fatal error while waiting for {kind}: {event}")


async def refused(url: str, headers: dict[str, str] | None = None) -> tuple[dict[str, Any], int]:
    """Open a socket that the server refuses after the handshake: (its error event, close code)."""
    async with websockets.connect(url, additional_headers=headers or {}, open_timeout=10) as ws:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code is not None
        return event, ws.close_code


# --------------------------------------------------------------------------- keys


def test_rest_needs_a_key_and_health_stays_open(authed: LiveServer) -> None:
    for method, path in (("GET", "/v1/models"), ("GET", "/api/voices"), ("GET", f"/api/sessions/{sid()}")):
        r = httpx.request(method, authed.url + path)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
        assert "Bearer" in r.headers["www-authenticate"]
    r = httpx.post(authed.url + "/api/chat", json={"text": "hi"}, headers=bearer("sk-wrong-key-000"))
    assert r.status_code == 401 and "not valid" in r.json()["error"]["message"]
    health = httpx.get(authed.url + "/health")
    assert health.status_code == 200 and health.json()["auth"] == {"enabled": True}
    for secret in (CLINIC, KIOSK, LIMITED):
        assert secret not in health.text  # keys never shown
    assert httpx.get(authed.url + "/health/ready").json() == {"status": "ready"}


def test_bearer_and_x_api_key_are_accepted(authed: LiveServer) -> None:
    assert httpx.get(authed.url + "/api/voices", headers=bearer(CLINIC)).status_code == 200
    assert httpx.get(authed.url + "/api/voices", headers={"X-API-Key": KIOSK}).status_code == 200


def test_official_openai_sdk_sends_its_api_key(authed: LiveServer) -> None:
    client = openai.OpenAI(base_url=authed.url + "/v1", api_key=CLINIC, max_retries=0)
    assert any(m.id for m in client.models.list().data)
    wrong = openai.OpenAI(base_url=authed.url + "/v1", api_key="sk-not-a-key-1", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_non_loopback_host_without_keys_stops_startup() -> None:
    with pytest.raises(ConfigError, match="MITHI_API_KEYS"):
        make_settings({"server": {"host": "0.0.0.0"}})
    make_settings({"server": {"host": "0.0.0.0"}, "auth": {"required": False}})  # on purpose: allowed
    make_settings({"server": {"host": "0.0.0.0"}, "auth": {"api_keys": "a:sk-aaaa-bbbb"}})
    with pytest.raises(ConfigError, match="shorter"):
        make_settings({"auth": {"api_keys": "a:short"}})
    with pytest.raises(ConfigError, match="name:secret"):
        make_settings({"auth": {"api_keys": "no-colon-here"}})


# --------------------------------------------------------------------------- ownership


def chat(server: LiveServer, secret: str, session: str, text: str) -> dict[str, Any]:
    r = httpx.post(
        server.url + "/api/chat",
        json={"session_id": session, "text": text},
        headers=bearer(secret),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_conversations_and_appointments_belong_to_their_key(authed: LiveServer) -> None:
    session = sid()
    told = chat(authed, CLINIC, session, "Hi, my name is Priya. Book a haircut for tomorrow at 3 pm.")
    assert told["session_id"] == session
    mine = httpx.get(f"{authed.url}/api/appointments?session_id={session}", headers=bearer(CLINIC)).json()
    assert len(mine["appointments"]) == 1 and mine["appointments"][0]["session_id"] == session
    # another key: the same id is not the owner's conversation
    assert httpx.get(f"{authed.url}/api/sessions/{session}", headers=bearer(KIOSK)).status_code == 404
    theirs = httpx.get(f"{authed.url}/api/appointments?session_id={session}", headers=bearer(KIOSK)).json()
    assert theirs["appointments"] == []
    assert httpx.delete(f"{authed.url}/api/sessions/{session}", headers=bearer(KIOSK)).status_code == 404
    assert "priya" not in chat(authed, KIOSK, session, "What is my name?")["reply"].lower()
    # tenants' calendars are separate: the same minute is free for the other key
    booked = chat(authed, KIOSK, session, "Book a haircut for tomorrow at 3 pm.")
    assert booked["action"]["ok"] is True, booked
    # the owner still has its memory
    assert "Priya" in chat(authed, CLINIC, session, "What is my name?")["reply"]
    history = httpx.get(f"{authed.url}/api/sessions/{session}", headers=bearer(CLINIC)).json()
    assert history["facts"].get("name") == "Priya"


async def test_voice_needs_a_key_and_a_token_carries_its_identity(authed: LiveServer) -> None:
    event, code = await refused(ws_url(authed))
    assert event["type"] == "error" and event["code"] == "unauthorized" and event["fatal"] is True
    assert code == 1008
    event, code = await refused(ws_url(authed, token="mvt_garbage.sig"))
    assert event["code"] == "unauthorized" and code == 1008

    session = sid()
    async with httpx.AsyncClient(base_url=authed.url, timeout=60) as http:
        r = await http.post(
            "/api/chat", json={"session_id": session, "text": "My name is Priya."}, headers=bearer(CLINIC)
        )
        assert r.status_code == 200
        assert (await http.post("/api/auth/token")).status_code == 401
        issued = (await http.post("/api/auth/token", headers=bearer(CLINIC))).json()
    assert issued["token"].startswith("mvt_") and issued["expires_in"] == 60 and issued["key"] == "clinic"
    assert issued["expires_at"].endswith("Z")
    async with websockets.connect(ws_url(authed, session_id=session, token=issued["token"])) as ws:
        started = await next_event(ws, "session.started")
        assert started["session_id"] == session
        await ws.send(json.dumps({"type": "text.input", "text": "What is my name?"}))
        done = await next_event(ws, "response.done")
    assert "Priya" in done["text"]
    # the same id with the other key (header auth on the WebSocket): its own, empty conversation
    async with websockets.connect(ws_url(authed, session_id=session), additional_headers=bearer(KIOSK)) as ws:
        await next_event(ws, "session.started")
        await ws.send(json.dumps({"type": "text.input", "text": "What is my name?"}))
        done = await next_event(ws, "response.done")
    assert "priya" not in done["text"].lower()


# --------------------------------------------------------------------------- host and origin


async def test_websocket_origin_is_checked(authed: LiveServer) -> None:
    for origin in ("http://evil.example", "null"):
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(
                ws_url(authed), additional_headers={**bearer(CLINIC), "Origin": origin}, open_timeout=10
            ):
                pass
        assert info.value.response.status_code == 403
    for origin in ("http://localhost:5173", authed.url):  # configured, and the app's own origin
        async with websockets.connect(
            ws_url(authed), additional_headers={**bearer(CLINIC), "Origin": origin}
        ) as ws:
            assert (await next_event(ws, "session.started"))["type"] == "session.started"


async def test_origin_is_checked_with_auth_off_too(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/voice"
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(url, additional_headers={"Origin": "http://evil.example"}):
            pass
    assert info.value.response.status_code == 403


def test_host_header_is_checked(authed: LiveServer, base_url: str) -> None:
    for url in (authed.url, base_url):  # auth on and off: a DNS-rebound page sends its own name
        r = httpx.get(url + "/api/voices", headers={"Host": "rebind.evil.example", **bearer(CLINIC)})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_host"
        assert httpx.get(url + "/health", headers={"Host": "localhost:1234"}).status_code == 200


# --------------------------------------------------------------------------- quotas and capacity


def _override(server: LiveServer, key: str, **limits: float) -> None:
    """Per-key limits in Redis (HSET mithi:limits:<key>), written to the app's own Redis."""
    import redis

    service = server.app.state.redis  # the embedded Redis has a password (kept in its data dir)
    client = redis.Redis.from_url(service.url, password=getattr(service, "password", None))
    try:
        client.hset(f"mithi:limits:{key}", mapping={k: str(v) for k, v in limits.items()})
    finally:
        client.close()


def test_quotas_are_enforced_per_key(authed: LiveServer) -> None:
    _override(authed, "limited", requests_per_minute=6, tts_chars_per_day=40, stt_seconds_per_day=1)
    limited = bearer(LIMITED)
    # TTS characters per day: 30 fit, the next 30 do not
    ok = httpx.post(
        authed.url + "/api/tts/generate", json={"text": "a" * 10 + " hello there."}, headers=limited
    )
    assert ok.status_code == 200
    over = httpx.post(authed.url + "/api/tts/generate", json={"text": "b" * 40}, headers=limited)
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "rate_limited"
    assert "limits.tts_chars_per_day is 40" in over.json()["error"]["message"]
    assert int(over.headers["retry-after"]) >= 1
    # STT seconds per day: 2 s of audio against a 1 s limit (decoded seconds, not bytes)
    tone = (np.sin(np.linspace(0, 2 * np.pi * 440 * 2, 32000)) * 8000).astype("<i2").tobytes()
    from backend.media.audio import pcm16_to_wav

    two_seconds = pcm16_to_wav(tone, 16000)
    r = httpx.post(
        authed.url + "/api/stt/transcribe", files={"file": ("a.wav", two_seconds)}, headers=limited
    )
    assert r.status_code == 429 and "stt_seconds_per_day is 1" in r.json()["error"]["message"], r.text
    # requests per minute: 3 made so far (refused ones count too: they reached the server) → 3 more pass
    codes = [httpx.get(authed.url + "/api/voices", headers=limited).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], codes
    refused_r = httpx.get(authed.url + "/api/voices", headers=limited)
    assert refused_r.status_code == 429
    assert "limits.requests_per_minute is 6" in refused_r.json()["error"]["message"]
    assert 1 <= int(refused_r.headers["retry-after"]) <= 60
    # other keys are untouched
    assert httpx.get(authed.url + "/api/voices", headers=bearer(KIOSK)).status_code == 200


async def test_concurrent_voice_sessions_per_key_and_server_capacity(authed: LiveServer) -> None:
    _override(authed, "solo", voice_sessions_per_key=1)
    lifecycle = authed.app.state.lifecycle
    async with websockets.connect(ws_url(authed), additional_headers=bearer(SOLO)) as first:
        await next_event(first, "session.started")
        event, code = await refused(ws_url(authed), bearer(SOLO))  # the key's second session
        assert event["code"] == "too_many_sessions" and code == 1008, (event, code)
        assert "voice_sessions_per_key is 1" in event["message"]
        before = lifecycle.max_voice_sessions
        lifecycle.max_voice_sessions = 1  # this process is full now
        try:
            event, code = await refused(ws_url(authed), bearer(CLINIC))
        finally:
            lifecycle.max_voice_sessions = before
        assert event["code"] == "server_busy" and code == 1013, (event, code)
    health = httpx.get(authed.url + "/health").json()
    assert health["voice_sessions"]["max"] == before
    async with websockets.connect(ws_url(authed), additional_headers=bearer(SOLO)) as again:  # slot freed
        await next_event(again, "session.started")


def _non_loopback_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_auth_off_answers_only_on_loopback(assembled_models: Path) -> None:
    """`uvicorn --host 0.0.0.0` with no keys (config.yml still says 127.0.0.1): only loopback is served."""
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to bind to")
    with LiveServer(make_settings(models=assembled_models), host=address) as live:
        r = httpx.get(live.url + "/api/voices", headers={"Host": "localhost"})
        assert r.status_code == 401 and "only on loopback" in r.json()["error"]["message"], r.text
        assert httpx.get(live.url + "/health", headers={"Host": "localhost"}).status_code == 200


async def test_a_used_up_daily_quota_ends_the_voice_session(authed: LiveServer) -> None:
    _override(authed, "frugal", tts_chars_per_day=5)
    async with websockets.connect(ws_url(authed), additional_headers=bearer(FRUGAL)) as ws:
        await next_event(ws, "session.started")
        await ws.send(json.dumps({"type": "text.input", "text": "Tell me a fact about the sea."}))
        async with asyncio.timeout(60):
            while True:
                event = json.loads(message) if isinstance(message := await ws.recv(), str) else {}
                if event.get("type") == "error":
                    break
        assert event["code"] == "rate_limited" and event["fatal"] is True
        assert "limits.tts_chars_per_day is 5 for key 'frugal'" in event["message"]
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert ws.close_code == 1008


def test_openapi_says_how_to_send_a_key(authed: LiveServer) -> None:
    document = httpx.get(authed.url + "/openapi.json").json()  # open: the docs need no key
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert document["paths"]["/api/chat"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in document["paths"]["/health"]["get"]


async def test_realtime_door_needs_a_key_checks_origin_and_keeps_conversations_apart(
    authed: LiveServer,
) -> None:
    url = authed.url.replace("http://", "ws://") + "/v1/realtime"
    event, code = await refused(url)
    assert event["code"] == "unauthorized" and code == 1008
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(
            url, additional_headers={**bearer(CLINIC), "Origin": "http://evil.example"}
        ):
            pass
    assert info.value.response.status_code == 403

    session = sid()
    r = httpx.post(
        f"{authed.url}/api/chat",
        json={"session_id": session, "text": "My name is Priya."},
        headers=bearer(CLINIC),
        timeout=60,
    )
    assert r.status_code == 200

    async def ask(secret: str) -> str:
        async with websockets.connect(f"{url}?session_id={session}", additional_headers=bearer(secret)) as ws:
            await next_event(ws, "session.created")
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What is my name?"}],
            }
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await ws.send(json.dumps({"type": "response.create"}))
            done = await next_event(ws, "response.done")
        return json.dumps(done["response"]["output"])

    assert "Priya" in await ask(CLINIC)  # the key's own conversation, through the Realtime door
    assert "priya" not in (await ask(KIOSK)).lower()  # the same id under another key: its own

    # browsers cannot set headers: OpenAI's clients send the key as a subprotocol
    offered = ["realtime", f"openai-insecure-api-key.{CLINIC}", "openai-beta.realtime-v1"]
    async with websockets.connect(url, subprotocols=offered) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "realtime"
        await next_event(ws, "session.created")
    wrong = ["realtime", "openai-insecure-api-key.sk-wrong"]
    async with websockets.connect(url, subprotocols=wrong) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "realtime"  # (a browser fails a handshake that answers none)
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert event["code"] == "unauthorized" and ws.close_code == 1008

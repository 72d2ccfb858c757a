"""Redis faults under a running app (real app, real embedded Redis, real HTTP and WebSocket).

Two faults are made for real:
- `kill -9` of the embedded redis-server: the supervisor restarts it on its port with its data (AOF);
- Redis away: the server is killed while it cannot be started again (`MITHI_REDIS_SERVER` points at
  /bin/false, a redis-server binary that exits at once, so every restart the supervisor tries fails),
  until the test puts the real binary back; the supervisor's next try (backoff capped at
  `redis.reconnect_max_seconds`) brings Redis back with its data.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
import redis.exceptions

from backend.core.redis import PASSWORD_FILE
from backend.realtime.client import VoiceClient
from tests.conftest import LiveServer, make_settings

SECRET_URL = "http://mithi-user:s3cret-key-123@127.0.0.1:9/v1"


@pytest.fixture(scope="module")
def app(assembled_models: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        {
            "redis": {"reconnect_max_seconds": 1},
            "openai": {"base_url": SECRET_URL},  # shown in /health's config: must be masked
        },
        models=assembled_models,
    )
    with LiveServer(settings) as live:
        yield live


def health(url: str) -> dict:
    response = httpx.get(f"{url}/health", timeout=10)
    assert response.status_code == 200
    return response.json()


def chat(url: str, text: str, session_id: str) -> httpx.Response:
    return httpx.post(f"{url}/api/chat", json={"text": text, "session_id": session_id}, timeout=120)


def wait_until(predicate, timeout: float = 20, every: float = 0.1) -> float:  # noqa: ANN001
    """Seconds until `predicate()` is true (fails the test after `timeout`)."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "timed out waiting"
        time.sleep(every)
    return time.monotonic() - start


def redis_ok(url: str) -> bool:
    body = health(url)
    return body["status"] == "ok" and body["redis"]["reachable"] is True


@contextmanager
def redis_away(app: LiveServer) -> Iterator[dict]:
    """kill -9 the embedded Redis and keep it from starting again until the block ends."""
    service = app.app.state.redis
    old = os.environ.get("MITHI_REDIS_SERVER")
    os.environ["MITHI_REDIS_SERVER"] = "/bin/false"
    pid = service.process.pid
    os.kill(pid, signal.SIGKILL)
    info = {"killed_pid": pid}
    try:
        wait_until(lambda: not service.reachable, timeout=10, every=0.05)
        # the supervisor's first restart (/bin/false) may still be starting: a loaded box takes a while
        wait_until(lambda: service.process.poll() is not None, timeout=10, every=0.02)
        yield info
    finally:
        if old is None:
            del os.environ["MITHI_REDIS_SERVER"]
        else:
            os.environ["MITHI_REDIS_SERVER"] = old
        # also when the block failed: the module's next test starts with Redis up
        info["back_after_s"] = wait_until(lambda: redis_ok(app.url), timeout=20)


def test_kill_9_of_redis_restarts_it_and_memory_survives(app: LiveServer) -> None:
    session = f"faults-{uuid.uuid4().hex[:8]}"
    assert chat(app.url, "Hi, my name is Priya.", session).status_code == 200
    before = health(app.url)["redis"]
    os.kill(before["pid"], signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: health(app.url)["redis"]["restarts"] == before["restarts"] + 1, timeout=20)
    restarted_s = time.monotonic() - killed
    after = health(app.url)
    assert after["status"] == "ok" and after["redis"]["reachable"] is True
    assert after["redis"]["pid"] != before["pid"] and after["redis"]["last_exit"] == -signal.SIGKILL
    assert after["redis"]["url"] == before["url"]  # the same port: the client reconnected by itself
    reply = chat(app.url, "What is my name?", session)
    assert reply.status_code == 200, reply.text
    assert "Priya" in reply.json()["reply"], reply.json()
    print(f"embedded Redis restarted {restarted_s:.2f} s after kill -9")


def test_while_redis_is_away_tts_and_stt_work_and_chat_says_503(app: LiveServer) -> None:
    session = f"faults-{uuid.uuid4().hex[:8]}"
    assert chat(app.url, "My name is Priya.", session).status_code == 200
    start = time.monotonic()
    assert httpx.post(f"{app.url}/api/tts/generate", json={"text": "The weather is sunny today."}, timeout=60)
    tts_up_s = time.monotonic() - start
    with redis_away(app) as fault:
        start = time.monotonic()
        body = health(app.url)
        health_s = time.monotonic() - start
        assert body["status"] == "degraded" and "redis" in body["degraded"]
        assert body["redis"]["reachable"] is False, body
        assert health_s < 2.0, health_s  # a bounded PING, not a hang
        # each restart the supervisor tries is a process that exits at once: never running for long
        wait_until(lambda: health(app.url)["redis"]["running"] is False, timeout=5, every=0.02)

        start = time.monotonic()
        tts = httpx.post(
            f"{app.url}/api/tts/generate", json={"text": "The weather is sunny today."}, timeout=60
        )
        tts_s = time.monotonic() - start
        assert tts.status_code == 200 and tts.content[:4] == b"RIFF"
        stt = httpx.post(f"{app.url}/api/stt/transcribe", files={"file": ("a.wav", tts.content)}, timeout=60)
        assert stt.status_code == 200 and "sunny" in stt.json()["text"].lower(), stt.text

        start = time.monotonic()
        refused = chat(app.url, "What is my name?", session)
        chat_s = time.monotonic() - start
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "storage_unavailable"
        assert chat_s < 10, chat_s
        history = httpx.get(f"{app.url}/api/sessions/{session}", timeout=30)
        assert history.status_code == 503 and history.json()["error"]["code"] == "storage_unavailable"
        appointments = httpx.get(f"{app.url}/api/appointments", params={"session_id": session}, timeout=30)
        assert appointments.status_code == 503, appointments.text
        # really not running: every restart fails (one may be starting this very moment)
        wait_until(lambda: app.app.state.redis.process.poll() is not None, timeout=5, every=0.02)
    reply = chat(app.url, "What is my name?", session)
    assert reply.status_code == 200 and "Priya" in reply.json()["reply"], reply.text
    print(
        f"Redis away: /health {health_s:.2f} s, TTS {tts_s:.2f} s (up: {tts_up_s:.2f} s), "
        f"/api/chat 503 in {chat_s:.2f} s; "
        f"back {fault['back_after_s']:.2f} s after the real binary returned"
    )


async def test_voice_session_survives_redis_going_away(app: LiveServer) -> None:
    session = f"faults-{uuid.uuid4().hex[:8]}"
    url = app.url.replace("http://", "ws://") + "/voice"
    async with VoiceClient.connect(url, session_id=session) as client:
        await client.send_json(type="text.input", text="My name is Asha.")
        await client.wait_for("response.done")
        with redis_away(app):
            await client.send_json(type="text.input", text="What is my name?")
            error = await client.wait_for("error", timeout=30)
            assert error["code"] == "storage_unavailable" and error["fatal"] is False, error
            # audio frames go on flowing (in process while Redis is away): a commit after 0.6 s of
            # silence reaches the pipeline and ends the utterance
            for _ in range(30):
                await client.send_bytes(bytes(640))
            await client.send_json(type="input_audio.commit")
            stopped = await client.wait_for("speech.stopped", timeout=30)
            assert stopped["reason"] == "commit"
            # ... and is answered: silence transcribes to nothing (response.done, empty), is too short
            # (empty_audio), or whisper hears a word in it and the agent cannot store the turn
            for _ in range(300):
                errors = client.received.of("error")[1:]
                if errors or len(client.received.of("response.done")) == 2:
                    assert all(e["code"] in ("empty_audio", "storage_unavailable") for e in errors), errors
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the committed utterance was never answered")
            assert client.connected
        answered = len(client.received.of("response.done"))
        await client.send_json(type="text.input", text="What is my name?")
        done = await client.wait_for("response.done", count=answered + 1, timeout=60)
        assert "Asha" in done["text"], done
        assert client.connected and not client.reconnects
        fatal = [e for e in client.received.of("error") if e["fatal"]]
        assert not fatal, fatal


def test_health_is_degraded_while_redis_hangs(app: LiveServer) -> None:
    """SIGSTOP: the process lives but answers nothing. /health stays fast and says degraded."""
    pid = app.app.state.redis.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        body = health(app.url)
        took = time.monotonic() - start
        assert body["status"] == "degraded" and body["redis"]["reachable"] is False
        assert took < 2.0, took
        print(f"Redis hung (SIGSTOP): /health answered degraded in {took:.2f} s")
        assert app.app.state.redis.restarts == health(app.url)["redis"]["restarts"]  # alive: no restart
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: redis_ok(app.url), timeout=10)


def test_embedded_redis_has_a_private_password(app: LiveServer) -> None:
    service = app.app.state.redis
    path = service.data_dir / PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 32
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=service.port, socket_timeout=2).ping()  # no password: refused
    assert redis.Redis(port=service.port, password=password, socket_timeout=2).ping()
    cmdline = Path(f"/proc/{service.process.pid}/cmdline").read_bytes()
    assert password.encode() not in cmdline  # not on the command line (ps)
    text = httpx.get(f"{app.url}/health", timeout=10).text
    assert password not in text
    # the memory limit policy: a full Redis refuses writes, it never evicts conversations
    config = redis.Redis(port=service.port, password=password).config_get("maxmemory-policy")
    assert config["maxmemory-policy"] == "noeviction"


def test_conversations_expire_after_session_ttl_days(app: LiveServer) -> None:
    session = f"faults-{uuid.uuid4().hex[:8]}"
    assert chat(app.url, "Book an appointment tomorrow at 3 pm for a checkup.", session).status_code == 200
    service = app.app.state.redis
    client = redis.Redis(port=service.port, password=(service.data_dir / PASSWORD_FILE).read_text().strip())
    ttl_days = app.app.state.settings.agent.session_ttl_days
    keys = [k.decode() for k in client.scan_iter(match=f"*{session}*")]
    checkpoint_keys = [k for k in keys if k.startswith("checkpoint")]
    assert checkpoint_keys, keys
    index = [k for k in keys if k.endswith(":appts")]
    assert index, keys
    for key in checkpoint_keys + index:
        ttl = client.ttl(key)
        assert ttl_days * 86400 - 120 < ttl <= ttl_days * 86400, (key, ttl)
    # a read renews the conversation's clock: shorten one TTL, read, and it is back to the full term
    latest = (
        next(k for k in checkpoint_keys if "latest" in k)
        if any("latest" in k for k in checkpoint_keys)
        else None
    )
    target = latest or checkpoint_keys[0]
    client.expire(target, 1000)
    assert httpx.get(f"{app.url}/api/sessions/{session}", timeout=30).status_code == 200
    assert client.ttl(target) > ttl_days * 86400 - 120, target


def test_secrets_in_urls_are_masked_in_health(app: LiveServer) -> None:
    text = httpx.get(f"{app.url}/health", timeout=10).text
    assert "s3cret-key-123" not in text
    assert health(app.url)["config"]["openai"]["base_url"] == "http://mithi-user:***@127.0.0.1:9/v1"

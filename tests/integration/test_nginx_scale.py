"""Horizontal scale: two app processes behind a real nginx (running the shipped deploy/nginx.conf), sharing
one real Redis. Any process continues any conversation; a process killed with kill -9 loses nothing; and
turns of one conversation sent to both processes at once are all stored, in order (the turn lease).

Everything is real: `python -m backend` subprocesses with the bundled models, the embedded redis-server
binary with its JSON/Search modules, Debian's nginx (`make test` installs it), HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis
import websockets
import yaml
from websockets.exceptions import InvalidStatus

from backend.core.config import PROJECT_ROOT
from backend.core.net import free_port
from backend.realtime.client import Backoff, VoiceClient
from bench.processes import AppProcess, RedisServer

SHIPPED_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
API_KEY = "sk-scale-test-1"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
START_TIMEOUT_S = 240  # two processes load their models at once on a small box


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        pytest.fail("nginx is not installed: `make test` installs it (scripts/ensure_system_packages.sh)")
    return found


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on {port} in {timeout:g} s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def render_site(upstreams: list[int], listen: int) -> str:
    """deploy/nginx.conf with this test's ports in place of 8001, 8002 and 80; everything else as shipped."""
    text = SHIPPED_CONF.read_text()
    substitutions = [
        ("server 127.0.0.1:8001 ", f"server 127.0.0.1:{upstreams[0]} "),
        ("server 127.0.0.1:8002 ", f"server 127.0.0.1:{upstreams[1]} "),
        ("    listen 80;\n", f"    listen 127.0.0.1:{listen};\n"),
        ("    listen [::]:80;\n", f"    listen [::1]:{listen};\n"),
    ]
    for old, new in substitutions:
        assert text.count(old) == 1, f"deploy/nginx.conf no longer has exactly one {old.strip()!r}"
        text = text.replace(old, new)
    return text


def nginx_main_conf(prefix: Path, site: Path) -> str:
    """The main context a distribution's /etc/nginx/nginx.conf provides, with every path in `prefix`;
    it includes the shipped site file inside `http { }`, as /etc/nginx/conf.d/*.conf is included."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the test's private tmp dir
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n{temp}"
        f"    include {site};\n"
        "}\n"
    )


class Cluster:
    def __init__(self, apps: list[AppProcess], nginx_url: str) -> None:
        self.apps = apps
        self.url = nginx_url
        self.ws = nginx_url.replace("http://", "ws://") + "/voice"

    def by_worker(self, worker: str) -> AppProcess:
        found = [a for a in self.apps if a.alive and a.worker == worker]
        assert found, f"no live app process is {worker} (apps: {[a.worker for a in self.apps]})"
        return found[0]

    def ensure_running(self) -> None:
        dead = [a for a in self.apps if not a.alive]
        for app in dead:
            app.start()
        for app in dead:
            app.wait_ready()


@pytest.fixture(scope="module")
def cluster(
    assembled_models: Path, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    nginx = nginx_binary()
    tmp = tmp_path_factory.mktemp("scale")
    procs: list[subprocess.Popen[bytes]] = []
    apps: list[AppProcess] = []
    stack = ExitStack()
    try:
        # one shared Redis (what redis.url points every worker at)
        shared_redis = stack.enter_context(RedisServer(tmp / "redis"))
        redis_url = shared_redis.url

        # two app processes with the same config (only the port and data dir differ)
        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):
            data = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
            data["redis"]["url"] = redis_url
            data["auth"]["api_keys"] = f"scale:{API_KEY}"
            data["server"].update({"host": "127.0.0.1", "port": port})
            data["paths"].update(
                {
                    "models_dir": str(assembled_models),
                    "data_dir": str(tmp / f"data{i}"),
                    "web_dist": str(web_dist),
                }
            )
            data["whisper_local"]["preload"] = []  # typed turns only: the multilingual model is not needed
            data["llama_cpp"]["threads"] = 1  # two processes share the cores
            data["llm"]["max_tokens"] = 32
            config = tmp / f"app{i}.yml"
            config.write_text(yaml.safe_dump(data, sort_keys=False))
            apps.append(AppProcess(config, tmp / f"app{i}.log", START_TIMEOUT_S, port=port))
        for app in apps:
            app.start()
        for app in apps:
            app.wait_ready()

        # nginx with the shipped config
        listen = free_port()
        site = tmp / "mithivoices.conf"
        site.write_text(render_site(ports, listen))
        main = tmp / "nginx.conf"
        main.write_text(nginx_main_conf(tmp, site))
        command = [nginx, "-p", f"{tmp}/", "-e", str(tmp / "error.log"), "-c", str(main)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"nginx -t rejected deploy/nginx.conf: {checked.stderr}"
        nginx_proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(nginx_proc)
        wait_port(listen, nginx_proc, "nginx")
        yield Cluster(apps, f"http://127.0.0.1:{listen}")
    finally:
        for app in apps:
            app.stop()
        for proc in reversed(procs):
            stop(proc, signal.SIGQUIT if proc.args[0] == nginx else signal.SIGTERM)
        stack.close()


def history(base: str, session_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/api/sessions/{session_id}", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def assert_turns_once_in_order(messages: list[dict[str, Any]], user_texts: list[str]) -> None:
    """Exactly one (user, assistant) pair per turn, each user text once: nothing lost, nothing doubled."""
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * len(user_texts), roles
    asked = [m["content"] for m in messages if m["role"] == "user"]
    assert sorted(asked) == sorted(user_texts), asked
    stamps = [m["ts"] for m in messages]
    assert stamps == sorted(stamps), "messages are stored in the order they were made"


# ---------------------------------------------------------------------------------------------------- tests
async def test_concurrent_turns_on_two_processes_are_all_stored(cluster: Cluster) -> None:
    """Six turns of one conversation at once, three on each process: all 12 messages stored, in pairs.
    (Without the lease in Redis, the processes overwrote each other's checkpoint: 6 of 12 were kept.)"""
    cluster.ensure_running()
    session_id = f"race-{uuid.uuid4().hex[:8]}"
    texts = [f"Please remember the word number {n}." for n in range(1, 7)]
    targets = [cluster.apps[n % 2] for n in range(6)]

    async with httpx.AsyncClient(headers=AUTH, timeout=180) as http:

        async def turn(app: AppProcess, text: str) -> httpx.Response:
            return await http.post(f"{app.url}/api/chat", json={"session_id": session_id, "text": text})

        responses = await asyncio.gather(*(turn(app, text) for app, text in zip(targets, texts, strict=True)))
    for app, response in zip(targets, responses, strict=True):
        assert response.status_code == 200, response.text
        assert response.headers["x-mithi-worker"] == app.worker  # split across both processes
        assert response.json()["reply"]
    assert_turns_once_in_order(history(cluster.url, session_id)["messages"], texts)


async def test_http_is_balanced_across_both_processes(cluster: Cluster) -> None:
    cluster.ensure_running()
    seen = set()
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(6):
            response = await http.get(f"{cluster.url}/health")
            assert response.status_code == 200
            seen.add(response.headers["x-mithi-worker"])
        assert seen == {app.worker for app in cluster.apps}, seen
        # nginx's own refusal of a body over client_max_body_size is the app's JSON error shape
        too_big = await http.post(
            f"{cluster.url}/api/stt/transcribe", headers=AUTH, content=bytes(27 * 1024 * 1024)
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"


def test_shipped_config_has_what_a_proxy_for_mithivoices_needs() -> None:
    """The settings the tests above cannot observe directly are still in the file a user copies."""
    text = SHIPPED_CONF.read_text()
    for directive in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_buffering off;",
        "proxy_next_upstream error timeout",
    ):
        assert directive in text, directive
    assert len(re.findall(r"(?m)^\s+server \S+ max_fails=\d+ fail_timeout=\d+s;", text)) == 2
    voice = text[text.index("location /voice") :]
    assert (
        re.search(r"proxy_read_timeout (\d+)s;", voice)
        and int(re.search(r"proxy_read_timeout (\d+)s;", voice)[1]) >= 600
    )
    # client_max_body_size = limits.max_upload_mb + the 1 MiB the app allows for multipart framing
    limit = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["limits"]["max_upload_mb"]
    assert f"client_max_body_size {int(limit) + 1}m;" in text


def test_redis_is_shared(cluster: Cluster) -> None:
    """Both processes use the one Redis (their /health names the same URL), not embedded ones."""
    cluster.ensure_running()
    urls = set()
    for app in cluster.apps:
        body = httpx.get(f"{app.url}/health", timeout=10).json()
        redis_info = body.get("redis") or {}
        urls.add(redis_info.get("url"))
        assert redis_info.get("mode") == "external", body
    assert len(urls) == 1, urls
    url = urls.pop()
    assert isinstance(url, str) and redis.Redis.from_url(url).ping()


async def test_a_browser_connects_through_nginx_with_a_token_and_its_origin(cluster: Cluster) -> None:
    """What the web app does behind nginx: a short-lived token for the WebSocket, the page's Origin (the
    proxy's own address, port included) accepted; a foreign Origin and a missing key refused."""
    cluster.ensure_running()
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.get(f"{cluster.url}/api/voices")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        issued = await http.post(f"{cluster.url}/api/auth/token", headers=AUTH)
        assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    origin = cluster.url  # the page was loaded from nginx's address
    url = f"{cluster.ws}?{urlencode({'token': token, 'session_id': f'web-{uuid.uuid4().hex[:8]}'})}"
    async with websockets.connect(url, origin=origin) as ws:  # type: ignore[arg-type]
        started = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert started["type"] == "session.started" and started["worker"] in {a.worker for a in cluster.apps}
    with pytest.raises(InvalidStatus) as err:
        async with websockets.connect(url, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert err.value.response.status_code == 403


@pytest.mark.parametrize(
    ("api_key", "query", "code"),
    [("sk-wrong-key-1", {}, "unauthorized"), (API_KEY, {"session_id": "../x"}, "invalid_session_id")],
)
async def test_a_fatal_refusal_is_never_retried(
    cluster: Cluster, api_key: str, query: dict[str, str], code: str
) -> None:
    cluster.ensure_running()
    start = time.monotonic()
    with pytest.raises(ConnectionError) as err:
        async with VoiceClient.connect(cluster.ws, api_key=api_key, reconnect=Backoff(initial=10.0), **query):
            pass
    assert time.monotonic() - start < 5  # a retry would have waited at least 5 s first
    assert "1008" in str(err.value) and code in str(err.value), err.value


async def test_sigterm_drains_the_turn_then_the_client_moves_to_the_other_process(cluster: Cluster) -> None:
    """A rolling restart: SIGTERM lets the turn in flight finish, closes with 1012, and the client
    continues on the other process through nginx, with the memory of that last turn."""
    cluster.ensure_running()
    session_id = f"drain-{uuid.uuid4().hex[:8]}"
    backoff = Backoff(initial=0.2, maximum=2.0, attempts=20)
    async with VoiceClient.connect(
        cluster.ws, session_id=session_id, api_key=API_KEY, reconnect=backoff
    ) as client:
        serving = cluster.by_worker(client.session["worker"])
        await client.send_json(type="text.input", text="My name is Arjun.")
        await client.wait_for("response.text.delta", timeout=120)  # the turn is in flight
        assert serving.proc is not None
        serving.proc.send_signal(signal.SIGTERM)
        done = await client.wait_for("response.done", timeout=60)  # finished on the draining process
        assert done["text"]
        second = await client.wait_for("session.started", count=2, timeout=60)
        assert [r["code"] for r in client.reconnects] == [1012]
        assert second["worker"] != serving.worker and second["session_id"] == session_id
        await client.send_json(type="text.input", text="What is my name?")
        answer = await client.wait_for("response.done", count=2, timeout=120)
    assert "Arjun" in answer["text"], answer["text"]
    # exited after its drain; uvicorn re-raises the SIGTERM it handled (systemd counts that as clean)
    try:
        code = serving.proc.wait(30)
    except subprocess.TimeoutExpired:
        serving.kill9()  # (the next test starts it again)
        pytest.fail(f"the drained process did not exit within 30 s; its log:\n{serving.log_tail(40)}")
    assert code in (0, -signal.SIGTERM), serving.log_tail(40)
    assert_turns_once_in_order(
        history(cluster.url, session_id)["messages"], ["My name is Arjun.", "What is my name?"]
    )


async def test_kill_9_of_the_serving_process_the_other_continues_from_memory(cluster: Cluster) -> None:
    cluster.ensure_running()
    session_id = f"scale-{uuid.uuid4().hex[:8]}"
    backoff = Backoff(initial=0.2, maximum=2.0, attempts=10)
    async with VoiceClient.connect(
        cluster.ws, session_id=session_id, api_key=API_KEY, reconnect=backoff
    ) as client:
        first = client.session
        assert first["session_id"] == session_id
        serving = cluster.by_worker(first["worker"])  # which process nginx chose
        await client.send_json(type="text.input", text="My name is Priya.")
        await client.wait_for("response.done", timeout=120)

        killed_at = time.perf_counter()
        serving.kill9()  # no drain, no goodbye: the socket just drops

        second = await client.wait_for("session.started", count=2, timeout=60)
        other = next(app for app in cluster.apps if app is not serving)
        assert second["worker"] == other.worker and second["session_id"] == session_id
        assert len(client.reconnects) == 1
        back_at = [t for t, e in client.received.events if e.get("type") == "session.started"][1]
        print(f"reconnected through nginx to the other process {back_at - killed_at:.2f} s after kill -9")
        assert back_at - killed_at < 30
        await client.send_json(type="text.input", text="What is my name?")
        answer = await client.wait_for("response.done", count=2, timeout=120)
    assert "Priya" in answer["text"], answer["text"]

    # while one process is dead, nginx keeps every request on the live one
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(4):
            response = await http.get(f"{cluster.url}/health")
            assert response.status_code == 200 and response.headers["x-mithi-worker"] == other.worker
    stored = history(cluster.url, session_id)
    assert stored["facts"].get("name") == "Priya"
    assert_turns_once_in_order(stored["messages"], ["My name is Priya.", "What is my name?"])


async def test_with_every_backend_down_clients_get_503_and_retry_until_one_is_back(cluster: Cluster) -> None:
    for app in cluster.apps:
        if app.alive:
            app.kill9()
    async with httpx.AsyncClient(timeout=30) as http:
        down = await http.get(f"{cluster.url}/api/voices", headers=AUTH)
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert down.json()["error"]["code"] == "service_unavailable"

    backoff = Backoff(initial=0.5, maximum=3.0, attempts=0)  # retry until the context's timeout

    async def converse() -> tuple[VoiceClient, dict[str, Any]]:
        async with VoiceClient.connect(cluster.ws, api_key=API_KEY, reconnect=backoff) as client:
            await client.send_json(type="text.input", text="Hello there.")
            return client, await client.wait_for("response.done", timeout=120)

    task = asyncio.create_task(converse())
    await asyncio.sleep(2)
    assert not task.done()  # still retrying: nothing to connect to
    revived = cluster.apps[0]
    revived.start()
    await asyncio.to_thread(revived.wait_ready)
    client, done = await asyncio.wait_for(task, START_TIMEOUT_S)
    assert done["text"] and client.session["worker"] == revived.worker
    assert client.retries and all(r == "HTTP 503" for r in client.retries), client.retries

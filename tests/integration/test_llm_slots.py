"""Parallel LLM slots: llama_cpp.server (0.3.x) generates one reply at a time, so the way to several slots
with it is one process per slot behind a load balancer. This runs the shipped deploy/llm-slots.conf in a
real nginx in front of two real `python -m llama_cpp.server` processes (one thread each, the bundled Gemma
GGUF) and measures whether two replies requested at once are generated at the same time: through nginx
they are, sent to one of the processes directly they are not.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.core.config import PROJECT_ROOT
from backend.core.net import free_port
from bench.processes import LlamaServer

SLOTS_CONF = PROJECT_ROOT / "deploy" / "llm-slots.conf"


@dataclass
class Slots:
    url: str  # nginx: the OpenAI-compatible base URL the workers use
    servers: list[LlamaServer]


async def timed_stream(http: httpx.AsyncClient, base_url: str) -> tuple[float, float, str]:
    """(first token, last token) arrival times of one streamed /completions reply, and its text."""
    body = {
        "model": "gemma",
        "prompt": "Once upon a time",
        "max_tokens": 24,
        "stream": True,
        "temperature": 0,
    }
    first = last = 0.0
    text = []
    async with http.stream("POST", f"{base_url}/completions", json=body) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            piece = json.loads(line[6:])["choices"][0].get("text") or ""
            if piece:
                last = time.perf_counter()
                first = first or last
                text.append(piece)
    return first, last, "".join(text)


async def overlap_s(base_url: str) -> float:
    """Two replies requested at once: how long both were being generated at the same time."""
    async with httpx.AsyncClient(timeout=60) as http:
        (f1, l1, t1), (f2, l2, t2) = await asyncio.gather(
            timed_stream(http, base_url), timed_stream(http, base_url)
        )
    assert t1.strip() and t2.strip()
    return min(l1, l2) - max(f1, f2)


@pytest.fixture(scope="module")
def slots(assembled_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slots]:
    """deploy/llm-slots.conf (its ports replaced) in a real nginx, in front of two llama_cpp.server."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.fail("nginx is not installed: `make test` installs it (scripts/ensure_system_packages.sh)")
    tmp = tmp_path_factory.mktemp("llm-slots")
    model = assembled_models / "llm" / "gemma-3-270m-q4_k_m.gguf"
    servers = [LlamaServer(model, threads=1, log=tmp / f"slot{i}.log") for i in range(2)]
    listen = free_port()
    site = SLOTS_CONF.read_text()
    for old, new in (
        ("server 127.0.0.1:8081 ", f"server 127.0.0.1:{servers[0].port} "),
        ("server 127.0.0.1:8082 ", f"server 127.0.0.1:{servers[1].port} "),
        ("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen};"),
    ):
        assert site.count(old) == 1, f"deploy/llm-slots.conf no longer has exactly one {old.strip()!r}"
        site = site.replace(old, new)
    (tmp / "site.conf").write_text(site)
    temp = "".join(
        f"    {k}_temp_path {tmp / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'};\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n    access_log {tmp / 'access.log'};\n{temp}"
        f"    include {tmp / 'site.conf'};\n}}\n"
    )
    command = [nginx, "-p", f"{tmp}/", "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"nginx -t rejected deploy/llm-slots.conf: {checked.stderr}"
    proc = None
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{listen}/v1"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield Slots(base_url, servers)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(15)
        for server in servers:
            server.stop()


async def test_one_llama_cpp_server_generates_one_reply_at_a_time(slots: Slots) -> None:
    """What llama_cpp.server does with two requests at once: the second waits for the first."""
    overlap = await overlap_s(slots.servers[0].base_url)
    assert overlap <= 0, f"the two replies overlapped by {overlap:.2f} s on a single llama_cpp.server"


async def test_two_slots_behind_nginx_generate_at_the_same_time(slots: Slots) -> None:
    """deploy/llm-slots.conf: the same two requests through nginx to two processes run in parallel."""
    overlap = await overlap_s(slots.url)
    assert overlap > 0, f"no overlap ({overlap:.2f} s): the two replies were not generated in parallel"

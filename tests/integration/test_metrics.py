"""GET /metrics over real HTTP: the values move as the server works.

The default `server` fixture (auth off) for HTTP counting, streaming, /voice sessions and turns; a
second server with API keys, `auth.metrics_token`, a tight `limits.requests_per_minute` and the
ElevenLabs fake (tests/fakes/elevenlabs.py) in front of Piper for protection, rate limits, failovers and
circuit states. Every check compares a scrape before with a scrape after, so other tests that share the
session's server do not matter.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.media.audio import pcm16_to_wav
from backend.realtime.client import VoiceClient
from bench.processes import AppProcess, RedisServer, app_config
from tests.conftest import LiveServer
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.helpers.cloud import failover_server, health
from tests.helpers.metrics import Scrape, delta, scrape
from tests.helpers.voice import speech_pcm, ws_url

STAGES = ("stt", "llm_first_token", "tts_first_audio", "first_audio", "total")
CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}
LONG_TEXT = " ".join(
    f"This is sentence number {n} of a long reply, spoken one sentence at a time." for n in range(1, 13)
)


# --------------------------------------------------------------------------- HTTP


def test_requests_are_counted_by_route_template_never_by_raw_path(base_url: str) -> None:
    session = f"metrics-{uuid.uuid4().hex[:10]}"
    junk = uuid.uuid4().hex
    before = scrape(base_url)
    statuses = {httpx.get(f"{base_url}/api/sessions/{session}", timeout=30).status_code for _ in range(2)}
    assert len(statuses) == 1
    status = str(statuses.pop())
    miss = httpx.post(f"{base_url}/api/nothing-{junk}", timeout=30)
    assert miss.status_code == 404
    page = httpx.get(f"{base_url}/some/page/{junk}", timeout=30)  # the web app's index.html
    assert page.status_code == 200
    assert httpx.put(f"{base_url}/health", timeout=30).status_code == 405
    after = scrape(base_url)

    route = "/api/sessions/{session_id}"
    assert delta(after, before, "mithi_http_requests_total", route=route, method="GET", status=status) == 2
    assert delta(after, before, "mithi_http_request_seconds_count", route=route, method="GET") == 2
    unmatched = dict(route="unmatched", method="POST", status="404")
    assert delta(after, before, "mithi_http_requests_total", **unmatched) == 1
    wrong_method = dict(route="/health", method="PUT", status="405")  # the route exists, not the method
    assert delta(after, before, "mithi_http_requests_total", **wrong_method) == 1
    web = dict(route="/{path:path}", method="GET", status="200")
    assert delta(after, before, "mithi_http_requests_total", **web) >= 1
    assert session not in after.text and junk not in after.text  # raw paths never become labels
    # the previous scrape is counted too, and every sample names the one process that answered
    assert after.value("mithi_http_requests_total", route="/metrics", method="GET", status="200") >= 1
    assert after.workers == {page.headers["x-mithi-worker"]}


def test_a_streamed_response_is_counted_when_its_last_byte_is_sent(base_url: str) -> None:
    labels = dict(route="/api/tts/generate", method="POST", status="200")
    timing = dict(route="/api/tts/generate", method="POST")
    before = scrape(base_url)
    with httpx.stream(
        "POST",
        f"{base_url}/api/tts/generate",
        json={"text": LONG_TEXT, "stream": True, "format": "pcm"},
        timeout=120,
    ) as resp:
        assert resp.status_code == 200
        chunks = resp.iter_bytes()
        first = next(chunks)
        first_at = time.perf_counter()
        assert first
        time.sleep(0.5)  # eleven sentences are still to be synthesized: seconds of work on this box
        scrape_at = time.perf_counter()
        during = scrape(base_url)  # the response is still being synthesized and sent
        total = len(first) + sum(len(c) for c in chunks)
    after = scrape(base_url)
    assert total / 2 / 22050 > 20  # twelve sentences of speech
    assert during.value("mithi_http_requests_total", **labels) == before.value(
        "mithi_http_requests_total", **labels
    )
    assert delta(after, before, "mithi_http_requests_total", **labels) == 1
    assert delta(after, before, "mithi_http_request_seconds_count", **timing) == 1
    # timed to the end: the response began before its first chunk arrived and had not ended at the scrape
    seconds = delta(after, before, "mithi_http_request_seconds_sum", **timing)
    assert seconds >= scrape_at - first_at


def test_circuit_states_match_health(base_url: str) -> None:
    got = scrape(base_url).family("mithi_circuit_state")
    providers = health_of(base_url)["providers"]
    expected = {
        frozenset({"kind": kind, "provider": name}.items()): float(CIRCUIT[info["circuit"]["state"]])
        for kind, members in providers.items()
        for name, info in members.items()
    }
    assert got == expected
    assert {("tts", "piper"), ("stt", "whisper_local"), ("llm", "llama_cpp")} <= {
        (dict(labels)["kind"], dict(labels)["provider"]) for labels in got
    }


def health_of(base_url: str) -> dict:
    return dict(httpx.get(f"{base_url}/health", timeout=30).json())


# --------------------------------------------------------------------------- /voice


async def test_voice_sessions_gauge_and_turn_stage_histograms(base_url: str) -> None:
    wav = pcm16_to_wav(speech_pcm(base_url, "What is the capital of France?"), 16000)
    before = scrape(base_url)
    active = before.value("mithi_voice_sessions_active")
    async with VoiceClient.connect(ws_url(base_url)) as client:
        assert scrape(base_url).value("mithi_voice_sessions_active") == active + 1
        await client.send_bytes(wav)  # one utterance, transcribed whole: every stage is measured
        done = await client.wait_for("response.done", timeout=120)
        during = scrape(base_url)
    latency = done["latency_ms"]
    assert set(STAGES) <= set(latency), latency
    for stage in STAGES:
        count = during.value("mithi_voice_stage_seconds_count", stage=stage)
        assert count - before.value("mithi_voice_stage_seconds_count", stage=stage) == 1, stage
        seconds = delta(during, before, "mithi_voice_stage_seconds_sum", stage=stage)
        assert seconds == pytest.approx(latency[stage] / 1000, abs=1e-6), stage
    assert during.value("mithi_voice_sessions_active") == active + 1
    deadline = time.monotonic() + 15
    while (now := scrape(base_url).value("mithi_voice_sessions_active")) != active:
        assert time.monotonic() < deadline, f"{now} sessions still active after the socket closed"
        await asyncio.sleep(0.2)


# --------------------------------------------------------------------------- keys, limits, failover

KEYS = {"ops": "sk-ops-secret-1", "speaker": "sk-speaker-secret-2", "tight": "sk-tight-secret-3"}
METRICS_TOKEN = "prom-scrape-token-42"
PER_MINUTE = 4
COOLDOWN = 6.0
XI_KEY = "xi-test-key"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture(scope="module")
def eleven() -> Iterator[FakeElevenLabs]:
    with FakeElevenLabs(api_key=XI_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def guarded(eleven: FakeElevenLabs, assembled_models: Path) -> Iterator[LiveServer]:
    overrides = {
        "auth": {"api_keys": ",".join(f"{n}:{s}" for n, s in KEYS.items()), "metrics_token": METRICS_TOKEN},
        "limits": {"requests_per_minute": PER_MINUTE},
        "tts": {"provider": "elevenlabs", "fallback": ["piper"], "voice_id": None},
        "elevenlabs": {"api_key": XI_KEY, "base_url": eleven.url, "max_retries": 0, "timeout_seconds": 5},
    }
    with failover_server(overrides, assembled_models, COOLDOWN) as server:
        yield server


def test_metrics_need_an_api_key_or_the_metrics_token(guarded: LiveServer) -> None:
    url = f"{guarded.url}/metrics"
    before = scrape(guarded.url, SCRAPER)
    for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"X-API-Key": METRICS_TOKEN}):
        resp = httpx.get(url, headers=headers, timeout=30)
        assert resp.status_code == 401, (headers, resp.text)
        assert resp.json()["error"]["code"] == "unauthorized"
    assert httpx.get(url, headers={"X-API-Key": KEYS["ops"]}, timeout=30).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"Bearer {KEYS['ops']}"}, timeout=30).status_code == 200
    after = scrape(guarded.url, SCRAPER)
    refused = dict(route="/metrics", method="GET", status="401")  # refused before routing, still counted
    assert delta(after, before, "mithi_http_requests_total", **refused) == 3
    for secret in [*KEYS.values(), METRICS_TOKEN, XI_KEY]:
        assert secret not in after.text


def test_rate_limit_rejections_are_counted(guarded: LiveServer) -> None:
    labels = dict(limit="requests_per_minute")
    before = scrape(guarded.url, SCRAPER)
    headers = {"X-API-Key": KEYS["tight"]}
    codes: list[int] = []
    while codes.count(429) < 2 and len(codes) < 3 * PER_MINUTE:  # (a new minute may start meanwhile)
        codes.append(httpx.get(f"{guarded.url}/api/voices", headers=headers, timeout=30).status_code)
    assert codes.count(429) == 2 and codes[0] == 200 and set(codes) == {200, 429}, codes
    after = scrape(guarded.url, SCRAPER)
    assert delta(after, before, "mithi_rate_limited_total", **labels) == codes.count(429)
    limited = dict(route="/api/voices", method="GET", status="429")
    assert delta(after, before, "mithi_http_requests_total", **limited) == codes.count(429)


def test_failovers_and_circuit_states(guarded: LiveServer, eleven: FakeElevenLabs) -> None:
    eleven.reset()
    eleven.fail(503, times=1000, message="The service is temporarily unavailable")
    headers = {"X-API-Key": KEYS["speaker"]}
    before = scrape(guarded.url, SCRAPER)
    assert before.value("mithi_circuit_state", kind="tts", provider="elevenlabs") == 0
    said = []
    for _ in range(3):  # failure, failure (the circuit opens: threshold 2), then skipped
        resp = httpx.post(
            f"{guarded.url}/api/tts/generate", json={"text": "Hello there."}, headers=headers, timeout=60
        )
        assert resp.status_code == 200 and resp.headers["x-tts-provider"] == "piper", resp.text
        said.append(resp.headers["x-failover"])
    opened = scrape(guarded.url, SCRAPER)
    assert said[2] == "elevenlabs -> piper (circuit_open)", said
    reason = said[0].split("(")[1].rstrip(")")
    assert said[1] == said[0] and reason != "circuit_open", said

    def moved(scraped: Scrape, why: str) -> float:
        labels = {"kind": "tts", "from": "elevenlabs", "to": "piper", "reason": why}
        return delta(scraped, before, "mithi_provider_failovers_total", **labels)

    assert moved(opened, reason) == 2 and moved(opened, "circuit_open") == 1
    assert opened.value("mithi_circuit_state", kind="tts", provider="elevenlabs") == 2
    assert opened.value("mithi_circuit_state", kind="tts", provider="piper") == 0
    retry_in = health(guarded)["providers"]["tts"]["elevenlabs"]["circuit"]["retry_in_s"]
    time.sleep(retry_in + 0.3)  # the cool-down is over: the next request would probe it
    assert scrape(guarded.url, SCRAPER).value("mithi_circuit_state", kind="tts", provider="elevenlabs") == 1
    eleven.reset()


# --------------------------------------------------------------------------- several processes


def test_two_processes_report_together_in_multiprocess_mode(
    assembled_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `python -m backend` processes with one PROMETHEUS_MULTIPROC_DIR and one Redis: a scrape of
    either reports both; the sessions gauge drops a process killed with SIGKILL at the next scrape."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))  # for the subprocesses only
    with RedisServer(tmp_path / "redis") as redis:
        apps = []
        for i in range(2):
            config = app_config(
                tmp_path / f"app{i}.yml",
                {
                    "redis": {"url": redis.url},
                    "whisper_local": {"preload": []},
                    "paths": {"models_dir": str(assembled_models), "data_dir": str(tmp_path / f"data{i}")},
                },
            )
            apps.append(AppProcess(config, tmp_path / f"app{i}.log"))
        try:
            for app in apps:
                app.start()
            for app in apps:
                app.wait_ready()
            first, second = apps
            labels = dict(route="/api/voices", method="GET", status="200")
            for app, times in ((first, 2), (second, 3)):
                for _ in range(times):
                    assert httpx.get(f"{app.url}/api/voices", timeout=30).status_code == 200
            for app in apps:
                got = scrape(app.url)
                assert got.value("mithi_http_requests_total", **labels) == 5, app.url
                assert got.value("mithi_http_request_seconds_count", route="/api/voices", method="GET") == 5
                worker = httpx.get(f"{app.url}/health", timeout=30).headers["x-mithi-worker"]
                assert got.workers == {worker}  # only the circuit states are per process
                assert got.value("mithi_circuit_state", kind="tts", provider="piper") == 0

            asyncio.run(_session_on(second, first))
        finally:
            for app in apps:
                app.stop()


async def _session_on(holder: AppProcess, other: AppProcess) -> None:
    """A /voice session on `holder` counts on `other`'s scrape too, until `holder` is killed."""
    async with VoiceClient.connect(holder.ws_url) as client:
        assert client.session["worker"].endswith(f":{holder.pid}")
        assert scrape(other.url).value("mithi_voice_sessions_active") == 1
        assert scrape(holder.url).value("mithi_voice_sessions_active") == 1
        os.kill(holder.pid, signal.SIGKILL)  # no exit hook runs: its share is dropped at the next scrape
        assert holder.proc is not None
        holder.proc.wait(timeout=30)
        assert scrape(other.url).value("mithi_voice_sessions_active") == 0

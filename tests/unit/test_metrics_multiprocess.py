"""prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR), with real worker processes.

Two worker processes record into one directory; a third renders the exposition as `GET /metrics` does
(`backend.app.metrics.render`): counters and histograms are the sums over all workers, the active
sessions gauge counts live workers only (a worker that exits normally leaves the sum at once, one killed
with SIGKILL at the next scrape), and what a dead worker counted stays counted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from backend.core.config import PROJECT_ROOT

WORKER = textwrap.dedent(
    """
    import sys
    from backend.core import metrics
    sessions, limited, stay = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "stay"
    assert metrics.multiprocess_mode()
    for _ in range(sessions):
        metrics.voice_session_started()
    for _ in range(limited):
        metrics.rate_limited("requests_per_minute")
    metrics.observe_voice_turn({"stt": 250.0, "total": 1500.0, "not_a_stage": 1.0})
    metrics.failover("tts", "elevenlabs", "piper", "provider_error")
    metrics.observe_http("/api/voices", "GET", 200, 0.02)
    print("ready", flush=True)
    if stay:
        sys.stdin.read()  # until the test kills it
    """
)

RENDER = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    from backend.app.metrics import render
    sys.stdout.write(render(SimpleNamespace()).decode())  # a state without provider chains
    """
)


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(PROJECT_ROOT)}


def _samples(folder: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = subprocess.run(
        [sys.executable, "-c", RENDER],
        env=_env(folder),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    samples = {}
    for family in text_string_to_metric_families(out):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_workers_are_summed_and_dead_workers_leave_the_gauge(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", WORKER, "1", "2", "exit"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "ready", done.stderr
    staying = subprocess.Popen(
        [sys.executable, "-c", WORKER, "2", "3", "stay"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert staying.stdout is not None and staying.stdout.readline().strip() == "ready"
        live = _samples(tmp_path)
        assert _value(live, "mithi_voice_sessions_active") == 2  # the first worker exited: only the second's
        assert _value(live, "mithi_rate_limited_total", limit="requests_per_minute") == 5
        assert _value(live, "mithi_voice_stage_seconds_count", stage="total") == 2
        assert _value(live, "mithi_voice_stage_seconds_sum", stage="total") == 3.0
        assert _value(live, "mithi_voice_stage_seconds_sum", stage="stt") == 0.5
        assert _value(live, "mithi_voice_stage_seconds_count", stage="first_audio") == 0
        labels = {"kind": "tts", "from": "elevenlabs", "to": "piper", "reason": "provider_error"}
        assert _value(live, "mithi_provider_failovers_total", **labels) == 2
        http = {"route": "/api/voices", "method": "GET", "status": "200"}
        assert _value(live, "mithi_http_requests_total", **http) == 2
        stages = {
            dict(labels_).get("stage") for name, labels_ in live if name.startswith("mithi_voice_stage")
        }
        assert stages == {"stt", "llm_first_token", "tts_first_audio", "first_audio", "total"}
        assert all("worker" not in dict(labels_) for _, labels_ in live)  # summed over the workers

        staying.send_signal(signal.SIGKILL)  # no atexit: its live gauge file stays behind
        staying.wait(timeout=30)
        after = _samples(tmp_path)
        assert _value(after, "mithi_voice_sessions_active") == 0
        assert _value(after, "mithi_rate_limited_total", limit="requests_per_minute") == 5  # still counted
    finally:
        if staying.poll() is None:
            staying.kill()
            staying.wait(timeout=30)

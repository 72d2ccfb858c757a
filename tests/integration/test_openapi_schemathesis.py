"""/openapi.json tells the truth: schemathesis (property-based, every check) against the real app over
real HTTP finds no mismatch — no undocumented status, content type or response shape, no schema-valid
request refused, no schema-violating request accepted, no 5xx, 405s with an Allow header.

Bounded (well under 90 s after start-up): a server of its own with small limits (an 80-character text
limit keeps the boundary cases of the coverage phase cheap — and shows the document follows the
configured limits), a fixed seed (``MITHI_SCHEMATHESIS_SEED`` to explore others), few examples.

Left out, and why:
* ``/voice`` is a WebSocket: not in the document (tests/integration/test_voice_ws.py covers it);
* ``POST /api/auth/token``: with auth off (as here, loopback) it answers 422 ``auth_disabled`` by design,
  whatever is sent; tests/integration/test_auth_and_tenancy.py covers it with keys;
* the coverage phase skips ``POST /v1/audio/speech`` only: its document lists every working
  model x language x voice combination, which the coverage phase would synthesize one by one (~900
  requests); the fuzzing and stateful phases test it like the rest.
Two refusals of schema-valid data that JSON Schema cannot express are accepted by the hooks (undecodable
audio; a text with nothing speakable): tests/integration/schemathesis_hooks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.core.config import PROJECT_ROOT
from tests.conftest import LiveServer, make_settings

LIMITS = {"max_text_chars": 80, "max_upload_mb": 1, "max_audio_seconds": 10}
SEED = os.environ.get("MITHI_SCHEMATHESIS_SEED", "20261202")
CLI = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


@pytest.fixture(scope="module")
def small(assembled_models: Path) -> Iterator[str]:
    with LiveServer(make_settings({"limits": LIMITS}, models=assembled_models)) as live:
        yield live.url


def schemathesis(url: str, *args: str, timeout: float, workdir: Path) -> tuple[int, str, float]:
    """`st run` in a subprocess, in `workdir` (its caches and Hypothesis' database stay out of the repo)."""
    command = [
        sys.executable, "-c", CLI, "run", f"{url}/openapi.json",
        "--checks", "all", "--workers", "1", "--seed", SEED, "--no-shrink",
        "--request-timeout", "30", "--exclude-path", "/api/auth/token", *args,
    ]  # fmt: skip
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "PYTHONPATH": path, "NO_COLOR": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - start


def test_the_document_states_this_servers_rules(small: str) -> None:
    doc = httpx.get(f"{small}/openapi.json").json()
    tts = doc["components"]["schemas"]["TTSRequest"]
    assert tts["properties"]["text"]["maxLength"] == 80  # limits.max_text_chars of this server
    assert "pattern" in tts["properties"]["text"] and tts["properties"]["text"]["minLength"] == 1
    assert tts["anyOf"]  # which voice in which language
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            shown = {"/health", "/health/ready"}
            expected = {"400", "413"} if path in shown else {"400", "401", "413", "422", "429"}
            if path.startswith("/metrics"):
                continue  # the lead's /metrics declares its own
            assert expected <= set(responses), f"{method.upper()} {path}: {sorted(responses)}"
            for status in expected:
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (path, status, ref)
            assert "HTTPValidationError" not in str(responses)  # FastAPI's 422 shape is not ours


def test_schemathesis_finds_no_mismatch(small: str, tmp_path: Path) -> None:
    rc, out, coverage_s = schemathesis(
        small, "--phases", "coverage", "--exclude-path", "/v1/audio/speech", timeout=150, workdir=tmp_path
    )
    assert rc == 0, out[-6000:]
    assert "passed" in out and " 0 passed" not in out
    rc, out, fuzzing_s = schemathesis(
        small, "--phases", "fuzzing,stateful", "--max-examples", "6", timeout=150, workdir=tmp_path
    )
    assert rc == 0, out[-6000:]
    assert "passed" in out and " 0 passed" not in out
    print(f"schemathesis: coverage {coverage_s:.1f} s, fuzzing + stateful {fuzzing_s:.1f} s")

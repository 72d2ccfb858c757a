"""Swapping providers is a config-file edit; startup mistakes are one clear message, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from backend.core.config import PROJECT_ROOT, load_config
from tests.conftest import LiveServer, free_port, write_config
from tests.helpers.rest import transcribe
from tests.helpers.speech import word_error_rate

TEXT = "Good morning. The train leaves at ten."


def test_swap_tts_provider_by_editing_config_only(
    tmp_path: Path, assembled_models: Path, base_url: str
) -> None:
    config = tmp_path / "config.yml"
    served = {}
    for provider in ("piper", "espeak"):
        write_config(
            config, assembled_models, {"  provider: ${MITHI_TTS_PROVIDER:-piper}": f"  provider: {provider}"}
        )
        with LiveServer(load_config(config)) as live:
            resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": TEXT}, timeout=60)
            assert resp.status_code == 200, resp.text
            served[provider] = resp
            health = httpx.get(f"{live.url}/health").json()
            assert health["providers"]["tts"][provider]["role"] == "primary"
    assert served["piper"].headers["x-tts-provider"] == "piper"
    assert served["piper"].headers["x-voice-id"] == "en_US-joe-medium"
    assert served["espeak"].headers["x-tts-provider"] == "espeak"
    assert served["espeak"].headers["x-voice-id"] == "espeak-en"
    # Both are real speech: the shared STT understands each.
    for resp in served.values():
        text = transcribe(base_url, resp.content).json()["text"]
        assert word_error_rate(TEXT, text) <= 0.5, text


def run_server(config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MITHI_CONFIG=str(config))
    env.pop("MITHI_MODELS_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "backend.app.main:app", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_unknown_provider_fails_startup_with_known_list(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"tts": {"provider": "pipr"}}))
    proc = run_server(config)
    assert proc.returncode != 0
    assert "tts.provider: 'pipr' is unknown; known: piper, espeak" in proc.stderr


def test_invalid_value_fails_before_startup_with_clean_message(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("tts:\n  speed: fast\n")
    proc = run_server(config)
    assert proc.returncode == 2
    assert "configuration error" in proc.stderr and "tts.speed: 'fast' is invalid" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_models_say_what_to_run(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    # (with models.auto_download on, a missing Piper voice the catalogue knows is fetched after startup)
    paths = {"models_dir": str(tmp_path / "empty")}
    config.write_text(yaml.safe_dump({"paths": paths, "models": {"auto_download": False}}))
    proc = run_server(config)
    assert proc.returncode != 0
    assert "mithivoices: configuration error: piper.default_voice" in proc.stderr
    assert "download_models.py" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_configured_voice_must_be_installed(tmp_path: Path, assembled_models: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "tts": {"voice_id": "hi_IN-pratham-medium"},
                "paths": {"models_dir": str(assembled_models)},
                "models": {"auto_download": False},  # (on, the voice is fetched after startup instead)
            }
        )
    )
    proc = run_server(config)
    assert proc.returncode != 0
    assert "tts.voice_id: 'hi_IN-pratham-medium' is not an installed piper voice" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_reports_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("stt:\n  beam_size: 99\n")
    proc = subprocess.run(
        [sys.executable, "-m", "backend", "--config", str(config)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "stt.beam_size: 99 is invalid" in proc.stderr

"""`download_models.py --llm NAME` installs an instruct GGUF from the hub (the local stand-in), selects it,
and the app loads it with the chat prompt its template asks for, offering the agent's tools when the
template takes them; the bundled base model keeps the completion prompt. Both prompt styles run through
llama.cpp for real: the instruct model is the bundled Gemma's weights with a chat template written in by
the test (tests/helpers/gguf_models.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.models.cli import main
from backend.models.llms import CATALOG, SELECTED_NAME, read_selected
from tests.conftest import LiveServer, make_settings
from tests.fakes.hf_hub import FakeHub
from tests.helpers.gguf_models import with_chat_template

REPO_ROOT = Path(__file__).resolve().parents[2]
QWEN = CATALOG["qwen2.5-1.5b-instruct"]
GEMMA = "gemma-3-270m-q4_k_m.gguf"


@pytest.fixture(scope="module")
def chat_gguf(assembled_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_chat_template(assembled_models / "llm" / GEMMA, tmp_path_factory.mktemp("gguf") / "chat.gguf")


@pytest.fixture(scope="module")
def hub(chat_gguf: Path, assembled_models: Path) -> Iterator[FakeHub]:
    with FakeHub() as fake:
        fake.add_repo(QWEN.repo, {QWEN.filename: chat_gguf.read_bytes()}, lfs={QWEN.filename})
        fake.add_repo(
            "someone/base-GGUF",
            {"base.gguf": (assembled_models / "llm" / GEMMA).read_bytes()},
            lfs={"base.gguf"},
        )
        yield fake


def _models(tmp_path: Path, assembled_models: Path) -> Path:
    models = tmp_path / "models"
    for rel in ("piper/en_US-joe-medium.onnx", "piper/en_US-joe-medium.onnx.json", f"llm/{GEMMA}"):
        (models / rel).parent.mkdir(parents=True, exist_ok=True)
        (models / rel).hardlink_to(assembled_models / rel)
    (models / "whisper").mkdir()
    (models / "whisper" / "tiny.en").symlink_to(assembled_models / "whisper" / "tiny.en")
    return models


def _llm_health(live: LiveServer) -> dict[str, object]:
    providers = httpx.get(f"{live.url}/health").json()["providers"]["llm"]
    return dict(providers["llama_cpp"])


def test_llm_download_is_selected_and_used_by_the_app(
    tmp_path: Path, assembled_models: Path, hub: FakeHub
) -> None:
    models = _models(tmp_path, assembled_models)
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "download_models.py"),
            "--models-dir",
            str(models),
            "--llm",
            QWEN.name,
            "--hub-url",
            hub.url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_ENDPOINT": hub.url},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"selected {QWEN.name}" in proc.stderr
    assert (models / "llm" / QWEN.filename).stat().st_size == len(hub.file(QWEN.repo, QWEN.filename).content)
    assert json.loads((models / "llm" / SELECTED_NAME).read_text())["file"] == QWEN.filename
    listed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "download_models.py"), "--models-dir", str(models), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert (
        f"{QWEN.filename}" in listed and "(used by the app)" in listed.split(QWEN.filename)[1].splitlines()[0]
    )
    assert "*in use" in next(line for line in listed.splitlines() if line.strip().startswith(QWEN.name))

    # config.yml as shipped (llama_cpp.model empty, prompt_style auto): the app takes the selected model
    settings = make_settings({"whisper_local": {"preload": []}}, models=models)
    assert settings.llama_cpp.model is None and settings.llama_cpp.prompt_style == "auto"
    with LiveServer(settings) as live:
        status = _llm_health(live)
        assert status["model"] == QWEN.filename
        assert status["prompt_style"] == "chat" and status["tool_calling"] is True
        reply = httpx.post(f"{live.url}/api/chat", json={"text": "Hello! Who are you?"}, timeout=120)
        assert reply.status_code == 200, reply.text
        assert reply.json()["session_id"]

    # and back to the bundled model
    assert main(["--models-dir", str(models), "--llm", "bundled"]) == 0
    assert read_selected(models) is None
    with LiveServer(make_settings({"whisper_local": {"preload": []}}, models=models)) as live:
        status = _llm_health(live)
        assert (
            status["model"] == GEMMA
            and status["prompt_style"] == "completion"
            and status["tool_calling"] is False
        )


def test_any_gguf_on_the_hub_and_a_base_model_gets_the_completion_prompt(
    tmp_path: Path, assembled_models: Path, hub: FakeHub
) -> None:
    models = _models(tmp_path, assembled_models)
    assert (
        main(["--models-dir", str(models), "--llm", "someone/base-GGUF:base.gguf", "--hub-url", hub.url]) == 0
    )
    assert read_selected(models).file == "base.gguf"  # type: ignore[union-attr]
    with LiveServer(make_settings({"whisper_local": {"preload": []}}, models=models)) as live:
        status = _llm_health(live)
        assert status["model"] == "base.gguf" and status["prompt_style"] == "completion"
        reply = httpx.post(f"{live.url}/api/chat", json={"text": "Hello!"}, timeout=120)
        assert reply.status_code == 200 and reply.json()["reply"]


def test_config_model_wins_over_the_selection(
    tmp_path: Path, assembled_models: Path, chat_gguf: Path
) -> None:
    """llama_cpp.model in config.yml is obeyed whatever --llm selected."""
    models = _models(tmp_path, assembled_models)
    (models / "llm" / "chat.gguf").hardlink_to(chat_gguf)
    (models / "llm" / SELECTED_NAME).write_text(json.dumps({"file": "chat.gguf", "prompt_style": "auto"}))
    settings = make_settings({"whisper_local": {"preload": []}, "llama_cpp": {"model": GEMMA}}, models=models)
    with LiveServer(settings) as live:
        assert _llm_health(live)["model"] == GEMMA


def test_unknown_llm_and_missing_file_are_clear(
    tmp_path: Path, hub: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--models-dir", str(tmp_path), "--llm", "gpt-5-local", "--hub-url", hub.url]) == 1
    err = capsys.readouterr().err
    assert (
        "unknown LLM 'gpt-5-local'; known: qwen2.5-1.5b-instruct, qwen2.5-3b-instruct, gemma-3-1b-it" in err
    )
    assert main(["--models-dir", str(tmp_path), "--llm", f"{QWEN.repo}:nope.gguf", "--hub-url", hub.url]) == 1
    err = capsys.readouterr().err
    assert f"{QWEN.repo} has no nope.gguf (its GGUF files: {QWEN.filename})" in err
    assert not (tmp_path / "llm" / SELECTED_NAME).exists()


def test_a_broken_selection_file_falls_back_to_the_bundled_model(tmp_path: Path) -> None:
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / SELECTED_NAME).write_text("{not json")
    assert read_selected(tmp_path) is None
    (tmp_path / "llm" / SELECTED_NAME).write_text(json.dumps({"file": "../../etc/passwd"}))
    assert read_selected(tmp_path) is None

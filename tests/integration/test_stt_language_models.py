"""`stt.models`: whisper_local transcribes a language with that language's own model (a folder in
models/whisper/ or a path to a CTranslate2 model), loaded at startup; other languages with the default."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from backend.core.errors import ConfigError
from tests.conftest import LiveServer, make_settings
from tests.helpers.rest import speak, transcribe


def _models(tmp_path: Path, assembled: Path) -> Path:
    models = tmp_path / "models"
    for rel in (
        "piper/en_US-joe-medium.onnx",
        "piper/en_US-joe-medium.onnx.json",
        "llm/gemma-3-270m-q4_k_m.gguf",
    ):
        (models / rel).parent.mkdir(parents=True, exist_ok=True)
        (models / rel).hardlink_to(assembled / rel)
    for size in ("tiny.en", "base"):
        for file in (assembled / "whisper" / size).iterdir():
            (models / "whisper" / size).mkdir(parents=True, exist_ok=True)
            (models / "whisper" / size / file.name).hardlink_to(file)
    return models


def test_a_language_is_served_by_its_own_model(tmp_path: Path, assembled_models: Path) -> None:
    models = _models(tmp_path, assembled_models)
    # a CTranslate2 model outside models/whisper/, named by its path (here: a copy of base)
    tamil = tmp_path / "whisper-ta-ct2"
    tamil.mkdir()
    for file in (assembled_models / "whisper/base").iterdir():
        (tamil / file.name).hardlink_to(file)
    settings = make_settings(
        {
            "stt": {"model_size": "tiny.en", "models": {"hi": "base", "ta": str(tamil)}},
            "whisper_local": {"preload": []},
        },
        models=models,
    )
    with LiveServer(settings) as live:
        stt = httpx.get(f"{live.url}/health").json()["providers"]["stt"]["whisper_local"]
        assert set(stt["models_loaded"]) == {"tiny.en", "base", str(tamil)}  # all loaded at startup
        wav = speak(live.url, "Please book a table for two people at seven tonight.")
        hindi = transcribe(live.url, wav, "speech.wav", language="hi")
        assert hindi.status_code == 200, hindi.text
        assert hindi.json()["model"] == "base"
        english = transcribe(live.url, wav, "speech.wav", language="en")
        assert english.status_code == 200, english.text
        assert english.json()["model"] == "tiny.en"
        tamil_resp = transcribe(live.url, wav, "speech.wav", language="ta")
        assert tamil_resp.status_code == 200, tamil_resp.text
        assert tamil_resp.json()["model"] == str(tamil)
        named = transcribe(live.url, wav, "speech.wav", language="hi", model="tiny.en")  # a named model wins
        assert named.status_code == 422 and "English-only" in named.text


def test_a_missing_language_model_stops_startup(tmp_path: Path, assembled_models: Path) -> None:
    models = _models(tmp_path, assembled_models)
    settings = make_settings(
        {"stt": {"models": {"hi": "small"}}, "whisper_local": {"preload": []}}, models=models
    )
    with pytest.raises(RuntimeError, match=r"stt\.models\.hi: whisper model 'small' is neither a folder"):
        with LiveServer(settings):
            pass
    with pytest.raises(ConfigError, match=r"stt\.models: 'ne' is not in languages"):
        make_settings({"stt": {"models": {"ne": "base"}}}, models=models)

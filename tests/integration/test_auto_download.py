"""`models.auto_download`: the app starts at once, fetches the Piper voices its configuration needs from
the hub (the local stand-in, serving real Piper models under the voices' names) in the background, and
the next request speaks with them; an unreachable hub is one log line, and eSpeak NG speaks meanwhile."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, make_settings
from tests.fakes.hf_hub import FakeHub

HINDI = "hi_IN-pratham-medium"  # the catalogue's first Hindi voice (none of them verified commercial)
ENGLISH = "en_US-amy-medium"


def _models(tmp_path: Path, assembled: Path) -> Path:
    """A models dir with what startup needs (Piper joe, whisper tiny.en, the LLM) and no other voice."""
    models = tmp_path / "models"
    for rel in (
        "piper/en_US-joe-medium.onnx",
        "piper/en_US-joe-medium.onnx.json",
        "llm/gemma-3-270m-q4_k_m.gguf",
        *(f"whisper/tiny.en/{p.name}" for p in (assembled / "whisper/tiny.en").iterdir() if p.is_file()),
    ):
        (models / rel).parent.mkdir(parents=True, exist_ok=True)
        (models / rel).hardlink_to(assembled / rel)
    return models


def _settings(models: Path, hub_url: str, **tts: Any) -> Any:
    return make_settings(
        {
            "languages": ["en", "hi"],
            "models": {"auto_download": True, "hub_url": hub_url},
            "whisper_local": {"preload": []},
            **({"tts": tts} if tts else {}),
        },
        models=models,
    )


def _until(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.2)


def _installed(url: str, voice_id: str) -> bool:
    voices = {v["id"]: v for v in httpx.get(f"{url}/api/voices").json()}
    return bool(voices[voice_id]["installed"])


def _speak(url: str, **body: str) -> httpx.Response:
    return httpx.post(f"{url}/api/tts/generate", json={"text": "नमस्ते, आप कैसे हैं?", **body}, timeout=120)


def test_missing_voices_are_fetched_in_the_background_and_then_used(
    tmp_path: Path, assembled_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    models = _models(tmp_path, assembled_models)
    onnx = (assembled_models / "piper/en_US-joe-medium.onnx").read_bytes()
    config = json.loads((assembled_models / "piper/en_US-joe-medium.onnx.json").read_text())
    transfer = threading.Event()
    with FakeHub() as hub:
        hub.add_piper_voice_from(HINDI, onnx, config, hold=transfer)  # its download waits for the test
        hub.add_piper_voice_from(ENGLISH, onnx, config)
        # tts.voice_id names a voice the catalogue knows but that is not installed: startup goes on
        with LiveServer(_settings(models, hub.url, voice_id=ENGLISH)) as live:
            # started, ready and speaking Hindi (eSpeak NG) while the Hindi voice is still in transfer
            assert httpx.get(f"{live.url}/health/ready").status_code == 200
            _until("the Hindi download has begun", lambda: bool(hub.requests_for(f"/{HINDI}.onnx")))
            meanwhile = _speak(live.url, language="hi")
            assert meanwhile.status_code == 200 and meanwhile.headers["x-voice-id"] == "espeak-hi"
            assert not _installed(live.url, HINDI)
            transfer.set()
            _until("the Hindi voice is installed", lambda: _installed(live.url, HINDI))
            _until("the configured English voice is installed", lambda: _installed(live.url, ENGLISH))
            listed = httpx.get(f"{live.url}/api/voices", params={"language": "hi"}).json()
            hindi = {v["id"]: v for v in listed}
            assert hindi[HINDI]["installed"] and hindi[HINDI]["available"]
            assert "commercial_use" in hindi[HINDI]
            resp = _speak(live.url, language="hi")
            assert resp.status_code == 200, resp.text
            assert resp.headers["x-tts-provider"] == "piper" and resp.headers["x-voice-id"] == HINDI
            english = httpx.post(f"{live.url}/api/tts/generate", json={"text": "Hello there."}, timeout=120)
            assert english.status_code == 200 and english.headers["x-voice-id"] == ENGLISH
        # each file verified (md5 from voices.json) and fetched once; nothing else of the catalogue asked for
        assert [r.method for r in hub.requests_for(f"/{HINDI}.onnx")] == ["HEAD", "GET"]
        asked = {r.path.rsplit("/", 1)[-1] for r in hub.requests if r.path.endswith(".onnx")}
        assert asked == {f"{HINDI}.onnx", f"{ENGLISH}.onnx"}
    assert (models / f"piper/{HINDI}.onnx").read_bytes() == onnx
    logs = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"models.auto_download: fetching Piper voice {HINDI} (60.") for m in logs), logs
    assert any(m.startswith(f"models.auto_download: {HINDI} ready in") for m in logs), logs


def test_unreachable_hub_is_one_line_and_espeak_speaks_meanwhile(
    tmp_path: Path, assembled_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with FakeHub() as fake:
        dead_url = fake.url  # the port is free again once the stand-in is stopped
    models = _models(tmp_path, assembled_models)
    with LiveServer(_settings(models, dead_url)) as live:
        _until(
            "the hub is reported unreachable",
            lambda: any("models.auto_download" in r.getMessage() for r in caplog.records),
            timeout=30,
        )
        resp = _speak(live.url, language="hi")
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-tts-provider"] == "espeak" and resp.headers["x-voice-id"] == "espeak-hi"
        assert not _installed(live.url, HINDI)
    lines = [r.getMessage() for r in caplog.records if "models.auto_download" in r.getMessage()]
    assert lines == [
        f"models.auto_download: cannot reach the hub at {dead_url} ([Errno 111] Connection refused); "
        f"eSpeak NG speaks hi meanwhile (not fetched: {HINDI})"
    ], lines
    assert not (models / "piper" / f"{HINDI}.onnx").exists()


def test_off_fetches_nothing(
    tmp_path: Path, assembled_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    models = _models(tmp_path, assembled_models)
    with FakeHub() as hub:
        settings = _settings(models, hub.url)
        settings.models.auto_download = False
        with LiveServer(settings) as live:
            assert _speak(live.url, language="hi").headers["x-tts-provider"] == "espeak"
            assert live.app.state.auto_download.plan() == {}
        assert hub.requests == []
    assert not any("models.auto_download" in r.getMessage() for r in caplog.records)

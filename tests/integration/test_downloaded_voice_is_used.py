"""A voice fetched with `download_models.py --voices` (from a local stand-in for the hub) is listed as
installed and speaks its language through the API, instead of the eSpeak NG fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx

import download_models
from tests.conftest import LiveServer, make_settings
from tests.fakes.hf_hub import FakeHub

VOICE = "hi_IN-pratham-medium"


def test_downloaded_piper_voice_serves_its_language(tmp_path: Path, assembled_models: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(assembled_models / "whisper" / "tiny.en", models / "whisper" / "tiny.en")
    for rel in (
        "piper/en_US-joe-medium.onnx",
        "piper/en_US-joe-medium.onnx.json",
        "llm/gemma-3-270m-q4_k_m.gguf",
    ):
        (models / rel).parent.mkdir(parents=True, exist_ok=True)
        (models / rel).hardlink_to(assembled_models / rel)

    # The hub serves a real Piper model under the Hindi voice's name, with a Hindi config.
    onnx = (assembled_models / "piper" / "en_US-joe-medium.onnx").read_bytes()
    config = json.loads((assembled_models / "piper" / "en_US-joe-medium.onnx.json").read_text())
    config["language"] = {"code": "hi_IN", "family": "hi", "region": "IN", "name_english": "Hindi"}
    config["espeak"] = {"voice": "hi"}
    with FakeHub() as hub:
        hub.add_piper_voice(VOICE, onnx, json.dumps(config).encode())
        code = download_models.main(["--models-dir", str(models), "--hub-url", hub.url, "--voices", VOICE])
    assert code == 0
    assert (models / "piper" / f"{VOICE}.onnx").stat().st_size == len(onnx)

    settings = make_settings({"whisper_local": {"preload": []}}, models=models)
    with LiveServer(settings) as live:
        voices = {v["id"]: v for v in httpx.get(f"{live.url}/api/voices", params={"language": "hi"}).json()}
        assert voices[VOICE]["installed"] and voices[VOICE]["available"]
        assert voices[VOICE]["gender"] == "male"  # from the manifest, not guessed
        resp = httpx.post(f"{live.url}/api/tts/generate", json={"text": "नमस्ते दोस्तों।", "language": "hi"})
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-tts-provider"] == "piper"
        assert resp.headers["x-voice-id"] == VOICE
        languages = {lang["code"]: lang for lang in httpx.get(f"{live.url}/api/languages").json()}
        assert languages["hi"]["default_voice"] == VOICE
        assert languages["ta"]["default_voice"] == "espeak-ta"

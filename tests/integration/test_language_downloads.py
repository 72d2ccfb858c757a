"""The voice catalogue's neural voices and their licences, and `download_models.py --language CODE`: the
best voice for a language and its recognition model in one step, from the local stand-in for the hub."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.core.config import PROJECT_ROOT
from backend.models.cli import main
from backend.models.voices import Catalog, CatalogVoice, read_catalog
from backend.speech.catalog import Voice
from tests.fakes.hf_hub import FakeHub

LANGUAGES = ("en", "hi", "ml", "mr", "ta", "te", "bn", "gu")
WHISPER_BASE = "Systran/faster-whisper-base"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


def _rand(n: int, seed: int) -> bytes:
    return hashlib.shake_256(seed.to_bytes(4, "little")).digest(n)


def _serve_whisper_base(hub: FakeHub) -> dict[str, bytes]:
    files = {
        "config.json": b'{"lang_ids": [50259]}',
        "model.bin": _rand(400_000, 7),
        "tokenizer.json": b'{"model": {}}',
        "vocabulary.txt": b"<|endoftext|>\n",
    }
    hub.add_repo(WHISPER_BASE, files)
    return files


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def test_catalogue_lists_neural_voices_for_the_languages_with_licences() -> None:
    raw = json.loads((PROJECT_ROOT / "voice_assets/voices.manifest.json").read_text())["voices"]
    voices = [Voice(**entry) for entry in raw]
    neural = [v for v in voices if v.engine == "piper" and v.language in LANGUAGES]
    assert len(neural) >= 19, [v.id for v in neural]
    ids = {v.id for v in neural}
    assert {"mr_IN-google-medium", "bn_BD-google-medium", "en_US-lessac-medium"} <= ids
    assert {"en_US-amy-medium", "en_GB-alba-medium", "en_US-ryan-medium"} <= ids
    for entry in raw:  # every voice states whether it may be used commercially (null: not verified)
        assert "commercial_use" in entry and entry["commercial_use"] in (True, False, None), entry["id"]
        if entry["license"].startswith("unverified"):
            assert entry["commercial_use"] is None, entry["id"]
        assert entry["license"] != "see MODEL_CARD", entry["id"]
    by_id = {v.id: v for v in voices}
    assert by_id["en_US-lessac-medium"].commercial_use is False  # a research-only licence
    assert by_id["en_US-joe-medium"].commercial_use is True
    assert all(v.sample_rate == 22050 for v in neural if v.quality == "medium")


def test_best_voice_prefers_a_commercial_licence_then_catalogue_order() -> None:
    def voice(voice_id: str, commercial: bool | None, engine: str = "piper") -> CatalogVoice:
        return CatalogVoice(voice_id, "hi", engine, "x", commercial)

    catalog = Catalog(
        (voice("espeak-hi", True, "espeak"), voice("a", False), voice("b", None), voice("c", True)), {}
    )
    assert catalog.best_voice("hi") == voice("c", True)
    assert Catalog(catalog.voices[:3], {}).best_voice("hi") == voice("b", None)
    assert Catalog(catalog.voices[:1], {}).best_voice("hi") is None
    real = read_catalog()
    assert real.best_voice("mr") is not None and real.best_voice("mr").id == "mr_IN-google-medium"
    assert real.best_voice("bn") is not None and real.best_voice("bn").id == "bn_BD-google-medium"
    assert real.best_voice("en") is not None and real.best_voice("en").commercial_use is True
    assert real.best_voice("ta") is None and real.best_voice("gu") is None
    assert real.stt_model("hi") == "base"


def test_language_fetches_its_best_voice_and_recognition_model(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["hi_IN-pratham-medium", "hi_IN-priyamvada-medium", "hi_IN-rohan-medium"]
    voices = {voice_id: _rand(150_000 + i, i) for i, voice_id in enumerate(names)}
    for voice_id, onnx in voices.items():
        hub.add_piper_voice(voice_id, onnx, json.dumps({"audio": {"sample_rate": 22050}}).encode())
    whisper = _serve_whisper_base(hub)
    models = tmp_path / "models"
    args = ["--models-dir", str(models), "--hub-url", hub.url, "--language", "hi"]

    rc, out = _run(args, capsys)
    assert rc == 0, out
    best = read_catalog().best_voice("hi")
    assert best is not None
    assert sorted(p.name for p in (models / "piper").iterdir()) == [f"{best.id}.onnx", f"{best.id}.onnx.json"]
    assert (models / "piper" / f"{best.id}.onnx").read_bytes() == voices[best.id]
    for name, data in whisper.items():
        assert (models / "whisper/base" / name).read_bytes() == data
    assert f"hi: voice {best.id}" in out and "licence:" in out and "hi: recognition model whisper/base" in out

    # again: both verified in place, nothing fetched twice
    onnx_gets = len(hub.requests_for(f"{best.id}.onnx"))
    rc, out = _run(args, capsys)
    assert rc == 0, out
    assert len(hub.requests_for(f"{best.id}.onnx")) == onnx_gets
    assert "whisper/base already installed" in out and "0 written" in out


def test_language_voice_failing_its_checksum_is_refused(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_piper_voice("mr_IN-google-medium", _rand(90_000, 3), b"{}", corrupt=True)
    _serve_whisper_base(hub)
    rc, out = _run(["--models-dir", str(tmp_path), "--hub-url", hub.url, "--language", "mr"], capsys)
    assert rc == 1
    assert "md5 checksum mismatch" in out and "Traceback" not in out
    assert not (tmp_path / "piper/mr_IN-google-medium.onnx").exists()


def test_language_without_a_neural_voice_says_espeak_speaks_it(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve_whisper_base(hub)
    rc, out = _run(["--models-dir", str(tmp_path), "--hub-url", hub.url, "--language", "ta"], capsys)
    assert rc == 0, out
    assert "ta: no neural (Piper) voice in the catalogue; eSpeak NG speaks it (espeak-ta)" in out
    assert (tmp_path / "whisper/base/model.bin").is_file()
    assert not (tmp_path / "piper").exists()
    assert not hub.requests_for("voices.json")


def test_unknown_language_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--models-dir", str(tmp_path), "--language", "xx"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--language: unknown language 'xx'; known: en, hi" in err


def test_list_shows_each_voice_licence_and_flags_non_commercial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--list", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert "NON-COMMERCIAL: Blizzard 2013 Lessac research licence" in lines["en_US-lessac-medium"]
    assert "CC-BY-4.0" in lines["en_GB-alba-medium"] and "NON-COMMERCIAL" not in lines["en_GB-alba-medium"]
    assert "unverified: see MODEL_CARD" in lines["mr_IN-google-medium"]
    assert "best" in lines["mr_IN-google-medium"] and "best" in lines["bn_BD-google-medium"]
    assert "(no Piper voice for ta, gu: eSpeak NG speaks them)" in out

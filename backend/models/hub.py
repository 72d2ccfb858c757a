"""Downloads from the Hugging Face hub, through ``huggingface_hub``.

``hf_hub_download`` does the transfer: ``HF_ENDPOINT`` (or ``--hub-url``), ``HF_HUB_OFFLINE``,
``HF_TOKEN``, its progress bars, resuming a dropped connection with ``Range``, its size check and
its local-folder metadata. On top of it, this module:

* knows what checksum each file must have (the repo tree's sha256 for LFS files and git blob sha1
  for the others; ``voices.json``'s md5 for Piper voices) and checks it before a file is used;
* retries a transfer that failed in a way worth retrying (5xx, 429, a dropped connection);
* turns the hub's errors into one line that says what to do (unknown repo, gated model, offline).

Layout: ``models/piper/<voice_id>.onnx(.json)`` (a voice's files live deep in
``rhasspy/piper-voices``; they are fetched into ``models/.hub/`` and moved up),
``models/whisper/<name>/`` (a faster-whisper repo's files), ``models/llm/<file>.gguf``.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from backend.models.common import (
    Checksum,
    ChecksumError,
    DownloadError,
    DownloadReport,
    RepoNotFoundError,
    UnknownVoiceError,
    hash_file,
    hub_url_from_env,
    unlink_quiet,
    verify_file,
)

log = logging.getLogger("mithivoices.models")

PIPER_VOICES_REPO = "rhasspy/piper-voices"
STAGING_DIR = ".hub"
#: how requests introduce themselves: "mithivoices/1.0; hf_hub/<version>; python/<version>"
LIBRARY_NAME, LIBRARY_VERSION = "mithivoices", "1.0"

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

T = TypeVar("T")
_REACHED: set[str] = set()  # endpoints that answered a connection in this process


@dataclass(frozen=True)
class RemoteFile:
    """A file in a hub repo and what it must be once downloaded."""

    path: str
    size: int | None
    checksum: Checksum | None


@dataclass(frozen=True)
class Hub:
    """One hub (``endpoint``) and how hard to try."""

    endpoint: str
    retries: int = 3
    backoff: float = 0.5

    @classmethod
    def from_env(cls, endpoint: str | None = None, **kwargs: Any) -> Hub:
        """``endpoint``, else ``HF_ENDPOINT``, else huggingface.co."""
        return cls((endpoint or hub_url_from_env()).rstrip("/"), **kwargs)

    # -- the hub's API -------------------------------------------------------------------------

    def files(self, repo: str) -> dict[str, RemoteFile]:
        """Every file at the top of ``repo`` with its size and checksum (``HfApi.list_repo_tree``)."""
        from huggingface_hub import HfApi
        from huggingface_hub.hf_api import RepoFile

        api = HfApi(endpoint=self.endpoint, library_name=LIBRARY_NAME, library_version=LIBRARY_VERSION)
        entries = self._retrying(f"the file list of {repo}", lambda: list(api.list_repo_tree(repo)))
        found: dict[str, RemoteFile] = {}
        for entry in entries:
            if not isinstance(entry, RepoFile):
                continue
            if entry.lfs is not None:
                checksum = Checksum("sha256", entry.lfs.sha256)
                size = entry.lfs.size
            else:
                checksum, size = Checksum("git-sha1", entry.blob_id), entry.size
            found[entry.path] = RemoteFile(entry.path, size, checksum)
        return found

    def fetch(self, repo: str, remote: RemoteFile, local_dir: Path) -> tuple[Path, bool]:
        """Download ``remote`` into ``local_dir/<its path>`` unless it is there and verified.

        Returns the local path and whether it was downloaded. A file that fails its size or checksum
        is deleted and :class:`ChecksumError` raised.
        """
        target = local_dir / remote.path
        if _verified(target, remote, local_dir):
            return target, False
        from huggingface_hub import hf_hub_download

        local_dir.mkdir(parents=True, exist_ok=True)

        def download() -> str:
            return str(
                hf_hub_download(
                    repo_id=repo,
                    filename=remote.path,
                    local_dir=local_dir,
                    endpoint=self.endpoint,
                    force_download=target.exists(),  # there but wrong: fetch it again
                    library_name=LIBRARY_NAME,
                    library_version=LIBRARY_VERSION,
                )
            )

        got = Path(self._retrying(f"{repo}/{remote.path}", download))
        verify_file(got, remote.size, remote.checksum)
        return got, True

    def _reach(self) -> None:
        """Connect to the hub once before asking it anything: when nothing answers there (no network, a
        wrong ``--hub-url``), say so now, after ``retries`` tries, instead of after huggingface_hub's own
        half-minute of backoff."""
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE or self.endpoint in _REACHED:
            return
        for attempt in range(self.retries + 1):
            try:
                self._connect()
            except OSError as exc:
                if attempt == self.retries:
                    raise DownloadError(f"cannot reach the hub at {self.endpoint} ({exc})") from None
                log.warning(
                    "cannot reach the hub at %s (%s); retrying (%d/%d)",
                    self.endpoint,
                    exc,
                    attempt + 1,
                    self.retries,
                )
                time.sleep(self.backoff * 2**attempt)
            else:
                return

    def _connect(self, timeout: float = 10) -> None:
        """One TCP connection to the hub (raises OSError when nothing answers)."""
        url = urlsplit(self.endpoint)
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
        _REACHED.add(self.endpoint)

    def unreachable(self, timeout: float = 10) -> str | None:
        """Why the hub cannot be reached now (one TCP probe, no retries; ``HF_HUB_OFFLINE`` counts), or
        None when it answers: for a caller that says so in one line instead of retrying."""
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            return "HF_HUB_OFFLINE is set"
        try:
            self._connect(timeout)
        except OSError as exc:
            return f"cannot reach the hub at {self.endpoint} ({exc})"
        return None

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        """``call()``, retried on 5xx, 429 and connection errors; hub errors become :class:`DownloadError`."""
        from huggingface_hub import constants, errors

        self._reach()
        failures = 0
        while True:
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 - sorted below into retry or a one-line error
                retry, message = _describe(exc, what, self.endpoint, constants.HF_HUB_OFFLINE)
                if isinstance(exc, errors.RepositoryNotFoundError) and not isinstance(exc, errors.GatedRepoError):
                    raise RepoNotFoundError(message) from None
                if not retry:
                    raise DownloadError(message) from None
                if failures >= self.retries:
                    raise DownloadError(f"{message}; gave up after {failures + 1} attempts") from None
                failures += 1
                log.warning("%s; retrying (%d/%d)", message, failures, self.retries)
                time.sleep(self.backoff * 2 ** (failures - 1))


def _verified(target: Path, remote: RemoteFile, local_dir: Path) -> bool:
    """Whether ``target`` is already the file ``remote`` describes.

    After a download the file's checksum was checked and huggingface_hub wrote its etag to the local
    folder's metadata; when that etag is the checksum and the size still matches, the file is not read
    again (a multi-GB model is not re-hashed on every run).
    """
    if not target.is_file() or (remote.size is not None and target.stat().st_size != remote.size):
        return False
    if remote.checksum is None:
        return True
    from huggingface_hub._local_folder import read_download_metadata

    metadata = read_download_metadata(local_dir, remote.path)
    if metadata is not None and metadata.etag == remote.checksum.hexdigest:
        return True
    return hash_file(target, remote.checksum) == remote.checksum.hexdigest.lower()


def _describe(exc: Exception, what: str, endpoint: str, offline: bool) -> tuple[bool, str]:
    """(worth retrying, one line saying what went wrong and what to do)."""
    import httpx2
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled) or (
        offline and isinstance(exc, errors.LocalEntryNotFoundError)
    ):
        return False, f"HF_HUB_OFFLINE is set: cannot download {what}; unset it to use the hub at {endpoint}"
    if isinstance(exc, errors.GatedRepoError):
        return False, (
            f"{what}: the repo is gated; accept its licence on the hub and set HF_TOKEN (HTTP "
            f"{exc.response.status_code})"
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return False, f"{what}: repo not found on {endpoint} (or private: set HF_TOKEN)"
    if isinstance(exc, errors.RevisionNotFoundError):
        return False, f"{what}: revision not found on {endpoint}"
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return False, f"{what}: not found (HTTP 404) on {endpoint}"
    if isinstance(exc, errors.HfHubHTTPError):
        status = exc.response.status_code
        return status >= 500 or status == 429, f"{what}: HTTP {status} from {endpoint}"
    if isinstance(exc, errors.LocalEntryNotFoundError):  # the HEAD call could not reach the hub
        cause = exc.__cause__ or exc.__context__
        return True, f"cannot reach the hub at {endpoint} for {what} ({type(cause or exc).__name__})"
    if isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError)):
        return True, f"cannot reach the hub at {endpoint} for {what} ({type(exc).__name__}: {exc})"
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return True, f"{what}: the download came back short"
    if isinstance(exc, ValueError):  # bad repo id or file name
        return False, f"{what}: {exc}"
    raise exc


# --------------------------------------------------------------------------------------------
# Piper voices
# --------------------------------------------------------------------------------------------


def fetch_piper_catalog(hub: Hub, models_dir: Path) -> dict[str, Any]:
    """``voices.json`` of ``rhasspy/piper-voices`` (fetched again when the hub's copy changed)."""
    from huggingface_hub import hf_hub_download

    staging = models_dir / STAGING_DIR / PIPER_VOICES_REPO
    path = hub._retrying(
        f"{PIPER_VOICES_REPO}/voices.json",
        lambda: hf_hub_download(
            repo_id=PIPER_VOICES_REPO,
            filename="voices.json",
            local_dir=staging,
            endpoint=hub.endpoint,
            library_name=LIBRARY_NAME,
            library_version=LIBRARY_VERSION,
        ),
    )
    try:
        data = json.loads(Path(str(path)).read_text(encoding="utf-8"))
    except ValueError as exc:
        unlink_quiet(Path(str(path)))
        raise DownloadError(f"invalid voices.json from {hub.endpoint}: {exc}") from None
    if not isinstance(data, dict):
        raise DownloadError("unexpected voices.json format (expected an object keyed by voice id)")
    return data


def resolve_piper_voices(catalog: dict[str, Any], voice_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Map requested ids (or aliases) to catalog entries.

    Raises :class:`UnknownVoiceError` (with close matches) if any id is unknown.
    """
    aliases: dict[str, str] = {}
    for name, entry in catalog.items():
        for alias in (entry.get("aliases") or []) if isinstance(entry, dict) else []:
            aliases[str(alias)] = name
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


def _voice_files(voice_id: str, entry: dict[str, Any]) -> list[tuple[RemoteFile, str]]:
    """(remote file, local file name) for the .onnx.json then the .onnx of a voice."""
    files = entry.get("files")
    if not isinstance(files, dict):
        raise DownloadError(f"voices.json entry for {voice_id} has no file list")
    found: dict[str, RemoteFile] = {}
    for path, info in files.items():
        info = info if isinstance(info, dict) else {}
        md5, size = info.get("md5_digest"), info.get("size_bytes")
        for suffix in (".onnx.json", ".onnx"):
            if path.endswith(suffix):
                found[suffix] = RemoteFile(
                    path,
                    size if isinstance(size, int) else None,
                    Checksum("md5", md5) if isinstance(md5, str) and md5 else None,
                )
                break
    if set(found) != {".onnx", ".onnx.json"}:
        raise DownloadError(f"voices.json entry for {voice_id} lacks an .onnx or .onnx.json file")
    return [(found[s], f"{voice_id}{s}") for s in (".onnx.json", ".onnx")]


def download_piper_voices(voice_ids: Sequence[str], models_dir: Path, hub: Hub) -> DownloadReport:
    """Download Piper voices into ``models_dir/piper/<voice_id>.onnx(.json)``, verifying size and md5.

    All ids are checked against ``voices.json`` before anything is downloaded; unknown ids raise
    :class:`UnknownVoiceError` with close matches.
    """
    report = DownloadReport()
    voices = resolve_piper_voices(fetch_piper_catalog(hub, models_dir), voice_ids)
    piper_dir = models_dir / "piper"
    staging = models_dir / STAGING_DIR / PIPER_VOICES_REPO
    for voice_id, entry in voices.items():
        for remote, local in _voice_files(voice_id, entry):
            dest = piper_dir / local
            if _verified(dest, RemoteFile(local, remote.size, remote.checksum), piper_dir):
                report.skipped.append(dest)
                log.info("already present: piper/%s", local)
                continue
            got, _ = hub.fetch(PIPER_VOICES_REPO, remote, staging)
            piper_dir.mkdir(parents=True, exist_ok=True)
            os.replace(got, dest)
            report.downloaded.append(dest)
            log.info("downloaded piper/%s", local)
    return report


# --------------------------------------------------------------------------------------------
# faster-whisper models
# --------------------------------------------------------------------------------------------


def whisper_repo_for(size: str) -> tuple[str, str]:
    """``(hub repo id, local dir name)`` for a whisper size or an ``owner/name`` repo id."""
    if "/" in size:
        name = size.rstrip("/").rsplit("/", 1)[1]
        for prefix in ("faster-distil-whisper-", "faster-whisper-"):
            if name.startswith(prefix):
                name = ("distil-" if "distil" in prefix else "") + name[len(prefix) :]
                break
        return size.rstrip("/"), name
    return WHISPER_REPOS.get(size, f"Systran/faster-whisper-{size}"), size


def _whisper_files(files: dict[str, RemoteFile], repo: str) -> list[RemoteFile]:
    wanted = [*WHISPER_REQUIRED_FILES, *WHISPER_VOCABULARY_FILES, *WHISPER_OPTIONAL_FILES]
    missing = [name for name in WHISPER_REQUIRED_FILES if name not in files]
    if not any(name in files for name in WHISPER_VOCABULARY_FILES):
        missing.append(" or ".join(WHISPER_VOCABULARY_FILES))
    if missing:
        raise DownloadError(
            f"{repo} does not look like a faster-whisper model (missing: {', '.join(missing)})"
        )
    chosen = [files[name] for name in wanted if name in files]
    chosen.sort(key=lambda f: f.path == "model.bin")  # model.bin last: the dir is not ready before it
    return chosen


def download_whisper(size: str, models_dir: Path, hub: Hub) -> DownloadReport:
    """Download a faster-whisper model into ``models_dir/whisper/<size>/``, every file verified."""
    repo, local_name = whisper_repo_for(size)
    try:
        files = _whisper_files(hub.files(repo), repo)
    except RepoNotFoundError:
        raise DownloadError(f"unknown whisper model '{size}': repo {repo} not found on {hub.endpoint}") from None
    report = DownloadReport()
    target = models_dir / "whisper" / local_name
    for remote in files:
        path, downloaded = hub.fetch(repo, remote, target)
        (report.downloaded if downloaded else report.skipped).append(path)
        log.info(
            "%s whisper/%s/%s", "downloaded" if downloaded else "already present:", local_name, remote.path
        )
    return report


def download_whisper_models(sizes: Sequence[str], models_dir: Path, hub: Hub) -> DownloadReport:
    """Download several faster-whisper models (see :func:`download_whisper`)."""
    report = DownloadReport()
    for size in sizes:
        report.add(download_whisper(size, models_dir, hub))
    return report


__all__ = [
    "PIPER_VOICES_REPO",
    "ChecksumError",
    "Hub",
    "RemoteFile",
    "download_piper_voices",
    "download_whisper",
    "download_whisper_models",
    "fetch_piper_catalog",
    "resolve_piper_voices",
    "whisper_repo_for",
]

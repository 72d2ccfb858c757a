"""Local LLMs: the instruct GGUF models ``download_models.py --llm NAME`` installs, and which one the
app uses.

Every entry is a Q4_K_M GGUF from a public, ungated repo (bartowski's quantisations, made with
llama.cpp, each carrying its model's chat template). Sizes are the hub's; RAM is the file plus the
KV cache of a 2048-token context, measured or worked out from the model's shape; tokens/s is
measured on this project's 2-core bench machine where we ran it, otherwise estimated from the
bundled Gemma 270M's measured speed scaled by file size (decoding on a CPU is memory-bound) and
marked "~".

``--llm NAME`` also *selects* the model: it writes ``models/llm/selected.json`` and the app's
``llama_cpp`` provider loads that file (with the chat prompt, the model's own template and, where the
template takes tools, the agent's tools) whenever ``llama_cpp.model`` is not set in config.yml.
``--llm bundled`` goes back to Gemma 3 270M.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backend.models.bundled import GEMMA_FILENAME
from backend.models.common import DownloadError, DownloadReport
from backend.models.hub import Hub

log = logging.getLogger("mithivoices.models")

SELECTED_NAME = "selected.json"
BUNDLED_LLM = "bundled"
#: the bundled Gemma 3 270M Q4_K_M generates 54 tokens/s on the 2-core bench machine
#: (docs/BENCHMARKS.md, agent turns); a Q4_K_M model N times its size runs about N times slower.
_BUNDLED_TOKENS_PER_S = 54.0
_BUNDLED_BYTES = 253_000_000


@dataclass(frozen=True)
class LLMModel:
    """One installable local LLM."""

    name: str
    repo: str
    filename: str
    size_bytes: int
    ram_gib: float
    licence: str
    tools: bool
    """whether its chat template offers tools (the agent then lets the model call them)"""

    @property
    def tokens_per_s(self) -> float:
        """Estimated generation speed on 2 CPU cores (see the module docstring)."""
        return round(_BUNDLED_TOKENS_PER_S * _BUNDLED_BYTES / self.size_bytes, 1)


CATALOG: dict[str, LLMModel] = {
    m.name: m
    for m in (
        LLMModel(
            "qwen2.5-1.5b-instruct",
            "bartowski/Qwen2.5-1.5B-Instruct-GGUF",
            "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf",
            986_000_000,
            1.3,
            "Apache-2.0",
            True,
        ),
        LLMModel(
            "qwen2.5-3b-instruct",
            "bartowski/Qwen2.5-3B-Instruct-GGUF",
            "Qwen2.5-3B-Instruct-Q4_K_M.gguf",
            1_930_000_000,
            2.3,
            "Qwen Research (non-commercial)",
            True,
        ),
        LLMModel(
            "gemma-3-1b-it",
            "bartowski/google_gemma-3-1b-it-GGUF",
            "google_gemma-3-1b-it-Q4_K_M.gguf",
            806_000_000,
            1.1,
            "Gemma Terms of Use",
            False,
        ),
        LLMModel(
            "gemma-3-4b-it",
            "bartowski/google_gemma-3-4b-it-GGUF",
            "google_gemma-3-4b-it-Q4_K_M.gguf",
            2_490_000_000,
            3.1,
            "Gemma Terms of Use",
            False,
        ),
        LLMModel(
            "llama-3.2-3b-instruct",
            "bartowski/Llama-3.2-3B-Instruct-GGUF",
            "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
            2_020_000_000,
            2.6,
            "Llama 3.2 Community Licence",
            True,
        ),
    )
}


@dataclass(frozen=True)
class SelectedLLM:
    """What ``models/llm/selected.json`` says: the GGUF file (in ``models/llm/``) and its prompt style."""

    file: str
    prompt_style: str = "chat"
    name: str = ""


def read_selected(models_dir: Path) -> SelectedLLM | None:
    """The model ``--llm`` selected, or None (none selected, or the file is unreadable: logged)."""
    path = models_dir / "llm" / SELECTED_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        selected = SelectedLLM(
            str(data["file"]), str(data.get("prompt_style", "chat")), str(data.get("name", ""))
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring %s (%s): using the bundled model", path, exc)
        return None
    if Path(selected.file).name != selected.file or selected.prompt_style not in (
        "chat",
        "completion",
        "auto",
    ):
        log.warning(
            "ignoring %s (file must be a name in models/llm/, prompt_style chat|completion|auto)", path
        )
        return None
    return selected


def write_selected(models_dir: Path, selected: SelectedLLM | None) -> None:
    """Select a model (None: back to the bundled one)."""
    path = models_dir / "llm" / SELECTED_NAME
    if selected is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(selected), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def unknown_llm(name: str) -> DownloadError:
    """The error for a name not in the catalogue, listing the known ones."""
    known = ", ".join([*CATALOG, BUNDLED_LLM])
    return DownloadError(f"unknown LLM '{name}'; known: {known} (or an owner/repo:file.gguf on the hub)")


def resolve_llm(name: str) -> LLMModel:
    """A catalogue entry, or ``owner/repo:file.gguf`` for any GGUF on the hub."""
    if name in CATALOG:
        return CATALOG[name]
    repo, sep, filename = name.partition(":")
    if sep and repo.count("/") == 1 and filename.endswith(".gguf") and "/" not in filename:
        return LLMModel(filename.removesuffix(".gguf").lower(), repo, filename, 0, 0.0, "see the repo", True)
    raise unknown_llm(name)


def download_llm(name: str, models_dir: Path, hub: Hub, *, select: bool = True) -> DownloadReport:
    """Download an instruct GGUF into ``models/llm/`` (sha256 from the repo tree) and select it."""
    report = DownloadReport()
    if name == BUNDLED_LLM:
        if select:
            write_selected(models_dir, None)
            log.info("selected the bundled %s", GEMMA_FILENAME)
        return report
    model = resolve_llm(name)
    files = hub.files(model.repo)
    remote = files.get(model.filename)
    if remote is None:
        ggufs = ", ".join(sorted(p for p in files if p.endswith(".gguf"))) or "none"
        raise DownloadError(f"{model.repo} has no {model.filename} (its GGUF files: {ggufs})")
    path, downloaded = hub.fetch(model.repo, remote, models_dir / "llm")
    (report.downloaded if downloaded else report.skipped).append(path)
    log.info("%s llm/%s", "downloaded" if downloaded else "already present:", model.filename)
    if select:
        write_selected(models_dir, SelectedLLM(model.filename, "auto", model.name))
        log.info("selected %s: the app uses it from its next start (llama_cpp.model unset)", model.name)
    return report


def catalog_rows(installed: dict[str, int]) -> list[dict[str, Any]]:
    """One row per catalogue model for ``--list``."""
    return [
        {
            "name": m.name,
            "installed": m.filename in installed,
            "disk": m.size_bytes,
            "ram_gib": m.ram_gib,
            "tokens_per_s": m.tokens_per_s,
            "tools": m.tools,
            "licence": m.licence,
        }
        for m in CATALOG.values()
    ]

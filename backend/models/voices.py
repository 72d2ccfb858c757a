"""The voice catalogue (``voice_assets/voices.manifest.json``) as the model tooling reads it: which voice
is best for a language, which recognition model goes with it, and ``--language``: both in one step.

The best voice for a language is its first neural (Piper) voice in the catalogue whose licence allows
commercial use, else the first whose licence is not verified, else the first at all; the catalogue's
order is the preference. The recognition model is the one the catalogue's ``stt_models`` names for the
language, else multilingual faster-whisper ``base``. The app's ``models.auto_download`` picks voices by
the same rule (``backend/app/auto_download.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.models.common import REPO_ROOT, DownloadError, DownloadReport, human_size
from backend.models.hub import (
    WHISPER_REQUIRED_FILES,
    WHISPER_VOCABULARY_FILES,
    Hub,
    download_piper_voices,
    download_whisper,
    fetch_piper_catalog,
    resolve_piper_voices,
    whisper_repo_for,
)

log = logging.getLogger("mithivoices.models")

MANIFEST = REPO_ROOT / "voice_assets" / "voices.manifest.json"
NEURAL_ENGINE = "piper"
MULTILINGUAL_WHISPER = "base"


@dataclass(frozen=True)
class CatalogVoice:
    """One catalogue entry, as much of it as the model tooling needs."""

    id: str
    language: str
    engine: str
    license: str
    commercial_use: bool | None

    @property
    def neural(self) -> bool:
        """A Piper voice (downloadable from the hub), not a rule-based eSpeak NG one."""
        return self.engine == NEURAL_ENGINE


@dataclass(frozen=True)
class Catalog:
    """The voices in catalogue order and the per-language recognition models it names."""

    voices: tuple[CatalogVoice, ...]
    stt_models: Mapping[str, str]

    @property
    def languages(self) -> list[str]:
        """Every language the catalogue has a voice for, in order of first appearance."""
        return list(dict.fromkeys(v.language for v in self.voices))

    def get(self, voice_id: str) -> CatalogVoice | None:
        """The entry for ``voice_id``, or None."""
        return next((v for v in self.voices if v.id == voice_id), None)

    def best_voice(self, language: str) -> CatalogVoice | None:
        """The neural voice ``--language`` and auto-download fetch for ``language`` (module docstring)."""
        return best_voice(self.voices, language)

    def stt_model(self, language: str) -> str:
        """The faster-whisper model for ``language``: the catalogue's choice, else ``base``."""
        return self.stt_models.get(language, MULTILINGUAL_WHISPER)


def _commercial_rank(commercial_use: bool | None) -> int:
    return 0 if commercial_use is True else 1 if commercial_use is None else 2


def best_voice(voices: Iterable[Any], language: str) -> Any | None:
    """The first neural voice of ``language`` with the friendliest licence (commercial use allowed, then
    not verified, then non-commercial); ``voices`` are in catalogue order and have ``id``, ``language``,
    ``engine`` and ``commercial_use`` attributes (a :class:`CatalogVoice` or the app's ``Voice``)."""
    neural = [v for v in voices if v.language == language and v.engine == NEURAL_ENGINE]
    return min(neural, key=lambda v: _commercial_rank(v.commercial_use), default=None)


def read_catalog(path: Path | None = None) -> Catalog:
    """Read the catalogue (``voice_assets/voices.manifest.json`` unless ``path``)."""
    path = path or MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        voices = tuple(
            CatalogVoice(
                id=str(entry["id"]),
                language=str(entry["language"]),
                engine=str(entry["engine"]),
                license=str(entry.get("license") or "unverified: see MODEL_CARD"),
                commercial_use=entry.get("commercial_use"),
            )
            for entry in data["voices"]
        )
        stt_models = {str(k): str(v) for k, v in (data.get("stt_models") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DownloadError(f"cannot read the voice catalogue {path}: {exc}") from None
    return Catalog(voices, stt_models)


def licence_note(voice: CatalogVoice) -> str:
    """The licence as ``--list`` shows it, with non-commercial voices flagged."""
    if voice.commercial_use is False:
        return f"NON-COMMERCIAL: {voice.license}"
    return voice.license


def _whisper_installed(models_dir: Path, name: str) -> bool:
    folder = models_dir / "whisper" / name
    return all((folder / f).is_file() for f in WHISPER_REQUIRED_FILES) and any(
        (folder / f).is_file() for f in WHISPER_VOCABULARY_FILES
    )


def download_language(language: str, models_dir: Path, hub: Hub, catalog: Catalog) -> DownloadReport:
    """The best voice for ``language`` and its recognition model, verified like every hub download.

    A language without a neural voice gets its recognition model and a line saying that eSpeak NG speaks
    it. A recognition model already installed (e.g. the bundled ``base``) is left as it is.
    """
    if language not in catalog.languages:
        raise DownloadError(
            f"unknown language '{language}'; the catalogue has: {', '.join(catalog.languages)}"
        )
    report = DownloadReport()
    voice = catalog.best_voice(language)
    if voice is None:
        log.warning(
            "%s: no neural (Piper) voice in the catalogue; eSpeak NG speaks it (espeak-%s)",
            language,
            language,
        )
    else:
        entry = resolve_piper_voices(fetch_piper_catalog(hub, models_dir), [voice.id])[voice.id]
        files = (entry.get("files") or {}).values()
        size = sum(int(f.get("size_bytes") or 0) for f in files if isinstance(f, dict))
        note = "" if voice.commercial_use is not False else "; NOT for commercial use"
        log.info(
            "%s: voice %s (%s, licence: %s%s)", language, voice.id, human_size(size), voice.license, note
        )
        report.add(download_piper_voices([voice.id], models_dir, hub))
    stt = catalog.stt_model(language)
    local = whisper_repo_for(stt)[1]
    if _whisper_installed(models_dir, local):
        log.info("%s: recognition model whisper/%s already installed", language, local)
        report.skipped.append(models_dir / "whisper" / local)
    else:
        log.info("%s: recognition model whisper/%s", language, local)
        report.add(download_whisper(stt, models_dir, hub))
    return report


__all__ = [
    "MANIFEST",
    "Catalog",
    "CatalogVoice",
    "best_voice",
    "download_language",
    "licence_note",
    "read_catalog",
]

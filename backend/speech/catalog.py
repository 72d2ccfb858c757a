"""The voice catalogue: voice_assets/voices.manifest.json plus any voice found installed on disk.

`installed` means the engine and the voice's files are present on this machine; `available` means the
current configuration can speak with it (its engine is `tts.provider` or `tts.language_fallback`).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel

from backend.core.errors import ConfigError
from backend.speech.factory import TTS_PROVIDERS, tts_class

if TYPE_CHECKING:
    from backend.core.config import Settings

logger = logging.getLogger(__name__)


class Voice(BaseModel):
    id: str
    name: str
    language: str
    locale: str
    gender: str | None = None
    engine: str
    quality: str
    sample_rate: int
    license: str
    # whether the licence allows commercial use: false = non-commercial (e.g. CC-BY-NC-*, research-only);
    # null = not verified (read the voice's MODEL_CARD)
    commercial_use: bool | None = None
    source: str
    installed: bool = False
    available: bool = False


class VoiceCatalog:
    """Read-only view of all known voices; `refresh()` re-scans the disk (after a download)."""

    def __init__(self, settings: Settings, active_engines: list[str]) -> None:
        self.settings = settings
        self.active_engines = active_engines
        self._voices: dict[str, Voice] = {}
        self.refresh()

    def _manifest(self) -> list[dict]:
        path = self.settings.voices_manifest
        try:
            return json.loads(path.read_text(encoding="utf-8"))["voices"]
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"paths.voices_manifest: cannot read {path}: {exc}") from None

    def refresh(self) -> None:
        voices = {entry["id"]: Voice(**entry) for entry in self._manifest()}
        # Only engines the manifest lists or the config enables are imported and asked.
        engines = dict.fromkeys([*(v.engine for v in voices.values()), *self.active_engines])
        for engine in (e for e in engines if e in TTS_PROVIDERS):
            cls = tts_class(engine)
            listed = cls.installed_voice_ids(self.settings)
            installed = set(listed)
            for voice_id in (v for v in listed if v not in voices):  # in the engine's order
                described = cls.describe_voice(self.settings, voice_id)
                if described:
                    voices[voice_id] = Voice(**described)
            for voice in voices.values():
                if voice.engine == engine:
                    voice.installed = voice.id in installed
                    voice.available = voice.installed and engine in self.active_engines
        self._voices = voices

    def get(self, voice_id: str) -> Voice | None:
        return self._voices.get(voice_id)

    def in_language(self, voice_id: str, language: str) -> Voice | None:
        """`voice_id`, or the same voice in `language`: a multilingual (cloud) voice is listed once per
        language, as `<id>` and `<id>@<language>` (see backend/speech/hosted_tts.py)."""
        base = voice_id.split("@", 1)[0]
        for candidate in (voice_id, base, f"{base}@{language}"):
            voice = self._voices.get(candidate)
            if voice is not None and voice.language == language:
                return voice
        return None

    def list(self, language: str | None = None, installed_only: bool = False) -> list[Voice]:
        return [
            v
            for v in self._voices.values()
            if (language is None or v.language == language) and (not installed_only or v.installed)
        ]

    def available(self, language: str | None = None) -> list[Voice]:
        return [v for v in self.list(language) if v.available]

"""Piper neural TTS, in-process (piper-tts `PiperVoice`), one cached voice per voice_id."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.core.errors import ConfigError, InvalidRequest
from backend.speech.base import AudioChunk, SentenceTTSProvider, TTSCapabilities, TTSConfig

if TYPE_CHECKING:
    from piper import PiperVoice

    from backend.core.config import Settings

logger = logging.getLogger(__name__)


def piper_dir(settings: Settings) -> Path:
    return settings.models_dir / "piper"


class PiperTTS(SentenceTTSProvider):
    """Voices are `models/piper/<voice_id>.onnx` + `.onnx.json`; speed maps to length_scale."""

    name = "piper"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.piper
        self.dir = piper_dir(settings)
        self._voices: dict[str, PiperVoice] = {}
        self._load_lock = threading.Lock()
        # espeak-ng phonemization inside piper is process-global state: one synthesis at a time.
        self._synth_lock = threading.Lock()
        self.load_ms: dict[str, float] = {}

    # ------------------------------------------------------------------ discovery
    @classmethod
    def installed_voice_ids(cls, settings: Settings) -> list[str]:
        folder = piper_dir(settings)
        if not folder.is_dir():
            return []
        return sorted(
            p.name.removesuffix(".onnx")
            for p in folder.glob("*.onnx")
            if p.with_name(p.name + ".json").is_file()
        )

    @classmethod
    def describe_voice(cls, settings: Settings, voice_id: str) -> dict[str, Any] | None:
        """Catalogue fields read from an installed voice's .onnx.json (for voices not in the manifest)."""
        cfg_file = piper_dir(settings) / f"{voice_id}.onnx.json"
        try:
            data = json.loads(cfg_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        lang = data.get("language") or {}
        locale = lang.get("code") or voice_id.split("-")[0]
        return {
            "id": voice_id,
            "name": voice_id.split("-")[1] if voice_id.count("-") >= 2 else voice_id,
            "language": (lang.get("family") or locale.split("_")[0]).lower(),
            "locale": locale,
            "gender": None,
            "engine": "piper",
            "quality": data.get("audio", {}).get("quality") or voice_id.rsplit("-", 1)[-1],
            "sample_rate": data.get("audio", {}).get("sample_rate", 22050),
            "license": "see the voice's MODEL_CARD",
            "source": f"local:{cfg_file.parent}",
        }

    def voice_ids(self) -> list[str]:
        return self.installed_voice_ids(self.settings)

    def capabilities(self) -> TTSCapabilities:
        langs = sorted(
            {(self.describe_voice(self.settings, v) or {}).get("language", "") for v in self.voice_ids()}
        )
        return TTSCapabilities(streaming=True, sample_rate=22050, languages=tuple(x for x in langs if x))

    # ------------------------------------------------------------------ lifecycle
    async def load(self) -> None:
        default = self.cfg.default_voice
        if default not in self.voice_ids():
            if self._fetched_later(default):
                logger.warning(
                    "piper.default_voice: '%s' is not installed yet; models.auto_download fetches it in the "
                    "background (until then other voices speak)",
                    default,
                )
                return
            raise ConfigError(
                f"piper.default_voice: '{default}' is not installed in {self.dir}; run "
                "`python download_models.py` (bundled voices) or "
                f"`python download_models.py --voices {default}`"
            )
        await asyncio.to_thread(self._get_voice, default)

    def _fetched_later(self, voice_id: str) -> bool:
        """Whether `models.auto_download` fetches `voice_id`: it is on and the catalogue knows the voice."""
        if not self.settings.models.auto_download:
            return False
        from backend.models.common import DownloadError
        from backend.models.voices import read_catalog

        try:
            voice = read_catalog(self.settings.voices_manifest).get(voice_id)
        except DownloadError:
            return False
        return voice is not None and voice.engine == self.name

    def status(self) -> dict[str, object]:
        return {"voices_loaded": sorted(self._voices), "load_ms": self.load_ms}

    def _get_voice(self, voice_id: str) -> PiperVoice:
        voice = self._voices.get(voice_id)
        if voice is not None:
            return voice
        with self._load_lock:
            voice = self._voices.get(voice_id)
            if voice is None:
                if voice_id not in self.voice_ids():
                    raise InvalidRequest(
                        f"piper voice '{voice_id}' is not installed; run `python download_models.py "
                        f"--voices {voice_id}`",
                        code="voice_not_installed",
                    )

                start = time.perf_counter()
                voice = self._load(voice_id)
                self.load_ms[voice_id] = round((time.perf_counter() - start) * 1000, 1)
                logger.info("loaded piper voice %s in %.0f ms", voice_id, self.load_ms[voice_id])
                self._voices[voice_id] = voice
        return voice

    def _load(self, voice_id: str) -> PiperVoice:
        """A voice with its own ONNX session options: `piper.threads` intra-op threads (0 = one per core)
        and no spinning between calls unless `piper.spin` — a spinning pool keeps a core busy after each
        sentence, which the LLM generating the next one needs (see docs/BENCHMARKS.md)."""
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        if self.cfg.threads:
            options.intra_op_num_threads = self.cfg.threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.cfg.spin else "0")
        config = json.loads((self.dir / f"{voice_id}.onnx.json").read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(
            str(self.dir / f"{voice_id}.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return PiperVoice(config=PiperConfig.from_dict(config), session=session)

    # ------------------------------------------------------------------ synthesis
    async def prepare(self, config: TTSConfig) -> PiperVoice:
        return await asyncio.to_thread(self._get_voice, config.voice_id)

    def synthesize_piece(self, handle: PiperVoice, text: str, config: TTSConfig) -> AudioChunk:
        from piper import SynthesisConfig

        syn = SynthesisConfig(
            length_scale=handle.config.length_scale / config.speed,
            noise_scale=self.cfg.noise_scale,
            noise_w_scale=self.cfg.noise_w_scale,
        )
        with self._synth_lock:
            pcm = b"".join(chunk.audio_int16_bytes for chunk in handle.synthesize(text, syn))
        return AudioChunk(pcm, handle.config.sample_rate, text)

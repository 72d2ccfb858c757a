"""faster-whisper (CTranslate2, int8 on CPU), in-process, models loaded once and shared.

Models are directories `models/whisper/<size>/` (model.bin, config.json, tokenizer.json, vocabulary.txt).
`stt.models` names a model per language (a folder there, or a path to any CTranslate2 faster-whisper
model): a request in that language (the request's, the session's, or the one detected) that names no model
is served by it; other languages use `stt.model_size`, or a multilingual model when that one is English-only.

Short-window encoding: `transcribe()` always pads the log-Mel input to a 30 s window, and the encoder
cost dominates short clips. For audio up to 29 s, the padded features are cut to a window of
max(`whisper_local.short_window_seconds`, ceil(duration + 1 s)) before the encoder (CTranslate2 accepts
shorter input). With the default 10 s a 2–3 s question is encoded about 3x faster than in 30 s, at the
same word error rate (see docs/BENCHMARKS.md); 0 always uses the full 30 s window. A cut window makes
the decoder likelier to loop ("Turn off the lights. Turn off the lights. …") or, rarely, hear nothing:
windowed decoding is capped at a token budget for the clip's length, and a result that is empty or
repeats itself (`repeats_itself`) is decoded again in the full window.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.core.errors import ConfigError, InvalidRequest
from backend.media.audio import STT_SAMPLE_RATE
from backend.media.language_id import restricted
from backend.speech.base import Segment, STTCapabilities, STTConfig, STTProvider, Transcription

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from backend.core.config import Settings

logger = logging.getLogger(__name__)

_FRAMES_PER_SECOND = 100  # Whisper log-Mel frames (hop 160 at 16 kHz)
_WINDOW_MARGIN_S = 1.0
# windowed decoding: at most this many tokens per second of audio (+ a base): speech is 3-6 tokens/s
_WINDOWED_TOKENS_PER_SECOND = 8
_WINDOWED_TOKENS_BASE = 10
_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# an English-only model's transcript at least this sure (mean segment log-probability) is taken as English
_SURE_LOGPROB = -0.9


# one to three words said three or more times in a row ("3 3 3 3", "0-0-0-", "the the the")
_STUTTER = re.compile(r"\b(\w+(?:\W+\w+){0,2}?)(?:\W+\1\b){2,}", re.IGNORECASE)


def repeats_itself(text: str) -> bool:
    """Whether `text` shows a decoder loop: one to three words said three times or more in a row, or a
    sentence whose first three words already occurred ("Turn off the lights. Turn off the lights.")."""
    if _STUTTER.search(text):
        return True
    seen: list[str] = []
    for sentence in re.split(r"(?<=[.?!…])\s+", text.strip()):
        words = re.findall(r"[\w']+", sentence.lower())
        head = words[:3]
        n = len(head)
        if seen and n and any(seen[i : i + n] == head for i in range(len(seen) - n + 1)):
            return True
        seen.extend(words)
    return False


def _joined(segments: list[Segment]) -> str:
    return " ".join(s.text for s in segments if s.text).strip()


def _sure(result: Transcription) -> bool:
    """Whether an English-only model heard English: words, decoded with confidence (on speech in another
    language tiny.en writes nothing, or English-sounding words at an average log-probability under -1)."""
    scored = [s for s in result.segments if s.text]
    if not result.text or not scored:
        return False
    return sum(s.avg_logprob for s in scored) / len(scored) >= _SURE_LOGPROB


def whisper_dir(settings: Settings) -> Path:
    return settings.models_dir / "whisper"


def _windowed_model_class() -> type[WhisperModel]:
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):
        """WhisperModel whose encoder input can be cut to a shorter window, per calling thread."""

        _window = threading.local()

        def encode(self, features: np.ndarray):  # type: ignore[no-untyped-def]
            frames = getattr(self._window, "frames", None)
            if frames and features.shape[-1] > frames:
                features = np.ascontiguousarray(features[..., :frames])
            return super().encode(features)

        def set_window(self, frames: int | None) -> None:
            self._window.frames = frames

    return WindowedWhisperModel


class WhisperLocalSTT(STTProvider):
    name = "whisper_local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.whisper_local
        self.default_model = settings.stt.model_size
        self.dir = whisper_dir(settings)
        self._models: dict[str, WhisperModel] = {}
        self._lock = threading.Lock()
        self.load_ms: dict[str, float] = {}

    @classmethod
    def installed_models(cls, settings: Settings) -> list[str]:
        folder = whisper_dir(settings)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / "model.bin").is_file())

    def models(self) -> list[str]:
        return self.installed_models(self.settings)

    def capabilities(self) -> STTCapabilities:
        return STTCapabilities(streaming=False, languages=(), models=tuple(self.models()))

    async def load(self) -> None:
        for name in dict.fromkeys([self.default_model, *self.cfg.preload]):
            if name not in self.models():
                raise ConfigError(
                    f"stt.model_size: whisper model '{name}' is not installed in {self.dir}; run "
                    "`python download_models.py` (tiny.en, base) or "
                    f"`python download_models.py --whisper {name}`"
                )
            await asyncio.to_thread(self._get_model, name)
        for language, name in self.settings.stt.models.items():  # loaded now too: no first-request wait
            if self._model_path(name) is None:
                raise ConfigError(
                    f"stt.models.{language}: whisper model '{name}' is neither a folder in {self.dir} nor a "
                    "path to a faster-whisper model (a folder with model.bin); run "
                    f"`python download_models.py --whisper {name}` or fix the path"
                )
            await asyncio.to_thread(self._get_model, name)

    def status(self) -> dict[str, object]:
        return {
            "models_loaded": sorted(self._models),
            "default_model": self.default_model,
            "load_ms": self.load_ms,
        }

    def _model_path(self, name: str) -> Path | None:
        """Where model `name` is: a folder in models/whisper/, else (a value of `stt.models`) a path to a
        CTranslate2 model folder, else None."""
        if name in self.models():
            return self.dir / name
        path = Path(name).expanduser()
        return path if name in self.settings.stt.models.values() and (path / "model.bin").is_file() else None

    def _get_model(self, name: str) -> WhisperModel:
        model = self._models.get(name)
        if model is not None:
            return model
        with self._lock:
            model = self._models.get(name)
            if model is None:
                path = self._model_path(name)
                if path is None:
                    installed = ", ".join(self.models()) or "none"
                    raise InvalidRequest(
                        f"whisper model '{name}' is not installed; installed: {installed}",
                        code="unknown_model",
                    )
                start = time.perf_counter()
                model = _windowed_model_class()(
                    str(path),
                    device=self.cfg.device,
                    compute_type=self.cfg.compute_type,
                    cpu_threads=self.cfg.cpu_threads or os.cpu_count() or 1,
                )
                self.load_ms[name] = round((time.perf_counter() - start) * 1000, 1)
                logger.info("loaded whisper %s in %.0f ms", name, self.load_ms[name])
                self._models[name] = model
        return model

    def resolve_model(self, requested: str | None) -> str:
        """Map a request's model name ('whisper-1', 'base', None) to an installed model."""
        if requested is None or requested in ("whisper-1", "default", ""):
            return self.default_model
        name = requested.removeprefix("faster-whisper-").removeprefix("Systran/faster-whisper-")
        if name not in self.models():
            installed = ", ".join(self.models()) or "none"
            raise InvalidRequest(
                f"model '{requested}' is not installed; installed whisper models: {installed} "
                "(or 'whisper-1' for the default)",
                code="unknown_model",
            )
        return name

    def _window_frames(self, duration: float) -> int | None:
        window = self.cfg.short_window_seconds
        if window <= 0 or duration + _WINDOW_MARGIN_S > 30:
            return None
        seconds = max(window, math.ceil(duration + _WINDOW_MARGIN_S))
        return None if seconds >= 30 else int(seconds * _FRAMES_PER_SECOND)

    def _decode(
        self, model: WhisperModel, audio: np.ndarray, config: STTConfig, frames: int | None
    ) -> tuple[list[Segment], Any]:
        duration = len(audio) / STT_SAMPLE_RATE
        model.set_window(frames)  # type: ignore[attr-defined]
        try:
            segments_iter, info = model.transcribe(
                audio,
                language=config.language,
                beam_size=config.beam_size,
                vad_filter=config.vad,
                temperature=list(_FALLBACK_TEMPERATURES) if config.temperature_fallback else 0.0,
                condition_on_previous_text=False,
                word_timestamps=config.word_timestamps,
                initial_prompt=config.prompt,
                max_new_tokens=int(duration * _WINDOWED_TOKENS_PER_SECOND) + _WINDOWED_TOKENS_BASE
                if frames
                else None,
            )
            segments = [
                Segment(
                    id=i,
                    start=round(min(s.start, duration), 3),
                    end=round(min(s.end, duration), 3),
                    text=s.text.strip(),
                    avg_logprob=round(s.avg_logprob, 4),
                    no_speech_prob=round(s.no_speech_prob, 4),
                    compression_ratio=round(s.compression_ratio, 4),
                )
                for i, s in enumerate(segments_iter)
            ]
        finally:
            model.set_window(None)  # type: ignore[attr-defined]
        return segments, info

    def _transcribe_sync(self, audio: np.ndarray, config: STTConfig, model_name: str) -> Transcription:
        model = self._get_model(model_name)
        duration = len(audio) / STT_SAMPLE_RATE
        frames = self._window_frames(duration)
        segments, info = self._decode(model, audio, config, frames)
        text = _joined(segments)
        if frames and (not text or repeats_itself(text)):
            # nothing heard, or the decoder looped: what a short window sometimes does; the full one
            # is slower but does not
            segments, info = self._decode(model, audio, config, None)
            text = _joined(segments)
        return Transcription(
            text=text,
            language=info.language,
            language_probability=round(float(info.language_probability), 4),
            duration=round(duration, 3),
            segments=segments,
            model=model_name,
        )

    def _detect(self, model_name: str, audio: np.ndarray, allowed: tuple[str, ...]) -> tuple[str, float]:
        """The most likely of the `allowed` languages (Whisper's detection, re-ranked), with its share of
        their probability; the audio is encoded in the short window like a transcription."""
        model = self._get_model(model_name)
        model.set_window(self._window_frames(len(audio) / STT_SAMPLE_RATE))  # type: ignore[attr-defined]
        try:
            _, _, probabilities = model.detect_language(audio=audio)
        finally:
            model.set_window(None)  # type: ignore[attr-defined]
        return restricted(probabilities, allowed) or (allowed[0], 0.0)

    def _transcribe_detecting(self, audio: np.ndarray, config: STTConfig, default: str) -> Transcription:
        """A transcription in whichever of `config.languages` is spoken. With an English-only default
        model (tiny.en) English is tried first: a transcript it is sure of (`_sure`) is the answer, at
        no extra cost; else the language is detected by a multilingual model among the allowed ones and
        the audio transcribed in it, by that language's model (`stt.models`) or the multilingual one."""
        allowed = config.languages
        english: Transcription | None = None
        multilingual = self._multilingual(default)
        if default.endswith(".en"):
            english = self._transcribe_sync(audio, replace(config, language="en"), default)
            if multilingual is None or _sure(english):
                return english
        assert multilingual is not None
        language, probability = self._detect(multilingual, audio, allowed)
        if language == "en" and english is not None:
            return replace(english, language_probability=round(probability, 4))
        model_name = self.model_for(language, multilingual if default.endswith(".en") else default)
        result = self._transcribe_sync(audio, replace(config, language=language), model_name)
        return replace(result, language=language, language_probability=round(probability, 4))

    def _multilingual(self, default: str) -> str | None:
        """The multilingual model detection uses: the default if it is one, else a loaded one, else any."""
        if not default.endswith(".en"):
            return default
        multilingual = [m for m in self.models() if not m.endswith(".en")]
        loaded = [m for m in multilingual if m in self._models]
        return (loaded or multilingual or [None])[0]

    def model_for(self, language: str, fallback: str) -> str:
        """The model for `language`: `stt.models[language]` when installed (a folder or a path), else
        `fallback`."""
        named = self.settings.stt.models.get(language)
        return named if named and self._model_path(named) is not None else fallback

    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        default_requested = config.model in (None, "", "whisper-1", "default")
        if config.language is None and len(config.languages) > 1 and default_requested:
            default = self.resolve_model(None)
            return await asyncio.to_thread(self._transcribe_detecting, audio, config, default)
        model_name = self.resolve_model(config.model)
        multilingual = [m for m in self.models() if not m.endswith(".en")]
        default_requested = config.model in (None, "", "whisper-1", "default")
        if default_requested and config.language is not None:
            model_name = self.model_for(config.language, model_name)  # stt.models: the language's own
        if default_requested and model_name.endswith(".en") and config.language not in (None, "en"):
            # the default model is English-only: use a multilingual one for other languages
            preloaded = [m for m in multilingual if m in self._models]
            model_name = (preloaded or multilingual or [model_name])[0]
        if model_name.endswith(".en") and config.language not in (None, "en"):
            raise InvalidRequest(
                f"model '{model_name}' is English-only and cannot transcribe '{config.language}'; "
                f"use a multilingual model ({', '.join(multilingual) or 'download one: --whisper base'})",
                code="unsupported_language",
            )
        return await asyncio.to_thread(self._transcribe_sync, audio, config, model_name)

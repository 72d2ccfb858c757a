"""eSpeak NG through its C library (ctypes, in-process): a formant voice for every target language.

Used on its own (`tts.provider: espeak`) or as the language fallback for languages that have no neural
voice installed. The library keeps global state, so synthesis is serialized with one lock.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import threading
from typing import TYPE_CHECKING

import numpy as np

from backend.core.errors import InvalidRequest, ProviderError
from backend.core.languages import LANGUAGES
from backend.speech.base import AudioChunk, SentenceTTSProvider, TTSCapabilities, TTSConfig

if TYPE_CHECKING:
    from backend.core.config import Settings

logger = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
VOICE_PREFIX = "espeak-"
INSTALL_HINT = (
    "install espeak-ng (Debian/Ubuntu: `apt-get install espeak-ng`; Windows: the espeak-ng installer)"
)

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _library_candidates() -> list[str]:
    """MITHI_ESPEAK_LIB, then what the system linker knows, then the usual install locations."""
    names = [os.environ.get("MITHI_ESPEAK_LIB", "")]
    names += [ctypes.util.find_library(n) or "" for n in ("espeak-ng", "libespeak-ng")]
    names += ["libespeak-ng.so.1", "libespeak-ng.dylib", r"C:\Program Files\eSpeak NG\libespeak-ng.dll"]
    return [n for n in names if n]


def _open_library() -> ctypes.CDLL:
    errors = []
    for name in _library_candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise ProviderError(f"eSpeak NG library not found ({'; '.join(errors)}); {INSTALL_HINT}")


class _Engine:
    """The process-wide libespeak-ng handle."""

    def __init__(self) -> None:
        self.lib = _open_library()
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        data_path = os.environ.get("ESPEAK_DATA_PATH")
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode() if data_path else None, 0
        )
        if self.sample_rate <= 0:
            raise ProviderError(f"eSpeak NG failed to initialise; {INSTALL_HINT}")
        self.lock = threading.Lock()
        self._parts: list[np.ndarray] = []
        self._callback = _SynthCallback(self._on_audio)  # keep a reference: ctypes must not free it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: ctypes._Pointer, num_samples: int, _events: int) -> int:
        if num_samples > 0 and wav:
            self._parts.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, rate_wpm: int, pitch: int) -> bytes:
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ProviderError(f"eSpeak NG has no voice '{voice}'")
            self.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            self._parts.clear()
            data = text.encode("utf-8")
            err = self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if err != 0:
                raise ProviderError(f"eSpeak NG synthesis failed (error {err})")
            pcm = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.int16)
            self._parts.clear()
        return pcm.astype("<i2").tobytes()


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


def espeak_available() -> bool:
    try:
        engine()
    except ProviderError:
        return False
    return True


class EspeakTTS(SentenceTTSProvider):
    """Voice ids are `espeak-<language>` (espeak-en, espeak-hi, ...)."""

    name = "espeak"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.espeak

    @classmethod
    def installed_voice_ids(cls, settings: Settings) -> list[str]:
        return [f"{VOICE_PREFIX}{code}" for code in LANGUAGES] if espeak_available() else []

    def voice_ids(self) -> list[str]:
        return self.installed_voice_ids(self.settings)

    def capabilities(self) -> TTSCapabilities:
        return TTSCapabilities(streaming=True, sample_rate=22050, languages=tuple(LANGUAGES))

    async def load(self) -> None:
        eng = await asyncio.to_thread(engine)
        logger.info("eSpeak NG ready at %d Hz", eng.sample_rate)

    def status(self) -> dict[str, object]:
        return {"sample_rate": engine().sample_rate}

    async def prepare(self, config: TTSConfig) -> _Engine:
        if config.voice_id.removeprefix(VOICE_PREFIX) not in LANGUAGES:
            raise InvalidRequest(f"unknown eSpeak voice '{config.voice_id}'", code="unknown_voice")
        return await asyncio.to_thread(engine)

    def synthesize_piece(self, handle: _Engine, text: str, config: TTSConfig) -> AudioChunk:
        voice = LANGUAGES[config.voice_id.removeprefix(VOICE_PREFIX)].espeak_voice
        rate = max(80, min(450, round(self.cfg.words_per_minute * config.speed)))
        return AudioChunk(handle.synthesize(text, voice, rate, self.cfg.pitch), handle.sample_rate, text)

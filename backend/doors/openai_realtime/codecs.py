"""Audio codecs of the OpenAI Realtime API: PCM16 24 kHz and G.711 mu-law / A-law (8 kHz), base64.

G.711 is implemented with numpy lookup tables (the stdlib ``audioop`` module is deprecated).
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import numpy as np

from backend.media.audio import StreamResampler

AudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]

FORMAT_RATES: dict[str, int] = {"pcm16": 24000, "g711_ulaw": 8000, "g711_alaw": 8000}

_MULAW_BIAS = 33
_MULAW_CLIP = 8159
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


class AudioDecodeError(ValueError):
    """The client's audio chunk is not valid base64 or not whole samples."""


def _mulaw_encode_table() -> np.ndarray:
    # Sun/CPython g711 variant: 14-bit magnitude, bias 33, clip 8159 (bit-exact with the retired audioop).
    value = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), _MULAW_CLIP) + _MULAW_BIAS
    exponent = np.maximum(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    code = np.where(exponent >= 8, 0x7F, (np.minimum(exponent, 7) << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


def _mulaw_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(codes & 0x80, -magnitude, magnitude).astype("<i2")


def _alaw_encode_table() -> np.ndarray:
    value = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(value >= 0, 0xD5, 0x55)
    value = np.where(value < 0, -value - 1, value)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, value, side="left").astype(np.int32)
    shift = np.where(segment < 2, 1, segment)
    code = (np.minimum(segment, 7) << 4) | ((value >> shift) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _alaw_decode_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    mantissa = (codes & 0x0F) << 4
    segment = (codes & 0x70) >> 4
    magnitude = np.where(segment == 0, mantissa + 8, mantissa + 0x108)
    magnitude = np.where(segment > 1, magnitude << np.maximum(segment - 1, 0), magnitude)
    return np.where(codes & 0x80, magnitude, -magnitude).astype("<i2")


_MULAW_ENCODE = _mulaw_encode_table()
_MULAW_DECODE = _mulaw_decode_table()
_ALAW_ENCODE = _alaw_encode_table()
_ALAW_DECODE = _alaw_decode_table()


def pcm16_to_mulaw(pcm: bytes) -> bytes:
    """PCM16 LE mono → G.711 mu-law, one byte per sample."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) + 32768
    return _MULAW_ENCODE[samples].tobytes()


def mulaw_to_pcm16(data: bytes) -> bytes:
    """G.711 mu-law → PCM16 LE mono."""
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def pcm16_to_alaw(pcm: bytes) -> bytes:
    """PCM16 LE mono → G.711 A-law, one byte per sample."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) + 32768
    return _ALAW_ENCODE[samples].tobytes()


def alaw_to_pcm16(data: bytes) -> bytes:
    """G.711 A-law → PCM16 LE mono."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def decode_base64_audio(payload: str) -> bytes:
    """The bytes of an ``input_audio_buffer.append`` ``audio`` field; AudioDecodeError if not base64."""
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioDecodeError("audio is not valid base64") from exc


class InputAudioDecoder:
    """Client audio (base64, in the session's input format) → PCM16 at the engine's input rate."""

    def __init__(self, audio_format: AudioFormat, engine_rate: int) -> None:
        self.audio_format = audio_format
        self._resampler = StreamResampler(FORMAT_RATES[audio_format], engine_rate)

    def decode(self, payload: str) -> bytes:
        data = decode_base64_audio(payload)
        if self.audio_format == "pcm16":
            if len(data) % 2:
                raise AudioDecodeError("pcm16 audio must be whole 16-bit samples (even byte count)")
            pcm = data
        elif self.audio_format == "g711_ulaw":
            pcm = mulaw_to_pcm16(data)
        else:
            pcm = alaw_to_pcm16(data)
        return self._resampler.process(pcm)

    def flush(self) -> bytes:
        """The samples still in the resampler (end of a whole-audio item)."""
        return self._resampler.flush()


class OutputAudioEncoder:
    """Engine PCM16 at the engine's output rate → base64 audio in the session's output format."""

    def __init__(self, audio_format: AudioFormat, engine_rate: int) -> None:
        self.audio_format = audio_format
        self.engine_rate = engine_rate
        self._resampler = StreamResampler(engine_rate, FORMAT_RATES[audio_format])

    def encode(self, pcm: bytes) -> str:
        return self._encode(self._resampler.process(pcm))

    def flush(self) -> str:
        """The samples still in the resampler at the end of a response ("" when none); the next response
        starts on a fresh resampler (a flushed one is at its end of stream)."""
        tail = self._resampler.flush()
        self._resampler = StreamResampler(self.engine_rate, FORMAT_RATES[self.audio_format])
        return self._encode(tail)

    def _encode(self, pcm: bytes) -> str:
        if not pcm:
            return ""
        if self.audio_format == "g711_ulaw":
            pcm = pcm16_to_mulaw(pcm)
        elif self.audio_format == "g711_alaw":
            pcm = pcm16_to_alaw(pcm)
        return base64.b64encode(pcm).decode("ascii")

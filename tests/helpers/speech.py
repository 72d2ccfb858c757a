"""Helpers for speech round-trip tests: real speech (Piper), text normalisation and word error rate."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import jiwer
import numpy as np

from backend.media.audio import decode_audio, pcm16_to_wav
from backend.speech.base import TTSConfig
from tests.conftest import make_settings

TEXT = "Please book a table for two people at seven tonight."
TWO_SENTENCES = "The weather is lovely today. We will walk to the park after lunch."

_NUMBERS = {"two": "2", "seven": "7", "three": "3", "ten": "10", "one": "1", "four": "4", "five": "5"}


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    words = [_NUMBERS.get(w, w) for w in text.split()]
    return " ".join(words)


def word_error_rate(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def piper_audio(models: Path, texts: list[str]) -> dict[str, np.ndarray]:
    """Real speech: Piper's default voice, as the 16 kHz mono float32 samples STT providers take.

    Without Piper's sampling noise, so every run hears the same audio (and Whisper the same words)."""
    from backend.speech.providers.piper_tts import PiperTTS

    async def run() -> dict[str, np.ndarray]:
        tts = PiperTTS(make_settings({"piper": {"noise_scale": 0.0, "noise_w_scale": 0.0}}, models=models))
        await tts.load()
        out = {}
        for text in texts:
            chunk = await tts.synthesize_pcm(text, TTSConfig(voice_id="en_US-joe-medium", language="en"))
            out[text] = decode_audio(pcm16_to_wav(chunk.pcm, chunk.sample_rate))
        await tts.close()
        return out

    return asyncio.run(run())

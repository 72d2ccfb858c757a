"""/voice helpers: its URL, a session id, speech as a microphone sends it."""

from __future__ import annotations

import uuid

import httpx
import numpy as np

from backend.media.audio import decode_audio


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/voice"


def sid() -> str:
    return f"voice-{uuid.uuid4().hex[:10]}"


def speech_pcm(base_url: str, text: str, rate: int = 16000, trim: bool = False) -> bytes:
    """Piper speech as PCM16 mono at `rate` (what a client microphone would send); `trim` cuts the
    silence Piper leaves before and after the words."""
    wav = httpx.post(f"{base_url}/api/tts/generate", json={"text": text}, timeout=60).content
    audio = decode_audio(wav, sample_rate=rate)
    if trim:
        loud = np.nonzero(np.abs(audio) > 0.005)[0]
        margin = rate // 50  # keep 20 ms either side
        audio = audio[max(0, loud[0] - margin) : loud[-1] + margin]
    return (audio * 32767).astype("<i2").tobytes()


SILENCE_1S = bytes(32000)


LONG_REPLY_QUESTION = "What appointments do I have?"


def session_with_a_long_reply(base_url: str, session_id: str | None = None) -> str:
    """A session whose answer to LONG_REPLY_QUESTION is long whatever the LLM writes: six appointments
    booked over REST (the tool's listing, several seconds of speech), at a minute no other test uses."""
    session_id = session_id or sid()
    minute = 10 + uuid.uuid4().int % 49  # one calendar for all sessions: avoid other tests' slots
    for hour in (9, 10, 11, 14, 15, 16):
        body = {"session_id": session_id, "text": f"Book a meeting for next Friday at {hour}:{minute}"}
        assert httpx.post(f"{base_url}/api/chat", json=body, timeout=60).json()["action"]["ok"]
    return session_id

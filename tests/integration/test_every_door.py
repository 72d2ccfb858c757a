"""One spoken question through all three doors of the live app — `/voice` (our protocol), `/v1/realtime`
(the OpenAI Realtime API, official SDK) and Wyoming (Home Assistant's protocol, its own client) — heard
alike and answered alike, on the same real models."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from openai import AsyncOpenAI
from wyoming.tts import Synthesize

from backend.app.server import BackgroundServer
from backend.media.audio import resample_pcm16
from backend.realtime.client import VoiceClient
from tests.helpers.speech import normalise, piper_audio, word_error_rate
from tests.helpers.wyoming import client, read_audio, transcribe

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def pcm16k(assembled_models: Path) -> bytes:
    audio = piper_audio(assembled_models, [QUESTION])[QUESTION]
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


async def test_the_same_spoken_question_through_every_door(
    server: BackgroundServer, base_url: str, pcm16k: bytes
) -> None:
    ws_base = base_url.replace("http://", "ws://")

    # /voice, push-to-talk
    async with VoiceClient.connect(f"{ws_base}/voice") as voice:
        await voice.send_json(type="session.update", config={"vad": False})
        await voice.wait_for("session.updated")
        await voice.stream_pcm(pcm16k, pace=4.0)
        await voice.send_json(type="input_audio.commit")
        done = await voice.wait_for("response.done")
        assert voice.received.audio_bytes(), "/voice spoke no audio"
    voice_heard, voice_said = done["transcript"], done["text"]

    # /v1/realtime, manual turn with pcm16 at 24 kHz
    openai = AsyncOpenAI(base_url=f"{base_url}/v1", websocket_base_url=f"{ws_base}/v1", api_key="x")
    async with openai.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
        pcm24k = resample_pcm16(pcm16k, 16000, 24000)
        for offset in range(0, len(pcm24k), 9600):
            await conn.input_audio_buffer.append(
                audio=base64.b64encode(pcm24k[offset : offset + 9600]).decode()
            )
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        realtime_heard, realtime_audio = "", 0
        while True:
            event = json.loads(await conn._connection.recv())
            if event["type"] == "conversation.item.input_audio_transcription.completed":
                realtime_heard = event["transcript"]
            elif event["type"] == "response.output_audio.delta":
                realtime_audio += len(base64.b64decode(event["delta"]))
            elif event["type"] == "response.done":
                realtime_said = event["response"]["output"][0]["content"][0]["transcript"]
                break
        assert realtime_audio > 24000, "/v1/realtime spoke less than half a second"

    # Wyoming: Home Assistant transcribes with us and speaks the answer with our voice
    async with client(server) as wy:
        wyoming_heard = (await transcribe(wy, pcm16k, 16000)).text
        await wy.write_event(Synthesize(text=voice_said).event())
        rate, spoken = await read_audio(wy)
        spoken_back = (await transcribe(wy, spoken, rate)).text

    for heard in (voice_heard, realtime_heard, wyoming_heard):
        assert word_error_rate(QUESTION, heard) < 0.3, (voice_heard, realtime_heard, wyoming_heard)
    for said in (voice_said, realtime_said):
        assert "paris" in normalise(said), (voice_said, realtime_said)
    # Wyoming spoke the answer: heard back by tiny.en (Piper samples its prosody, so not word for word)
    assert word_error_rate(voice_said, spoken_back) <= 0.4, (voice_said, spoken_back)

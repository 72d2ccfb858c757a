"""The official `openai` SDK, pointed at our /v1, works unchanged."""

from __future__ import annotations

import io

import openai
import pytest
from openai import OpenAI

from backend.media.audio import decode_audio
from tests.helpers.speech import word_error_rate

TEXT = "Please book a table for two people at seven tonight."


@pytest.fixture(scope="module")
def client(base_url: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key="not-needed", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def speech_wav(client: OpenAI) -> bytes:
    return client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav").content


def test_speech_default_mp3(client: OpenAI) -> None:
    resp = client.audio.speech.create(model="tts-1", voice="nova", input="Hello from the SDK.")
    assert resp.response.headers["content-type"] == "audio/mpeg"
    assert len(decode_audio(resp.content)) / 16000 > 0.5


def test_speech_streaming_response(client: OpenAI) -> None:
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="en_US-joe-medium", input=TEXT, response_format="opus"
    ) as resp:
        data = b"".join(resp.iter_bytes())
    assert len(decode_audio(data)) / 16000 > 1.0


def test_model_name_picks_the_engine(client: OpenAI) -> None:
    raw = client.audio.speech.with_raw_response.create(
        model="espeak", voice="alloy", input="Engine by model.", response_format="opus"
    )
    assert raw.headers["x-tts-provider"] == "espeak"
    assert raw.headers["x-sample-rate"] == "48000"  # opus is encoded at 48 kHz
    raw = client.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input="Default engine.")
    assert raw.headers["x-tts-provider"] == "piper"
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.audio.speech.create(model="espeak", voice="en_US-joe-medium", input="mismatch")
    assert err.value.body["code"] == "voice_engine_mismatch"


def test_transcription_json(client: OpenAI, speech_wav: bytes) -> None:
    result = client.audio.transcriptions.create(model="whisper-1", file=("speech.wav", speech_wav))
    assert word_error_rate(TEXT, result.text) <= 0.1


def test_transcription_text_srt_vtt(client: OpenAI, speech_wav: bytes) -> None:
    text = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", speech_wav), response_format="text"
    )
    assert isinstance(text, str) and word_error_rate(TEXT, text) <= 0.1
    srt = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", speech_wav), response_format="srt"
    )
    assert srt.startswith("1\n00:00:00,") and "-->" in srt
    vtt = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", speech_wav), response_format="vtt"
    )
    assert vtt.startswith("WEBVTT")


def test_transcription_verbose_json_with_language_detection(client: OpenAI, speech_wav: bytes) -> None:
    result = client.audio.transcriptions.create(
        model="base", file=io.BytesIO(speech_wav), response_format="verbose_json"
    )
    assert result.language == "english"
    assert result.duration > 2
    assert result.segments and result.segments[0].end > result.segments[0].start


def test_models_list(client: OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"whisper-1", "tiny.en", "base", "tts-1", "piper"} <= ids


def test_errors_surface_as_sdk_exceptions(client: OpenAI, speech_wav: bytes) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.audio.speech.create(model="tts-1", voice="no-such-voice", input="hi")
    assert err.value.body["code"] == "unknown_voice"
    assert "en_US-joe-medium" in err.value.message
    with pytest.raises(openai.UnprocessableEntityError):
        client.audio.speech.create(model="tts-1", voice="alloy", input="hi", response_format="wma")  # type: ignore[arg-type]
    with pytest.raises(openai.UnprocessableEntityError):
        client.audio.transcriptions.create(model="whisper-9", file=("a.wav", speech_wav))
    with pytest.raises(openai.APIStatusError) as bad:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"not audio at all" * 20))
    assert bad.value.status_code == 415


def test_whisper_1_with_another_language_uses_a_multilingual_model(client: OpenAI, speech_wav: bytes) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", speech_wav), language="hi", response_format="verbose_json"
    )
    assert result.language == "hindi"

"""Eight languages over /voice, end to end: a Hindi booking spoken and confirmed in spoken Hindi, the
language switching from turn to turn, Hinglish answered in kind, and backchannels over a reply.

Hindi speech is recognised by Sarvam's stand-in (tests/fakes/sarvam.py): offline, Whisper base cannot
hear eSpeak NG's Hindi (docs/LANGUAGES.md), and the stand-in recognises the phrases it was taught by
their spectrogram (tests/fakes/phrase_matcher.py) — a stand-in for Sarvam's recogniser, on Sarvam's wire
protocol; everything after it (VAD, the agent, its Hindi intent parser and phrasebook, TTS) is ours and
real. What the app *says* is checked the same way: its audio must match eSpeak NG's Hindi rendering of
the Hindi confirmation, and not the English one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from backend.core.languages import LANGUAGES
from backend.media.audio import pcm16_to_float, resample_pcm16
from backend.realtime.client import VoiceClient
from backend.speech.providers.espeak_tts import engine
from tests.conftest import LiveServer, make_settings
from tests.fakes.phrase_matcher import PhraseMatcher
from tests.fakes.sarvam import FakeSarvam
from tests.helpers.speech import piper_audio, word_error_rate
from tests.helpers.voice import LONG_REPLY_QUESTION, session_with_a_long_reply

KEY = "sarvam-voice-key"
HINDI_BOOKING = "कल दोपहर तीन बजे हेयरकट बुक करो"
HINDI_CONFIRMATION = "कल दोपहर तीन बजे के लिए आपका हेयरकट बुक हो गया है।"
HINDI_LISTING_QUESTION = "मेरे अपॉइंटमेंट दिखाओ"
ENGLISH_QUESTION = "What appointments do I have?"


@pytest.fixture(scope="module")
def sarvam() -> Iterator[FakeSarvam]:
    with FakeSarvam(api_key=KEY) as fake:
        fake.asr.warm()  # what the phrase matcher was not taught goes to Whisper in the stand-in
        yield fake


@pytest.fixture(scope="module")
def app(sarvam: FakeSarvam, assembled_models: Path) -> Iterator[LiveServer]:
    settings = make_settings(
        {
            # Sarvam hears; our own Piper (English) and eSpeak NG (the other seven) speak
            "stt": {"provider": "sarvam", "fallback": []},
            "sarvam": {"api_key": KEY, "base_url": sarvam.url, "streaming": False, "max_retries": 0},
            "tts": {"provider": "piper", "language_fallback": "espeak", "phrase_cache_entries": 0},
            "piper": {"noise_scale": 0.0, "noise_w_scale": 0.0},
            "limits": {"requests_per_minute": 0},
        },
        models=assembled_models,
    )
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def english(assembled_models: Path) -> np.ndarray:
    return piper_audio(assembled_models, [ENGLISH_QUESTION])[ENGLISH_QUESTION]  # Whisper hears it


def espeak_like_the_app(text: str, language: str) -> np.ndarray:
    """eSpeak NG with the app's settings (config.yml espeak: words_per_minute, pitch), 16 kHz float32."""
    settings = make_settings()
    eng = engine()
    voice = LANGUAGES[language].espeak_voice
    pcm = eng.synthesize(text, voice, settings.espeak.words_per_minute, settings.espeak.pitch)
    return pcm16_to_float(resample_pcm16(pcm, eng.sample_rate, 16000))


def ws(app: LiveServer) -> str:
    return app.url.replace("http://", "ws://") + "/voice"


def spoken_16k(client: VoiceClient, after: float, rate: int) -> np.ndarray:
    """The reply audio received since `after`, as 16 kHz float32."""
    return pcm16_to_float(resample_pcm16(client.received.audio_bytes(after=after), rate, 16000))


async def say(client: VoiceClient, audio16: np.ndarray, count: int) -> dict:
    pcm = (np.clip(audio16, -1, 1) * 32767).astype("<i2").tobytes()
    await client.stream_pcm(bytes(6400) + pcm, trailing_silence_s=1.5, pace=2.0)
    return await client.wait_for("response.done", count=count, timeout=120)


async def test_hindi_booking_confirmed_in_spoken_hindi_then_english_then_hindi(
    app: LiveServer, sarvam: FakeSarvam, english: np.ndarray
) -> None:
    sarvam.learn(HINDI_BOOKING, "hi")
    sarvam.learn(HINDI_LISTING_QUESTION, "hi")
    hindi = sarvam.render(HINDI_BOOKING, "hi")
    listing = sarvam.render(HINDI_LISTING_QUESTION, "hi")
    async with VoiceClient.connect(ws(app), session_id=f"hi-{uuid.uuid4().hex[:8]}") as client:
        rate = (await client.wait_for("session.started"))["output_sample_rate"]
        start = client.received.events[-1][0]
        booked = await say(client, hindi, 1)
        heard_hindi = spoken_16k(client, start, rate)
        second = client.received.events[-1][0]
        english_turn = await say(client, english, 2)
        heard_english = spoken_16k(client, second, rate)
        hindi_again = await say(client, listing, 3)
    finals = client.received.of("transcript.final")
    assert [f["language"] for f in finals] == ["hi", "en", "hi"], finals

    # 1. the Hindi booking: understood, booked, confirmed in Hindi text and in Hindi speech
    assert booked["transcript"] == HINDI_BOOKING
    assert booked["action"]["tool"] == "book_appointment" and booked["action"]["ok"], booked
    assert booked["text"] == HINDI_CONFIRMATION, booked["text"]
    assert booked["providers"]["tts"] == ["espeak"]  # no Hindi Piper voice offline: eSpeak NG speaks it
    said = PhraseMatcher(render=espeak_like_the_app)
    said.learn(HINDI_CONFIRMATION, "hi")
    said.learn("Booked for tomorrow at 3 pm.", "en")  # the English confirmation, for contrast
    match = said.match(heard_hindi)
    assert match is not None and match.text == HINDI_CONFIRMATION, said.scores(heard_hindi)

    # 2. the user switches to English: answered in English, by the English voice, about the same booking
    assert word_error_rate(ENGLISH_QUESTION, english_turn["transcript"]) <= 0.2, english_turn
    assert english_turn["action"]["tool"] == "list_appointments"
    assert english_turn["text"].startswith("You have one appointment"), english_turn["text"]
    assert "tomorrow at 3 pm" in english_turn["text"]  # (its purpose as the user said it: "हेयरकट")
    assert english_turn["providers"]["tts"] == ["piper"] and heard_english.size > 16000

    # 3. and back to Hindi
    assert hindi_again["action"]["tool"] == "list_appointments"
    assert "हेयरकट" in hindi_again["text"] and "दोपहर तीन बजे" in hindi_again["text"], hindi_again["text"]
    assert hindi_again["providers"]["tts"] == ["espeak"]


async def test_hinglish_typed_over_voice_is_answered_in_hinglish(app: LiveServer) -> None:
    async with VoiceClient.connect(ws(app), session_id=f"hl-{uuid.uuid4().hex[:8]}") as client:
        await client.send_json(type="text.input", text="parson shaam 5 baje dentist book karo")
        done = await client.wait_for("response.done", timeout=60)
    assert done["action"]["tool"] == "book_appointment" and done["action"]["ok"], done
    assert "baje" in done["text"] and "book ho gaya" in done["text"], done["text"]


async def test_a_backchannel_over_the_reply_does_not_cut_it_off(app: LiveServer, sarvam: FakeSarvam) -> None:
    """ "हाँ" said over a long spoken reply: the reply goes on (no response.interrupted, no new turn);
    then a real interruption over the same reply still stops it."""
    sarvam.learn("हाँ", "hi")
    sarvam.learn("रुको, एक मिनट रुको, मुझे कुछ और पूछना है", "hi")
    haan = (np.clip(sarvam.render("हाँ", "hi"), -1, 1) * 32767).astype("<i2").tobytes()
    stop = sarvam.render("रुको, एक मिनट रुको, मुझे कुछ और पूछना है", "hi")
    session = session_with_a_long_reply(app.url)
    async with VoiceClient.connect(ws(app), session_id=session) as client:
        await client.send_json(type="text.input", text=LONG_REPLY_QUESTION)
        await client.wait_for("response.audio.started")
        await client.stream_pcm(bytes(16000) + haan, trailing_silence_s=1.2)  # at real time, over the reply
        stopped = await client.wait_for("speech.stopped", timeout=30)
        assert stopped["reason"] == "backchannel", stopped
        assert not client.received.of("response.interrupted")
        pcm = (np.clip(stop, -1, 1) * 32767).astype("<i2").tobytes()
        await client.stream_pcm(pcm, trailing_silence_s=0.2)
        interrupted = await client.wait_for("response.interrupted", timeout=30)
        await client.stream_pcm(bytes(3200), trailing_silence_s=1.5)
    assert interrupted["spoken"]
    stored = httpx.get(f"{app.url}/api/sessions/{session}").json()["messages"]
    assert not any(m["role"] == "user" and "हाँ" == m["content"].strip("। ") for m in stored)

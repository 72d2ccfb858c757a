"""The Wyoming door (Home Assistant), tested with the `wyoming` package's own client against the real app:
real Piper and Whisper behind it, real TCP."""

from __future__ import annotations

import asyncio

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from backend.app.server import BackgroundServer
from backend.media.audio import StreamResampler
from tests.helpers.speech import word_error_rate
from tests.helpers.voice import speech_pcm
from tests.helpers.wyoming import client, read, read_audio, transcribe


async def test_describe_lists_our_asr_and_voices(server: BackgroundServer) -> None:
    async with client(server) as wy:
        await wy.write_event(Describe().event())
        info = Info.from_event(await read(wy))
    assert info.asr and info.asr[0].models and "en" in info.asr[0].models[0].languages
    voices = {v.name: v for v in info.tts[0].voices}
    assert "en_US-joe-medium" in voices and "en_US" in voices["en_US-joe-medium"].languages
    assert info.tts[0].supports_synthesize_streaming


async def test_synthesize_then_transcribe_back(server: BackgroundServer) -> None:
    text = "The kitchen lights are now switched off."
    async with client(server) as wy:
        await wy.write_event(Synthesize(text=text, voice=SynthesizeVoice(name="en_US-joe-medium")).event())
        rate, pcm = await read_audio(wy)
        assert rate == 22050 and len(pcm) / 2 / rate > 1.0
        # the same connection transcribes it (at the voice's own rate: the server resamples)
        heard = await transcribe(wy, pcm, rate)
    assert word_error_rate(text, heard.text) <= 0.25, heard.text


async def test_transcribe_a_spoken_question_in_stereo_at_48k(server: BackgroundServer) -> None:
    question = "What is the weather like in London today?"
    mono = np.frombuffer(speech_pcm(server.url, question, rate=16000), dtype="<i2")
    pcm48 = np.frombuffer(StreamResampler(16000, 48000).process(mono.tobytes()), dtype="<i2")
    stereo = np.repeat(pcm48, 2).astype("<i2").tobytes()  # L and R the same
    async with client(server) as wy:
        await wy.write_event(Transcribe(language="en").event())
        await wy.write_event(AudioStart(rate=48000, width=2, channels=2).event())
        for offset in range(0, len(stereo), 4096):
            await wy.write_event(
                AudioChunk(rate=48000, width=2, channels=2, audio=stereo[offset : offset + 4096]).event()
            )
        await wy.write_event(AudioStop().event())
        result = Transcript.from_event(await read(wy))
    assert word_error_rate(question, result.text) <= 0.25, result.text


async def test_streaming_synthesis_speaks_sentence_by_sentence(server: BackgroundServer) -> None:
    async with client(server) as wy:
        await wy.write_event(SynthesizeStart(voice=SynthesizeVoice(language="en_US")).event())
        for piece in ["Good morn", "ing. The door ", "is locked", ". Have a nice day"]:
            await wy.write_event(SynthesizeChunk(text=piece).event())
        # Home Assistant also sends the whole text as a plain synthesize (for older servers): ignored
        await wy.write_event(Synthesize(text="Good morning. The door is locked. Have a nice day").event())
        await wy.write_event(SynthesizeStop().event())
        replies = [await read_audio(wy) for _ in range(3)]  # one audio stream per sentence
        assert SynthesizeStopped.is_type((await read(wy)).type)
        heard = [(await transcribe(wy, pcm, rate)).text for rate, pcm in replies]
    for expected, got in zip(["Good morning.", "The door is locked.", "Have a nice day"], heard, strict=True):
        assert word_error_rate(expected, got) <= 0.34, (expected, got)


async def test_bad_input_gets_an_error_and_the_connection_goes_on(server: BackgroundServer) -> None:
    async with client(server) as wy:
        await wy.write_event(Synthesize(text="Hello.", voice=SynthesizeVoice(name="no-such-voice")).event())
        error = Error.from_event(await read(wy))
        assert error.code == "unknown_voice" and "en_US-joe-medium" in error.text
        await wy.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=bytes(640)).event())
        assert Error.from_event(await read(wy)).code == "no_audio_start"
        await wy.write_event(AudioStart(rate=16000, width=4, channels=1).event())
        assert Error.from_event(await read(wy)).code == "unsupported_audio"
        await wy.write_event(Event(type="launch-rockets", data={"now": True}))
        unknown = Error.from_event(await read(wy))
        assert unknown.code == "unknown_event" and "synthesize" in unknown.text
        await wy.write_event(Event(type="synthesize", data={"voice": {}}))  # no text
        assert Error.from_event(await read(wy)).code == "invalid_event"
        await wy.write_event(SynthesizeChunk(text="orphan").event())
        assert Error.from_event(await read(wy)).code == "no_synthesize_start"
        # still serving, on this connection
        await wy.write_event(Describe().event())
        assert Info.is_type((await read(wy)).type)
    # a client that sends garbage bytes and leaves does not take the server down
    reader, writer = await asyncio.open_connection("127.0.0.1", server.app.state.settings.wyoming.port)
    writer.write(b"\x00\xffnot json at all\n")
    await writer.drain()
    writer.close()
    async with client(server) as wy:
        await wy.write_event(Describe().event())
        assert Info.is_type((await read(wy)).type)
    door = server.app.state.wyoming
    for _ in range(50):  # every connection is forgotten once its client has gone
        if not door.connections:
            break
        await asyncio.sleep(0.1)
    assert not door.connections

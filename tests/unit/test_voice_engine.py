"""The voice engine's turn-taking policy, in process: fake STT / TTS / agent, a recording output.

Listener events are fed directly (as TurnDetector's tests feed arrays); the playback clock is real
(perf_counter), so each test takes milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from backend.agents.conversation import AgentEvent, TurnResult
from backend.core.cpu import ANSWERING
from backend.core.errors import InvalidRequest
from backend.engine import events as ev
from backend.engine.listener import (
    Listener,
    PartialTranscript,
    SpeechBegan,
    SpeechPaused,
    SpeechResumed,
    SpeechSustained,
    UtteranceEnded,
)
from backend.engine.session import VoiceEngine
from backend.media.audio import STT_SAMPLE_RATE
from backend.speech.base import AudioChunk, STTConfig, Transcription, TTSConfig
from backend.speech.tts_service import ResolvedVoice
from tests.conftest import make_settings

RATE = 16000
REPLY = "One two three. Four five six seven."  # 0.1 s of audio per word: 0.3 s, then 0.4 s


@dataclass
class FakeVoice:
    id: str = "fake-voice"
    language: str = "en"
    sample_rate: int = RATE


@dataclass
class FakeProvider:
    name: str = "fake-tts"


class FakeTTS:
    """Speaks 0.1 s of silence per word."""

    def resolve(self, voice_id: str | None, language: str | None, speed: float | None) -> ResolvedVoice:
        config = TTSConfig(voice_id="fake-voice", language="en", speed=speed or 1.0)
        return ResolvedVoice(provider=FakeProvider(), voice=FakeVoice(), config=config)  # type: ignore[arg-type]

    async def stream(
        self, text: str, voice: ResolvedVoice, sample_rate: int | None = None
    ) -> AsyncIterator[AudioChunk]:
        rate = sample_rate or RATE  # at the rate asked for, as TTSService delivers
        yield AudioChunk(
            pcm=bytes(int(rate * 0.1 * len(text.split())) * 2), sample_rate=rate, provider="fake-tts"
        )


@dataclass
class FakeCapabilities:
    streaming: bool = False


class FakeSTT:
    name = "fake-stt"

    def __init__(self, text: str = "what is on my calendar") -> None:
        self.text = text

    def capabilities(self) -> FakeCapabilities:
        return FakeCapabilities()

    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        return Transcription(self.text, "en", 1.0, len(audio) / RATE, provider="fake-stt")


@dataclass
class FakeAgent:
    """Streams REPLY word by word; keeps what memory would (user turns, interruptions, retractions)."""

    delay: float = 0.0
    reply: str = REPLY
    users: list[str] = field(default_factory=list)
    interruptions: list[str] = field(default_factory=list)
    retracted: list[float] = field(default_factory=list)

    async def stream_turn(
        self, session_id: str, text: str, language: str | None, options: Any = None
    ) -> AsyncIterator[AgentEvent]:
        self.users.append(text)
        for word in self.reply.split(" "):
            await asyncio.sleep(self.delay)
            yield AgentEvent("delta", text=word + " ")
        yield AgentEvent("done", result=TurnResult(session_id, self.reply, None, {}))

    async def would_act(self, session_id: str, text: str) -> bool:
        return False

    async def record_interruption(self, session_id: str, spoken: str, since: float) -> None:
        self.interruptions.append(spoken)

    async def retract_since(self, session_id: str, since: float) -> None:
        self.retracted.append(since)


class Recorder:
    """EngineOutput that keeps everything."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.audio: list[tuple[str, int]] = []
        self.closed: list[tuple[int, str]] = []

    async def send(self, event: ev.ServerEvent) -> None:
        self.events.append(event)

    async def send_audio(self, pcm: bytes, turn_id: str) -> None:
        self.audio.append((turn_id, len(pcm)))

    async def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture(scope="module")
def settings():  # type: ignore[no-untyped-def]
    return make_settings()


def engine_with(settings, agent: FakeAgent | None = None) -> tuple[VoiceEngine, Recorder, FakeAgent]:  # type: ignore[no-untyped-def]
    out, agent = Recorder(), agent or FakeAgent()
    engine = VoiceEngine(settings, FakeTTS(), FakeSTT(), agent, out, session_id="s1")  # type: ignore[arg-type]
    return engine, out, agent


async def settle(engine: VoiceEngine) -> None:
    """Wait for the response in flight to finish sending."""
    if engine.response is not None:
        await asyncio.wait_for(asyncio.shield(engine.response), 2)


SPEECH = np.full(RATE, 0.1, np.float32)


async def test_text_turn_speaks_each_sentence_and_reports_done(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.text("  hello  ")
    await settle(engine)
    assert agent.users == ["hello"]
    assert [e.text for e in out.of(ev.ResponseSentence)] == ["One two three.", "Four five six seven."]
    (done,) = out.of(ev.ResponseDone)
    assert done.text == REPLY and done.transcript == "hello" and done.speculative is False
    assert len(out.of(ev.ResponseAudioStarted)) == 1
    assert sum(n for _, n in out.audio) == int(RATE * 0.1 * 7) * 2
    assert done.wire()["type"] == "response.done"
    await engine.stop()


async def test_speech_during_a_reply_interrupts_it_and_memory_keeps_what_was_heard(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.text("hello")
    await settle(engine)  # all audio sent; 0.7 s of it is still playing
    await engine.on_turn_event(SpeechBegan())
    assert not out.of(ev.ResponseInterrupted)  # not yet: it may be a backchannel ("uh-huh")
    await engine.on_turn_event(SpeechSustained())  # realtime.barge_in_ms of speech: an interruption
    (cut,) = out.of(ev.ResponseInterrupted)
    assert cut.spoken != REPLY and REPLY.startswith(cut.spoken)
    assert agent.interruptions == [cut.spoken]
    assert isinstance(out.events[-2], ev.SpeechStarted)


SHORT = np.full(RATE // 4, 0.1, np.float32)  # a quarter second


@pytest.mark.parametrize("said", ["Mm-hmm.", "Haan ji.", "हाँ, ठीक है।", "Okay, okay.", "", "H"])
async def test_a_backchannel_over_a_reply_does_not_interrupt_it(settings, said: str) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.text("hello")
    await settle(engine)  # 0.7 s still playing
    engine.stt = engine.listener.stt = FakeSTT(said)  # type: ignore[assignment]
    await engine.on_turn_event(SpeechBegan())
    await engine.on_turn_event(SpeechPaused(audio=SHORT, pause_id=1))
    await engine.on_turn_event(UtteranceEnded(reason="vad", audio=SHORT, ended_at=time.perf_counter()))
    assert not out.of(ev.ResponseInterrupted) and not agent.interruptions
    assert out.of(ev.SpeechStopped)[-1].reason == "backchannel"
    assert agent.users == ["hello"]  # no turn: nothing answered, nothing in memory
    assert len(out.of(ev.ResponseDone)) == 1
    await engine.stop()


@pytest.mark.parametrize("said", ["No, wait.", "Haan, but tomorrow instead.", "Stop."])
async def test_short_words_that_are_not_a_backchannel_interrupt_and_are_answered(settings, said: str) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.text("hello")
    await settle(engine)
    engine.stt = engine.listener.stt = FakeSTT(said)  # type: ignore[assignment]
    await engine.on_turn_event(SpeechBegan())
    await engine.on_turn_event(UtteranceEnded(reason="vad", audio=SHORT, ended_at=time.perf_counter()))
    assert len(out.of(ev.ResponseInterrupted)) == 1
    assert out.of(ev.SpeechStopped)[-1].reason == "vad"
    await settle(engine)
    assert agent.users == ["hello", said]
    await engine.stop()


async def test_a_backchannel_after_the_reply_was_heard_is_a_turn(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.text("hello")
    await settle(engine)
    await asyncio.sleep(0.75)  # the whole reply has been played
    engine.stt = engine.listener.stt = FakeSTT("Okay.")  # type: ignore[assignment]
    await engine.on_turn_event(SpeechBegan())
    await engine.on_turn_event(UtteranceEnded(reason="vad", audio=SHORT, ended_at=time.perf_counter()))
    await settle(engine)
    assert agent.users == ["hello", "Okay."]  # nothing was playing: an answer to "Okay." is due
    await engine.stop()


async def test_barge_in_ms_zero_interrupts_at_speech_start(settings) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_settings as fresh

    engine, out, _ = engine_with(fresh({"realtime": {"barge_in_ms": 0}}))
    await engine.text("hello")
    await settle(engine)
    await engine.on_turn_event(SpeechBegan())
    assert len(out.of(ev.ResponseInterrupted)) == 1
    await engine.stop()


async def test_barge_in_while_generating_stops_the_reply(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings, FakeAgent(delay=0.02))
    await engine.text("hello")
    await asyncio.sleep(0.03)
    await engine.cancel()
    assert engine.response is not None and engine.response.done()
    assert not out.of(ev.ResponseDone)
    assert len(out.of(ev.ResponseInterrupted)) == 1 and len(agent.interruptions) == 1


async def held_speculation(engine: VoiceEngine) -> None:
    await engine.on_turn_event(SpeechPaused(audio=SPEECH))
    for _ in range(200):  # the speculative reply is made (and held back)
        if engine.response is not None and engine.response.done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("no speculative reply was made")


async def test_speech_after_a_pause_discards_the_early_reply(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await held_speculation(engine)
    assert agent.users == ["what is on my calendar"] and engine.turn is not None and engine.turn.held
    await engine.on_turn_event(SpeechResumed())
    assert len(agent.retracted) == 1  # memory forgets the answer nobody heard
    assert not [e for e in out.events if e.type.startswith(("response.", "transcript."))]
    assert not out.audio and engine.turn is None


async def test_end_after_a_pause_releases_the_held_reply(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await held_speculation(engine)
    assert not out.events  # held back until the end of the turn is confirmed
    await engine.on_turn_event(UtteranceEnded(reason="vad", audio=SPEECH, ended_at=time.perf_counter()))
    assert [e.type for e in out.events[:2]] == ["speech.stopped", "transcript.final"]
    (done,) = out.of(ev.ResponseDone)
    assert done.speculative is True and done.latency_ms["stt"] == 0.0 and done.text == REPLY
    assert agent.users == ["what is on my calendar"] and not agent.retracted
    assert out.audio


async def test_truncate_keeps_what_the_client_played(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.text("hello")
    await settle(engine)
    turn_id = out.of(ev.ResponseDone)[0].turn_id
    assert await engine.truncate(turn_id, 350) == "One two three."  # 50 ms into the second sentence
    assert agent.interruptions == ["One two three."]
    assert await engine.truncate("nope", 350) == ""
    assert (await engine.truncate(turn_id, 5000)) == REPLY


async def test_text_only_replies_have_no_audio(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.update(speak=False)
    assert out.of(ev.SessionUpdated)[0].config.vad is engine.vad_enabled
    await engine.text("hello")
    await settle(engine)
    assert not out.audio and not out.of(ev.ResponseAudioStarted)
    assert out.of(ev.ResponseDone)[0].text == REPLY
    assert [e.text for e in out.of(ev.ResponseSentence)] == ["One two three.", "Four five six seven."]


async def test_push_to_talk_through_the_frame_stream(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    await engine.start()
    await engine.update(vad=False)
    await engine.audio(bytes(RATE))  # 0.5 s of PCM16
    await engine.commit()
    for _ in range(200):
        if out.of(ev.ResponseDone):
            break
        await asyncio.sleep(0.005)
    assert out.of(ev.SessionStarted) and out.of(ev.SpeechStopped)[0].reason == "commit"
    assert out.of(ev.TranscriptFinal)[0].text == "what is on my calendar"
    assert out.of(ev.ResponseDone)[0].transcript == "what is on my calendar"
    await engine.stop()
    assert engine.failed is None


async def test_invalid_update_changes_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, _ = engine_with(settings)
    with pytest.raises(Exception) as err:
        await engine.update(vad_threshold=2.0, speak=False)
    assert getattr(err.value, "code", "") == "invalid_config" and engine.speak is True and not out.events


def test_error_wire_form_leaves_out_overflow_fields() -> None:
    assert ev.Error(code="x", message="y").wire() == {
        "type": "error",
        "code": "x",
        "message": "y",
        "fatal": False,
    }
    assert "dropped_frames" in ev.Error(code="x", message="y", dropped_frames=3).wire()


async def test_a_door_can_keep_turns_until_it_asks_for_the_answer(settings) -> None:  # type: ignore[no-untyped-def]
    """The Realtime API's turn-taking: committed audio and typed items wait for respond(); one answer to
    all of them, in order."""
    engine, out, agent = engine_with(settings)
    engine.answer_commits = False
    await engine.add_text("hello")
    await engine.on_turn_event(UtteranceEnded(reason="commit", audio=SPEECH, ended_at=time.perf_counter()))
    for _ in range(200):
        if out.of(ev.TranscriptFinal):
            break
        await asyncio.sleep(0.005)
    assert [e.text for e in out.of(ev.TranscriptFinal)] == ["what is on my calendar"]
    assert engine.response is None and agent.users == []  # nothing answered yet
    with pytest.raises(InvalidRequest) as nothing:
        await engine_with(settings)[0].respond()
    assert nothing.value.code == "no_user_input"
    turn_id = await engine.respond()
    with pytest.raises(InvalidRequest) as busy:
        await engine.respond()
    assert busy.value.code == "conversation_already_has_active_response"
    await settle(engine)
    assert agent.users == ["hello\nwhat is on my calendar"]
    (done,) = out.of(ev.ResponseDone)
    assert done.turn_id == turn_id and done.text == REPLY
    await engine.stop()


async def test_without_barge_in_or_playing_interruption_a_reply_is_left_to_the_client(settings) -> None:  # type: ignore[no-untyped-def]
    engine, out, agent = engine_with(settings)
    engine.barge_in = engine.interrupt_playing = False
    await engine.text("hello")
    await settle(engine)  # its audio is still "playing" by the engine's clock
    await engine.on_turn_event(SpeechBegan())
    await engine.text("again")
    await settle(engine)
    assert not out.of(ev.ResponseInterrupted) and not agent.interruptions
    assert len(out.of(ev.ResponseDone)) == 2
    await engine.stop()


async def test_respond_right_after_a_commit_waits_for_its_transcription(settings) -> None:  # type: ignore[no-untyped-def]
    """A Realtime client sends commit and response.create back to back; the listener reaches the commit
    (through the frame stream) only later: the answer waits for it instead of finding nothing."""
    engine, out, agent = engine_with(settings)
    engine.answer_commits = False
    await engine.commit()
    await engine.respond()  # before the listener has seen the commit
    await asyncio.sleep(0.01)
    assert agent.users == [] and not out.of(ev.ResponseDone)
    await engine.on_turn_event(UtteranceEnded(reason="commit", audio=SPEECH, ended_at=time.perf_counter()))
    await settle(engine)
    assert agent.users == ["what is on my calendar"]
    assert len(out.of(ev.ResponseDone)) == 1
    await engine.commit()  # an empty commit: its slot is filled with nothing, and said so
    await engine.respond()
    await engine.on_turn_event(
        UtteranceEnded(reason="commit", audio=np.zeros(10, np.float32), ended_at=time.perf_counter())
    )
    await settle(engine)
    assert [e.code for e in out.of(ev.Error)] == ["empty_audio", "no_user_input"]
    await engine.stop()


@pytest.mark.parametrize("done_before_resume", [True, False])
async def test_a_pause_transcription_is_one_partial_whenever_done(settings, done_before_resume) -> None:  # type: ignore[no-untyped-def]
    """The words heard at a pause become a partial once the user speaks on: sent at the resume when the
    transcription is done by then, else as soon as it is (a pause shorter than a Whisper run); never twice."""
    got: list[object] = []

    async def on_event(event: object) -> None:
        got.append(event)

    listener = Listener(settings.realtime, None, FakeSTT(), STTConfig, RATE, on_event, asyncio.create_task)  # type: ignore[arg-type]
    detector = listener.detector
    detector.speaking, detector.pause_id, detector._paused = True, 1, True  # in a turn, first pause
    heard: asyncio.Future[Transcription] = asyncio.get_running_loop().create_future()
    listener.judge_pause(1, heard)  # type: ignore[arg-type]
    said = Transcription("what is on my", "en", 1.0, 1.0, provider="fake-stt")
    if done_before_resume:
        heard.set_result(said)
        await asyncio.sleep(0)
    detector._paused = False
    await listener._on_vad("resume")
    if not done_before_resume:
        assert not [e for e in got if isinstance(e, PartialTranscript)]  # nothing heard yet
        heard.set_result(said)
    for _ in range(3):
        await asyncio.sleep(0)
    partials = [e.text for e in got if isinstance(e, PartialTranscript)]
    assert partials == ["what is on my"]


@pytest.mark.parametrize("whose", ["own", "other"])
async def test_own_early_answer_does_not_slow_captions(settings, whose) -> None:  # type: ignore[no-untyped-def]
    """Partials come 3x less often only while *another* session's reply is made: the session's own early
    answer (void once the user speaks on) left a 4 s question without a single caption."""
    listener = Listener(
        settings.realtime, None, FakeSTT(), STTConfig, RATE, lambda e: asyncio.sleep(0), asyncio.create_task
    )  # type: ignore[arg-type]
    listener.detector.speaking = True
    interval = int(settings.realtime.partial_interval_ms * STT_SAMPLE_RATE / 1000)
    listener.buffer, listener.buffered, listener.partial_at = [np.zeros(interval, np.float32)], interval, 0
    owner = listener.owner if whose == "own" else object()
    with ANSWERING.running(owner):
        assert ANSWERING.busy and ANSWERING.busy_besides(listener.owner) == (whose == "other")
        listener._maybe_partial()
    assert (listener.partial_task is not None) == (whose == "own")
    if listener.partial_task is not None:
        await listener.partial_task
    assert not ANSWERING.busy


@pytest.mark.parametrize(
    ("asked", "spoken"),
    [
        ("How much is it?", "It costs one thousand two hundred fifty rupees."),
        ("इसकी कीमत क्या है?", "It costs बारह सौ पचास रुपये."),  # the amount in the language asked in
    ],
)
async def test_rupee_amounts_are_spoken_in_words_of_the_reply_language(
    settings, asked: str, spoken: str
) -> None:  # type: ignore[no-untyped-def]
    engine, out, _ = engine_with(settings, FakeAgent(reply="It costs ₹1,250."))
    await engine.text(asked)
    await settle(engine)
    assert [e.text for e in out.of(ev.ResponseSentence)] == [spoken]
    await engine.stop()

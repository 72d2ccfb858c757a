"""Engine events → Realtime server events; every event must validate against the official SDK's types."""

import typing

import pytest
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent

from backend.doors.openai_realtime.translate import RealtimeTranslator
from backend.engine import events as engine


def _sdk_classes(union: object) -> dict[str, type]:
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(cls.model_fields["type"].annotation)[0]: cls for cls in members}


SDK = {"ga": _sdk_classes(GAServerEvent), "beta": _sdk_classes(BetaServerEvent)}


def _check(dialect: str, events: list[dict]) -> list[str]:
    for event in events:
        cls = SDK[dialect].get(event["type"])
        assert cls is not None, f"{event['type']} is not a {dialect} server event"
        cls.model_validate(event, strict=False)
    return [event["type"] for event in events]


def _done(turn_id: str, text: str) -> engine.ResponseDone:
    return engine.ResponseDone(
        turn_id=turn_id,
        transcript="hi",
        text=text,
        action=None,
        speculative=False,
        latency_ms={},
        providers={},
    )


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_spoken_turn_with_audio(dialect: str) -> None:
    tr = RealtimeTranslator(dialect)
    kinds = _check(dialect, tr.speech_started(120))
    kinds += _check(dialect, tr.speech_stopped(900, vad=True))
    kinds += _check(dialect, tr.user_transcript("hello there"))
    kinds += _check(dialect, tr.translate(engine.ResponseAudioStarted(turn_id="t1", sample_rate=22050)))
    kinds += _check(dialect, tr.translate(engine.ResponseTextDelta(turn_id="t1", text="Hi")))
    kinds += _check(dialect, tr.audio_delta("t1", "AAAA"))
    kinds += _check(dialect, tr.translate(_done("t1", "Hi")))
    audio = "response.output_audio" if dialect == "ga" else "response.audio"
    assert kinds[:3] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ]
    assert "conversation.item.input_audio_transcription.completed" in kinds
    assert f"{audio}.delta" in kinds and f"{audio}_transcript.delta" in kinds and f"{audio}.done" in kinds
    assert kinds.index("response.created") < kinds.index(f"{audio}.delta") < kinds.index("response.done")
    assert kinds[-1] == "response.done"


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_text_only_and_cancelled(dialect: str) -> None:
    tr = RealtimeTranslator(dialect, audio_output=False)
    _check(dialect, tr.user_text("what did I say?"))
    kinds = _check(dialect, tr.translate(engine.ResponseTextDelta(turn_id="t2", text="You said")))
    text = "response.output_text" if dialect == "ga" else "response.text"
    assert f"{text}.delta" in kinds
    done = tr.translate(engine.ResponseInterrupted(turn_id="t2", spoken="You said"))
    _check(dialect, done)
    assert done[-1]["response"]["status"] == "cancelled"


def test_a_finished_response_is_never_done_twice() -> None:
    """The engine interrupts a reply still playing by its clock when a new turn starts; the Realtime
    client was already told response.done (completed), so nothing more is sent for it."""
    tr = RealtimeTranslator("ga")
    tr.translate(engine.ResponseTextDelta(turn_id="t3", text="Hello."))
    assert tr.translate(_done("t3", "Hello."))[-1]["response"]["status"] == "completed"
    assert tr.translate(engine.ResponseInterrupted(turn_id="t3", spoken="Hello.")) == []


def test_engine_error_becomes_realtime_error() -> None:
    events = RealtimeTranslator("ga").translate(engine.Error(code="text_too_long", message="too long"))
    _check("ga", events)
    assert events[0]["error"]["code"] == "text_too_long"


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@pytest.mark.parametrize("fmt", ["pcm16", "g711_ulaw", "g711_alaw"])
def test_session_events_validate(dialect: str, fmt: str) -> None:
    from backend.doors.openai_realtime.translate import SessionView, session_event

    view = SessionView("sess_1", "gpt-realtime", fmt, fmt, {"type": "server_vad", "threshold": 0.5}, "amy")
    _check(
        dialect,
        [session_event(dialect, "session.created", view), session_event(dialect, "session.updated", view)],
    )


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_a_client_tool_call_ends_the_response_as_a_function_call_item(dialect: str) -> None:
    tr = RealtimeTranslator(dialect)
    kinds = _check(dialect, tr.response_started("t1"))
    assert kinds == ["response.created"]
    call = {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}
    done = _done("t1", "").model_copy(update={"action": {"tool": "get_weather", "client_calls": [call]}})
    events = tr.translate(done)
    kinds = _check(dialect, events)
    assert "response.content_part.added" not in kinds  # no empty assistant message
    assert kinds[-1] == "response.done"
    args = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert args["call_id"] == "call_1" and args["name"] == "get_weather"
    assert args["arguments"] == '{"city": "Paris"}'
    (item,) = events[-1]["response"]["output"]
    assert item["type"] == "function_call" and item["call_id"] == "call_1"
    added = _check(dialect, tr.tool_output("call_1", '{"temp": 21}'))
    assert added[0] == ("conversation.item.added" if dialect == "ga" else "conversation.item.created")

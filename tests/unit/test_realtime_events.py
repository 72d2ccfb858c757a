"""Client-event parsing of the OpenAI Realtime door in both dialects (doors/openai_realtime/events.py)."""

import json

import pytest

from backend.doors.openai_realtime.events import (
    ConversationItemCreate,
    ConversationItemTruncate,
    InputAudioBufferAppend,
    RealtimeProtocolError,
    SessionUpdate,
    parse_client_event,
)


def _parse(event: dict) -> object:
    return parse_client_event(json.dumps(event))


def test_ga_session_update() -> None:
    event = _parse(
        {
            "type": "session.update",
            "event_id": "e1",
            "session": {
                "type": "realtime",
                "output_modalities": ["audio"],
                "instructions": "Be brief.",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcmu"},
                        "turn_detection": None,
                        "transcription": {"model": "whisper-1"},
                    },
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
                },
            },
        }
    )
    assert isinstance(event, SessionUpdate)
    session = event.session
    assert session.effective_input_format() == "g711_ulaw"
    assert session.effective_output_format() == "pcm16"
    assert session.turn_detection_given() and session.effective_turn_detection() is None
    assert session.effective_voice() is None  # OpenAI's own voice name: our default voice
    assert session.model_copy(update={"voice": "en_US-joe-medium"}).effective_voice() is None  # (audio wins)
    ours = SessionUpdate.model_validate({"type": "session.update", "session": {"voice": "en_US-joe-medium"}})
    assert ours.session.effective_voice() == "en_US-joe-medium"
    assert session.effective_modalities() == ["audio"]


def test_beta_session_update() -> None:
    event = _parse(
        {
            "type": "session.update",
            "session": {
                "modalities": ["text", "audio"],
                "input_audio_format": "g711_alaw",
                "output_audio_format": "g711_ulaw",
                "turn_detection": {"type": "server_vad", "threshold": 0.6, "silence_duration_ms": 400},
            },
        }
    )
    assert isinstance(event, SessionUpdate)
    session = event.session
    assert (session.effective_input_format(), session.effective_output_format()) == ("g711_alaw", "g711_ulaw")
    vad = session.effective_turn_detection()
    assert vad is not None and vad.threshold == 0.6 and vad.silence_duration_ms == 400 and vad.create_response
    assert not SessionUpdate.model_validate(
        {"type": "session.update", "session": {}}
    ).session.turn_detection_given()


def test_item_events() -> None:
    item = _parse(
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        }
    )
    assert isinstance(item, ConversationItemCreate) and item.item.content[0].text == "hi"
    truncate = _parse(
        {"type": "conversation.item.truncate", "item_id": "i1", "content_index": 0, "audio_end_ms": 900}
    )
    assert isinstance(truncate, ConversationItemTruncate) and truncate.audio_end_ms == 900
    assert isinstance(_parse({"type": "input_audio_buffer.append", "audio": "AAAA"}), InputAudioBufferAppend)


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ("[1]", "invalid_json", None),
        ('{"event_id": "x"}', "missing_required_parameter", "type"),
        ('{"type": "nope.nope", "event_id": "x"}', "invalid_value", "type"),
        ('{"type": "input_audio_buffer.append", "event_id": "x"}', "missing_required_parameter", "audio"),
        ('{"type": "session.update", "session": {"input_audio_format": "mp3"}}', "invalid_value", None),
        (
            '{"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -1}',
            "invalid_value",
            "audio_end_ms",
        ),
    ],
)
def test_malformed_events_become_invalid_request_errors(raw: str, code: str, param: str | None) -> None:
    with pytest.raises(RealtimeProtocolError) as caught:
        parse_client_event(raw)
    error = caught.value.to_event("evt_1")
    assert error["type"] == "error" and error["event_id"] == "evt_1"
    assert error["error"]["type"] == "invalid_request_error" and error["error"]["code"] == code
    if param is not None:
        assert error["error"]["param"] == param
    if '"event_id": "x"' in raw:
        assert error["error"]["event_id"] == "x"

"""/v1/realtime with the official openai SDK against the live server and real models (docs/REALTIME.md)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
from openai import AsyncOpenAI

from backend.media.audio import resample_pcm16
from tests.helpers.speech import normalise, piper_audio, word_error_rate
from tests.helpers.voice import LONG_REPLY_QUESTION, session_with_a_long_reply

QUESTION = "What is the capital of France?"


def _client(base_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=f"{base_url}/v1", websocket_base_url=f"{base_url.replace('http', 'ws', 1)}/v1", api_key="x"
    )


async def _until(conn, kind: str, within: float = 120) -> tuple[dict, list[dict]]:
    seen: list[dict] = []
    async with asyncio.timeout(within):
        while True:
            event = json.loads(await conn._connection.recv())
            seen.append(event)
            if event["type"] == kind:
                return event, seen


async def _say(conn, text: str) -> None:
    """A typed user message, and the request to answer it."""
    await conn.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )
    await conn.response.create()


@pytest.fixture(scope="module")
def question_pcm24(assembled_models: Path) -> bytes:
    audio = piper_audio(assembled_models, [QUESTION])[QUESTION]
    pcm16k = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    return resample_pcm16(pcm16k, 16000, 24000)


def test_ga_typed_turn_and_malformed_events(base_url: str) -> None:
    async def run() -> None:
        async with _client(base_url).realtime.connect(model="gpt-realtime") as conn:
            created, _ = await _until(conn, "session.created")
            assert created["session"]["model"] == "gpt-realtime"
            await conn._connection.send("{not json")
            error, _ = await _until(conn, "error")
            assert (
                error["error"]["type"] == "invalid_request_error" and error["error"]["code"] == "invalid_json"
            )
            await conn._connection.send(json.dumps({"type": "no.such.event", "event_id": "ev1"}))
            error, _ = await _until(conn, "error")
            assert error["error"]["event_id"] == "ev1" and error["error"]["param"] == "type"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await _until(conn, "session.updated")
            await _say(conn, QUESTION)
            done, seen = await _until(conn, "response.done")
            assert done["response"]["status"] == "completed"
            text = "".join(e["delta"] for e in seen if e["type"] == "response.output_text.delta")
            assert "paris" in normalise(text)

    asyncio.run(run())


def test_beta_spoken_question_manual_commit_ulaw_in_and_out(base_url: str, question_pcm24: bytes) -> None:
    from backend.doors.openai_realtime.codecs import pcm16_to_mulaw

    ulaw = pcm16_to_mulaw(resample_pcm16(question_pcm24, 24000, 8000))

    async def run() -> None:
        async with _client(base_url).beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
            await _until(conn, "session.created")
            await conn.session.update(
                session={
                    "turn_detection": None,
                    "input_audio_format": "g711_ulaw",
                    "output_audio_format": "g711_ulaw",
                }
            )
            await _until(conn, "session.updated")
            step = 800  # 100 ms at 8 kHz
            for i in range(0, len(ulaw), step):
                await conn.input_audio_buffer.append(audio=base64.b64encode(ulaw[i : i + step]).decode())
            await conn.input_audio_buffer.commit()
            heard, _ = await _until(conn, "conversation.item.input_audio_transcription.completed")
            assert word_error_rate(QUESTION, heard["transcript"]) < 0.3
            await conn.response.create()  # manual turns: the client asks for the answer
            done, seen = await _until(conn, "response.done")
            assert done["response"]["status"] == "completed"
            audio = b"".join(
                base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.audio.delta"
            )
            assert len(audio) > 8000 * 0.5  # at least half a second of 8 kHz mu-law

    asyncio.run(run())


def test_ga_server_vad_turn_with_alaw_in(base_url: str, question_pcm24: bytes) -> None:
    from backend.doors.openai_realtime.codecs import pcm16_to_alaw

    alaw = pcm16_to_alaw(resample_pcm16(question_pcm24 + bytes(24000 * 2 * 2), 24000, 8000))

    async def run() -> None:
        async with _client(base_url).realtime.connect(model="gpt-realtime") as conn:
            await _until(conn, "session.created")
            await conn.session.update(
                session={
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcma"},
                            "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                        }
                    },
                }
            )
            await _until(conn, "session.updated")
            step = 800  # 100 ms at 8 kHz
            for i in range(0, len(alaw), step):
                await conn.input_audio_buffer.append(audio=base64.b64encode(alaw[i : i + step]).decode())
                await asyncio.sleep(0.02)
            heard, seen = await _until(conn, "conversation.item.input_audio_transcription.completed")
            kinds = [e["type"] for e in seen]
            assert (
                "input_audio_buffer.speech_started" in kinds and "input_audio_buffer.speech_stopped" in kinds
            )
            assert word_error_rate(QUESTION, heard["transcript"]) < 0.3
            done, seen = await _until(conn, "response.done")
            assert done["response"]["status"] == "completed"
            assert any(e["type"] == "response.output_audio.delta" for e in seen)

    asyncio.run(run())


def test_ga_response_cancel_stops_the_answer_and_socket_stays(base_url: str) -> None:
    async def run() -> None:
        async with _client(base_url).realtime.connect(model="gpt-realtime") as conn:
            await _until(conn, "session.created")
            # a reply the model takes a while to write (two sentences, token by token): a tool's long
            # listing is there at once and synthesized faster than it plays, so it would be done already
            await _say(conn, "Tell me about the history of the ocean.")
            await _until(conn, "response.output_audio.delta")
            await conn.response.cancel()
            done, _ = await _until(conn, "response.done")
            assert done["response"]["status"] == "cancelled"
            await conn._connection.send(json.dumps({"type": "conversation.item.truncate"}))
            error, _ = await _until(conn, "error")
            assert error["error"]["code"] == "missing_required_parameter"

    asyncio.run(run())


def _transcribe_back(base_url: str, pcm: bytes, rate: int) -> str:
    """Our own STT (REST) on the audio the door sent: what a caller would have heard."""
    import httpx

    from backend.media.audio import pcm16_to_wav

    files = {"file": ("reply.wav", pcm16_to_wav(pcm, rate), "audio/wav")}
    response = httpx.post(f"{base_url}/api/stt/transcribe", files=files, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["text"]


def test_spoken_turn_is_remembered_by_a_typed_follow_up_and_a_reconnect(
    base_url: str, assembled_models: Path
) -> None:
    """Spoken "My name is Priya." (pcm16 24 kHz in and out), the reply audio transcribed back matches its
    transcript; a typed follow-up needs the memory of the spoken turn; so does a new connection with the
    same ?session_id=."""
    import uuid

    said = "My name is Priya."
    audio = piper_audio(assembled_models, [said])[said]
    pcm24 = resample_pcm16((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes(), 16000, 24000)
    session_id = f"rt-{uuid.uuid4().hex[:8]}"

    async def ask(conn, text: str) -> str:
        await _say(conn, text)
        done, seen = await _until(conn, "response.done")
        assert done["response"]["status"] == "completed"
        return "".join(e["delta"] for e in seen if e["type"] == "response.output_audio_transcript.delta")

    async def run() -> None:
        client = _client(base_url)
        async with client.realtime.connect(
            model="gpt-realtime", extra_query={"session_id": session_id}
        ) as conn:
            await _until(conn, "session.created")
            await conn.session.update(
                session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
            )
            await _until(conn, "session.updated")
            for i in range(0, len(pcm24), 4800):
                await conn.input_audio_buffer.append(audio=base64.b64encode(pcm24[i : i + 4800]).decode())
            await conn.input_audio_buffer.commit()
            heard, _ = await _until(conn, "conversation.item.input_audio_transcription.completed")
            assert "priya" in normalise(heard["transcript"]), heard
            await conn.response.create()
            done, seen = await _until(conn, "response.done")
            assert done["response"]["status"] == "completed"
            reply_audio = b"".join(
                base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.output_audio.delta"
            )
            transcript = "".join(
                e["delta"] for e in seen if e["type"] == "response.output_audio_transcript.delta"
            )
            assert len(reply_audio) > 24000 * 2 * 0.3, "less than 0.3 s of 24 kHz audio"
            back = _transcribe_back(base_url, reply_audio, 24000)
            assert word_error_rate(transcript, back) <= 0.4, (transcript, back)
            answer = await ask(conn, "What is my name?")
            assert "priya" in normalise(answer), answer
        async with client.realtime.connect(
            model="gpt-realtime", extra_query={"session_id": session_id}
        ) as conn:
            await _until(conn, "session.created")
            answer = await ask(conn, "Do you remember my name?")
            assert "priya" in normalise(answer), answer

    asyncio.run(run())


async def _quiet_for(conn, seconds: float) -> list[dict]:
    """The events that arrive within `seconds` (none expected to end the wait)."""
    seen: list[dict] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                seen.append(json.loads(await conn._connection.recv()))
    return seen


def test_ga_turns_wait_for_response_create_without_create_response(
    base_url: str, question_pcm24: bytes
) -> None:
    """server_vad with create_response false: the spoken turn is transcribed, not answered, until
    response.create; one response at a time; nothing to answer is an error; an input_audio item is
    transcribed and answered like speech; response.done carries usage."""

    async def run() -> None:
        async with _client(base_url).realtime.connect(model="gpt-realtime") as conn:
            await _until(conn, "session.created")
            await conn.session.update(
                session={
                    "type": "realtime",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}},
                }
            )
            updated, _ = await _until(conn, "session.updated")
            assert updated["session"]["audio"]["input"]["turn_detection"]["create_response"] is False
            padded = question_pcm24 + bytes(24000 * 2)  # a second of silence ends the turn
            for i in range(0, len(padded), 4800):
                await conn.input_audio_buffer.append(audio=base64.b64encode(padded[i : i + 4800]).decode())
                await asyncio.sleep(0.05)
            heard, _ = await _until(conn, "conversation.item.input_audio_transcription.completed")
            assert word_error_rate(QUESTION, heard["transcript"]) < 0.3
            later = await _quiet_for(conn, 1.0)
            assert not [e for e in later if e["type"].startswith("response.")], later
            await conn.response.create()
            await conn.response.create()  # while the first is being made
            busy, seen = await _until(conn, "error")
            assert busy["error"]["code"] == "conversation_already_has_active_response"
            done, more = await _until(conn, "response.done")
            assert [e["type"] for e in seen + more].count("response.created") == 1
            assert done["response"]["status"] == "completed"
            usage = done["response"]["usage"]
            assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
            assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
            said = done["response"]["output"][0]["content"][0]["transcript"]
            assert "paris" in normalise(said), said
            await conn.response.create()
            nothing, _ = await _until(conn, "error")
            assert nothing["error"]["code"] == "no_user_input"
            await conn.conversation.item.create(
                item={
                    "id": "item_question",
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_audio", "audio": base64.b64encode(question_pcm24).decode()}],
                }
            )
            heard, _ = await _until(conn, "conversation.item.input_audio_transcription.completed")
            assert heard["item_id"] == "item_question"
            assert word_error_rate(QUESTION, heard["transcript"]) < 0.3
            await conn.response.create()
            done, _ = await _until(conn, "response.done")
            assert done["response"]["status"] == "completed"

    asyncio.run(run())


def test_truncate_keeps_in_memory_what_the_user_heard(base_url: str) -> None:
    import uuid

    import httpx

    session_id = f"rt-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        async with _client(base_url).realtime.connect(
            model="gpt-realtime", extra_query={"session_id": session_id}
        ) as conn:
            await _until(conn, "session.created")
            await _say(conn, "Tell me about the sea and its tides.")
            done, seen = await _until(conn, "response.done")
            assert done["response"]["status"] == "completed"
            item = done["response"]["output"][0]
            full = item["content"][0]["transcript"]
            audio = b"".join(
                base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.output_audio.delta"
            )
            played_ms = len(audio) / 2 / 24000 * 1000
            assert len(full.split()) >= 4 and played_ms > 1000, (full, played_ms)
            await conn.conversation.item.truncate(
                item_id=item["id"], content_index=0, audio_end_ms=int(played_ms / 2)
            )
            await _quiet_for(conn, 0.5)
        messages = httpx.get(f"{base_url}/api/sessions/{session_id}", timeout=30).json()["messages"]
        kept = messages[-1]
        assert kept["role"] == "assistant" and kept.get("interrupted") is True, messages
        assert kept["content"] and len(kept["content"]) < len(full), (kept, full)
        assert full.startswith(kept["content"]), (kept, full)

    asyncio.run(run())


def test_speech_stops_the_reply_being_made(base_url: str, question_pcm24: bytes) -> None:
    """server_vad with interrupt_response (the default): the user speaking while the answer is made
    cancels it."""

    async def run() -> None:
        session_id = session_with_a_long_reply(base_url)
        async with _client(base_url).realtime.connect(
            model="gpt-realtime", extra_query={"session_id": session_id}
        ) as conn:
            await _until(conn, "session.created")
            await _say(conn, LONG_REPLY_QUESTION)
            await _until(conn, "response.created")
            for i in range(0, len(question_pcm24), 4800):  # the user talks over the answer at once
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(question_pcm24[i : i + 4800]).decode()
                )
                await asyncio.sleep(0.1)
            done, seen = await _until(conn, "response.done")
            kinds = [e["type"] for e in seen]
            assert "input_audio_buffer.speech_started" in kinds
            assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
            assert done["response"]["status"] == "cancelled", done

    asyncio.run(run())

"""Engine ServerEvents → OpenAI Realtime server events, in the client's dialect (GA or beta).

One ``RealtimeTranslator`` per connection keeps the ids (item, response) that tie the events of a turn
together. Every method returns the list of Realtime events (dicts) to send, in order.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from backend.doors.openai_realtime.events import Dialect
from backend.engine import events as engine_events

_KEEP_ITEMS = 16  # recent assistant items a truncate can name


def new_id(prefix: str) -> str:
    """An id in OpenAI's style (``item_…``, ``resp_…``, ``event_…``)."""
    return f"{prefix}_{uuid.uuid4().hex[:22]}"


@dataclass
class _Response:
    response_id: str
    item_id: str
    audio: bool
    text: str = ""
    message_open: bool = False  # its assistant message item was announced


@dataclass
class RealtimeTranslator:
    """Stateful translation of one session's engine events into Realtime events."""

    dialect: Dialect
    audio_output: bool = True
    _input_item: str | None = None
    _last_item: str | None = None
    _responses: dict[str, _Response] = field(default_factory=dict)
    _finished: set[str] = field(default_factory=set)  # turns whose response.done was sent
    _item_turns: dict[str, str] = field(default_factory=dict)  # assistant item id → turn (for truncate)

    # names that differ between the dialects
    def _name(self, ga: str, beta: str) -> str:
        return ga if self.dialect == "ga" else beta

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "event_id": new_id("event"), **fields}

    def _item_added(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        previous, self._last_item = self._last_item, item["id"]
        if self.dialect == "beta":
            return [self._event("conversation.item.created", previous_item_id=previous, item=item)]
        return [
            self._event("conversation.item.added", previous_item_id=previous, item=item),
            self._event("conversation.item.done", previous_item_id=previous, item=item),
        ]

    # input side
    def speech_started(self, audio_start_ms: int) -> list[dict[str, Any]]:
        self._input_item = new_id("item")
        return [
            self._event(
                "input_audio_buffer.speech_started", audio_start_ms=audio_start_ms, item_id=self._input_item
            )
        ]

    def speech_stopped(self, audio_end_ms: int, *, vad: bool) -> list[dict[str, Any]]:
        item_id = self._input_item or new_id("item")
        self._input_item = item_id
        out = []
        if vad:
            out.append(
                self._event("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)
            )
        out.append(
            self._event("input_audio_buffer.committed", previous_item_id=self._last_item, item_id=item_id)
        )
        return out

    def cleared(self) -> list[dict[str, Any]]:
        self._input_item = None
        return [self._event("input_audio_buffer.cleared")]

    def user_transcript(self, text: str, audio_seconds: float = 0.0) -> list[dict[str, Any]]:
        item_id = self._input_item or new_id("item")
        self._input_item = None
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": text}],
        }
        done = self._event(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=text,
            usage={"type": "duration", "seconds": audio_seconds},
        )
        return [*self._item_added(item), done]

    def audio_item(self, item_id: str | None) -> None:
        """A client-created input_audio item: its transcription event will carry this id."""
        self._input_item = item_id or new_id("item")

    def response_started(self, turn_id: str) -> list[dict[str, Any]]:
        """response.created at once, for a client's response.create."""
        return self._start(turn_id, message=False)[1]

    def tool_output(self, call_id: str, output: str, item_id: str | None = None) -> list[dict[str, Any]]:
        """The client's function_call_output item, added to the conversation."""
        item = {
            "id": item_id or new_id("item"),
            "object": "realtime.item",
            "type": "function_call_output",
            "status": "completed",
            "call_id": call_id,
            "output": output,
        }
        return self._item_added(item)

    def user_text(self, text: str, item_id: str | None = None) -> list[dict[str, Any]]:
        item = {
            "id": item_id or new_id("item"),
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        return self._item_added(item)

    # output side
    def _content_type(self, response: _Response) -> str:
        if response.audio:
            return self._name("output_audio", "audio")
        return self._name("output_text", "text")

    def _response_obj(
        self,
        response: _Response,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": response.response_id,
            "object": "realtime.response",
            "status": status,
            "status_details": None if status in ("in_progress", "completed") else {"type": status},
            "output": output,
            "usage": usage,
        }
        if self.dialect == "ga":
            obj["output_modalities"] = ["audio"] if response.audio else ["text"]
        else:
            obj["modalities"] = ["audio", "text"] if response.audio else ["text"]
        return obj

    def _assistant_item(
        self, response: _Response, status: str, content: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _part(self, response: _Response, text: str, *, in_item: bool = False) -> dict[str, Any]:
        # content_part events: "audio"/"text"; GA item content: output_audio/output_text
        if response.audio:
            return {"type": self._content_type(response) if in_item else "audio", "transcript": text}
        return {"type": self._content_type(response) if in_item else "text", "text": text}

    def _start(self, turn_id: str, message: bool = True) -> tuple[_Response, list[dict[str, Any]]]:
        """The response of a turn (response.created when new) with its assistant message item open,
        unless `message` is false (a response that may hold only function calls)."""
        out: list[dict[str, Any]] = []
        response = self._responses.get(turn_id)
        if response is None:
            response = _Response(new_id("resp"), new_id("item"), self.audio_output)
            self._responses[turn_id] = response
            self._item_turns[response.item_id] = turn_id
            while len(self._item_turns) > _KEEP_ITEMS:  # as many as the engine keeps turns
                del self._item_turns[next(iter(self._item_turns))]
            out.append(
                self._event("response.created", response=self._response_obj(response, "in_progress", []))
            )
        if message and not response.message_open:
            response.message_open = True
            out.extend(self._open_message(response))
        return response, out

    def _open_message(self, response: _Response) -> list[dict[str, Any]]:
        ids = {"response_id": response.response_id, "output_index": 0}
        previous, self._last_item = self._last_item, response.item_id
        out = [
            self._event(
                "response.output_item.added", **ids, item=self._assistant_item(response, "in_progress", [])
            ),
        ]
        out.extend(self._item_added_no_state(self._assistant_item(response, "in_progress", []), previous))
        out.append(
            self._event(
                "response.content_part.added",
                **ids,
                item_id=response.item_id,
                content_index=0,
                part=self._part(response, ""),
            )
        )
        return out

    def _item_added_no_state(self, item: dict[str, Any], previous: str | None) -> list[dict[str, Any]]:
        kind = "conversation.item.created" if self.dialect == "beta" else "conversation.item.added"
        return [self._event(kind, previous_item_id=previous, item=item)]

    def truncated(self, item_id: str, content_index: int, audio_end_ms: int) -> list[dict[str, Any]]:
        return [
            self._event(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )
        ]

    def turn_for_item(self, item_id: str) -> str | None:
        """The engine turn of an assistant item (conversation.item.truncate), in progress or done."""
        return self._item_turns.get(item_id)

    def audio_delta(self, turn_id: str, delta_b64: str) -> list[dict[str, Any]]:
        response, out = self._start(turn_id)
        out.append(
            self._event(
                self._name("response.output_audio.delta", "response.audio.delta"),
                response_id=response.response_id,
                item_id=response.item_id,
                output_index=0,
                content_index=0,
                delta=delta_b64,
            )
        )
        return out

    def translate(self, event: engine_events.ServerEventBase) -> list[dict[str, Any]]:
        """The Realtime events for one engine event (input-side events need the door's clock; see above)."""
        if isinstance(event, engine_events.ResponseTextDelta):
            response, out = self._start(event.turn_id)
            response.text += event.text
            kind = (
                self._name("response.output_audio_transcript.delta", "response.audio_transcript.delta")
                if response.audio
                else self._name("response.output_text.delta", "response.text.delta")
            )
            out.append(
                self._event(
                    kind,
                    response_id=response.response_id,
                    item_id=response.item_id,
                    output_index=0,
                    content_index=0,
                    delta=event.text,
                )
            )
            return out
        if isinstance(event, engine_events.ResponseAudioStarted):
            return self._start(event.turn_id)[1]
        if isinstance(event, engine_events.ResponseDone):
            calls = (event.action or {}).get("client_calls") or []
            return self._finish(event.turn_id, event.text, "completed", event.transcript, calls)
        if isinstance(event, engine_events.ResponseInterrupted):
            if event.turn_id in self._finished:  # its response.done (completed) was sent: nothing to cancel
                return []
            return self._finish(event.turn_id, event.spoken, "cancelled")
        if isinstance(event, engine_events.Error):
            return [
                self._event(
                    "error",
                    error={
                        "type": "server_error" if event.fatal else "invalid_request_error",
                        "code": event.code,
                        "message": event.message,
                        "param": None,
                        "event_id": None,
                    },
                )
            ]
        return []

    def _finish(
        self,
        turn_id: str,
        text: str,
        status: str,
        heard: str = "",
        calls: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """The end of a response: its assistant message (when it has one), the client tool calls the
        model made (function_call items), response.done with usage."""
        response, out = self._start(turn_id, message=bool(text) or not calls)
        del self._responses[turn_id]
        self._finished.add(turn_id)
        items: list[dict[str, Any]] = []
        if response.message_open:
            message = self._finish_message(response, text, status)
            out.extend(message)
            items.append(next(e["item"] for e in message if e["type"] == "response.output_item.done"))
        for call in calls or []:
            call_events = self._function_call(response, call, output_index=len(items))
            out.extend(call_events)
            items.append(call_events[-1]["item"])
        usage = estimated_usage(heard, text, audio=response.audio)
        out.append(self._event("response.done", response=self._response_obj(response, status, items, usage)))
        return out

    def _function_call(
        self, response: _Response, call: dict[str, Any], output_index: int
    ) -> list[dict[str, Any]]:
        """A model's call of a client tool: the item, its arguments (one delta), done."""
        arguments = json.dumps(call.get("args") or {})
        item = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "call_id": call["id"],
            "name": call["name"],
            "arguments": "",
        }
        ids = {"response_id": response.response_id, "output_index": output_index}
        previous, self._last_item = self._last_item, item["id"]
        out = [self._event("response.output_item.added", **ids, item=item)]
        out.extend(self._item_added_no_state(item, previous))
        fields = {**ids, "item_id": item["id"], "call_id": call["id"]}
        out.append(self._event("response.function_call_arguments.delta", **fields, delta=arguments))
        out.append(
            self._event(
                "response.function_call_arguments.done", **fields, name=call["name"], arguments=arguments
            )
        )
        done = {**item, "status": "completed", "arguments": arguments}
        if self.dialect == "ga":
            out.append(self._event("conversation.item.done", previous_item_id=previous, item=done))
        out.append(self._event("response.output_item.done", **ids, item=done))
        return out

    def _finish_message(self, response: _Response, text: str, status: str) -> list[dict[str, Any]]:
        """The end of the assistant message: audio/text done, content part done, item done."""
        out: list[dict[str, Any]] = []
        ids = {"response_id": response.response_id, "item_id": response.item_id, "output_index": 0}
        part = self._part(response, text)
        if response.audio:
            out.append(
                self._event(
                    self._name("response.output_audio.done", "response.audio.done"), **ids, content_index=0
                )
            )
            out.append(
                self._event(
                    self._name("response.output_audio_transcript.done", "response.audio_transcript.done"),
                    **ids,
                    content_index=0,
                    transcript=text,
                )
            )
        else:
            out.append(
                self._event(
                    self._name("response.output_text.done", "response.text.done"),
                    **ids,
                    content_index=0,
                    text=text,
                )
            )
        out.append(self._event("response.content_part.done", **ids, content_index=0, part=part))
        item_status = "completed" if status == "completed" else "incomplete"
        item = self._assistant_item(response, item_status, [self._part(response, text, in_item=True)])
        out.append(
            self._event(
                "response.output_item.done", response_id=response.response_id, output_index=0, item=item
            )
        )
        if self.dialect == "ga":
            out.append(self._event("conversation.item.done", previous_item_id=None, item=item))
        return out


def estimated_tokens(text: str) -> int:
    """Tokens by OpenAI's rule of thumb (about 4 characters each): our engines do not bill in tokens."""
    return (len(text) + 3) // 4


def estimated_usage(heard: str, said: str, *, audio: bool) -> dict[str, Any]:
    """``response.done`` ``usage``: the user's turn as input, the reply as output (text or audio)."""
    into, out = estimated_tokens(heard), estimated_tokens(said)
    return {
        "total_tokens": into + out,
        "input_tokens": into,
        "output_tokens": out,
        "input_token_details": {"text_tokens": into, "audio_tokens": 0, "cached_tokens": 0},
        "output_token_details": {
            "text_tokens": 0 if audio else out,
            "audio_tokens": out if audio else 0,
        },
    }


_GA_FORMATS = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"},
               "g711_alaw": {"type": "audio/pcma"}}  # fmt: skip


@dataclass
class SessionView:
    """What session.created / session.updated report about the connection."""

    session_id: str
    model: str
    input_format: str = "pcm16"
    output_format: str = "pcm16"
    vad: dict[str, Any] | None = None
    voice: str | None = None
    instructions: str = ""
    audio_output: bool = True


def session_event(dialect: Dialect, kind: str, view: SessionView) -> dict[str, Any]:
    """``session.created`` or ``session.updated`` in the client's dialect."""
    if dialect == "ga":
        session: dict[str, Any] = {
            "type": "realtime",
            "id": view.session_id,
            "object": "realtime.session",
            "model": view.model,
            "instructions": view.instructions,
            "output_modalities": ["audio"] if view.audio_output else ["text"],
            "audio": {
                "input": {"format": _GA_FORMATS[view.input_format], "turn_detection": view.vad},
                "output": {"format": _GA_FORMATS[view.output_format], "voice": view.voice},
            },
        }
    else:
        session = {
            "id": view.session_id,
            "object": "realtime.session",
            "model": view.model,
            "instructions": view.instructions,
            "modalities": ["audio", "text"] if view.audio_output else ["text"],
            "input_audio_format": view.input_format,
            "output_audio_format": view.output_format,
            "turn_detection": view.vad,
            "voice": view.voice,
        }
    return {"type": kind, "event_id": new_id("event"), "session": session}

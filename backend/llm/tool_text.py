"""Tool calls written as text by a local model whose chat template offers tools.

A GGUF model does not return structured tool calls: its template shows it the tools, and it answers
with a call in its own format:

* Qwen 2.5 / Hermes: ``<tool_call>{"name": "...", "arguments": {...}}</tool_call>`` (one or more);
* Llama 3.x: ``{"name": "...", "parameters": {...}}``, sometimes after ``<|python_tag|>``.

:class:`ToolCallText` sits on the token stream: text that cannot be part of a call streams on at
once; text that could be (it starts like one) is held back until the reply ends, then either becomes
tool calls (only for tools that were offered) or, if it does not parse as one, is released as text.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from backend.llm.base import ToolCall

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
PYTHON_TAG = "<|python_tag|>"
_MARKERS = (CALL_OPEN, PYTHON_TAG)
_TAGGED = re.compile(re.escape(CALL_OPEN) + r"\s*(.*?)\s*(?:" + re.escape(CALL_CLOSE) + r"|$)", re.S)


def _call_from(obj: Any, offered: set[str]) -> ToolCall | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or obj["name"] not in offered:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):  # some models write the arguments as a JSON string
        try:
            args = json.loads(args)
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=obj["name"], arguments=args)


def parse_tool_calls(text: str, offered: set[str]) -> tuple[ToolCall, ...]:
    """The calls in ``text`` (empty when it is not wholly a call to offered tools)."""
    body = text.strip().removeprefix(PYTHON_TAG).strip()
    pieces = [m.group(1) for m in _TAGGED.finditer(body)] if body.startswith(CALL_OPEN) else [body]
    if not pieces:
        return ()
    calls: list[ToolCall] = []
    decoder = json.JSONDecoder()
    for piece in pieces:
        rest = piece.strip()
        while rest:
            try:
                obj, end = decoder.raw_decode(rest)
            except ValueError:
                return ()
            call = _call_from(obj, offered)
            if call is None:
                return ()
            calls.append(call)
            rest = rest[end:].lstrip().lstrip(";").lstrip()
    return tuple(calls)


class ToolCallText:
    """Splits one streamed reply into text to speak now and tool calls found at the end."""

    def __init__(self, offered: set[str]) -> None:
        self.offered = offered
        self._seen = ""
        self._sent = 0  # how much of _seen was released as text
        self._call_from: int | None = None  # where a possible call starts, once one does

    def feed(self, delta: str) -> str:
        """Add a streamed piece; returns the text that can be spoken now."""
        self._seen += delta
        if self._call_from is not None:
            return ""
        pending = self._seen[self._sent :]
        if self._sent == 0:
            head = pending.lstrip()
            if not head or any(m.startswith(head) for m in _MARKERS):
                return ""  # might still become a call
            if head.startswith(("{", *_MARKERS)):
                self._call_from = 0
                return ""
        at = pending.find(CALL_OPEN)
        if at >= 0:
            self._call_from = self._sent + at
            return self._release(self._sent + at)
        keep = next((k for k in range(len(CALL_OPEN) - 1, 0, -1) if pending.endswith(CALL_OPEN[:k])), 0)
        return self._release(len(self._seen) - keep)

    def _release(self, upto: int) -> str:
        text = self._seen[self._sent : upto]
        self._sent = max(self._sent, upto)
        return text

    def finish(self) -> tuple[str, tuple[ToolCall, ...]]:
        """At the end of the reply: (text still to speak, tool calls)."""
        if self._call_from is not None:
            calls = parse_tool_calls(self._seen[self._call_from :], self.offered)
            if calls:
                return self._release(self._call_from), calls
        return self._release(len(self._seen)), ()

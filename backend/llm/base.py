"""LLM provider interface: a chat conversation in, a stream of text deltas (and tool calls) out.

Providers that support native tool calling (OpenAI-compatible servers, Groq) declare
`capabilities().tool_calling = True`; the agent then offers them tools. Small local models get a
completion prompt and the agent routes intents with a deterministic parser instead.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # for role == "tool"
    name: str | None = None  # tool name, for role == "tool"


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to a tool-calling model: JSON-schema parameters, OpenAI style."""

    name: str
    description: str
    parameters: dict[str, Any]

    def as_function(self) -> dict[str, Any]:
        """The chat-completions ``tools`` entry (also what chat templates read as ``tools``)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class LLMOptions:
    max_tokens: int = 96
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()


@dataclass(frozen=True)
class LLMEvent:
    """One streamed item: a text delta, or (at most once, at the end) the tool calls the model made."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None


@dataclass(frozen=True)
class LLMCapabilities:
    streaming: bool = True
    tool_calling: bool = False
    context_tokens: int = 2048
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class LLMProvider(abc.ABC):
    """Constructed from Settings; `load()` once at startup; `stream()` per turn; `close()` at shutdown."""

    name: str = ""

    async def load(self) -> None:  # noqa: B027 - optional hook
        """Load the model or open the HTTP client."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what `load` acquired."""

    def status(self) -> dict[str, object]:
        return {}

    @abc.abstractmethod
    def capabilities(self) -> LLMCapabilities: ...

    @abc.abstractmethod
    def stream(self, messages: list[ChatMessage], options: LLMOptions) -> AsyncIterator[LLMEvent]:
        """Stream the assistant's reply to `messages`."""

    async def warm_up(self, messages: list[ChatMessage]) -> None:  # noqa: B027 - optional hook
        """Prepare for prompts that start like `messages` (local models pre-fill their prompt cache)."""

    def count_tokens(self, text: str) -> int:
        """Rough token count for context budgeting (providers with a tokenizer override this)."""
        return max(1, len(text) // 4)

    async def complete(self, messages: list[ChatMessage], options: LLMOptions) -> LLMEvent:
        """The whole reply at once (built on `stream`)."""
        text: list[str] = []
        calls: tuple[ToolCall, ...] = ()
        finish: str | None = None
        async for event in self.stream(messages, options):
            text.append(event.text)
            calls = event.tool_calls or calls
            finish = event.finish_reason or finish
        return LLMEvent(text="".join(text), tool_calls=calls, finish_reason=finish)

"""Local GGUF models through llama-cpp-python, in-process: loaded once, generation in a worker thread,
tokens streamed back to the event loop as they are produced.

The bundled Gemma 3 270M is a *base* model with no chat template, so the default `prompt_style:
completion` frames the dialogue as plain text ("User: …\\nAssistant:") and stops at the next "User:".
`prompt_style: chat` uses the GGUF's own chat template for instruction-tuned models.

A llama.cpp context serves one generation at a time. `llama_cpp.contexts: N` loads N contexts of the
same file (the weights are memory-mapped once; each context adds its own KV cache), so N conversations
generate at once instead of queueing behind each other; a generation takes whichever context is free
(the last used first, so one conversation keeps its warm prompt cache). Generations running at once
share `llama_cpp.threads` (all cores by default) between them, re-divided between tokens.

With `llama_cpp.yield_to_speech` (default) generation pauses between tokens while the first phrase of
a reply is being synthesized (`backend/core/cpu.py`): that phrase is on the path to the first audio.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.core.cpu import FIRST_AUDIO
from backend.core.errors import ConfigError, ProviderError
from backend.llm.base import ChatMessage, LLMCapabilities, LLMEvent, LLMOptions, LLMProvider
from backend.llm.tool_text import ToolCallText
from backend.models.bundled import GEMMA_FILENAME
from backend.models.llms import read_selected

if TYPE_CHECKING:
    from llama_cpp import Llama

    from backend.core.config import Settings

logger = logging.getLogger(__name__)

_ROLE_LABEL = {"user": "User", "assistant": "Assistant", "tool": "Tool result"}
# A base model keeps one line per turn; a newline ends the reply.
COMPLETION_STOPS = ("\n",)
# A few example turns anchor who speaks as whom and the short, plain style: with them the 270M base
# model answers factual questions it otherwise refuses, and stops replying in the user's voice.
FEW_SHOT = (
    "User: Hello! I'm Sam.\n"
    "Assistant: Nice to meet you, Sam! How can I help you today?\n"
    "User: What is the largest planet?\n"
    "Assistant: Jupiter is the largest planet in our solar system.\n"
    "User: What will the weather be like next month?\n"
    "Assistant: Sorry, I can't know that.\n"
    "User: Who painted the Mona Lisa?\n"
    "Assistant: Leonardo da Vinci painted the Mona Lisa.\n"
    "User: Thanks a lot.\n"
    "Assistant: You're welcome!\n"
)


def completion_prompt(messages: list[ChatMessage]) -> str:
    """The first system message, the example turns, then any further system text (session context) as
    a note, then the 'User: … / Assistant: …' turns, ending with 'Assistant:'.

    Stable parts come first so llama.cpp can reuse its cache for the longest unchanged prefix.
    """
    systems = [m.content.strip() for m in messages if m.role == "system"]
    head = systems[0] + "\n\n" if systems else ""
    note = "(" + " ".join(systems[1:]) + ")\n" if len(systems) > 1 else ""
    turns = [f"{_ROLE_LABEL[m.role]}: {' '.join(m.content.split())}" for m in messages if m.role != "system"]
    return head + FEW_SHOT + "\n" + note + "\n".join(turns) + "\nAssistant:"


class LlamaCppLLM(LLMProvider):
    name = "llama_cpp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.llama_cpp
        model = settings.llm.model or self.cfg.model
        selected = None if model else read_selected(settings.models_dir)
        self.prompt_style: str = self.cfg.prompt_style  # "auto" is decided by `load()`
        if selected is not None:
            model = selected.file
            if self.prompt_style == "auto":
                self.prompt_style = selected.prompt_style
        path = Path(model or GEMMA_FILENAME).expanduser()
        self.model_path = path if path.is_absolute() else settings.models_dir / "llm" / path
        self.template_takes_tools = False
        self.llm: Llama | None = None  # the first context (tokenizer, status)
        # contexts not generating now, the last used on top: one conversation keeps its warm prompt cache
        self._free: queue.LifoQueue[Llama] = queue.LifoQueue()
        self._contexts: list[Llama] = []
        self._threads = self.cfg.threads or os.cpu_count() or 1
        self._generating = 0  # generations running now (they share the threads)
        self._count_lock = threading.Lock()
        self.load_ms = 0.0

    def capabilities(self) -> LLMCapabilities:
        return LLMCapabilities(
            streaming=True,
            tool_calling=self.tool_calling,
            context_tokens=self.cfg.context_tokens,
            model=self.model_path.name,
        )

    @property
    def tool_calling(self) -> bool:
        """Whether the agent offers this model its tools: a chat template that takes them, and allowed."""
        return self.prompt_style == "chat" and self.template_takes_tools and self.cfg.tool_calling

    async def load(self) -> None:
        if not self.model_path.is_file():
            raise ConfigError(
                f"llm: model file {self.model_path} not found; run `python download_models.py` (bundled "
                "Gemma 3 270M), `python download_models.py --llm NAME` (an instruct model, see --list) or "
                "set llama_cpp.model to a GGUF file"
            )
        try:
            import llama_cpp
        except ImportError:
            raise ConfigError("llm.provider llama_cpp needs `pip install llama-cpp-python`") from None
        start = time.perf_counter()
        try:
            for _ in range(self.cfg.contexts):
                context = await asyncio.to_thread(
                    llama_cpp.Llama,
                    model_path=str(self.model_path),
                    n_ctx=self.cfg.context_tokens,
                    n_threads=self._threads,
                    n_threads_batch=self._threads,
                    verbose=False,
                )
                self._contexts.append(context)
                self._free.put(context)
        except (ValueError, RuntimeError) as exc:
            await self.close()
            raise ConfigError(f"llm: cannot load {self.model_path}: {exc}") from None
        self.llm = self._contexts[0]
        self.load_ms = round((time.perf_counter() - start) * 1000, 1)
        template = str(self.llm.metadata.get("tokenizer.chat_template") or "")
        if self.prompt_style == "auto":
            self.prompt_style = "chat" if template else "completion"
        self.template_takes_tools = "tools" in template
        logger.info(
            "loaded %s in %.0f ms (%d context%s, %s prompt%s)",
            self.model_path.name,
            self.load_ms,
            len(self._contexts),
            "" if len(self._contexts) == 1 else "s",
            self.prompt_style,
            ", tool calling" if self.tool_calling else "",
        )

    async def close(self) -> None:
        for context in self._contexts:
            context.close()
        self._contexts, self._free, self.llm = [], queue.LifoQueue(), None

    def status(self) -> dict[str, object]:
        return {
            "model": self.model_path.name,
            "load_ms": self.load_ms,
            "prompt_style": self.prompt_style,
            "tool_calling": self.tool_calling,
            "contexts": len(self._contexts),
        }

    async def warm_up(self, messages: list[ChatMessage]) -> None:
        """Evaluate the fixed start of every prompt once in each context, so the first turn reuses it."""
        await asyncio.to_thread(self._warm_every_context, messages)

    def _warm_every_context(self, messages: list[ChatMessage]) -> None:
        taken = [self._free.get() for _ in self._contexts]  # each one, waiting for any in use
        try:
            for llm in taken:
                for _ in self._generate(llm, messages, LLMOptions(max_tokens=1)):
                    pass
        finally:
            for llm in reversed(taken):
                self._free.put(llm)

    def _share_cores(self, llm: Llama, change: int) -> int:
        """Count a generation in (+1) or out (-1), and give `llm` its share of the threads: all of them
        alone, `threads / N` when N contexts generate at once (more threads than cores would make
        llama.cpp's spinning workers wait on each other). Returns the count it was sized for."""
        with self._count_lock:
            self._generating += change
            running = self._generating
        if change >= 0 and len(self._contexts) > 1:
            share = max(1, self._threads // max(running, 1))
            context = getattr(llm, "_ctx", None)  # llama_cpp's internal context (0.3.x)
            if context is not None and hasattr(context, "set_n_threads"):
                context.set_n_threads(share, share)
        return running

    def count_tokens(self, text: str) -> int:
        if self.llm is None:
            return super().count_tokens(text)
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def _generate(
        self, llm: Llama, messages: list[ChatMessage], options: LLMOptions
    ) -> Iterator[tuple[str, str | None]]:
        common: dict[str, Any] = {
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": True,
        }
        if self.prompt_style == "chat":
            chat = [_chat_dict(m, self.tool_calling) for m in messages]
            if self.tool_calling and options.tools:
                common["tools"] = [t.as_function() for t in options.tools]
            for chunk in llm.create_chat_completion(chat, stop=list(options.stop) or None, **common):
                choice = chunk["choices"][0]
                yield choice["delta"].get("content") or "", choice.get("finish_reason")
            return
        stops = list(dict.fromkeys([*COMPLETION_STOPS, *options.stop]))
        for chunk in llm.create_completion(completion_prompt(messages), stop=stops, **common):
            choice = chunk["choices"][0]
            yield choice.get("text") or "", choice.get("finish_reason")

    async def stream(self, messages: list[ChatMessage], options: LLMOptions) -> AsyncIterator[LLMEvent]:
        if self.llm is None:
            raise ProviderError("llama_cpp: the model is not loaded")
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, str | None] | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()
        step_aside = self.cfg.yield_to_speech

        def worker() -> None:
            llm = self._free.get()  # waits while every context is generating
            share = self._share_cores(llm, +1)
            try:
                for item in self._generate(llm, messages, options):
                    if cancelled.is_set():
                        break
                    loop.call_soon_threadsafe(events.put_nowait, item)
                    if step_aside:  # a first phrase is being synthesized: it needs the cores now
                        FIRST_AUDIO.step_aside()
                    if self._generating != share:  # another generation started or ended
                        share = self._share_cores(llm, 0)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer
                loop.call_soon_threadsafe(events.put_nowait, exc)
            finally:
                self._share_cores(llm, -1)
                self._free.put(llm)
                loop.call_soon_threadsafe(events.put_nowait, None)

        task = asyncio.create_task(asyncio.to_thread(worker))
        calls = ToolCallText({t.name for t in options.tools}) if self.tool_calling and options.tools else None
        finish: str | None = None
        try:
            while (item := await events.get()) is not None:
                if isinstance(item, BaseException):
                    raise ProviderError(f"llama_cpp: generation failed: {item}")
                text, finish = item
                if calls is None:
                    yield LLMEvent(text=text, finish_reason=finish)
                elif text := calls.feed(text):
                    yield LLMEvent(text=text)
            if calls is not None:
                rest, made = calls.finish()
                yield LLMEvent(text=rest, tool_calls=made, finish_reason="tool_calls" if made else finish)
        finally:
            cancelled.set()  # consumer stopped early (barge-in, client gone): stop generating
            await task


def _chat_dict(message: ChatMessage, tools: bool) -> dict[str, Any]:
    """A message as a chat template reads it; without tools, a tool result is told as the user's."""
    if not tools:
        return {"role": message.role if message.role != "tool" else "user", "content": message.content}
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id or ""
        out["name"] = message.name or ""
    return out

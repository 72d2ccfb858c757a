"""The conversation agent: a LangGraph `StateGraph` — understand → respond | act → respond — whose state
(messages, facts the user told, a pending question) is checkpointed in Redis by `AsyncRedisSaver`,
with `thread_id` = the session id. Memory therefore survives reconnects and server restarts.

understand: tool-calling LLMs (OpenAI-compatible, Groq) get the tools and decide themselves; small
    local models get a deterministic intent parser (keywords + date/time parsing, `intents.py`). A call
    of a tool the *client* runs (`TurnOptions.client_tools`, the Realtime API's session tools) ends the
    turn there (`action.client_calls`); the client's output (`TurnOptions.tool_outputs`) starts the next.
act: runs the chosen tools (`tools.py`); their results re-enter the conversation.
respond: the reply, streamed as text deltas (LangGraph custom stream), cleaned for speech, stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypedDict
from zoneinfo import ZoneInfo

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

from backend.agents.appointments import AppointmentStore
from backend.agents.checkpoints import open_checkpoints
from backend.agents.intents import extract_facts, parse_intent, parse_when
from backend.agents.lease import TurnLease
from backend.agents.locale import phrase, reply_language
from backend.agents.tools import DEFAULT_TOOLS, ToolContext, ToolRegistry
from backend.core.config import Settings
from backend.core.errors import StorageUnavailable, storage_error, storage_guard
from backend.core.languages import LANGUAGES
from backend.core.redis import RedisService
from backend.llm.base import ChatMessage, LLMOptions, LLMProvider, ToolCall, ToolSpec
from backend.llm.chain import LLMChain
from backend.media.text import for_speech

logger = logging.getLogger(__name__)

MAX_STORED_MESSAGES = 400
FALLBACK_REPLY = phrase("agent.fallback", "en")  # (in the turn's language: locale/phrases.py)
_SUMMARY_TOKENS = 96
_RECALL = (
    (
        re.compile(r"\b(what'?s my name|what is my name|do you (know|remember) my name|who am i)\b", re.I),
        "name",
    ),
    (
        re.compile(r"\b(where do i live|which city do i live in|where am i from|what is my city)\b", re.I),
        "city",
    ),
    (re.compile(r"\bmera\s+naam\s+kya\s+hai\b|मेरा\s+नाम\s+क्या\s+है", re.I), "name"),
    (re.compile(r"\b(main|mai|me)\s+kaha+n?\s+reh(ta|ti)\b|मैं\s+कहाँ\s+रहत", re.I), "city"),
)


def _append_capped(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append new messages (keeping the last MAX_STORED_MESSAGES). Markers: `drop_since` retracts the
    messages stored since a time (a discarded speculative or failed turn); a message with
    `replaces_since` replaces that turn's assistant reply (barge-in: keep only what was heard)."""
    messages = list(left or [])
    for message in right or []:
        if "drop_since" in message:  # a speculative turn that the user talked over: retract it
            messages = [m for m in messages if _stored_before(m, message["drop_since"])]
            continue
        if "replaces_since" in message:
            # only this turn's messages (stored at or after `replaces_since`) may be touched
            since = message["replaces_since"]
            message = {k: v for k, v in message.items() if k != "replaces_since"}
            last = messages[-1] if messages else None
            if last is None or _stored_before(last, since):
                continue  # the turn never reached memory (or was retracted): nothing to correct
            if last["role"] == "assistant":
                messages.pop()
        messages.append(message)
    return messages[-MAX_STORED_MESSAGES:]


# Timestamps come back from Redis (RedisJSON) up to a few ulps (2.4e-7 s each today) off what was stored:
# a message stored at `since` must still count as stored "at or after" it.
_TS_SLACK_S = 1e-5


def _stored_before(message: dict[str, Any], since: float) -> bool:
    return message.get("ts", 0) < since - _TS_SLACK_S


def _merge(left: dict[str, str] | None, right: dict[str, str] | None) -> dict[str, str]:
    return {**(left or {}), **(right or {})}


class ConversationState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], _append_capped]  # {"role", "content", "ts", "action"?}
    facts: Annotated[dict[str, str], _merge]  # durable things the user told ("name": "Priya")
    language: str | None
    # the language the last reply was in (locale.detect.reply_language): the tools speak it
    reply_language: str | None
    pending: dict[str, Any] | None  # a tool call waiting for one missing argument (e.g. the time)
    # scratch for the current turn
    tool_calls: list[dict[str, Any]]
    tool_results: list[dict[str, Any]]
    draft: str | None
    action: dict[str, Any] | None
    timings: dict[str, float]


@dataclass(frozen=True)
class ToolOutput:
    """What a client-run tool returned, for the call `call_id` the model made in an earlier turn."""

    call_id: str
    output: str


@dataclass(frozen=True)
class TurnOptions:
    """Per-turn wishes of the client (the Realtime API's session): its own instructions, given to the
    LLM after ours; tools it runs itself, offered to a tool-calling LLM beside the agent's (a call to
    one ends the turn with `action.client_calls`); and the outputs of such calls."""

    instructions: str = ""
    client_tools: tuple[ToolSpec, ...] = ()
    tool_outputs: tuple[ToolOutput, ...] = ()


def _turn_options(config: RunnableConfig | None) -> TurnOptions:
    return ((config or {}).get("configurable") or {}).get("__turn") or TurnOptions()


_WINDOW_STEP = 8  # messages: the history window's start moves in steps of four exchanges


def _window_start(total: int, fits: int) -> int:
    """Where the prompt's history starts, given that the last `fits` of `total` messages fit the budget.

    The start moves in steps (of `_WINDOW_STEP` messages, or of one exchange when few fit) rather than
    one message per turn: a local model reuses its cache only for an unchanged prompt start, so a window
    sliding every turn would make it evaluate the whole history on every turn."""
    earliest = total - fits
    if earliest <= 0:
        return 0
    step = _WINDOW_STEP if fits >= 2 * _WINDOW_STEP else 2
    return min(-(-earliest // step) * step, total - 1)


def _answered_calls_only(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Client tool calls with their outputs, or neither: a hosted LLM refuses a call left unanswered
    (the client never sent its output) and an output whose call was trimmed away."""
    calls = {c["id"] for m in messages for c in m.get("tool_calls") or ()}
    answered = {m.get("tool_call_id") for m in messages if m["role"] == "tool"}
    return [
        m
        for m in messages
        if not (m["role"] == "tool" and m.get("tool_call_id") not in calls)
        and not (m.get("tool_calls") and not all(c["id"] in answered for c in m["tool_calls"]))
    ]


def _chat_message(message: dict[str, Any]) -> ChatMessage:
    """A stored message as the LLM sees it (with tool calls and tool outputs of client tools)."""
    if message["role"] == "tool":
        return ChatMessage("tool", message["content"], tool_call_id=message.get("tool_call_id"))
    calls = tuple(ToolCall(c["id"], c["name"], c.get("args") or {}) for c in message.get("tool_calls") or ())
    return ChatMessage(message["role"], message["content"], tool_calls=calls)


@dataclass(frozen=True)
class TurnResult:
    session_id: str
    reply: str
    action: dict[str, Any] | None
    latency_ms: dict[str, float]


@dataclass(frozen=True)
class AgentEvent:
    """`delta`: a piece of reply text as it is generated; `done`: the turn's final result."""

    type: str
    text: str = ""
    result: TurnResult | None = None


def new_session_id() -> str:
    return uuid.uuid4().hex


class ConversationAgent:
    def __init__(
        self, settings: Settings, llm: LLMProvider, redis: RedisService, tools: ToolRegistry = DEFAULT_TOOLS
    ) -> None:
        self.settings = settings
        self.cfg = settings.agent
        self.llm = llm
        self.redis = redis
        self.tools = tools
        self.tz = ZoneInfo(self.cfg.timezone)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.lease = TurnLease(self._redis_client)  # the same, across processes (backend/agents/lease.py)

    def _redis_client(self) -> Any:
        assert self.redis.client is not None, "start Redis first"
        return self.redis.client

    @asynccontextmanager
    async def _exclusive(self, session_id: str) -> AsyncIterator[None]:
        """One turn (or memory correction) at a time per conversation: an asyncio.Lock in this process,
        then the conversation's lease in Redis against every other process. Other sessions run
        concurrently."""
        async with self._locks.setdefault(session_id, asyncio.Lock()), self.lease.hold(session_id):
            yield

    async def start(self) -> None:
        assert self.redis.client is not None, "start Redis first"
        ttl_days = self.cfg.session_ttl_days  # 0 = never expire
        # every checkpoint write sets the TTL; reading the conversation (each turn does) renews it
        ttl = {"default_ttl": ttl_days * 24 * 60, "refresh_on_read": True} if ttl_days > 0 else None
        self.saver = await open_checkpoints(self.redis.client, ttl)
        self.store = AppointmentStore(self.redis.client, ttl_seconds=round(ttl_days * 86400))
        graph = StateGraph(ConversationState)
        graph.add_node("understand", self._understand)
        graph.add_node("act", self._act)
        graph.add_node("respond", self._respond)
        graph.add_edge(START, "understand")
        graph.add_conditional_edges("understand", self._route, {"act": "act", "respond": "respond", END: END})
        graph.add_edge("act", "respond")
        graph.add_edge("respond", END)
        self.graph = graph.compile(checkpointer=self.saver)
        await self.llm.warm_up([ChatMessage("system", self._system_prompt())])

    @property
    def tool_calling(self) -> bool:
        return self.llm.capabilities().tool_calling

    def now(self) -> datetime:
        return datetime.now(self.tz)

    # ------------------------------------------------------------------ public API
    async def stream_turn(
        self,
        session_id: str,
        text: str,
        language: str | None = None,
        options: TurnOptions | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Run one user turn; yields `delta` events as the reply is generated, then one `done`.
        `text` may be empty when `options.tool_outputs` continue a turn that called a client tool.
        Redis unreachable (or full): StorageUnavailable, before or during the turn."""
        with storage_guard():
            async with aclosing(self._stream_turn(session_id, text, language, options)) as events:
                async for event in events:  # (closed with this one: it holds the conversation's lock)
                    yield event

    async def _stream_turn(
        self, session_id: str, text: str, language: str | None, options: TurnOptions | None
    ) -> AsyncIterator[AgentEvent]:
        async with self._exclusive(session_id):  # one turn at a time per session, on every worker
            start = time.perf_counter()
            first_delta: float | None = None
            options = options or TurnOptions()
            now = time.time()
            messages: list[dict[str, Any]] = [
                {"role": "tool", "tool_call_id": o.call_id, "content": o.output, "ts": now}
                for o in options.tool_outputs
            ]
            if text or not messages:
                messages.append({"role": "user", "content": text, "ts": now})
            turn: dict[str, Any] = {"messages": messages}
            if language:
                turn["language"] = language
            # (a "__" key: LangGraph keeps it out of the checkpoint's metadata)
            config: RunnableConfig = {"configurable": {"thread_id": session_id, "__turn": options}}
            final: dict[str, Any] = {}
            try:
                async for mode, chunk in self.graph.astream(turn, config, stream_mode=["custom", "values"]):
                    if mode == "custom":
                        if first_delta is None:
                            first_delta = time.perf_counter() - start
                        yield AgentEvent("delta", text=chunk.get("text", ""))
                    else:
                        final = chunk
            except Exception as exc:
                # The turn failed (e.g. a hosted LLM is down): don't leave the question unanswered in memory.
                if storage_error(exc) is None:  # (with Redis away there is nothing to correct it in)
                    await self._amend(session_id, {"drop_since": turn["messages"][0]["ts"]})
                raise
            total = (time.perf_counter() - start) * 1000
            latency = {"total": round(total, 1), **(final.get("timings") or {})}
            if first_delta is not None:
                latency["first_text"] = round(first_delta * 1000, 1)
            reply = final["messages"][-1]["content"] if final.get("messages") else FALLBACK_REPLY
            yield AgentEvent("done", result=TurnResult(session_id, reply, final.get("action"), latency))

    async def run_turn(self, session_id: str, text: str, language: str | None = None) -> TurnResult:
        result = None
        async for event in self.stream_turn(session_id, text, language):
            result = event.result or result
        assert result is not None
        return result

    async def record_interruption(self, session_id: str, spoken: str, since: float) -> None:
        """The user barged in on the turn that started at `since` (time.time()): its reply in memory
        becomes only what was spoken. Earlier turns are never touched."""
        message = {
            "role": "assistant",
            "content": spoken.strip(),
            "ts": time.time(),
            "interrupted": True,
            "replaces_since": since,
        }
        await self._correct(session_id, message)

    async def retract_since(self, session_id: str, since: float) -> None:
        """Forget the messages stored at or after `since` (time.time()): a speculative turn that the
        user continued speaking over."""
        await self._correct(session_id, {"drop_since": since})

    async def _correct(self, session_id: str, marker: dict[str, Any]) -> None:
        """A memory correction; with Redis away it is logged and skipped (the voice session goes on)."""
        try:
            with storage_guard():
                async with self._exclusive(session_id):
                    await self._amend(session_id, marker)
        except StorageUnavailable as exc:
            logger.warning("memory correction of %s skipped: %s", session_id, exc.message)

    async def _amend(self, session_id: str, marker: dict[str, Any]) -> None:
        """Apply one memory correction (see `_append_capped`); the caller holds `_exclusive`."""
        config: RunnableConfig = {"configurable": {"thread_id": session_id}}
        await self.graph.aupdate_state(config, {"messages": [marker]}, as_node="respond")

    async def would_act(self, session_id: str, text: str) -> bool:
        """Whether this utterance could make the agent call a tool that changes something (so it must
        not be run speculatively; read-only tools such as the time may). Always true for tool-calling
        LLMs: only the model knows."""
        if self.tool_calling:
            return True
        try:
            with storage_guard():
                state = await self.graph.aget_state({"configurable": {"thread_id": session_id}})
        except StorageUnavailable:
            return True  # memory cannot be read: do not speculate (the turn itself reports the error)
        calls = self._parse_calls(text, state.values or {})
        return any(not self.tools.read_only(call["name"]) for call in calls)

    async def history(self, session_id: str) -> dict[str, Any] | None:
        with storage_guard():
            state = await self.graph.aget_state({"configurable": {"thread_id": session_id}})
        if not state.values:
            return None
        values = state.values
        return {
            "messages": values.get("messages", []),
            "facts": values.get("facts", {}),
            "language": values.get("language"),
        }

    async def forget(self, session_id: str) -> bool:
        existed = await self.history(session_id) is not None
        with storage_guard():
            await self.saver.adelete_thread(session_id)
            removed = await self.store.delete_session(session_id)
        return existed or removed > 0

    # ------------------------------------------------------------------ graph nodes
    @staticmethod
    def _route(state: ConversationState) -> str:
        if (state.get("action") or {}).get("client_calls"):
            return END  # the client runs its tool; its output continues the conversation
        return "act" if state.get("tool_calls") else "respond"

    async def _understand(self, state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
        last = state["messages"][-1]
        text = last["content"] if last["role"] == "user" else ""
        update: dict[str, Any] = {
            "facts": extract_facts(text),
            "tool_calls": [],
            "tool_results": [],
            "draft": None,
            "action": None,
            "pending": None,
            "timings": {},
            "reply_language": (
                reply_language(text, state.get("language"), state.get("reply_language"))
                if text
                else state.get("reply_language") or reply_language("", state.get("language"))
            ),
        }
        if self.tool_calling:
            facts = _merge(state.get("facts"), update["facts"])
            messages = self._prompt(state, facts, config)
            client_tools = _turn_options(config).client_tools
            reply, calls, timings = await self._generate(messages, tools=True, extra_tools=client_tools)
            update["timings"] = timings
            named = [{"id": c.id, "name": c.name, "args": c.arguments} for c in calls]
            theirs = {t.name for t in client_tools}
            asked = [c for c in named if c["name"] in theirs]
            if asked:  # the client runs these: the turn ends on the call
                update["messages"] = [
                    {"role": "assistant", "content": "", "ts": time.time(), "tool_calls": asked}
                ]
                update["action"] = {"tool": asked[0]["name"], "client_calls": asked}
                update["draft"] = ""
            elif named:
                update["tool_calls"] = named
            else:
                update["draft"] = reply
            return update
        calls = self._parse_calls(text, state)
        update["tool_calls"] = [
            c for c in calls if not c.pop("if_booked", False) or await self._booked(c, config)
        ]
        return update

    async def _booked(self, call: dict[str, Any], config: RunnableConfig) -> bool:
        """Whether a cancel that named what to cancel ("cancel my haircut") matches an upcoming appointment;
        if not, it is not an appointment ("cancel my subscription") and the model answers."""
        purpose = str(call["args"].get("purpose", ""))
        upcoming = await self.store.list(config["configurable"]["thread_id"], after=self.now())
        return any(a.is_for(purpose) for a in upcoming)

    def _parse_calls(self, text: str, state: ConversationState) -> list[dict[str, Any]]:
        """The deterministic router for models without tool calling."""
        for pattern, fact in _RECALL:
            if pattern.search(text):
                return [{"name": "recall_user_fact", "args": {"fact": fact}}]
        now = self.now()
        pending = state.get("pending")
        if pending and pending.get("needs") in ("time", "when"):  # the answer to "what time?" / "which day?"
            when, has_date, has_time = parse_when(text, now)
            if when is not None and (has_time or pending["needs"] == "when"):
                args = dict(pending["args"])
                if has_time:
                    args["time"] = when.strftime("%H:%M")
                if has_date or "date" not in args:  # "at 7 pm" alone: the next 7 pm
                    args["date"] = when.date().isoformat()
                return [{"name": pending["name"], "args": args}]
        intent = parse_intent(text, now)
        when_args: dict[str, str] = {}
        if intent.when is not None and intent.has_date:
            when_args["date"] = intent.when.date().isoformat()
        if intent.when is not None and intent.has_time:
            when_args["time"] = intent.when.strftime("%H:%M")
            when_args.setdefault("date", intent.when.date().isoformat())
        if intent.kind == "book":
            args = {**when_args, "purpose": intent.purpose or "", "name": intent.name or ""}
            return [{"name": "book_appointment", "args": args}]
        if intent.kind == "list":
            return [{"name": "list_appointments", "args": {}}]
        if intent.kind == "cancel":
            purpose = {"purpose": intent.purpose} if intent.purpose and not when_args else {}
            call = {"name": "cancel_appointment", "args": {**when_args, **purpose}}
            return [{**call, "if_booked": True}] if intent.if_booked else [call]
        if intent.kind in ("time", "date"):
            return [{"name": "get_current_datetime", "args": {}}]
        return []

    async def _act(self, state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
        session_id = config["configurable"]["thread_id"]
        facts = state.get("facts") or {}
        lang = state.get("reply_language") or "en"
        ctx = ToolContext(session_id=session_id, now=self.now(), store=self.store, facts=facts, language=lang)
        results, pending, action = [], None, None
        for call in state.get("tool_calls") or []:
            result = await self.tools.run(call["name"], call.get("args") or {}, ctx)
            results.append(
                {
                    "id": call.get("id"),
                    "name": call["name"],
                    "ok": result.ok,
                    "spoken": result.spoken,
                    "data": result.data,
                }
            )
            action = {"tool": call["name"], "ok": result.ok, **result.data}
            if result.needs:
                pending = {
                    "name": call["name"],
                    "args": {**(call.get("args") or {}), **result.data},
                    "needs": result.needs,
                }
        return {"tool_results": results, "pending": pending, "action": action}

    async def _respond(self, state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
        writer = get_stream_writer()
        results = state.get("tool_results") or []
        timings = dict(state.get("timings") or {})
        if state.get("draft") is not None and not results:
            reply = state["draft"] or ""
        elif results and not self.tool_calling:
            reply = " ".join(r["spoken"] for r in results)
            writer({"text": reply})
        else:
            messages = self._prompt(state, state.get("facts") or {}, config)
            if results:
                calls = tuple(
                    ToolCall(c.get("id") or c["name"], c["name"], c.get("args") or {})
                    for c in state.get("tool_calls") or []
                )
                messages.append(ChatMessage("assistant", "", tool_calls=calls))
                for r in results:
                    error = "" if r["ok"] else (r.get("data") or {}).get("error", "")
                    content = f"{r['spoken']} (error: {error})" if error else r["spoken"]
                    messages.append(
                        ChatMessage("tool", content, tool_call_id=r.get("id") or r["name"], name=r["name"])
                    )
            reply, _, llm_timings = await self._generate(messages, tools=False)
            timings |= llm_timings
        fallback = phrase("agent.fallback", state.get("reply_language"))
        spoken = for_speech(reply, self.cfg.max_reply_sentences) or fallback
        message = {"role": "assistant", "content": spoken, "ts": time.time()}
        if state.get("action"):
            message["action"] = state["action"]
        return {"messages": [message], "draft": None, "tool_calls": [], "timings": timings}

    # ------------------------------------------------------------------ LLM plumbing
    async def _generate(
        self, messages: list[ChatMessage], tools: bool, extra_tools: tuple[ToolSpec, ...] = ()
    ) -> tuple[str, tuple[ToolCall, ...], dict[str, float]]:
        writer = get_stream_writer()
        options = LLMOptions(
            max_tokens=self.settings.llm.max_tokens,
            temperature=self.settings.llm.temperature,
            tools=self.tools.specs() + extra_tools if tools else (),
        )
        start = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        calls: tuple[ToolCall, ...] = ()
        async for event in self.llm.stream(messages, options):
            if event.text:
                if first is None:
                    first = time.perf_counter() - start
                    # a base model's completion starts with the space after "Assistant:"
                    text = event.text.lstrip()
                else:
                    text = event.text
                parts.append(text)
                if text:
                    writer({"text": text})
            calls = event.tool_calls or calls
        timings = {"llm_total": round((time.perf_counter() - start) * 1000, 1)}
        if first is not None:
            timings["llm_first_token"] = round(first * 1000, 1)
        return "".join(parts), calls, timings

    def _system_prompt(self) -> str:
        """The fixed instructions: identical for every session and turn, so a local model keeps them
        (and the example turns after them) in its prompt cache."""
        name = self.cfg.assistant_name
        return (
            f"The following is a conversation between a user and {name}, a friendly and knowledgeable voice "
            f"assistant. {name} answers in one or two short, helpful sentences, without lists or markdown, "
            f"and says so when it cannot know something."
        )

    def _context_prompt(
        self, facts: dict[str, str], language: str | None, summary: str, instructions: str = ""
    ) -> str:
        """What this session knows: changes rarely (the date, new facts, the client's instructions),
        never every turn."""
        now = self.now()
        lines = [f"Today is {now.strftime('%A')}, {now.day} {now.strftime('%B %Y')}."]
        if facts:
            lines.append("About the user: " + "; ".join(f"{k}: {v}" for k, v in facts.items()) + ".")
        if summary:
            lines.append("Earlier in this conversation the user said: " + summary)
        if language and language != "en" and language in LANGUAGES:
            lines.append(f"Always reply in {LANGUAGES[language].name}.")
        if instructions:
            lines.append(f"Instructions for this conversation: {instructions}")
        return "\n".join(lines)

    def _prompt(
        self, state: ConversationState, facts: dict[str, str], config: RunnableConfig | None = None
    ) -> list[ChatMessage]:
        """System text + as many recent turns as fit `agent.history_tokens`; older ones are summarised."""
        roles = ("user", "assistant", "tool") if self.tool_calling else ("user", "assistant")
        history = [
            m
            for m in state.get("messages", [])
            if m["role"] in roles and (self.tool_calling or not m.get("tool_calls"))
        ]
        budget = self.cfg.history_tokens
        fits = 0
        for message in reversed(history):
            cost = self.llm.count_tokens(message["content"]) + 4
            if fits and cost > budget:
                break
            fits += 1
            budget -= cost
        start = _window_start(len(history), fits)
        kept = _answered_calls_only(history[start:])
        older = history[:start]
        summary = self._summary(older)
        instructions = _turn_options(config).instructions.strip()
        # facts the user told are in the history itself until their turn is folded into the summary:
        # repeating them above the history would change the prompt's start whenever one is learnt
        # (and a local model would evaluate the whole history again: ~1 s on a 2-core CPU)
        known = facts if older else {}
        context = self._context_prompt(known, state.get("language"), summary, instructions)
        return [ChatMessage("system", self._system_prompt()), ChatMessage("system", context)] + [
            _chat_message(m) for m in kept
        ]

    def _summary(self, older: list[dict[str, Any]]) -> str:
        """A bounded, deterministic digest of trimmed turns (the user's side, most recent last)."""
        if not older:
            return ""
        pieces: list[str] = []
        budget = _SUMMARY_TOKENS
        for message in reversed([m for m in older if m["role"] == "user"]):
            words = message["content"].split()
            piece = " ".join(words[:14]) + ("…" if len(words) > 14 else "")
            cost = self.llm.count_tokens(piece) + 2
            if cost > budget:
                break
            pieces.append(piece)
            budget -= cost
        return "; ".join(reversed(pieces))


@asynccontextmanager
async def running_agent(settings: Settings) -> AsyncIterator[ConversationAgent]:
    """Redis, the LLM and the agent, started in that order and stopped in reverse (also on failure)."""
    async with AsyncExitStack() as stack:
        redis = RedisService(settings)
        stack.push_async_callback(redis.stop)
        await redis.start()
        llm = LLMChain(settings)  # llm.provider, then llm.fallback (backend.providers.failover)
        stack.push_async_callback(llm.close)
        await llm.load()
        agent = ConversationAgent(settings, llm, redis)
        await agent.start()
        yield agent

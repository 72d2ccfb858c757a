"""What the agent's "act" step can do. Each tool: a name, a JSON-schema for its arguments (offered to
tool-calling LLMs), and an async handler that returns a `ToolResult` whose `spoken` text is what the
user should hear, in `ToolContext.language` (the turn's reply language: `backend/agents/locale`; every
sentence is a phrasebook entry, dates and times are spoken by `locale/spoken.py`).

Add your own: `DEFAULT_TOOLS.register(Tool(name=..., description=..., parameters={...}, handler=fn))`
where `fn(args: dict, ctx: ToolContext) -> ToolResult`; tool-calling LLMs see it at once, and the local
intent parser can route to it from `backend/agents/conversation.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from backend.agents.appointments import Appointment, AppointmentStore, SlotTaken
from backend.agents.locale import phrase
from backend.agents.locale.spoken import cardinal, clock, date_name, day_phrase, join_items, when_phrase
from backend.core.tenancy import split_scoped
from backend.llm.base import ToolSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolContext:
    session_id: str
    now: datetime  # timezone-aware, in agent.timezone
    store: AppointmentStore
    facts: dict[str, str] = field(default_factory=dict)
    language: str = "en"  # the reply language: one of locale.REPLY_LANGUAGES (others speak English)


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    spoken: str
    data: dict[str, Any] = field(default_factory=dict)
    needs: str | None = None  # a missing argument the user should be asked for (e.g. "time")


ToolHandler = Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: ToolHandler
    # only reads (the time, a list): safe to run for an early answer that may be thrown away
    read_only: bool = False

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, tool: Tool) -> Tool:
        self._tools[tool.name] = tool
        return tool

    def names(self) -> list[str]:
        return list(self._tools)

    def read_only(self, name: str) -> bool:
        """Whether the tool only reads (an unknown name: no)."""
        tool = self._tools.get(name)
        return tool is not None and tool.read_only

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(t.spec() for t in self._tools.values())

    async def run(self, name: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        tool = self._tools.get(name)
        if tool is None:
            spoken = phrase("error.unknown_tool", ctx.language)
            return ToolResult(False, spoken, {"error": f"unknown tool {name}"})
        try:
            return await tool.handler(args, ctx)
        except (ValueError, TypeError, KeyError) as exc:
            logger.info("tool %s rejected %r: %s", name, args, exc)
            return ToolResult(False, phrase("error.tool_failed", ctx.language), {"error": str(exc)})


# ----------------------------------------------------------------------------- argument helpers


def _parse_date(value: str) -> datetime:
    return datetime.strptime(value.strip(), "%Y-%m-%d")


def _parse_time(value: str) -> time:
    for fmt in ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I %p"):
        try:
            return datetime.strptime(value.strip().upper(), fmt).time()
        except ValueError:
            continue
    raise ValueError(f"'{value}' is not a time like 15:00")


def _when(args: dict[str, Any], ctx: ToolContext) -> tuple[datetime | None, bool, bool]:
    date_s, time_s = args.get("date"), args.get("time")
    has_date, has_time = bool(date_s), bool(time_s)
    if not has_date and not has_time:
        return None, False, False
    day = _parse_date(str(date_s)).date() if has_date else ctx.now.date()
    at = _parse_time(str(time_s)) if has_time else time(9, 0)
    when = datetime.combine(day, at, tzinfo=ctx.now.tzinfo)
    if has_time and not has_date and when <= ctx.now:
        when += timedelta(days=1)
    return when, has_date, has_time


def _describe(appt: Appointment, ctx: ToolContext) -> str:
    """One appointment in a list: "tomorrow at 3 pm for haircut" / "हेयरकट, कल दोपहर तीन बजे"."""
    when = when_phrase(appt.start, ctx.now, ctx.language)
    if not appt.purpose:
        return when
    return phrase("appointments.item_for", ctx.language, sentence=False, when=when, purpose=appt.purpose)


def _public(appt: Appointment) -> dict[str, Any]:
    """The appointment as the caller sees it: its own session id, not the tenant-scoped memory id."""
    return {**appt.model_dump(mode="json"), "session_id": split_scoped(appt.session_id)[1]}


# ----------------------------------------------------------------------------- the tools

WHEN_PARAMS = {
    "date": {"type": "string", "description": "Day as YYYY-MM-DD"},
    "time": {"type": "string", "description": "Time of day as HH:MM (24 h)"},
}


async def book_appointment(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    when, has_date, has_time = _when(args, ctx)
    purpose = (args.get("purpose") or "").strip() or None
    name = (args.get("name") or ctx.facts.get("name") or "").strip() or None
    lang = ctx.language
    if when is None:
        return ToolResult(False, phrase("book.ask_when", lang), needs="when")
    if not has_time:
        day = day_phrase(when.date(), ctx.now.date(), lang)
        return ToolResult(
            False, phrase("book.ask_time", lang, day=day), {"date": when.date().isoformat()}, "time"
        )
    if when <= ctx.now:
        return ToolResult(False, phrase("book.past", lang), {"error": "past"})
    try:
        appt = await ctx.store.book(ctx.session_id, when, purpose, name)
    except SlotTaken:
        return ToolResult(
            False,
            phrase("book.taken", lang, when=when_phrase(when, ctx.now, lang)),
            {"error": "slot_taken", "start": when.isoformat()},
        )
    at = when_phrase(appt.start, ctx.now, lang)
    spoken = (
        phrase("book.done_for", lang, when=at, purpose=appt.purpose)
        if appt.purpose
        else phrase("book.done", lang, when=at)
    )
    return ToolResult(True, spoken, {"appointment": _public(appt)})


async def list_appointments(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    upcoming = await ctx.store.list(ctx.session_id, after=ctx.now)
    if not upcoming:
        return ToolResult(True, phrase("list.none", ctx.language), {"appointments": []})
    items = [_describe(a, ctx) for a in upcoming]
    if len(items) == 1:
        spoken = phrase("list.one", ctx.language, item=items[0])
    else:
        count = cardinal(len(items), ctx.language)
        spoken = phrase("list.many", ctx.language, count=count, items=join_items(items, ctx.language))
    return ToolResult(True, spoken, {"appointments": [_public(a) for a in upcoming]})


async def cancel_appointment(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    upcoming = await ctx.store.list(ctx.session_id, after=ctx.now)
    if args.get("appointment_id"):
        matches = [a for a in upcoming if a.id == args["appointment_id"]]
    else:
        when, has_date, has_time = _when(args, ctx)
        matches = upcoming
        if purpose := str(args.get("purpose") or "").strip():  # "cancel my haircut"
            matches = [a for a in matches if a.is_for(purpose)]
        if when is not None and has_date:
            matches = [a for a in matches if a.start.astimezone(ctx.now.tzinfo).date() == when.date()]
        if when is not None and has_time:
            matches = [a for a in matches if a.start.astimezone(ctx.now.tzinfo).time() == when.time()]
    lang = ctx.language
    if not upcoming:
        return ToolResult(False, phrase("cancel.none", lang), {"error": "none"})
    if not matches:
        spoken = (
            phrase("cancel.not_found_for", lang, purpose=args["purpose"])
            if args.get("purpose")
            else phrase("cancel.not_found", lang)
        )
        return ToolResult(False, spoken, {"error": "not_found"})
    if len(matches) > 1:
        options = ", ".join(_describe(a, ctx) for a in matches)
        return ToolResult(False, phrase("cancel.which", lang, items=options), needs="which")
    appt = matches[0]
    await ctx.store.cancel(appt)
    at = when_phrase(appt.start, ctx.now, lang)
    spoken = (
        phrase("cancel.done_for", lang, when=at, purpose=appt.purpose)
        if appt.purpose
        else phrase("cancel.done", lang, when=at)
    )
    return ToolResult(True, spoken, {"appointment": _public(appt)})


async def current_datetime(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    now = ctx.now
    said = clock(now.hour, now.minute, ctx.language, now=True)
    today = date_name(now.date(), ctx.language, year=True)
    spoken = phrase("time.now", ctx.language, time=said, date=today)
    return ToolResult(True, spoken, {"now": now.isoformat(), "timezone": str(now.tzinfo)})


async def recall_fact(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    key = str(args.get("fact", "name"))
    value = ctx.facts.get(key)
    lang = ctx.language
    if value is None:
        ask = {"name": "recall.ask_name", "city": "recall.unknown_city"}.get(key, "recall.unknown")
        return ToolResult(False, phrase(ask, lang, key=key), needs=key)
    known = {"name": "recall.name", "city": "recall.city"}.get(key, "recall.other")
    spoken = phrase(known, lang, key=key, value=value)
    return ToolResult(True, spoken, {key: value})


DEFAULT_TOOLS = ToolRegistry()
DEFAULT_TOOLS.register(
    Tool(
        "book_appointment",
        "Book an appointment slot. Ask for a time if the user gave none.",
        {
            "type": "object",
            "properties": {
                **WHEN_PARAMS,
                "purpose": {"type": "string", "description": "What the appointment is for"},
                "name": {"type": "string", "description": "Name to book under"},
            },
            "required": ["date", "time"],
        },
        book_appointment,
    )
)
DEFAULT_TOOLS.register(
    Tool(
        "list_appointments",
        "List the user's upcoming appointments.",
        {"type": "object", "properties": {}},
        list_appointments,
        read_only=True,
    )
)
DEFAULT_TOOLS.register(
    Tool(
        "cancel_appointment",
        "Cancel one of the user's appointments, identified by date and/or time or by what it is for.",
        {
            "type": "object",
            "properties": {
                **WHEN_PARAMS,
                "purpose": {"type": "string", "description": "What the appointment is for, e.g. haircut"},
                "appointment_id": {"type": "string"},
            },
        },
        cancel_appointment,
    )
)
DEFAULT_TOOLS.register(
    Tool(
        "get_current_datetime",
        "The current date and time where the assistant runs.",
        {"type": "object", "properties": {}},
        current_datetime,
        read_only=True,
    )
)
DEFAULT_TOOLS.register(
    Tool(
        "recall_user_fact",
        "Recall something the user said about themselves earlier (name or city).",
        {"type": "object", "properties": {"fact": {"type": "string", "enum": ["name", "city"]}}},
        recall_fact,  # not read-only: an unknown fact leaves a question pending
    )
)

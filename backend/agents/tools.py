"""What the agent's "act" step can do. Each tool: a name, a JSON-schema for its arguments (offered to
tool-calling LLMs), and an async handler that returns a `ToolResult` whose `spoken` text is what the
user should hear.

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
from backend.agents.intents import format_when
from backend.core.tenancy import split_scoped
from backend.llm.base import ToolSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolContext:
    session_id: str
    now: datetime  # timezone-aware, in agent.timezone
    store: AppointmentStore
    facts: dict[str, str] = field(default_factory=dict)


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
            return ToolResult(False, "Sorry, I can't do that yet.", {"error": f"unknown tool {name}"})
        try:
            return await tool.handler(args, ctx)
        except (ValueError, TypeError, KeyError) as exc:
            logger.info("tool %s rejected %r: %s", name, args, exc)
            return ToolResult(False, f"Sorry, I could not do that: {exc}.", {"error": str(exc)})


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
    day = _parse_date(date_s).date() if has_date else ctx.now.date()
    at = _parse_time(time_s) if has_time else time(9, 0)
    when = datetime.combine(day, at, tzinfo=ctx.now.tzinfo)
    if has_time and not has_date and when <= ctx.now:
        when += timedelta(days=1)
    return when, has_date, has_time


def _describe(appt: Appointment, now: datetime) -> str:
    text = format_when(appt.start.astimezone(now.tzinfo), now)
    return text + (f" for {appt.purpose}" if appt.purpose else "")


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
    if when is None:
        return ToolResult(False, "Sure. Which day and time would you like?", needs="when")
    if not has_time:
        day = format_when(when, ctx.now).split(" at ")[0]
        return ToolResult(
            False, f"What time would you like on {day}?", {"date": when.date().isoformat()}, "time"
        )
    if when <= ctx.now:
        return ToolResult(
            False, "That time has already passed. Please choose a later time.", {"error": "past"}
        )
    try:
        appt = await ctx.store.book(ctx.session_id, when, purpose, name)
    except SlotTaken:
        return ToolResult(
            False,
            f"Sorry, {format_when(when, ctx.now)} is already booked. Please choose another time.",
            {"error": "slot_taken", "start": when.isoformat()},
        )
    return ToolResult(True, f"Booked for {_describe(appt, ctx.now)}.", {"appointment": _public(appt)})


async def list_appointments(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    upcoming = await ctx.store.list(ctx.session_id, after=ctx.now)
    if not upcoming:
        return ToolResult(True, "You have no upcoming appointments.", {"appointments": []})
    items = [_describe(a, ctx.now) for a in upcoming]
    if len(items) == 1:
        spoken = f"You have one appointment: {items[0]}."
    else:
        spoken = f"You have {len(items)} appointments: " + ", ".join(items[:-1]) + f", and {items[-1]}."
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
    if not upcoming:
        return ToolResult(False, "You have no appointments to cancel.", {"error": "none"})
    if not matches:
        what = f"a {args['purpose']} appointment" if args.get("purpose") else "an appointment at that time"
        return ToolResult(False, f"I couldn't find {what}.", {"error": "not_found"})
    if len(matches) > 1:
        options = ", ".join(_describe(a, ctx.now) for a in matches)
        return ToolResult(False, f"You have several: {options}. Which one should I cancel?", needs="which")
    await ctx.store.cancel(matches[0])
    return ToolResult(
        True,
        f"Cancelled your appointment {_describe(matches[0], ctx.now)}.",
        {"appointment": _public(matches[0])},
    )


async def current_datetime(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    now = ctx.now
    clock = now.strftime("%I:%M %p").lstrip("0").replace(":00 ", " ").lower().replace("am", "a.m.")
    clock = clock.replace("pm", "p.m.")
    spoken = f"It's {clock} on {now.strftime('%A')}, {now.day} {now.strftime('%B %Y')}."
    return ToolResult(True, spoken, {"now": now.isoformat(), "timezone": str(now.tzinfo)})


async def recall_fact(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    key = str(args.get("fact", "name"))
    value = ctx.facts.get(key)
    if value is None:
        ask = {"name": "I don't know your name yet. What should I call you?"}
        return ToolResult(False, ask.get(key, f"You haven't told me your {key} yet."), needs=key)
    spoken = {"name": f"Your name is {value}.", "city": f"You live in {value}."}.get(
        key, f"Your {key} is {value}."
    )
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

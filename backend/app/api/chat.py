"""The conversation API: POST /api/chat (JSON or SSE stream), sessions, appointments."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.agents.conversation import new_session_id
from backend.app.deps import AgentDep, OwnerDep, SettingsDep
from backend.app.openapi import MARK, NOT_FOUND, PROVIDER_ERRORS
from backend.core.config import Settings
from backend.core.errors import InvalidRequest, MithiError, NotFound
from backend.core.limits import check_language, check_text
from backend.providers.failover import FailoverLog, recording

router = APIRouter(prefix="/api", tags=["conversation"])

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN, description="letters, digits, _ and -, 1-64")]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as the schema says: no coercion

    text: str = Field(description="What the user said or typed", json_schema_extra={MARK: "text"})
    session_id: str | None = Field(
        None,
        description="Continue this conversation; omit to start a new one",
        json_schema_extra={"pattern": SESSION_ID_PATTERN},
    )
    language: str | None = Field(
        None,
        description="The user's language (replies follow it when known)",
        json_schema_extra={MARK: "language"},
    )


class ChatResponse(BaseModel):
    session_id: str
    reply: str
    action: dict[str, Any] | None = None
    latency_ms: dict[str, float]
    provider: str | None = Field(
        None, description="The LLM that wrote the reply (llm.provider or a fallback); null: no LLM was used"
    )
    failover: list[dict[str, str]] = Field(
        default_factory=list, description="LLM failovers in this turn: {service, from, to, reason, message}"
    )


def _validated(req: ChatRequest, settings: Settings) -> tuple[str, str, str | None]:
    text = check_text(req.text, settings)
    session_id = new_session_id() if req.session_id is None else req.session_id  # "" is not an id
    if not _SESSION_ID.fullmatch(session_id):
        raise InvalidRequest(
            "session_id may only contain letters, digits, '_' and '-' (1 to 64 characters)",
            code="invalid_session_id",
        )
    return session_id, text, check_language(req.language, settings, allow_auto=False)


SSE_EVENT = {  # one server-sent event of ?stream=true (the schema of each event, not of the whole body)
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["session", "delta", "done", "error"]},
        "data": {
            "type": "string",
            "description": "JSON: {session_id} / {text} / like ChatResponse / {code, message}",
        },
    },
}


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}}} | PROVIDER_ERRORS,
)
async def chat(
    req: ChatRequest,
    agent: AgentDep,
    settings: SettingsDep,
    owner: OwnerDep,
    stream: bool = Query(False, description="Server-sent events: `delta` {text} …, then `done` {…}"),
) -> Response | ChatResponse:
    session_id, text, language = _validated(req, settings)
    memory_id = owner.memory_id(session_id)  # the caller's own conversation of that id
    if not stream:
        with recording() as log:
            result = await agent.run_turn(memory_id, text, language)
        return ChatResponse(
            session_id=session_id,
            reply=result.reply,
            action=result.action,
            latency_ms=result.latency_ms,
            provider=log.served.get("llm"),
            failover=[e.to_dict() for e in log.drain("llm")],
        )

    async def events() -> AsyncIterator[bytes]:
        yield _sse("session", {"session_id": session_id})
        log = FailoverLog()
        try:
            with recording(log):
                async for event in agent.stream_turn(memory_id, text, language):
                    if event.type == "delta":
                        yield _sse("delta", {"text": event.text})
                    elif event.result is not None:
                        r = event.result
                        done = {
                            "session_id": session_id,
                            "reply": r.reply,
                            "action": r.action,
                            "latency_ms": r.latency_ms,
                            "provider": log.served.get("llm"),
                            "failover": [e.to_dict() for e in log.drain("llm")],
                        }
                        yield _sse("done", done)
        except MithiError as exc:  # headers are sent already: report in-band
            yield _sse("error", exc.to_dict()["error"])

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/sessions/{session_id}", responses=NOT_FOUND)
async def get_session(session_id: SessionId, agent: AgentDep, owner: OwnerDep) -> dict[str, Any]:
    history = await agent.history(owner.memory_id(session_id))
    if history is None:
        raise NotFound(f"session '{session_id}' does not exist (or was deleted)", code="unknown_session")
    return {"session_id": session_id, **history}


@router.delete("/sessions/{session_id}", responses=NOT_FOUND)
async def delete_session(session_id: SessionId, agent: AgentDep, owner: OwnerDep) -> dict[str, Any]:
    existed = await agent.forget(owner.memory_id(session_id))
    if not existed:
        raise NotFound(f"session '{session_id}' does not exist", code="unknown_session")
    return {"session_id": session_id, "deleted": True}


@router.get("/appointments")
async def appointments(
    agent: AgentDep,
    owner: OwnerDep,
    session_id: str = Query(pattern=SESSION_ID_PATTERN, description="The session that booked them"),
    upcoming: bool = Query(False, description="Only appointments that have not started yet"),
) -> dict[str, Any]:
    items = await agent.store.list(owner.memory_id(session_id), after=agent.now() if upcoming else None)
    shown = [{**a.model_dump(mode="json"), "session_id": session_id} for a in items]  # not the memory id
    return {"session_id": session_id, "appointments": shown}

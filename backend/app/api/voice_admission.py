"""Admission for the voice WebSocket doors (/voice, /v1/realtime): one rule for every door.

Before a session starts: a valid `session_id` (or a new one), room in this process
(`server.max_voice_sessions`, else `server_busy` + close 1013) and a free voice slot for the key
(`limits.voice_sessions_per_key`, else `too_many_sessions` + close 1008). A refusal accepts the handshake,
says why in the door's own error event, then closes. Auth and Origin come before, in backend.app.auth.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Protocol

from fastapi import WebSocket

from backend.agents.conversation import new_session_id
from backend.app.api.chat import _SESSION_ID
from backend.app.auth import Principal, accepted_subprotocol
from backend.app.lifecycle import CLOSE_TRY_AGAIN_LATER, Drainable
from backend.core.errors import MithiError

logger = logging.getLogger(__name__)

ErrorText = Callable[[str, str], str]  # (code, message) → the door's fatal error event, as JSON text


class Door(Drainable, Protocol):
    def run(self) -> Awaitable[None]: ...


async def refuse(
    ws: WebSocket, error_text: ErrorText, code: str, message: str, close_code: int = 1008
) -> None:
    """Accept, say why in an error event, then close (1008 policy violation unless told otherwise)."""
    await ws.accept(subprotocol=accepted_subprotocol(ws.headers))
    await ws.send_text(error_text(code, message))
    await ws.close(code=close_code, reason=code)


async def session_id_or_refuse(ws: WebSocket, error_text: ErrorText) -> str | None:
    """`?session_id=` (continues that key's conversation) or a new id; None once an invalid one is refused."""
    session_id = ws.query_params.get("session_id") or new_session_id()
    if _SESSION_ID.fullmatch(session_id):
        return session_id
    message = "session_id may only contain letters, digits, '_' and '-' (1-64)"
    await refuse(ws, error_text, "invalid_session_id", message)
    return None


async def busy_refused(ws: WebSocket, error_text: ErrorText) -> bool:
    """True when this process is full or draining, and the handshake was refused with 1013."""
    busy = ws.app.state.lifecycle.admission_error()
    if busy is None:
        return False
    await refuse(ws, error_text, "server_busy", busy, close_code=CLOSE_TRY_AGAIN_LATER)
    return True


async def serve(
    ws: WebSocket, door: Door, principal: Principal, error_text: ErrorText, name: str, details: str
) -> None:
    """Hold the key's voice slot, accept, run the door, and count it in the drain for its whole life.
    `name` ("voice session demo") and `details` ("(16000 Hz, …)") are for the log."""
    state = ws.app.state
    state.lifecycle.add(door)  # counted from here: a burst of handshakes cannot overshoot the limit
    try:
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(state.quotas.voice_session(principal))
            except MithiError as err:  # too_many_sessions: the key's concurrent-session limit
                await refuse(ws, error_text, err.code, err.message)
                return
            await ws.accept(subprotocol=accepted_subprotocol(ws.headers))
            logger.info("%s connected %s", name, details)
            await door.run()
            logger.info("%s closed", name)
    finally:
        state.lifecycle.discard(door)

"""The /voice WebSocket: real-time voice conversation (protocol in docs/PROTOCOL.md).

Before a session starts: the caller is known (backend.app.auth), its parameters are valid, this process
has room (`server.max_voice_sessions`, else `server_busy` + close 1013) and the key has a free voice slot
(`limits.voice_sessions_per_key`, else `too_many_sessions` + close 1008). The conversation is the key's
own: the same `session_id` under another key is another conversation.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from fastapi import APIRouter, WebSocket

from backend.agents.conversation import new_session_id
from backend.app.api.chat import _SESSION_ID
from backend.app.auth import principal_of
from backend.app.lifecycle import CLOSE_TRY_AGAIN_LATER
from backend.app.quotas import Meter
from backend.core.errors import MithiError
from backend.core.limits import check_language
from backend.core.tenancy import scoped_session_id
from backend.doors.voice import VoiceDoor
from backend.engine.events import Error

logger = logging.getLogger(__name__)
router = APIRouter(tags=["voice"])


async def _refuse(ws: WebSocket, code: str, message: str, close_code: int = 1008) -> None:
    """Accept, say why in an error event, then close (1008 policy violation unless told otherwise)."""
    await ws.accept()
    await ws.send_text(Error(code=code, message=message, fatal=True).to_json())
    await ws.close(code=close_code, reason=code)


@router.websocket("/voice")
async def voice(ws: WebSocket) -> None:
    state = ws.app.state
    settings = state.settings
    params = ws.query_params
    session_id = params.get("session_id") or new_session_id()
    if not _SESSION_ID.fullmatch(session_id):
        await _refuse(
            ws, "invalid_session_id", "session_id may only contain letters, digits, '_' and '-' (1-64)"
        )
        return
    raw_rate = params.get("sample_rate", "16000")
    cfg = settings.realtime
    if not raw_rate.isdigit() or not cfg.min_input_rate <= int(raw_rate) <= cfg.max_input_rate:
        await _refuse(
            ws,
            "invalid_sample_rate",
            f"sample_rate must be an integer from {cfg.min_input_rate} to {cfg.max_input_rate}, "
            f"got {raw_rate!r}",
        )
        return
    try:
        language = check_language(params.get("language"), settings)
    except MithiError as err:
        await _refuse(ws, err.code, err.message)
        return
    lifecycle = state.lifecycle
    busy = lifecycle.admission_error()
    if busy is not None:
        await _refuse(ws, "server_busy", busy, close_code=CLOSE_TRY_AGAIN_LATER)
        return
    principal = principal_of(ws)
    try:
        session = VoiceDoor(
            ws,
            settings,
            state.tts,
            state.stt,
            state.agent,
            session_id,
            int(raw_rate),
            language,
            memory_id=scoped_session_id(principal.tenant, session_id),
            meter=Meter(state.quotas, principal),
        )
    except MithiError as err:
        await _refuse(ws, err.code, err.message)
        return
    lifecycle.add(session)  # counted from here: a burst of handshakes cannot overshoot the limit
    try:
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(state.quotas.voice_session(principal))
            except MithiError as err:  # too_many_sessions: the key's concurrent-session limit
                await _refuse(ws, err.code, err.message)
                return
            await ws.accept()
            logger.info(
                "voice session %s connected (%s Hz, language %s, key %s)",
                session_id,
                raw_rate,
                language or "auto",
                principal.name or "-",
            )
            await session.run()
            logger.info("voice session %s closed", session_id)
    finally:
        lifecycle.discard(session)

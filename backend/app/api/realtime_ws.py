"""/v1/realtime: the OpenAI Realtime API over our voice engine (docs/REALTIME.md).

Same admission as /voice (backend/app/api/voice_ws.py): auth and Origin by backend.app.auth (``/v1`` is
protected), process capacity (1013 server_busy) and the key's voice-session quota (1008). ``?session_id=``
continues that key's conversation; ``?model=`` is accepted and echoed. The dialect is beta when the client
sends ``OpenAI-Beta: realtime=v1``, else GA.
"""

from __future__ import annotations

import json
import logging
from contextlib import AsyncExitStack

from fastapi import APIRouter, WebSocket

from backend.agents.conversation import new_session_id
from backend.app.api.chat import _SESSION_ID
from backend.app.auth import principal_of
from backend.app.lifecycle import CLOSE_TRY_AGAIN_LATER
from backend.app.quotas import Meter
from backend.core.errors import MithiError
from backend.core.tenancy import scoped_session_id
from backend.doors.openai_realtime.door import RealtimeDoor, RealtimeOutput, protocol_error
from backend.doors.openai_realtime.translate import RealtimeTranslator
from backend.engine.session import VoiceEngine

logger = logging.getLogger(__name__)
router = APIRouter(tags=["realtime"])
DEFAULT_MODEL = "gpt-realtime"


async def _refuse(ws: WebSocket, code: str, message: str, close_code: int = 1008) -> None:
    await ws.accept()
    await ws.send_text(json.dumps(protocol_error(code, message)))
    await ws.close(code=close_code, reason=code)


@router.websocket("/v1/realtime")
async def realtime(ws: WebSocket) -> None:
    state = ws.app.state
    settings = state.settings
    params = ws.query_params
    dialect = "beta" if "realtime=v1" in ws.headers.get("openai-beta", "") else "ga"
    model = params.get("model") or DEFAULT_MODEL
    session_id = params.get("session_id") or new_session_id()
    if not _SESSION_ID.fullmatch(session_id):
        await _refuse(
            ws, "invalid_session_id", "session_id may only contain letters, digits, '_' and '-' (1-64)"
        )
        return
    lifecycle = state.lifecycle
    busy = lifecycle.admission_error()
    if busy is not None:
        await _refuse(ws, "server_busy", busy, close_code=CLOSE_TRY_AGAIN_LATER)
        return
    principal = principal_of(ws)
    translator = RealtimeTranslator(dialect)
    output = RealtimeOutput(ws, translator)
    try:
        engine = VoiceEngine(
            settings,
            state.tts,
            state.stt,
            state.agent,
            output,
            session_id=session_id,
            memory_id=scoped_session_id(principal.tenant, session_id),
            input_rate=16000,
            language=None,
            meter=Meter(state.quotas, principal),
        )
        door = RealtimeDoor(ws, engine, output, model)
    except MithiError as err:
        await _refuse(ws, err.code, err.message)
        return
    lifecycle.add(door)
    try:
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(state.quotas.voice_session(principal))
            except MithiError as err:
                await _refuse(ws, err.code, err.message)
                return
            await ws.accept()
            logger.info("realtime session %s connected (%s, model %s)", session_id, dialect, model)
            await door.run()
            logger.info("realtime session %s closed", session_id)
    finally:
        lifecycle.discard(door)

"""/v1/realtime: the OpenAI Realtime API over our voice engine (docs/REALTIME.md).

Same admission as /voice (backend.app.api.voice_admission): auth and Origin by backend.app.auth (``/v1``
is protected), process capacity (1013 server_busy) and the key's voice-session quota (1008). ``?session_id=``
continues that key's conversation; ``?model=`` is accepted and echoed. The dialect is beta when the client
sends ``OpenAI-Beta: realtime=v1``, else GA.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, WebSocket

from backend.app.api.voice_admission import busy_refused, refuse, serve, session_id_or_refuse
from backend.app.auth import principal_of
from backend.app.quotas import Meter
from backend.core.errors import MithiError
from backend.core.tenancy import scoped_session_id
from backend.doors.openai_realtime.door import RealtimeDoor, RealtimeOutput, protocol_error
from backend.doors.openai_realtime.translate import RealtimeTranslator
from backend.engine.session import VoiceEngine

router = APIRouter(tags=["realtime"])
DEFAULT_MODEL = "gpt-realtime"


def _error_text(code: str, message: str) -> str:
    return json.dumps(protocol_error(code, message))


@router.websocket("/v1/realtime")
async def realtime(ws: WebSocket) -> None:
    state = ws.app.state
    settings = state.settings
    params = ws.query_params
    dialect = "beta" if "realtime=v1" in ws.headers.get("openai-beta", "") else "ga"
    model = params.get("model") or DEFAULT_MODEL
    session_id = await session_id_or_refuse(ws, _error_text)
    if session_id is None or await busy_refused(ws, _error_text):
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
        await refuse(ws, _error_text, err.code, err.message)
        return
    details = f"({dialect}, model {model}, key {principal.name or '-'})"
    await serve(ws, door, principal, _error_text, f"realtime session {session_id}", details)

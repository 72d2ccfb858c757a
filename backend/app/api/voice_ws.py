"""The /voice WebSocket: real-time voice conversation (protocol in docs/PROTOCOL.md).

Before a session starts: the caller is known (backend.app.auth), its parameters are valid, and the
admission every voice door shares passes (backend.app.api.voice_admission: session_id, process capacity,
the key's voice slot). The conversation is the key's own: the same `session_id` under another key is
another conversation.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from backend.app.api.voice_admission import busy_refused, refuse, serve, session_id_or_refuse
from backend.app.auth import principal_of
from backend.app.quotas import Meter
from backend.core.errors import MithiError
from backend.core.limits import check_language
from backend.core.tenancy import scoped_session_id
from backend.doors.voice import VoiceDoor
from backend.engine.events import Error

router = APIRouter(tags=["voice"])


def _error_text(code: str, message: str) -> str:
    return Error(code=code, message=message, fatal=True).to_json()


async def _refuse(ws: WebSocket, code: str, message: str) -> None:
    await refuse(ws, _error_text, code, message)


@router.websocket("/voice")
async def voice(ws: WebSocket) -> None:
    state = ws.app.state
    settings = state.settings
    params = ws.query_params
    session_id = await session_id_or_refuse(ws, _error_text)
    if session_id is None:
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
    if await busy_refused(ws, _error_text):
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
    details = f"({raw_rate} Hz, language {language or 'auto'}, key {principal.name or '-'})"
    await serve(ws, session, principal, _error_text, f"voice session {session_id}", details)

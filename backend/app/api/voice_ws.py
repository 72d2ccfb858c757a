"""The /voice WebSocket: real-time voice conversation (protocol in docs/PROTOCOL.md)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket

from backend.agents.conversation import new_session_id
from backend.app.api.chat import _SESSION_ID
from backend.core.errors import MithiError
from backend.core.limits import check_language
from backend.realtime.protocol import event
from backend.realtime.session import VoiceSession

logger = logging.getLogger(__name__)
router = APIRouter(tags=["voice"])


async def _refuse(ws: WebSocket, code: str, message: str) -> None:
    """Accept, say why in an error event, then close with 1008 (policy violation)."""
    await ws.accept()
    await ws.send_text(event("error", code=code, message=message, fatal=True))
    await ws.close(code=1008, reason=code)


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
    try:
        session = VoiceSession(
            ws, settings, state.tts, state.stt, state.agent, session_id, int(raw_rate), language
        )
    except MithiError as err:
        await _refuse(ws, err.code, err.message)
        return
    await ws.accept()
    logger.info("voice session %s connected (%s Hz, language %s)", session_id, raw_rate, language or "auto")
    await session.run()
    logger.info("voice session %s closed", session_id)

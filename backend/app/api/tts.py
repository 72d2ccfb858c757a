"""POST /api/tts/generate — our TTS endpoint (whole file or streamed by sentence)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from backend.app.deps import SettingsDep, TTSDep
from backend.app.speech import speech_response
from backend.core.audio import output_format
from backend.core.limits import check_speed, check_text


class TTSRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="Text to speak (limits.max_text_chars, default 5000)")
    voice_id: str | None = Field(None, description="A voice id from GET /api/voices; default: per language")
    language: str | None = Field(None, description="Language code (en, hi, ...); default tts.language")
    speed: float | None = Field(None, description="Speaking rate multiplier (limits.min_speed..max_speed)")
    format: str = Field("wav", description="wav, pcm (16-bit LE mono), flac, mp3, opus (ogg) or aac")
    stream: bool = Field(False, description="Send audio sentence by sentence as it is synthesized")


router = APIRouter(prefix="/api/tts", tags=["tts"])

AUDIO_RESPONSES = {200: {"content": {"audio/wav": {}, "audio/mpeg": {}}, "description": "The audio"}}


@router.post("/generate", response_class=Response, responses=AUDIO_RESPONSES)
async def generate(req: TTSRequest, tts: TTSDep, settings: SettingsDep) -> Response:
    text = check_text(req.text, settings)
    fmt = output_format(req.format)
    resolved = tts.resolve(req.voice_id, req.language, check_speed(req.speed, settings))
    return await speech_response(tts, text, resolved, fmt, stream=req.stream)

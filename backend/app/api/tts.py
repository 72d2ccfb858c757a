"""POST /api/tts/generate — our TTS endpoint (whole file or streamed by sentence)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from backend.app.deps import MeterDep, SettingsDep, TTSDep
from backend.app.openapi import AUDIO_RESPONSE, MARK, PROVIDER_ERRORS
from backend.app.speech import speech_response
from backend.core.limits import check_speed, check_text
from backend.media.audio import output_format


class TTSRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as the schema says: no coercion

    text: str = Field(
        description="Text to speak (limits.max_text_chars, default 5000; no control characters but tab, "
        "newline and carriage return)",
        json_schema_extra={MARK: "text"},
    )
    voice_id: str | None = Field(
        None,
        description="A voice id from GET /api/voices (one that speaks `language`); default: per language",
    )
    language: str | None = Field(
        None,
        description="Language code (en, hi, ...); default tts.language",
        json_schema_extra={MARK: "language"},
    )
    speed: float | None = Field(
        None,
        description="Speaking rate multiplier (limits.min_speed..max_speed)",
        json_schema_extra={MARK: "speed"},
    )
    format: str = Field(
        "wav",
        description="wav, pcm (16-bit LE mono), flac, mp3, opus (ogg) or aac",
        json_schema_extra={MARK: "format"},
    )
    stream: bool = Field(False, description="Send audio sentence by sentence as it is synthesized")


router = APIRouter(prefix="/api/tts", tags=["tts"])


@router.post("/generate", response_class=Response, responses=AUDIO_RESPONSE | PROVIDER_ERRORS)
async def generate(req: TTSRequest, tts: TTSDep, settings: SettingsDep, meter: MeterDep) -> Response:
    text = check_text(req.text, settings)
    fmt = output_format(req.format)
    resolved = tts.resolve(req.voice_id, req.language, check_speed(req.speed, settings))
    await meter.tts(len(text))  # limits.tts_chars_per_day, once the request is known to be valid
    return await speech_response(tts, text, resolved, fmt, stream=req.stream)

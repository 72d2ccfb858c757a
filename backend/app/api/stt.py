"""POST /api/stt/transcribe — multipart audio in any common format → text with segments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from backend.app.deps import MeterDep, SettingsDep, STTDep
from backend.app.openapi import MARK, PROVIDER_ERRORS, UNSUPPORTED_AUDIO
from backend.app.speech import transcribe_upload
from backend.core.config import Settings
from backend.core.limits import check_language
from backend.providers.failover import recording
from backend.speech.base import STTConfig

router = APIRouter(prefix="/api/stt", tags=["stt"])


class SegmentOut(BaseModel):
    id: int
    start: float
    end: float
    text: str


class TranscriptionOut(BaseModel):
    text: str
    language: str
    language_probability: float
    duration: float
    segments: list[SegmentOut]
    model: str
    processing_ms: float
    provider: str = Field("", description="The STT provider that transcribed it (stt.provider or a fallback)")
    failover: list[dict[str, str]] = Field(
        default_factory=list, description="Failovers on the way: {service, from, to, reason, message}"
    )


def stt_language(language: str | None, settings: Settings) -> str | None:
    """'' / 'auto' / None mean detect; anything else must be an enabled language."""
    return check_language(language, settings)


@router.post("/transcribe", response_model=TranscriptionOut, responses=UNSUPPORTED_AUDIO | PROVIDER_ERRORS)
async def transcribe(
    stt: STTDep,
    settings: SettingsDep,
    meter: MeterDep,
    file: Annotated[UploadFile, File(description="Audio: wav, mp3, ogg/opus, webm, m4a, flac, ...")],
    language: Annotated[
        str | None,
        Form(description="Language code, or 'auto' to detect", json_schema_extra={MARK: "stt_language"}),
    ] = None,
    model: Annotated[str | None, Form(description="Installed whisper model (default stt.model_size)")] = None,
    beam_size: Annotated[int | None, Form(ge=1, le=10)] = None,
    vad: Annotated[bool | None, Form(description="Skip silence with Silero VAD")] = None,
) -> TranscriptionOut:
    cfg = settings.stt
    config = STTConfig(
        language=stt_language(language, settings) if language is not None else cfg.language,
        model=model,
        beam_size=beam_size or cfg.beam_size,
        vad=cfg.vad if vad is None else vad,
        temperature_fallback=cfg.temperature_fallback,
    )
    with recording() as log:
        timed = await transcribe_upload(file, stt, settings, config, meter)
    r = timed.result
    return TranscriptionOut(
        text=r.text,
        language=r.language,
        language_probability=r.language_probability,
        duration=r.duration,
        segments=[SegmentOut(id=s.id, start=s.start, end=s.end, text=s.text) for s in r.segments],
        model=r.model,
        processing_ms=timed.processing_ms,
        provider=r.provider or stt.name,
        failover=[e.to_dict() for e in log.drain("stt")],
    )

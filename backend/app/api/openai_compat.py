"""OpenAI-compatible audio API: /v1/audio/speech, /v1/audio/transcriptions, /v1/models.

Point the official `openai` SDK at `base_url=http://host:8000/v1` (any api_key) and it works unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.app.api.stt import stt_language
from backend.app.deps import MeterDep, SettingsDep, STTDep, TTSDep
from backend.app.openai_names import OPENAI_VOICES, TTS_MODELS
from backend.app.openapi import AUDIO_RESPONSE, MARK, PROVIDER_ERRORS, UNSUPPORTED_AUDIO
from backend.app.speech import speech_response, transcribe_upload
from backend.core.errors import InvalidRequest
from backend.core.languages import LANGUAGES
from backend.core.limits import check_characters, check_speed, check_text
from backend.media.audio import output_format
from backend.speech.base import Segment, STTConfig

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

OPENAI_PCM_RATE = 24000  # response_format "pcm": raw PCM16 mono at 24 kHz, as OpenAI sends it
_CREATED = 1_700_000_000


class SpeechRequest(BaseModel):
    # OpenAI adds fields over time: unknown ones are ignored; known ones have the types the schema says
    model_config = ConfigDict(extra="ignore", strict=True)

    model: str = Field(description="tts-1, tts-1-hd, gpt-4o-mini-tts, or an engine name (piper, espeak, ...)")
    input: str = Field(description="Text to speak (limits.max_text_chars)", json_schema_extra={MARK: "text"})
    voice: str = Field(description="An OpenAI voice name (alloy, ...) or a voice id from GET /api/voices")
    response_format: str = Field("mp3", json_schema_extra={MARK: "format"})
    speed: float | None = Field(None, description="default: tts.speed", json_schema_extra={MARK: "speed"})
    instructions: str | None = None
    language: str | None = Field(  # extension: pick the default voice of this language
        None, description="Language of the default voice (an extension)", json_schema_extra={MARK: "language"}
    )


@router.post("/audio/speech", response_class=Response, responses=AUDIO_RESPONSE | PROVIDER_ERRORS)
async def speech(req: SpeechRequest, tts: TTSDep, settings: SettingsDep, meter: MeterDep) -> Response:
    allowed_models = (*TTS_MODELS, *tts.providers)
    if req.model not in allowed_models:
        raise InvalidRequest(
            f"model '{req.model}' is not supported; use one of: {', '.join(allowed_models)}",
            code="unknown_model",
        )
    text = check_text(req.input, settings, field="input")
    fmt = output_format(req.response_format)
    if fmt.name == "pcm":  # OpenAI's pcm is 24 kHz: clients (our own `openai` TTS engine too) assume it
        fmt = replace(fmt, sample_rate=OPENAI_PCM_RATE)
    voice_id: str | None = req.voice
    if req.voice.lower() in OPENAI_VOICES:
        known = tts.catalog.get(req.voice.lower())  # the openai engine's voice, when it is enabled
        voice_id = known.id if known is not None and known.available else None  # else: the default voice
    engine = req.model if req.model in tts.providers else None  # "piper" / "espeak" pick the engine
    resolved = tts.resolve(voice_id, req.language, check_speed(req.speed, settings), engine=engine)
    await meter.tts(len(text))  # limits.tts_chars_per_day
    return await speech_response(tts, text, resolved, fmt, stream=True)


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(segments: list[Segment]) -> str:
    blocks = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: list[Segment]) -> str:
    blocks = [f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


ResponseFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]


@router.post(
    "/audio/transcriptions",
    response_model=None,
    responses={
        200: {
            "description": "The transcript: JSON (json, verbose_json), or text (text, srt, vtt)",
            "content": {
                "application/json": {"schema": {"type": "object", "required": ["text"]}},
                "text/plain": {"schema": {"type": "string"}},
                "text/vtt": {"schema": {"type": "string"}},
            },
        },
        **UNSUPPORTED_AUDIO,
        **PROVIDER_ERRORS,
    },
)
async def transcriptions(
    stt: STTDep,
    settings: SettingsDep,
    meter: MeterDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()],
    language: Annotated[str | None, Form(json_schema_extra={MARK: "stt_language"})] = None,
    prompt: Annotated[str | None, Form(json_schema_extra={MARK: "chars"})] = None,
    response_format: Annotated[ResponseFormat, Form()] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,  # accepted; decoding is greedy
) -> Response | dict:
    config = STTConfig(
        language=stt_language(language, settings) if language else settings.stt.language,
        model=model,
        beam_size=settings.stt.beam_size,
        vad=settings.stt.vad,
        temperature_fallback=settings.stt.temperature_fallback,
        prompt=check_characters(prompt, "prompt") if prompt else None,
    )
    timed = await transcribe_upload(file, stt, settings, config, meter)
    r = timed.result
    if response_format == "text":
        return PlainTextResponse(r.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(r.segments))
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(r.segments), media_type="text/vtt")
    if response_format == "json":
        return {"text": r.text}
    lang = LANGUAGES.get(r.language)
    return {
        "task": "transcribe",
        "language": lang.name.lower() if lang else r.language,
        "duration": r.duration,
        "text": r.text,
        "segments": [
            {
                "id": s.id,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in r.segments
        ],
    }


@router.get("/models")
async def models(tts: TTSDep, stt: STTDep) -> dict:
    ids = ["whisper-1", *stt.capabilities().models, *TTS_MODELS, *tts.providers]
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": _CREATED, "owned_by": "mithivoices"} for i in ids],
    }

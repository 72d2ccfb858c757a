"""GET /api/voices and GET /api/languages."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from backend.app.deps import SettingsDep, STTDep, TTSDep
from backend.core.errors import InvalidRequest
from backend.core.languages import LANGUAGES, normalize_language
from backend.speech.catalog import Voice

router = APIRouter(prefix="/api", tags=["voices"])

TtsKind = Literal["neural", "espeak", "cloud", "none"]
SttKind = Literal["local", "cloud", "none"]
# What each TTS engine is, for `tts_kind`: neural models on this machine (Piper) or on a server of your own
# (Coqui), the formant synthesizer, or a vendor's cloud. An engine not listed here counts as cloud.
TTS_KINDS: dict[str, TtsKind] = {"piper": "neural", "coqui": "neural", "espeak": "espeak"}
LOCAL_STT = frozenset({"whisper_local"})


class LanguageOut(BaseModel):
    code: str
    name: str
    native_name: str
    enabled: bool
    voices_installed: int
    voices_available: int
    default_voice: str | None
    stt_supported: bool
    tts_kind: TtsKind
    stt_kind: SttKind


@router.get("/voices", response_model=list[Voice])
async def list_voices(
    tts: TTSDep,
    language: str | None = Query(
        None, description="Filter by language code, e.g. hi", json_schema_extra={"enum": list(LANGUAGES)}
    ),
    installed: bool = Query(False, description="Only voices installed on this machine"),
) -> list[Voice]:
    code = None
    if language is not None:
        code = normalize_language(language)
        if code not in LANGUAGES:
            raise InvalidRequest(
                f"language '{language}' is unknown; known: {', '.join(LANGUAGES)}",
                code="unsupported_language",
            )
    return tts.catalog.list(code, installed_only=installed)


@router.get("/languages", response_model=list[LanguageOut])
async def list_languages(tts: TTSDep, stt: STTDep, settings: SettingsDep) -> list[LanguageOut]:
    stt_caps = stt.capabilities()
    multilingual = any(not m.endswith(".en") for m in stt_caps.models)
    stt_kind: SttKind = "local" if settings.stt.provider in LOCAL_STT else "cloud"
    out = []
    for code, lang in LANGUAGES.items():
        enabled = code in settings.languages
        default = None
        tts_kind: TtsKind = "none"
        if enabled:  # what a request with only this language gets now: its default voice's engine
            voice = tts.resolve(None, code).voice
            default = voice.id
            tts_kind = TTS_KINDS.get(voice.engine, "cloud")
        stt_supported = bool(stt_caps.models) and (code == "en" or multilingual)
        out.append(
            LanguageOut(
                code=code,
                name=lang.name,
                native_name=lang.native_name,
                enabled=enabled,
                voices_installed=len(tts.catalog.list(code, installed_only=True)),
                voices_available=len(tts.catalog.available(code)),
                default_voice=default,
                stt_supported=stt_supported,
                tts_kind=tts_kind,
                stt_kind=stt_kind if enabled and stt_supported else "none",
            )
        )
    return out

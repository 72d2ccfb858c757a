"""FastAPI dependency aliases: the app's shared objects, loaded once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.agents.conversation import ConversationAgent
from backend.core.config import Settings
from backend.voice.base import STTProvider
from backend.voice.tts_service import TTSService


def get_agent(request: Request) -> ConversationAgent:
    return request.app.state.agent


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_tts(request: Request) -> TTSService:
    return request.app.state.tts


def get_stt(request: Request) -> STTProvider:
    return request.app.state.stt


SettingsDep = Annotated[Settings, Depends(get_settings)]
TTSDep = Annotated[TTSService, Depends(get_tts)]
STTDep = Annotated[STTProvider, Depends(get_stt)]
AgentDep = Annotated[ConversationAgent, Depends(get_agent)]

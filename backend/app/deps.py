"""FastAPI dependency aliases: the app's shared objects, loaded once in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.agents.conversation import ConversationAgent
from backend.app.auth import Principal, principal_of
from backend.app.quotas import Meter
from backend.core.config import Settings
from backend.core.tenancy import scoped_session_id
from backend.speech.base import STTProvider
from backend.speech.tts_service import TTSService


def get_agent(request: Request) -> ConversationAgent:
    return request.app.state.agent


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_tts(request: Request) -> TTSService:
    return request.app.state.tts


def get_stt(request: Request) -> STTProvider:
    return request.app.state.stt


def get_principal(request: Request) -> Principal:
    return principal_of(request)


def get_meter(request: Request) -> Meter:
    return Meter(getattr(request.app.state, "quotas", None), principal_of(request))


class Owner:
    """The caller's namespace: turns a public session id into the memory id the agent stores it under."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def memory_id(self, session_id: str) -> str:
        return scoped_session_id(self.principal.tenant, session_id)


def get_owner(request: Request) -> Owner:
    return Owner(principal_of(request))


SettingsDep = Annotated[Settings, Depends(get_settings)]
TTSDep = Annotated[TTSService, Depends(get_tts)]
STTDep = Annotated[STTProvider, Depends(get_stt)]
AgentDep = Annotated[ConversationAgent, Depends(get_agent)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
MeterDep = Annotated[Meter, Depends(get_meter)]
OwnerDep = Annotated[Owner, Depends(get_owner)]

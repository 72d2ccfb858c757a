"""POST /api/auth/token — a short-lived token for browsers' WebSockets (`/voice?token=…`)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from backend.app.auth import Unauthorized, principal_of
from backend.core.errors import InvalidRequest

router = APIRouter(prefix="/api/auth", tags=["auth"])


class TokenOut(BaseModel):
    token: str = Field(
        description="Use as ?token= on a WebSocket URL (or as a bearer); carries the key's identity"
    )
    expires_at: str = Field(description="ISO 8601 UTC")
    expires_in: int = Field(description="seconds")
    key: str = Field(description="The name of the key the token acts for")


@router.post("/token", response_model=TokenOut)
async def issue_token(request: Request) -> TokenOut:
    keys = request.app.state.keys
    if not keys.enabled:
        raise InvalidRequest(
            "auth is off on this server (no auth.api_keys): connect without a token", code="auth_disabled"
        )
    principal = principal_of(request)
    if not principal.authenticated:  # pragma: no cover - the middleware refuses such a request first
        raise Unauthorized("an API key is required")
    token, expires = keys.issue(principal.name)
    return TokenOut(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z"),
        expires_in=keys.ttl,
        key=principal.name,
    )

"""Checks of user input against the configured limits and languages, shared by every API surface
(REST, OpenAI-compatible, chat, /voice), so each rule and its message exist once."""

from __future__ import annotations

from backend.core.config import Settings
from backend.core.errors import InvalidRequest
from backend.core.languages import normalize_language


def check_text(text: str, settings: Settings) -> str:
    """Stripped text within limits.max_text_chars, or a 422 (empty_text / text_too_long)."""
    text = text.strip()
    if not text:
        raise InvalidRequest(
            f"text is empty; send 1 to {settings.limits.max_text_chars} characters", code="empty_text"
        )
    if len(text) > settings.limits.max_text_chars:
        raise InvalidRequest(
            f"text is {len(text)} characters; the limit is {settings.limits.max_text_chars} "
            "(limits.max_text_chars)",
            code="text_too_long",
        )
    return text


def check_speed(speed: float | None, settings: Settings) -> float | None:
    lim = settings.limits
    if speed is not None and not lim.min_speed <= speed <= lim.max_speed:
        raise InvalidRequest(
            f"speed {speed:g} is out of range; allowed {lim.min_speed:g} to {lim.max_speed:g}",
            code="invalid_speed",
        )
    return speed


def check_language(value: str | None, settings: Settings, allow_auto: bool = True) -> str | None:
    """An enabled language code, or None for ''/'auto' (when `allow_auto`); otherwise a 422."""
    if value is None or (allow_auto and value.strip().lower() in ("", "auto")):
        return None
    code = normalize_language(value)
    if code not in settings.languages:
        choices = ("'auto' or one of: " if allow_auto else "") + ", ".join(settings.languages)
        raise InvalidRequest(f"language '{value}' is not enabled; use {choices}", code="unsupported_language")
    return code

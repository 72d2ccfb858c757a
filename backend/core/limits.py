"""Checks of user input against the configured limits and languages, shared by every API surface
(REST, OpenAI-compatible, chat, /voice), so each rule and its message exist once."""

from __future__ import annotations

import re
import unicodedata

from backend.core.config import Settings
from backend.core.errors import InvalidRequest
from backend.core.languages import normalize_language

# Characters no engine can speak and some crash on (Piper/eSpeak on NUL, tokenizers on a lone surrogate):
# control characters other than tab, newline and carriage return (C0, DEL and C1), UTF-16 surrogates
# (in a Python str always unpaired: JSON's "\\ud83d\\ude00" pairs decode to one character) and the
# noncharacters of the Basic Multilingual Plane (U+FDD0..U+FDEF, U+FFFE, U+FFFF). /openapi.json states
# the same rule as a pattern (backend.app.openapi.TEXT_PATTERN).
FORBIDDEN_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARS}]")


def _kind(char: str) -> str:
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return "an unpaired UTF-16 surrogate"
    if unicodedata.category(char) == "Cc":
        return "a control character"
    return "a Unicode noncharacter"


def check_characters(text: str, field: str = "text") -> str:
    """``text`` unchanged, or a 422 (invalid_text) naming the first character that is not allowed.

    Refused: control characters except tab, newline and carriage return; unpaired surrogates; the
    noncharacters U+FFFE, U+FFFF and U+FDD0..U+FDEF. A request's own bad text must never reach an
    engine: it would fail there and count against the engine's circuit breaker for every client.
    """
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        char = bad.group()
        raise InvalidRequest(
            f"{field} contains U+{ord(char):04X} ({_kind(char)}) at position {bad.start()} "
            "(counting characters from 0); control characters other than tab, newline and carriage "
            "return, unpaired surrogates and U+FFFE/U+FFFF are not allowed",
            code="invalid_text",
        )
    return text


def check_text(text: str, settings: Settings, field: str = "text") -> str:
    """Stripped text within limits.max_text_chars with only allowed characters, or a 422 (invalid_text /
    empty_text / text_too_long). ``field`` names the request field in the message."""
    check_characters(text, field)  # before stripping: positions refer to what the client sent
    text = text.strip()
    if not text:
        raise InvalidRequest(
            f"{field} is empty; send 1 to {settings.limits.max_text_chars} characters", code="empty_text"
        )
    if len(text) > settings.limits.max_text_chars:
        raise InvalidRequest(
            f"{field} is {len(text)} characters; the limit is {settings.limits.max_text_chars} "
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

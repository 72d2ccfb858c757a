"""What Sarvam AI's text-to-speech (:mod:`.sarvam_tts`) and speech-to-text (:mod:`.sarvam_stt`) share.

* the key: header ``api-subscription-key`` (Sarvam answers a missing or wrong key with **403**
  ``{"error": {"message", "code": "invalid_api_key_error"}}``; :mod:`backend.providers.hosted` maps 403 to
  ``provider_auth_failed`` like every vendor's 401);
* errors: ``{"error": {"message", "code", "request_id"?}}`` with ``code`` ``invalid_request_error``
  (400/413/422), ``unprocessable_entity_error`` (422), ``insufficient_quota_error`` (429),
  ``rate_limit_exceeded_error`` (429/503), ``internal_server_error`` (500);
* languages: Sarvam names them BCP-47 ``xx-IN`` (``hi-IN``); ours are ``hi``. Odia is ``od-IN``.
"""

from __future__ import annotations

from backend.core.languages import normalize_language

NAME = "sarvam"
ENV_VAR = "SARVAM_API_KEY"
OFFICIAL_HOSTS = frozenset({"api.sarvam.ai"})
KEY_HEADER = "api-subscription-key"

TTS_LANGUAGES = frozenset({"en", "hi", "bn", "ta", "te", "kn", "ml", "mr", "gu", "pa", "od"})
"""What Bulbul speaks (as our codes)."""
STT_LANGUAGES = TTS_LANGUAGES | frozenset(
    {"as", "ur", "ne", "kok", "ks", "sd", "sa", "sat", "mni", "brx", "mai", "doi"}
)
"""What Saaras hears (as our codes); ``unknown`` asks Sarvam to detect the language."""


def to_sarvam(language: str) -> str:
    """Our language code → Sarvam's (``hi`` → ``hi-IN``)."""
    code = normalize_language(language)
    return "od-IN" if code == "or" else f"{code}-IN"


def from_sarvam(value: object) -> str:
    """Sarvam's language code → ours (``hi-IN`` → ``hi``); "" for none (null, ``unknown``)."""
    if not isinstance(value, str) or not value.strip() or value.strip().lower() == "unknown":
        return ""
    return normalize_language(value)


def auth_headers(api_key: str) -> dict[str, str]:
    return {KEY_HEADER: api_key} if api_key else {}

"""What `/openapi.json` says, made to match what the API does.

* **Errors**, declared in one place: every route lists the statuses it can answer with the one error
  model, ``{"error": {"code", "message"}}`` (:data:`ERRORS` for the protected routes, :data:`OPEN_ERRORS`
  for ``/health``), so a client (or schemathesis) knows a 401, 413, 422 or 429 before it sees one.
* **Request constraints that depend on this server** (its limits, enabled languages, installed voices
  and models) are filled in when the document is first asked for, after startup (:func:`install_openapi`):
  text length and characters (``limits.max_text_chars``, :mod:`backend.core.limits`), the speed range,
  the languages, and which voice may be asked for in which language (``anyOf`` the working combinations,
  found by asking the voice resolver itself). Fields say which rule they follow with ``x-mithi``.
* **Multipart forms**: a form field cannot be ``null`` (leaving it out is how a client says "none"), so
  their ``anyOf [..., null]`` is reduced to the value's own schema.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from backend.app.auth import is_protected
from backend.app.openai_names import OPENAI_VOICES, TTS_MODELS
from backend.core.errors import MithiError
from backend.media.audio import OUTPUT_FORMATS

logger = logging.getLogger(__name__)

MARK = "x-mithi"  # json_schema_extra key: which server rule a field follows (see _RULES)

# A text the server accepts (backend.core.limits): no control character other than tab / newline /
# carriage return, no surrogate, no U+FDD0..U+FDEF / U+FFFE / U+FFFF, and at least one character that
# is not whitespace (what str.strip() removes). Explicit ranges, so ECMA-262 (JSON Schema) and Python
# read the pattern alike.
# (Unpaired surrogates are refused too, but they are not characters a JSON Schema regex can name.)
_FORBIDDEN = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\ufdd0-\\ufdef\\ufffe\\uffff"
_SPACES = "\\t\\n\\r\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_ALLOWED = f"[^{_FORBIDDEN}]"
_VISIBLE = f"[^{_FORBIDDEN}{_SPACES}]"
TEXT_PATTERN = f"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"
CHARS_PATTERN = f"^{_ALLOWED}*$"  # allowed characters only, any length (e.g. an STT prompt)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_text, rate_limited")
    message: str = Field(description="What was wrong and what is allowed, for people")


class ErrorResponse(BaseModel):
    """Every error of this API, whatever the status."""

    error: ErrorDetail


_DESCRIPTIONS: dict[int, str] = {
    400: "A Host header this server does not answer to (invalid_host), or a malformed request",
    401: "No API key, or not a valid one (unauthorized); see docs/DEPLOY.md",
    404: "No such resource (e.g. unknown_session)",
    413: "The body is larger than limits.max_upload_mb (payload_too_large, upload_too_large) or the audio "
    "longer than limits.max_audio_seconds (audio_too_long)",
    415: "Audio that cannot be decoded (unsupported_audio)",
    422: "A value is not allowed (invalid_request, invalid_text, unknown_voice, ...): the message says "
    "which and what is allowed",
    429: "Over a limit of this API key (rate_limited); Retry-After says when to try again",
    502: "The provider failed (provider_error)",
    503: "No provider can serve the request now (provider_unavailable, no_provider_available)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the error model and what it means here."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}


ERRORS = errors(400, 401, 413, 422, 429)  # any route behind the API key (backend.app.auth, quotas, limits)
OPEN_ERRORS = errors(400, 413)  # /health and /health/ready: no key needed
PROVIDER_ERRORS = errors(502, 503)  # routes that run a TTS / STT / LLM provider
NOT_FOUND = errors(404)
UNSUPPORTED_AUDIO = errors(415)

AUDIO_MEDIA_TYPES = tuple(dict.fromkeys(f.media_type.split(";")[0] for f in OUTPUT_FORMATS.values()))
AUDIO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audio, in the requested format (streamed when asked)",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in AUDIO_MEDIA_TYPES
        },
    }
}


# --------------------------------------------------------------------------- the server's own rules


def _string_branch(prop: dict[str, Any]) -> dict[str, Any]:
    """The part of a property schema that describes its string value (``str | None`` has two parts)."""
    for branch in prop.get("anyOf", ()):
        if branch.get("type") in ("string", "number", "integer"):
            return branch
    return prop


def _set_enum(prop: dict[str, Any], values: list[Any]) -> None:
    branch = _string_branch(prop)
    if branch is prop:  # a plain string: keep its title, description and default
        prop["enum"] = values
    else:
        branch.clear()
        branch["enum"] = values


def _rules(app: FastAPI) -> dict[str, Callable[[dict[str, Any]], None]]:
    settings = app.state.settings
    lim = settings.limits

    def text(prop: dict[str, Any]) -> None:
        branch = _string_branch(prop)
        branch.update(minLength=1, maxLength=lim.max_text_chars, pattern=TEXT_PATTERN)

    def chars(prop: dict[str, Any]) -> None:
        _string_branch(prop).update(pattern=CHARS_PATTERN)

    def speed(prop: dict[str, Any]) -> None:
        _string_branch(prop).update(minimum=lim.min_speed, maximum=lim.max_speed)

    def language(prop: dict[str, Any]) -> None:
        _set_enum(prop, list(settings.languages))

    def stt_language(prop: dict[str, Any]) -> None:
        _set_enum(prop, ["auto", *settings.languages])

    def output_format(prop: dict[str, Any]) -> None:
        _set_enum(prop, list(OUTPUT_FORMATS))

    return {
        "text": text,
        "chars": chars,
        "speed": speed,
        "language": language,
        "stt_language": stt_language,
        "format": output_format,
    }


def _apply_marks(schema: dict[str, Any], rules: dict[str, Callable[[dict[str, Any]], None]]) -> None:
    for component in schema.get("components", {}).get("schemas", {}).values():
        for prop in component.get("properties", {}).values():
            rule = prop.pop(MARK, None)
            if rule in rules:
                rules[rule](prop)


def _works(resolve: Callable[[], object]) -> bool:
    try:
        resolve()
    except MithiError:
        return False
    return True


def _tts_combinations(app: FastAPI, schema: dict[str, Any]) -> None:
    """Which voice may be asked for in which language (and, on /v1, by which model): ``anyOf`` the
    combinations the resolver accepts, so a request the document allows is one the server serves."""
    tts = app.state.tts
    languages = list(app.state.settings.languages)
    voices = [v.id for v in tts.catalog.list() if v.available]
    components = schema.get("components", {}).get("schemas", {})

    ours = components.get("TTSRequest")
    if ours is not None:
        branches = []
        for lang in [None, *languages]:
            ok = [v for v in voices if _works(lambda v=v, lang=lang: tts.resolve(v, lang))]
            branches.append(
                {
                    "properties": {
                        "language": {"type": "null"} if lang is None else {"const": lang},
                        "voice_id": {"enum": [*ok, None]},
                    }
                }
            )
        ours["anyOf"] = branches

    theirs = components.get("SpeechRequest")
    if theirs is not None:
        branches = []
        model_groups: list[tuple[list[str], str | None]] = [(list(TTS_MODELS), None)]
        model_groups += [([engine], engine) for engine in tts.providers]
        for models, engine in model_groups:
            for lang in [None, *languages]:
                ok = []
                for voice in [*OPENAI_VOICES, *voices]:
                    voice_id: str | None = voice
                    if voice in OPENAI_VOICES:
                        known = tts.catalog.get(voice)
                        voice_id = known.id if known is not None and known.available else None
                    if _works(lambda v=voice_id, lang=lang, e=engine: tts.resolve(v, lang, engine=e)):
                        ok.append(voice)
                if ok:
                    branches.append(
                        {
                            "properties": {
                                "model": {"enum": models},
                                "language": {"type": "null"} if lang is None else {"const": lang},
                                "voice": {"enum": ok},
                            }
                        }
                    )
        theirs["anyOf"] = branches
        props = theirs.get("properties", {})
        if "model" in props:
            props["model"] = {**props["model"], "enum": [*TTS_MODELS, *tts.providers]}


def _stt_models(app: FastAPI, schema: dict[str, Any]) -> None:
    """The models a transcription may name, and the languages each can do: an English-only model
    (``*.en``) only English or detection. The default model (``whisper-1``, ``default`` or none) can do
    every language when a multilingual model is installed (the server switches to it)."""
    installed = list(app.state.stt.capabilities().models)
    multilingual = [m for m in installed if not m.endswith(".en")]
    english_only = [m for m in installed if m.endswith(".en")]
    default = ["whisper-1", "default"]
    any_language = multilingual + (default if multilingual else [])
    english = english_only + ([] if multilingual else default)
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        props = component.get("properties", {})
        if not name.startswith("Body_transcri") or "model" not in props:
            continue
        props["model"] = {k: v for k, v in props["model"].items() if k != "type"} | {
            "enum": [*default, *installed]
        }
        if not english:  # every model does every language
            continue
        branches: list[dict[str, Any]] = [
            {"properties": {"model": {"enum": english}, "language": {"enum": ["auto", "en"]}}}
        ]
        if any_language:
            branches.insert(0, {"properties": {"model": {"enum": any_language}}})
        component["anyOf"] = branches


def _multipart_without_null(schema: dict[str, Any]) -> None:
    """Form fields are never null: ``anyOf [X, null]`` becomes ``X`` in multipart request bodies."""
    components = schema.get("components", {}).get("schemas", {})
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            content = (operation.get("requestBody") or {}).get("content", {})
            ref = content.get("multipart/form-data", {}).get("schema", {}).get("$ref", "")
            component = components.get(ref.rsplit("/", 1)[-1]) if ref else None
            if component is None:
                continue
            for key, prop in list(component.get("properties", {}).items()):
                branches = [b for b in prop.get("anyOf", ()) if b.get("type") != "null"]
                if "anyOf" in prop and len(branches) == 1:
                    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
                    component["properties"][key] = {**rest, **branches[0]}


def refine(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (FastAPI's) with this server's rules filled in; needs the loaded providers."""
    schema = copy.deepcopy(schema)
    _apply_marks(schema, _rules(app))
    _multipart_without_null(schema)
    _tts_combinations(app, schema)
    _stt_models(app, schema)
    _security(app, schema)
    return schema


def _security(app: FastAPI, schema: dict[str, Any]) -> None:
    """With API keys configured, say how to send one (the docs page gets an "Authorize" button)."""
    if not app.state.settings.auth.enabled:
        return
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "an API key (auth.api_keys)"}
    schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, operations in schema.get("paths", {}).items():
        if is_protected(path):
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation["security"] = [{"bearer": []}, {"apiKey": []}]


def install_openapi(app: FastAPI) -> None:
    """Serve the refined document at /openapi.json (built once, after startup; before it, FastAPI's)."""
    build = app.openapi
    refined: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        base = build()
        if not hasattr(app.state, "tts"):  # not started yet: no voices or models to describe
            return base
        if not refined:
            refined.update(refine(app, base))
        return refined

    app.openapi = openapi  # type: ignore[method-assign]

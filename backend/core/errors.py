"""One exception hierarchy and one JSON shape for every error: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class MithiError(Exception):
    """Base class: an error with a stable machine-readable code, a human message and an HTTP status."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class ConfigError(MithiError):
    """config.yml is missing, unreadable or invalid. Raised at startup, never per request."""

    code = "config_error"


class InvalidRequest(MithiError):
    """The request is well-formed HTTP but a value in it is not allowed."""

    status_code = 422
    code = "invalid_request"


class NotFound(MithiError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(MithiError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMedia(MithiError):
    """Audio that cannot be decoded, or an output format we cannot produce."""

    status_code = 415
    code = "unsupported_media"


class ProviderError(MithiError):
    """A provider failed or is not available (missing model, missing SDK, engine error, vendor error).

    What a caller may do next is carried by the error itself (see ``backend.core.hosted``):

    * ``retryable``: the same provider may succeed if asked again (timeout, 5xx, 429, network error);
    * ``failover``: another provider should serve the request (true unless said otherwise: a failing
      provider is the provider's fault) — false when the request itself was at fault (a vendor's 4xx such
      as a too-long text), so another provider would refuse it too;
    * ``provider``, ``upstream_status`` and ``retry_after`` (seconds, from the vendor's Retry-After).
    """

    status_code = 503
    code = "provider_unavailable"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        provider: str = "",
        retryable: bool = False,
        failover: bool | None = None,
        upstream_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.provider = provider
        self.retryable = retryable
        self.failover = True if failover is None else failover
        self.upstream_status = upstream_status
        self.retry_after = retry_after


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _describe_validation_error(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        reason = (err.get("ctx") or {}).get("error", "")
        return f"the body is not valid JSON ({reason})" if reason else "the body is not valid JSON"
    loc = ".".join(str(part) for part in err.get("loc", ()) if part not in ("body",))
    msg = err.get("msg", "invalid value")
    if "input" in err and err.get("type") not in ("missing",):
        shown = repr(err["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{loc or 'body'}: {msg} (got {shown})"
    return f"{loc or 'body'}: {msg}"


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through one JSON shape; nothing leaks a traceback to the client."""

    @app.exception_handler(MithiError)
    async def _mithi(_: Request, exc: MithiError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.warning("%s: %s", exc.code, exc.message)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        messages = [_describe_validation_error(dict(e)) for e in exc.errors()]
        return JSONResponse(error_body("invalid_request", "; ".join(messages)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)

"""One exception hierarchy and one JSON shape for every error: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import OutOfMemoryError, RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.core.urls import mask_secrets_in_text

logger = logging.getLogger(__name__)


class MithiError(Exception):
    """Base class: an error with a stable machine-readable code, a human message and an HTTP status."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        message = mask_secrets_in_text(message)  # a URL's password never reaches a client or a log
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


class RateLimited(MithiError):
    """Over a quota or rate limit: HTTP 429 with Retry-After; on /voice a fatal error event + close 1008."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None, limit: str = "") -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.limit = limit

    def headers(self) -> dict[str, str]:
        """`Retry-After` in whole seconds, rounded up (at least 1)."""
        return {"Retry-After": str(max(1, int(self.retry_after + 0.999)))}


class ProviderError(MithiError):
    """A provider failed or is not available (missing model, missing SDK, engine error, vendor error).

    What a caller may do next is carried by the error itself (see ``backend.providers.hosted``):

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


class StorageUnavailable(MithiError):
    """Redis (conversation memory, appointments) cannot be reached, or refuses writes (full).

    REST: 503; on /voice a non-fatal ``error`` event: the socket stays open and the next turn works
    once Redis is back (``backend.core.redis``).
    """

    status_code = 503
    code = "storage_unavailable"


def storage_error(exc: BaseException) -> StorageUnavailable | None:
    """The StorageUnavailable for `exc` when it is (or was caused by) a Redis failure, else None.

    Libraries above redis-py wrap its errors (redisvl raises its own ``RedisSearchError`` from a
    ``ConnectionError``), so the cause chain is searched.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, StorageUnavailable):
            return cause
        if isinstance(cause, OutOfMemoryError):
            return StorageUnavailable(
                "Redis is full (maxmemory reached; it never evicts conversations): nothing could be "
                "stored; raise redis.max_memory_mb or free memory"
            )
        if isinstance(cause, RedisError) and not _is_command_error(cause):
            return StorageUnavailable(f"conversation storage (Redis) is unavailable: {cause}")
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


@contextmanager
def storage_guard() -> Iterator[None]:
    """Raise a Redis failure inside the block as StorageUnavailable (other errors pass unchanged)."""
    try:
        yield
    except MithiError:
        raise
    except Exception as exc:
        storage = storage_error(exc)
        if storage is None:
            raise
        raise storage from exc


def _is_command_error(exc: RedisError) -> bool:
    """A ResponseError is a bug in a command, not an unavailable Redis, unless Redis says it cannot
    write now (MISCONF: the AOF cannot be written; READONLY: a replica; LOADING: starting up)."""
    from redis.exceptions import ResponseError

    return isinstance(exc, ResponseError) and not str(exc).startswith(_UNAVAILABLE_REPLIES)


_UNAVAILABLE_REPLIES = ("MISCONF", "READONLY", "LOADING")


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
        headers = None
        if isinstance(exc, RateLimited):
            headers = exc.headers()
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

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

    @app.exception_handler(RedisError)
    async def _redis(_: Request, exc: RedisError) -> JSONResponse:
        storage = storage_error(exc)
        if storage is None:  # a command error (wrong type, syntax) is a bug: a 500 like any other
            logger.exception("Redis command failed", exc_info=exc)
            return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)
        logger.warning("%s: %s", storage.code, storage.message)
        return JSONResponse(storage.to_dict(), status_code=storage.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        storage = storage_error(exc)  # a Redis failure wrapped by a library (redisvl, langgraph)
        if storage is not None:
            logger.warning("%s: %s", storage.code, storage.message)
            return JSONResponse(storage.to_dict(), status_code=storage.status_code)
        logger.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)

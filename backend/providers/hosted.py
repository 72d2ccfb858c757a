"""One HTTP client for every hosted (cloud or self-hosted) provider: pooling, timeouts, retries, errors.

Each provider owns one :class:`HostedClient` (one pooled ``httpx.AsyncClient``), opened in ``load()``
and closed in ``close()``. Every failure leaves it as a :class:`ProviderError` that says what happened
in words a user can act on, and whether a retry (``retryable``) or another provider (``failover``) makes
sense:

==================================  ======  =======  =========  =========================
vendor outcome                      ours    retried  fails over code
==================================  ======  =======  =========  =========================
timeout (connect/read)              504     yes      yes        provider_timeout
connection refused / reset / DNS    503     yes      yes        provider_unreachable
429 (Retry-After honoured, capped)  503     yes      yes        provider_rate_limited
5xx, 408, 425                       502     yes      yes        provider_error
stream broken off mid-body          502     yes      yes        provider_bad_response
401 / 403 (bad or missing key)      502     no       yes        provider_auth_failed
malformed 2xx body                  502     no       yes        provider_bad_response
400/404/405/409/413/415/422         422     no       no         provider_rejected_request
other 4xx                           422     no       yes        provider_rejected_request
==================================  ======  =======  =========  =========================

Retries wait ``backoff_base * 2**attempt`` seconds with full jitter (capped at ``backoff_max``), or the
vendor's ``Retry-After`` when it is sent and not longer than ``max_retry_after``. A streamed response is
retried only until its status line arrived; once bytes were read, an error ends the stream
(:meth:`HostedClient.iter_bytes` maps it) and failover is the caller's business.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from backend.core.errors import ConfigError, ProviderError

logger = logging.getLogger(__name__)

_MESSAGE_CHARS = 300
_REQUEST_FAULTS = frozenset({400, 404, 405, 409, 413, 415, 422})


def require_api_key(
    block: str, api_key: str, base_url: str, official_hosts: Collection[str], env_var: str, *, use: str = ""
) -> str:
    """The configured key, stripped; empty is a :class:`ConfigError` naming ``env_var`` on the vendor's host.

    ``block`` is the config.yml section (``openai``, ``deepgram``, ...); ``use`` what the key is for (e.g.
    "stt.provider 'whisper_api'"). Elsewhere (a local or self-hosted server) an empty key is allowed and
    returned as "".
    """
    key = api_key.strip()
    host = (urlsplit(base_url).hostname or "").lower()
    if not key and env_var and host in official_hosts:
        purpose = f" to use {use}" if use else ""
        raise ConfigError(
            f"{block}.api_key is empty: set {env_var} (config.yml reads {block}.api_key from it){purpose}, "
            f"or point {block}.base_url (now {base_url}) at a server that needs no key"
        )
    return key


def check_base_url(block: str, base_url: str, example: str = "") -> None:
    """A :class:`ConfigError` unless ``base_url`` is an http(s) URL with a host."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        hint = f" (e.g. {example})" if example else ""
        raise ConfigError(f"{block}.base_url: '{base_url}' is not an http(s) URL{hint}")


def vendor_message(body: bytes | str | Any) -> str:
    """The human message in a vendor's error body, whatever its shape.

    Knows OpenAI / Groq (``{"error": {"message"}}``), ElevenLabs (``{"detail": {"message"}}`` or
    ``{"detail": "..."}`` or a FastAPI list), Deepgram (``{"err_msg"}``), and plain text / HTML.
    """
    data: Any = body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError:
            return " ".join(body.split())[:_MESSAGE_CHARS]
    return _find_message(data)[:_MESSAGE_CHARS]


def _find_message(data: Any) -> str:
    if isinstance(data, str):
        return data.strip()
    if isinstance(data, list) and data:
        return "; ".join(m for m in (_find_message(item) for item in data) if m)
    if isinstance(data, dict):
        for key in ("error", "detail", "err_msg", "message", "msg", "reason", "description"):
            if key in data:
                found = _find_message(data[key])
                if found:
                    return found
        return json.dumps(data)[:_MESSAGE_CHARS]
    return "" if data is None else str(data)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); also ``retry-after-ms`` (OpenAI)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class StatusVerdict:
    """What a vendor's HTTP status means for us (the module docstring's table), for every provider."""

    code: str
    status_code: int  # what our API answers
    retryable: bool
    failover: bool


def status_verdict(status: int) -> StatusVerdict:
    """The one table of vendor statuses: used by HostedClient and by the SDK-based providers alike."""
    if status == 429:
        return StatusVerdict("provider_rate_limited", 503, retryable=True, failover=True)
    if status in (401, 403):
        return StatusVerdict("provider_auth_failed", 502, retryable=False, failover=True)
    if status >= 500 or status in (408, 425):
        return StatusVerdict("provider_error", 502, retryable=True, failover=True)
    return StatusVerdict(
        "provider_rejected_request", 422, retryable=False, failover=status not in _REQUEST_FAULTS
    )


def status_error(provider: str, status: int, message: str, retry_after: float | None = None) -> ProviderError:
    """A ProviderError for vendor status `status` whose wording the caller chose."""
    verdict = status_verdict(status)
    return ProviderError(
        message,
        code=verdict.code,
        status_code=verdict.status_code,
        provider=provider,
        retryable=verdict.retryable,
        failover=verdict.failover,
        upstream_status=status,
        retry_after=retry_after,
    )


def error_from_status(
    provider: str, status: int, body: bytes | str, headers: Mapping[str, str]
) -> ProviderError:
    """The ProviderError for a vendor's non-2xx response."""
    message = vendor_message(body) or httpx.codes.get_reason_phrase(status) or "no message"
    if status == 429:
        wait = retry_after_seconds(headers)
        hint = f"; retry after {wait:g} s" if wait is not None else ""
        return status_error(provider, status, f"{provider}: rate limited (429){hint}: {message}", wait)
    if status in (401, 403):
        return status_error(
            provider,
            status,
            f"{provider}: the API key was rejected ({status}): {message}; check {provider}.api_key",
        )
    if status >= 500 or status in (408, 425):
        return status_error(
            provider, status, f"{provider}: server error ({status}): {message}", retry_after_seconds(headers)
        )
    return status_error(provider, status, f"{provider}: request rejected ({status}): {message}")


def error_from_exception(provider: str, exc: BaseException, base_url: str = "") -> ProviderError:
    """The ProviderError for a transport failure (timeout, refused connection, dropped stream)."""
    where = f" at {base_url}" if base_url else ""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(
            f"{provider}: no answer{where} in time ({type(exc).__name__})",
            code="provider_timeout",
            status_code=504,
            provider=provider,
            retryable=True,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.StreamError):
        return ProviderError(
            f"{provider}: the connection{where} broke off mid-response ({type(exc).__name__}: {exc})",
            code="provider_bad_response",
            status_code=502,
            provider=provider,
            retryable=True,
        )
    if isinstance(exc, httpx.TransportError):
        return unreachable(provider, exc, base_url)
    return ProviderError(
        f"{provider}: unexpected failure: {type(exc).__name__}: {exc}",
        code="provider_error",
        status_code=502,
        provider=provider,
        failover=True,
    )


def unreachable(provider: str, exc: BaseException, base_url: str = "") -> ProviderError:
    """The ProviderError for a server that cannot be reached (refused connection, DNS, reset)."""
    return ProviderError(
        f"{provider}: cannot reach {base_url or 'the server'} ({type(exc).__name__}: {exc})",
        code="provider_unreachable",
        status_code=503,
        provider=provider,
        retryable=True,
    )


def bad_response(provider: str, what: str) -> ProviderError:
    """A 2xx answer whose body is not what the vendor documents (malformed JSON, missing field, ...)."""
    return ProviderError(
        f"{provider}: malformed response: {what}",
        code="provider_bad_response",
        status_code=502,
        provider=provider,
        failover=True,
    )


class HostedClient:
    """A provider's pooled HTTP client with timeouts, retries (backoff + jitter) and error mapping."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        connect_timeout: float | None = None,
        max_retries: int = 2,
        backoff_base: float = 0.25,
        backoff_max: float = 4.0,
        max_retry_after: float = 10.0,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout, connect=min(timeout, connect_timeout or timeout)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            follow_redirects=False,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying pooled client (for a WebSocket URL or a one-off call)."""
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    def _delay(self, attempt: int, error: ProviderError, retries: int | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None when not to retry."""
        if not error.retryable or attempt >= (self.max_retries if retries is None else retries):
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None  # the vendor asks for longer than a live request can wait: fail over now
            return error.retry_after
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    async def _wait_to_retry(self, attempt: int, error: ProviderError, retries: int | None = None) -> None:
        """Sleep before retry number ``attempt + 1``; raise ``error`` when it is not to be retried."""
        delay = self._delay(attempt, error, retries)
        if delay is None:
            raise error
        logger.info("%s: %s; retry %d in %.2f s", self.provider, error.message, attempt + 1, delay)
        await asyncio.sleep(delay)

    async def request(
        self, method: str, path: str, *, retries: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request and read the whole 2xx response; retry what is worth retrying (``retries``
        overrides ``max_retries`` for this call; ``timeout=`` in ``kwargs`` overrides the timeout)."""
        attempt = 0
        while True:
            try:
                response = await self._client.request(method, path, **kwargs)
                if response.is_success:
                    return response
                error = error_from_status(
                    self.provider, response.status_code, response.content, response.headers
                )
            except httpx.HTTPError as exc:
                error = error_from_exception(self.provider, exc, self.base_url)
            await self._wait_to_retry(attempt, error, retries)
            attempt += 1

    @asynccontextmanager
    async def stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """Open a streamed request; retried until a 2xx status line arrives, then yielded unread.

        Read it with :meth:`iter_bytes` so a connection that breaks mid-body becomes a ProviderError.
        """
        attempt = 0
        while True:
            request = self._client.build_request(method, path, **kwargs)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                error = error_from_exception(self.provider, exc, self.base_url)
            else:
                if response.is_success:
                    try:
                        yield response
                    finally:
                        await response.aclose()
                    return
                try:
                    body = await response.aread()
                except httpx.HTTPError:
                    body = b""
                finally:
                    await response.aclose()
                error = error_from_status(self.provider, response.status_code, body, response.headers)
            await self._wait_to_retry(attempt, error)
            attempt += 1

    async def iter_bytes(
        self, response: httpx.Response, chunk_size: int | None = None
    ) -> AsyncIterator[bytes]:
        """The body of a streamed response; a timeout or broken connection raises ProviderError."""
        try:
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.HTTPError as exc:
            raise error_from_exception(self.provider, exc, self.base_url) from None

    def json(self, response: httpx.Response) -> Any:
        """The JSON body of a 2xx response, or a ``provider_bad_response`` error."""
        try:
            return response.json()
        except ValueError:
            raise bad_response(
                self.provider, f"expected JSON, got {response.headers.get('content-type', 'no content type')}"
            ) from None

"""Who is calling: API keys, short-lived browser tokens, and the Host / Origin guards.

One pure-ASGI middleware (:class:`AccessGuard`) runs before every route, HTTP and WebSocket alike:

1. **Host** (DNS-rebinding guard): the ``Host`` header must name this server — a loopback name, the
   configured ``server.host``, ``server.public_url``'s host or one of ``server.allowed_hosts`` — else
   400 ``invalid_host``. A page whose domain re-resolves to 127.0.0.1 sends its own domain as Host.
2. **Origin** (WebSockets only; browsers send it and pages cannot forge it): when present it must be the
   app's own origin (same host as ``Host``), ``server.public_url`` or one of ``server.cors_origins``;
   otherwise the handshake is refused (HTTP 403), with auth on or off. ``Origin: null`` is refused.
3. **Key**: paths under ``/api``, ``/v1``, ``/voice`` and ``/metrics`` need a key from
   ``auth.api_keys`` — ``Authorization: Bearer <secret>`` (what the official ``openai`` SDK sends) or
   ``X-API-Key: <secret>`` — or a token from ``POST /api/auth/token`` (as a bearer, or ``?token=`` on a
   WebSocket URL, for browsers that cannot set headers). Failure: 401 ``unauthorized`` on HTTP; on a
   WebSocket an ``error`` event (``fatal: true``) and close code 1008. ``/health``, ``/health/ready``, the
   API docs and the web app's files are open. With no keys configured (allowed only on a loopback
   ``server.host``, see ``backend.core.config``) every caller is the one anonymous tenant.
4. **Rate**: each authenticated (or anonymous) caller's request is counted against
   ``limits.requests_per_minute`` (``backend.app.quotas``) before the route runs.

Keys are compared in constant time and never logged; tokens are stateless HMACs keyed by the key's own
secret, so every worker verifies them with nothing shared but the config, and removing a key revokes
its tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, QueryParams
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.core.config import LOOPBACK_NAMES, Settings, is_loopback_host
from backend.core.errors import MithiError, RateLimited, error_body

logger = logging.getLogger(__name__)

PROTECTED_PREFIXES = ("/api", "/v1", "/voice", "/metrics")
TOKEN_PREFIX = "mvt_"
_SCOPE_KEY = "mithi.principal"
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s\"']+")


@dataclass(frozen=True)
class Principal:
    """The caller: `name` is the API key's name ("" while auth is off); `client` its address."""

    name: str
    authenticated: bool
    client: str = ""

    @property
    def tenant(self) -> str:
        """The namespace its conversations live in ("" = the single tenant of an auth-off server)."""
        return self.name

    @property
    def limit_id(self) -> str:
        """Whose quota it spends: the key, or (auth off) the client address."""
        return f"key:{self.name}" if self.authenticated else f"ip:{self.client or 'unknown'}"


class Unauthorized(MithiError):
    status_code = 401
    code = "unauthorized"


def principal_of(conn: HTTPConnection) -> Principal:
    """The caller of a request or WebSocket, as the middleware identified it."""
    principal = conn.scope.get(_SCOPE_KEY)
    if principal is None:  # a route outside the protected prefixes, or the middleware is not installed
        client = conn.client.host if conn.client else ""
        return Principal("", False, client)
    return principal


def redact_tokens(text: str) -> str:
    """`?token=…` in a logged URL becomes `?token=***`."""
    return _TOKEN_QUERY.sub(r"\1***", text)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact_tokens(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        return True


def install_log_redaction() -> None:
    """uvicorn logs request lines with their query string: keep tokens out of the logs."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logging.getLogger(name).addFilter(_RedactTokens())


# --------------------------------------------------------------------------- keys and tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyRing:
    """The configured keys: constant-time lookup by secret, and tokens signed with each key's secret."""

    def __init__(self, keys: dict[str, str], token_ttl_seconds: int) -> None:
        self._keys = [(name, secret.encode()) for name, secret in keys.items()]
        self._by_name = {name: secret for name, secret in self._keys}
        self.ttl = token_ttl_seconds

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def identify(self, secret: str) -> str | None:
        """The name of the key whose secret this is; every key is compared (no early exit)."""
        given = secret.encode()
        found: str | None = None
        for name, expected in self._keys:
            if hmac.compare_digest(expected, given):
                found = name
        return found

    def _sign(self, secret: bytes, payload: str) -> str:
        return _b64(
            hmac.new(hashlib.sha256(b"mithi-token:" + secret).digest(), payload.encode(), "sha256").digest()
        )

    def issue(self, name: str, now: float | None = None) -> tuple[str, int]:
        """A token for key `name` and its expiry (Unix seconds)."""
        expires = int((now or time.time()) + self.ttl)
        payload = _b64(json.dumps({"k": name, "exp": expires}, separators=(",", ":")).encode())
        return f"{TOKEN_PREFIX}{payload}.{self._sign(self._by_name[name], payload)}", expires

    def verify(self, token: str, now: float | None = None) -> str | None:
        """The key name a valid, unexpired token was issued for; None otherwise."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        payload, _, signature = token[len(TOKEN_PREFIX) :].partition(".")
        try:
            claims = json.loads(_unb64(payload))
            name, expires = str(claims["k"]), int(claims["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        secret = self._by_name.get(name)
        if secret is None or not hmac.compare_digest(self._sign(secret, payload), signature):
            return None
        return name if expires > (now or time.time()) else None


# --------------------------------------------------------------------------- host and origin


def _host_name(value: str) -> str:
    """`example.com:8000` / `[::1]:8000` → `example.com` / `::1` (lower case)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostPolicy:
    """Which Host headers and WebSocket Origins this server answers."""

    def __init__(self, settings: Settings) -> None:
        server = settings.server
        self.any_host = "*" in server.allowed_hosts
        hosts = {_host_name(h) for h in LOOPBACK_NAMES} | {_host_name(h) for h in server.allowed_hosts}
        if server.host not in ("0.0.0.0", "::", ""):
            hosts.add(_host_name(server.host))
        origins = {o.rstrip("/").lower() for o in server.cors_origins if o != "*"}
        if server.public_url:
            public = urlsplit(server.public_url)
            if public.hostname:
                hosts.add(public.hostname.lower())
                origins.add(f"{public.scheme}://{public.netloc}".lower())
        self.hosts = frozenset(hosts)
        self.origins = frozenset(origins)
        self.any_origin = "*" in server.cors_origins

    def host_allowed(self, host: str | None) -> bool:
        if self.any_host:
            return True
        if not host:
            return True  # HTTP/1.0 without Host: nothing a browser sends
        name = _host_name(host)
        return name in self.hosts or name.endswith(".localhost")

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True  # not a browser (SDKs, curl, phones): the key decides
        origin = origin.strip().rstrip("/").lower()
        if origin == "null" or not origin:
            return False
        if self.any_origin or origin in self.origins:
            return True
        parts = urlsplit(origin)
        return bool(host) and parts.netloc == (host or "").strip().lower()  # the app's own origin


# --------------------------------------------------------------------------- the middleware


def is_protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED_PREFIXES)


INSECURE_KEY_PROTOCOL = "openai-insecure-api-key."  # how OpenAI's browser clients send a key


def offered_subprotocols(headers: Headers) -> list[str]:
    return [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]


def accepted_subprotocol(headers: Headers) -> str | None:
    """The subprotocol to answer a WebSocket handshake with: ``realtime`` when the client offered it
    (OpenAI Realtime browser clients do, and browsers fail a handshake that answers none)."""
    return "realtime" if "realtime" in offered_subprotocols(headers) else None


def _credential(headers: Headers, query: QueryParams, websocket: bool) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if headers.get("x-api-key"):
        return headers["x-api-key"].strip()
    if websocket and query.get("token"):
        return query["token"]
    if websocket:
        for protocol in offered_subprotocols(headers):
            if protocol.startswith(INSECURE_KEY_PROTOCOL):
                return protocol[len(INSECURE_KEY_PROTOCOL) :]
    return None


class AccessGuard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings, keys: KeyRing) -> None:
        self.app = app
        self.settings = settings
        self.keys = keys
        self.hosts = HostPolicy(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.hosts.host_allowed(host):
            message = (
                f"Host {host!r} is not served here; add it to server.allowed_hosts or set server.public_url"
            )
            await self._reject(scope, receive, send, 400, "invalid_host", message)
            return
        if websocket and not self.hosts.origin_allowed(headers.get("origin"), host):
            logger.warning("refused a WebSocket from Origin %r", headers.get("origin"))
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        path = scope.get("path", "")
        client = (scope.get("client") or ("", 0))[0]
        principal = Principal("", False, client)
        if is_protected(path) and not self.keys.enabled and not self._loopback_socket(scope):
            # auth is off, yet this connection reached a non-loopback address (e.g. `uvicorn --host 0.0.0.0`)
            message = (
                "this server has no API keys, so it answers only on loopback; set MITHI_API_KEYS=name:secret "
                "(auth.api_keys) to serve other machines"
            )
            await self._reject(scope, receive, send, 401, "unauthorized", message)
            return
        if is_protected(path) and self.keys.enabled:
            given = _credential(headers, QueryParams(scope.get("query_string", b"")), websocket)
            name = None
            if given:
                name = (
                    self.keys.verify(given) if given.startswith(TOKEN_PREFIX) else self.keys.identify(given)
                )
            if name is None:
                if path == "/metrics" and given and self._metrics_token(given):
                    await self.app(scope, receive, send)
                    return
                reason = "an API key is required" if not given else "the API key or token is not valid"
                message = f"{reason}: send Authorization: Bearer <key> or X-API-Key: <key>" + (
                    " (browsers: ?token= from POST /api/auth/token)" if websocket else ""
                )
                await self._reject(scope, receive, send, 401, "unauthorized", message)
                return
            principal = Principal(name, True, client)
        scope[_SCOPE_KEY] = principal
        if is_protected(path) and not (scope["type"] == "http" and scope.get("method") == "OPTIONS"):
            quotas = getattr(scope["app"].state, "quotas", None) if "app" in scope else None
            if quotas is not None:
                try:
                    await quotas.count_request(principal)
                except MithiError as err:
                    await self._reject(
                        scope,
                        receive,
                        send,
                        err.status_code,
                        err.code,
                        err.message,
                        err.headers() if isinstance(err, RateLimited) else None,
                    )
                    return
        await self.app(scope, receive, send)

    def _loopback_socket(self, scope: Scope) -> bool:
        """Whether the connection arrived on a loopback address (always true if auth.required is off)."""
        if not self.settings.auth.required:
            return True
        server = scope.get("server")
        if server is None or not server[0] or server[1] is None:  # unix socket: local by definition
            return True
        return is_loopback_host(str(server[0]))

    def _metrics_token(self, given: str) -> bool:
        token = self.settings.auth.metrics_token
        return bool(token) and hmac.compare_digest(token.encode(), given.encode())

    @staticmethod
    async def _reject(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        if scope["type"] == "websocket":
            protocol = accepted_subprotocol(Headers(scope=scope))
            await reject_websocket(receive, send, code, message, close_code=1008, subprotocol=protocol)
            return
        body = json.dumps(error_body(code, message)).encode()
        extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if status == 401:
            extra.append((b"www-authenticate", b'Bearer realm="mithivoices"'))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def reject_websocket(
    receive: Receive,
    send: Send,
    code: str,
    message: str,
    close_code: int = 1008,
    subprotocol: str | None = None,
) -> None:
    """Accept a WebSocket handshake only to say why it is refused (an `error` event), then close."""
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    payload: dict[str, Any] = {"type": "error", "code": code, "message": message, "fatal": True}
    await send({"type": "websocket.send", "text": json.dumps(payload)})
    await send({"type": "websocket.close", "code": close_code, "reason": code[:120]})

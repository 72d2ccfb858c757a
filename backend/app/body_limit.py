"""Refuse a request body over the limit as soon as it is over, not after reading all of it.

A pure ASGI middleware (an ``@app.middleware("http")`` function could only look at the headers):

* a ``Content-Length`` over the limit is answered with 413 before a byte of the body is read;
* a body without one (``Transfer-Encoding: chunked``) is counted message by message as the app reads
  it; the message that passes the limit is not handed on. The app's read fails there, and the client
  gets the 413 at once instead of the app's error: the rest of the body is never read (the server stops
  reading the socket, so nothing more is buffered or written to a temporary file) and the connection
  is closed after the answer.

The 413 is ``{"error": {"code": "payload_too_large", "message": ...}}``, like every other error.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.errors import error_body

logger = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """Raised from ``receive`` when the body passes the limit (the app never sees those bytes)."""


class BodySizeLimit:
    """413 for an HTTP request body larger than ``max_bytes`` (``limit_text`` names the setting)."""

    def __init__(self, app: ASGIApp, max_bytes: int, limit_text: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limit_text = limit_text

    def _message(self, size: int | None) -> str:
        if size is None:
            return f"request body is larger than the limit of {self.limit_text}"
        return f"request body is {size} bytes; the limit is {self.limit_text}"

    async def _refuse(self, send: Send, size: int | None) -> None:
        body = json.dumps(error_body("payload_too_large", self._message(size))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the unread rest of the body ends this connection
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await self._refuse(send, length)
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    logger.info(
                        "%s %s: body passed %d bytes, refused with 413",
                        scope.get("method"),
                        scope.get("path"),
                        self.max_bytes,
                    )
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:  # the app's answer to its failed read (400, 500...): ours instead
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(send, None)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None

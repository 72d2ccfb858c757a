"""ASGI middleware: every HTTP response (and every WebSocket handshake accepted) names the process
that served it in `X-Mithi-Worker: <hostname>:<pid>` (docs/API.md)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.worker import worker_id

HEADER = b"x-mithi-worker"


class WorkerHeader:
    """Adds `X-Mithi-Worker` to `http.response.start` and to `websocket.accept`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = worker_id().encode()

        async def send_with_worker(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = [(k, v) for k, v in message.get("headers") or [] if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, value)]}
            await send(message)

        await self.app(scope, receive, send_with_worker)

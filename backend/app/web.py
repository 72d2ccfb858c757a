"""Serves the built browser app (frontend/dist) at `/`, so one process can host everything.

`make run` also starts Vite's dev server on :5173 (hot reload, proxying the API here); this is the
production path: `npm --prefix frontend run build` writes `paths.web_dist`, and every GET that no API
route answered is served from it. Paths under the API's own prefixes get the usual JSON 404, and any
other unknown path gets `index.html` so the app's client-side routes survive a reload.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match

from backend.core.errors import MithiError, NotFound

API_PATHS = frozenset({"api", "v1", "voice", "health", "docs", "redoc", "openapi.json"})
CATCH_ALL = "/{path:path}"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_IMMUTABLE = "public, max-age=31536000, immutable"

_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Mithivoices</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Mithivoices API is running</h1>
<p>The browser app is not built in <code>{dist}</code>. <code>make run</code> builds it and also serves it
with hot reload at <a href="http://localhost:5173">http://localhost:5173</a>; or build it once with
<code>npm --prefix frontend ci && npm --prefix frontend run build</code>.</p>
<p>API reference: <a href="/docs">/docs</a> · health: <a href="/health">/health</a></p></body></html>"""


def _api_miss(request: Request) -> NoReturn:
    """An API path no route answered for this method: 405 when another method has it, else 404."""
    routes = [r for r in request.app.router.routes if getattr(r, "path", None) != CATCH_ALL]
    # which methods some API route takes at this path (the catch-all itself does not count)
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    if allowed:
        raise MithiError(
            f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}",
            code="method_not_allowed",
            status_code=405,
        )
    raise NotFound(f"no route {request.method} {request.url.path}; see /docs for the API")


def _file_in(dist: Path, path: str) -> Path | None:
    """`path` inside `dist`, if it is a file there (never outside it)."""
    candidate = (dist / path).resolve()
    if candidate.is_file() and candidate.is_relative_to(dist):
        return candidate
    return None


def mount_web_app(app: FastAPI, dist: Path) -> None:
    """Add the catch-all route; call after every API router is included.

    It takes every method, so that a request no API route answered gets our JSON 404 / 405 rather than
    Starlette's 405 for "the catch-all only does GET"."""
    dist = dist.resolve()

    @app.api_route(CATCH_ALL, methods=list(_METHODS) + ["HEAD"], include_in_schema=False)
    async def web_app(path: str, request: Request) -> Response:
        if path.split("/", 1)[0] in API_PATHS:
            _api_miss(request)
        if request.method not in ("GET", "HEAD"):
            raise NotFound(f"no route {request.method} /{path}; the web app only answers GET")
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT.format(dist=dist), status_code=200 if not path else 404)
        file = _file_in(dist, path) if path else None
        if file is not None:
            headers = {"Cache-Control": _IMMUTABLE} if path.startswith("assets/") else None
            return FileResponse(file, headers=headers)
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            raise NotFound(f"/{path} is not part of the web app")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

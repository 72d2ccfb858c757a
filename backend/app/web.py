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
from starlette.exceptions import HTTPException
from starlette.routing import Match

from backend.core.errors import NotFound

API_PATHS = frozenset({"api", "v1", "voice", "health", "docs", "redoc", "openapi.json", "metrics"})
CATCH_ALL = "/{path:path}"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")  # what an Allow header may list
_WEB_ALLOW = "GET, HEAD, OPTIONS"
_IMMUTABLE = "public, max-age=31536000, immutable"

_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Mithivoices</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Mithivoices API is running</h1>
<p>The browser app is not built in <code>{dist}</code>. <code>make run</code> builds it and also serves it
with hot reload at <a href="http://localhost:5173">http://localhost:5173</a>; or build it once with
<code>npm --prefix frontend ci && npm --prefix frontend run build</code>.</p>
<p>API reference: <a href="/docs">/docs</a> · health: <a href="/health">/health</a></p></body></html>"""


def allowed_methods(request: Request) -> list[str]:
    """The methods some API route takes at this request's path (the catch-all itself does not count),
    in a fixed order, with OPTIONS last when any is found (the catch-all answers it)."""
    routes = [r for r in request.app.router.routes if getattr(r, "path", None) != CATCH_ALL]
    allowed = [
        method
        for method in _ALL_METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return [*allowed, "OPTIONS"] if allowed else []


def _api_miss(request: Request) -> NoReturn:
    """An API path no route answered for this method: 405 (with `Allow`) when another method has it,
    else 404."""
    allowed = allowed_methods(request)
    if allowed:
        raise HTTPException(
            405,
            f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    raise NotFound(f"no route {request.method} {request.url.path}; see /docs for the API")


def _options(request: Request, path: str) -> Response:
    """`OPTIONS`: 204 with `Allow` listing every method the path takes (CORS preflights never get here:
    the CORS middleware answers them)."""
    if path.split("/", 1)[0] in API_PATHS:
        allowed = allowed_methods(request)
        if not allowed:
            raise NotFound(f"no route at {request.url.path}; see /docs for the API")
        return Response(status_code=204, headers={"Allow": ", ".join(allowed)})
    return Response(status_code=204, headers={"Allow": _WEB_ALLOW})


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

    @app.api_route(CATCH_ALL, methods=[*_METHODS, "HEAD", "OPTIONS"], include_in_schema=False)
    async def web_app(path: str, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options(request, path)
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

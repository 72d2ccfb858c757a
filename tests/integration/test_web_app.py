"""The backend serves the built browser app at / (paths.web_dist), next to the API, in one process."""

from __future__ import annotations

import httpx
import pytest

from backend.app.web import mount_web_app
from tests.conftest import WEB_ASSET, WEB_INDEX


@pytest.mark.parametrize("path", ["/", "/tts", "/transcribe", "/status", "/some/deep/client/route"])
def test_app_routes_get_index_html(base_url: str, path: str) -> None:
    r = httpx.get(base_url + path)
    assert r.status_code == 200
    assert r.text == WEB_INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"


def test_assets_are_served_with_long_caching(base_url: str) -> None:
    r = httpx.get(base_url + "/assets/app-1a2b.js")
    assert r.status_code == 200
    assert r.text == WEB_ASSET
    assert "javascript" in r.headers["content-type"]
    assert "immutable" in r.headers["cache-control"]
    assert httpx.get(base_url + "/favicon.svg").status_code == 200


@pytest.mark.parametrize("path", ["/assets/missing.js", "/missing.png", "/api/nope", "/v1/nope", "/voice/x"])
def test_unknown_files_and_api_paths_are_json_404(base_url: str, path: str) -> None:
    r = httpx.get(base_url + path)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_no_path_escapes_the_dist_folder(base_url: str) -> None:
    for path in ("/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fconftest.py"):
        r = httpx.get(base_url + path)
        assert r.status_code in (200, 404)
        assert "root:" not in r.text and "import" not in r.text


def test_api_still_answers_next_to_the_app(base_url: str) -> None:
    assert httpx.get(base_url + "/health").json()["status"] in ("ok", "degraded")
    assert httpx.get(base_url + "/openapi.json").json()["info"]["title"] == "Mithivoices"


def test_an_unbuilt_app_says_how_to_build_it(tmp_path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from backend.core.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)
    mount_web_app(app, tmp_path / "dist")
    with TestClient(app) as client:
        r = client.get("/")
        assert r.status_code == 200
        assert "npm --prefix frontend" in r.text and "make run" in r.text
        assert client.get("/tts").status_code == 404


def test_file_lookup_stays_inside_dist(web_dist) -> None:
    from backend.app.web import _file_in

    (web_dist.parent / "secret.txt").write_text("root:x:0:0")
    assert _file_in(web_dist.resolve(), "../secret.txt") is None
    assert _file_in(web_dist.resolve(), "assets/../index.html") == (web_dist / "index.html").resolve()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/api/nothing", 404, "not_found"),
        ("DELETE", "/v1/x", 404, "not_found"),
        ("POST", "/some/page", 404, "not_found"),
        ("GET", "/api/tts/generate", 405, "method_not_allowed"),
        ("PUT", "/api/chat", 405, "method_not_allowed"),
    ],
)
def test_other_methods_get_json_404_or_405(
    base_url: str, method: str, path: str, status: int, code: str
) -> None:
    r = httpx.request(method, base_url + path)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code

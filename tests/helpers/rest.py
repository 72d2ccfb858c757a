"""REST helpers: the error shape every 4xx/5xx has, speech from /api/tts/generate, /api/stt/transcribe."""

from __future__ import annotations

import httpx


def assert_error(resp: httpx.Response, status: int, code: str, *fragments: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    for fragment in fragments:
        assert fragment in body["error"]["message"]


def speak(base_url: str, text: str, **extra: object) -> bytes:
    resp = httpx.post(f"{base_url}/api/tts/generate", json={"text": text, **extra}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.content


def transcribe(base_url: str, data: bytes, filename: str = "upload.bin", **form: str) -> httpx.Response:
    files = {"file": (filename, data, "application/octet-stream")}
    return httpx.post(f"{base_url}/api/stt/transcribe", files=files, data=form, timeout=120)

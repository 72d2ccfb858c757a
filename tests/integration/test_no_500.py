"""Random and hostile input on every endpoint: always a 4xx JSON error or a success, never a 500."""

from __future__ import annotations

import json
import random
import socket

import httpx
import pytest

from backend.media.audio import pcm16_to_wav

VALUES: list[object] = [
    None, True, 0, -1, 1e308, float("inf"), "", " ", "a" * 6000, "🙂" * 10, "\x00\x01", "<script>",
    [], {}, [1, 2], {"a": 1}, "wav", "mp3", "en", "hi", "xx", "espeak-hi", "en_US-joe-medium", 0.5, 2.5,
]  # fmt: skip
TTS_FIELDS = ["text", "voice_id", "language", "speed", "format", "stream"]
SPEECH_FIELDS = ["model", "input", "voice", "response_format", "speed", "language"]


def _json_safe(value: object) -> object:
    return value if not isinstance(value, float) or value not in (float("inf"),) else "inf"


def random_body(rng: random.Random, fields: list[str]) -> dict[str, object]:
    return {f: _json_safe(rng.choice(VALUES)) for f in rng.sample(fields, rng.randint(0, len(fields)))}


def assert_not_5xx(resp: httpx.Response) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        body = resp.json()
        assert set(body["error"]) == {"code", "message"} and body["error"]["message"]


@pytest.mark.parametrize("seed", range(4))
def test_random_json_bodies(base_url: str, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for _ in range(40):
            assert_not_5xx(client.post("/api/tts/generate", json=random_body(rng, TTS_FIELDS)))
            assert_not_5xx(client.post("/v1/audio/speech", json=random_body(rng, SPEECH_FIELDS)))


def test_random_uploads(base_url: str) -> None:
    rng = random.Random(7)
    blobs = [
        b"",
        bytes(rng.getrandbits(8) for _ in range(3000)),
        b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(rng.getrandbits(8) for _ in range(200)),
        pcm16_to_wav(b"\x00\x00" * 10, 16000),
        pcm16_to_wav(bytes(rng.getrandbits(8) for _ in range(32000)), 16000),  # noise: valid audio
        b"OggS" + bytes(500),
        b"\x1a\x45\xdf\xa3" + bytes(500),  # EBML (webm) magic, truncated
        b"ID3" + bytes(500),
        json.dumps({"text": "hi"}).encode(),
    ]
    forms = [
        {},
        {"language": "auto"},
        {"language": "hi"},
        {"model": "base"},
        {"model": ""},
        {"beam_size": "3"},
    ]
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for blob in blobs:
            for form in rng.sample(forms, 3):
                files = {"file": ("x", blob, "application/octet-stream")}
                assert_not_5xx(client.post("/api/stt/transcribe", files=files, data=form))
                data = {"model": "whisper-1", **form}
                assert_not_5xx(client.post("/v1/audio/transcriptions", files=files, data=data))


def test_hostile_headers_and_bodies(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert_not_5xx(
            client.post(
                "/api/tts/generate", content=b"\xff\xfe\x00", headers={"content-type": "application/json"}
            )
        )
        assert_not_5xx(
            client.post(
                "/api/stt/transcribe",
                content=b"--x\r\n",
                headers={"content-type": "multipart/form-data; boundary=x"},
            )
        )
        assert_not_5xx(
            client.post(
                "/api/stt/transcribe", content=b"abc", headers={"content-type": "multipart/form-data"}
            )
        )
        assert_not_5xx(client.get("/api/voices", params={"language": "\x00"}))


def test_huge_declared_body_is_refused_before_it_is_read(base_url: str) -> None:
    """A 1 TB Content-Length gets a 413 at once; the server does not wait for (or buffer) the body."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /api/stt/transcribe HTTP/1.1\r\nHost: test\r\nContent-Length: 999999999999\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n"
        )
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head
    assert "payload_too_large" in head and "25 MiB" in head

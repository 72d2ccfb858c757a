"""Findings of the independent probe (issue 10), each over real HTTP against the real app:
bad text refused before any engine (and never opening a circuit), no CPU work on the event loop,
405 / OPTIONS with Allow, uploads refused at the limit while they are still arriving, silence skipped."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from backend.media.audio import OUTPUT_FORMATS, decode_audio, encode_pcm16
from backend.realtime.client import VoiceClient
from tests.helpers.rest import assert_error
from tests.helpers.voice import ws_url

BAD_TEXTS = [
    ("a\u0000b", "U+0000", 1),  # NUL: Piper and eSpeak fail on it
    ("\ud800", "U+D800", 0),  # a lone surrogate: engines and the llama tokenizer raise
    ("ok \x1b[31m red", "U+001B", 3),  # an escape sequence
    ("end\ufffe", "U+FFFE", 3),
]


def post_json(url: str, body: dict[str, Any]) -> httpx.Response:
    """JSON with \\u escapes, so a lone surrogate can be sent (it has no UTF-8 form)."""
    return httpx.post(url, content=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=60)


def circuits(base_url: str) -> dict[str, dict[str, object]]:
    providers = httpx.get(f"{base_url}/health", timeout=10).json()["providers"]
    return {f"{kind}:{name}": p["circuit"] for kind, chain in providers.items() for name, p in chain.items()}


@pytest.mark.parametrize(("text", "char", "position"), BAD_TEXTS)
def test_bad_text_is_refused_everywhere_and_never_opens_a_circuit(
    base_url: str, text: str, char: str, position: int
) -> None:
    before = circuits(base_url)
    for _ in range(4):  # more than resilience.failure_threshold (3)
        assert_error(
            post_json(f"{base_url}/api/tts/generate", {"text": text}),
            422,
            "invalid_text",
            f"text contains {char}",
            f"at position {position}",
        )
        body = {"model": "tts-1", "voice": "alloy", "input": text}
        resp = post_json(f"{base_url}/v1/audio/speech", body)
        assert_error(resp, 422, "invalid_text", f"input contains {char}")
        resp = post_json(f"{base_url}/api/chat", {"text": text})
        assert_error(resp, 422, "invalid_text", f"text contains {char}")
    after = circuits(base_url)
    for name, circuit in after.items():
        assert circuit["state"] == "closed", (name, circuit)
        assert circuit["failures"] == before[name]["failures"], (name, circuit)  # not one more failure


def test_allowed_whitespace_and_any_script_still_speak(base_url: str) -> None:
    resp = httpx.post(f"{base_url}/api/tts/generate", json={"text": "Hello,\tworld.\r\nBye 😀"}, timeout=60)
    assert resp.status_code == 200, resp.text
    resp = httpx.post(f"{base_url}/api/tts/generate", json={"text": "नमस्ते", "language": "hi"}, timeout=60)
    assert resp.status_code == 200, resp.text


def test_bad_stt_prompt_is_refused(base_url: str) -> None:
    wav = encode_pcm16(bytes(32000), 16000, OUTPUT_FORMATS["wav"])
    resp = httpx.post(
        f"{base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", wav)},
        data={"model": "whisper-1", "prompt": "names: Priya\x00"},
        timeout=60,
    )
    assert_error(resp, 422, "invalid_text", "prompt contains U+0000")


async def test_bad_text_over_voice_is_a_non_fatal_error(base_url: str) -> None:
    async with VoiceClient.connect(ws_url(base_url)) as client:
        await client.send_json(type="text.input", text="hi\u0000there")
        error = await client.wait_for("error")
        assert error["code"] == "invalid_text" and not error["fatal"]
        assert "U+0000" in error["message"] and "position 2" in error["message"]
        await client.send_json(type="text.input", text="Are you there?")
        assert (await client.wait_for("response.done", timeout=120))["text"]


# --------------------------------------------------------------------------- the event loop stays free


class HealthProbe:
    """GET /health every 50 ms in a thread; the slowest answer while it ran."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                start = time.perf_counter()
                assert client.get(f"{self.base_url}/health").status_code == 200
                self.times.append(time.perf_counter() - start)
                self._stop.wait(0.05)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.parametrize("fmt", ["mp3", "aac"])
def test_health_answers_while_a_long_reply_is_encoded(base_url: str, fmt: str) -> None:
    # 5,000 characters spoken by eSpeak NG (fast) is minutes of audio: seconds of encoding
    text = ("The quick brown fox jumps over the lazy dog near the river bank. " * 80)[:5000]
    body = {"text": text, "voice_id": "espeak-en", "format": fmt}
    httpx.get(f"{base_url}/health", timeout=30)  # warm
    with HealthProbe(base_url) as probe:
        start = time.perf_counter()
        resp = httpx.post(f"{base_url}/api/tts/generate", json=body, timeout=180)
        took = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    audio_s = float(resp.headers["x-audio-duration"])
    assert audio_s > 120  # a long reply, so a blocking encode would have shown
    assert len(probe.times) >= 5
    worst = max(probe.times)
    print(f"{fmt}: {audio_s:.0f} s of audio in {took:.1f} s; /health worst {worst * 1000:.0f} ms")
    # An encode on the event loop stalls /health for the whole encode (`took`, seconds). Alone this is
    # ~30 ms; in the full suite, other tests' work on 2 cores has made it ~1 s (GIL and CPU contention),
    # which is not the bug this test is about.
    assert worst < max(0.5, took / 5), f"/health took {worst:.2f} s while {fmt} was encoded in {took:.1f} s"


def test_health_answers_while_an_aac_upload_is_transcoded(base_url: str) -> None:
    rate = 16000
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal(rate * 300) * 0.001).astype(np.float32)  # 5 min, quiet but not silent
    pcm = (noise * 32767).astype("<i2").tobytes()
    aac = encode_pcm16(pcm, rate, OUTPUT_FORMATS["aac"])
    with HealthProbe(base_url) as probe:
        resp = httpx.post(f"{base_url}/api/stt/transcribe", files={"file": ("a.aac", aac)}, timeout=180)
    assert resp.status_code == 200, resp.text
    worst = max(probe.times)
    print(f"aac upload: /health worst {worst * 1000:.0f} ms over {len(probe.times)} probes")
    assert worst < 0.5


# --------------------------------------------------------------------------- 405 and OPTIONS


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/health", "GET, OPTIONS"),
        ("POST", "/health", "GET, OPTIONS"),
        ("DELETE", "/api/tts/generate", "POST, OPTIONS"),
        ("GET", "/api/tts/generate", "POST, OPTIONS"),
        ("PATCH", "/api/sessions/demo", "GET, DELETE, OPTIONS"),
        ("PUT", "/v1/models", "GET, OPTIONS"),
    ],
)
def test_405_says_what_is_allowed(base_url: str, method: str, path: str, allow: str) -> None:
    resp = httpx.request(method, f"{base_url}{path}", timeout=30)
    assert_error(resp, 405, "method_not_allowed", allow)
    assert resp.headers["allow"] == allow


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/sessions/demo", "GET, DELETE, OPTIONS"),
        ("/health", "GET, OPTIONS"),
        ("/api/stt/transcribe", "POST, OPTIONS"),
        ("/", "GET, HEAD, OPTIONS"),  # the web app
        ("/voices/page", "GET, HEAD, OPTIONS"),
    ],
)
def test_options_lists_every_method(base_url: str, path: str, allow: str) -> None:
    resp = httpx.options(f"{base_url}{path}", timeout=30)
    assert resp.status_code == 204, resp.text
    assert resp.headers["allow"] == allow


def test_options_on_an_unknown_api_path_is_404(base_url: str) -> None:
    assert_error(httpx.options(f"{base_url}/api/nothing", timeout=30), 404, "not_found")


# --------------------------------------------------------------------------- uploads stop at the limit


def test_a_chunked_upload_is_refused_while_it_is_still_being_sent(base_url: str) -> None:
    total = 60 * 1024 * 1024  # the limit is 25 MiB (+1 MiB for the form)
    boundary = "mithi-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    sent = 0
    chunk = bytes(256 * 1024)

    def body() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        nonlocal sent
        yield head
        while sent < total:
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    start = time.perf_counter()
    resp = httpx.post(
        f"{base_url}/api/stt/transcribe",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    took = time.perf_counter() - start
    print(f"413 after {sent / 2**20:.1f} MiB sent of {total / 2**20:.0f}, in {took:.2f} s")
    assert_error(resp, 413, "payload_too_large", "25 MiB (limits.max_upload_mb)")
    assert sent < 45 * 1024 * 1024, f"{sent} bytes were sent before the 413"
    assert httpx.get(f"{base_url}/health", timeout=30).status_code == 200  # the server is fine


def test_a_declared_length_over_the_limit_is_refused_before_the_body(base_url: str) -> None:
    start = time.perf_counter()
    resp = httpx.post(
        f"{base_url}/api/stt/transcribe",
        content=bytes(40 * 1024 * 1024),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=60,
    )
    assert_error(resp, 413, "payload_too_large", "request body is 41943040 bytes")
    assert time.perf_counter() - start < 10


def test_a_chunked_body_under_the_limit_still_works(base_url: str) -> None:
    wav = encode_pcm16(bytes(16000 * 2), 16000, OUTPUT_FORMATS["wav"])
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'.encode(),
        wav,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    resp = httpx.post(
        f"{base_url}/api/stt/transcribe",
        content=iter(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text


# --------------------------------------------------------------------------- silence


def test_ten_minutes_of_silence_is_empty_text_at_once(base_url: str) -> None:
    opus = encode_pcm16(bytes(48000 * 2 * 590), 48000, OUTPUT_FORMATS["opus"])  # 590 s, about 200 KB
    assert len(opus) < 1_000_000
    start = time.perf_counter()
    resp = httpx.post(f"{base_url}/api/stt/transcribe", files={"file": ("quiet.ogg", opus)}, timeout=120)
    took = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    out = resp.json()
    print(f"590 s of silence: {took:.2f} s, {out['processing_ms']} ms processing")
    assert out["text"] == "" and out["segments"] == []
    assert abs(out["duration"] - 590) < 1
    assert took < 8  # Whisper over it took 20 s and returned ". . . . ."
    v1 = httpx.post(
        f"{base_url}/v1/audio/transcriptions",
        files={"file": ("quiet.ogg", opus)},
        data={"model": "whisper-1", "response_format": "text"},
        timeout=120,
    )
    assert v1.status_code == 200 and v1.text.strip() == ""


def test_long_audio_with_speech_skips_its_silence(base_url: str) -> None:
    wav = httpx.post(f"{base_url}/api/tts/generate", json={"text": "Please call me tomorrow."}, timeout=60)
    speech = decode_audio(wav.content)  # 16 kHz float32
    quiet = np.zeros(16000 * 50, dtype=np.float32)
    audio = np.concatenate([quiet, speech, quiet])  # 100 s, a second of speech in the middle
    pcm = (audio * 32767).astype("<i2").tobytes()
    opus = encode_pcm16(pcm, 16000, OUTPUT_FORMATS["opus"])
    resp = httpx.post(f"{base_url}/api/stt/transcribe", files={"file": ("a.ogg", opus)}, timeout=120)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    print(f"100 s with one sentence: {out['processing_ms']} ms, {out['text']!r}")
    assert "tomorrow" in out["text"].lower()
    assert ". . ." not in out["text"]

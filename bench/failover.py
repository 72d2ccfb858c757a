"""What failover costs: TTS first audio when the hosted provider is healthy, failing, slow or skipped.

    python bench/failover.py [--runs 15] [--json results.json]

The hosted provider is ElevenLabs' wire protocol served by the local fake (tests/fakes/elevenlabs.py,
speech made with eSpeak NG, no network delay), so the numbers are Mithivoices' own overhead, not a
vendor's latency. Every request is POST /api/tts/generate with stream=true over real HTTP on loopback,
timed from sending it to the first audio bytes. Config: tts.provider elevenlabs, tts.fallback [piper].

* piper alone: the local baseline (tts.provider piper).
* cloud healthy: the fake answers; the chain adds only its bookkeeping.
* cloud 503: every request fails once (no retries), Piper serves it (failover cost = one refused request).
* cloud slow: the fake does not answer within elevenlabs.timeout_seconds (1 s), Piper serves it.
* circuit open: after resilience.failure_threshold failures the vendor is skipped outright.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.app.server import BackgroundServer  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.speech import stats  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.fakes.elevenlabs import FakeElevenLabs  # noqa: E402

TEXT = "Sure, I can help you with that. Your table is booked for seven tonight."
KEY = "xi-bench-key"


def first_audio_ms(url: str, runs: int, before: Callable[[], None] = lambda: None) -> tuple[list[float], str]:
    times, served = [], ""
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(runs + 1):  # the first request warms up and is not counted
            before()
            start = time.perf_counter()
            body = {"text": TEXT, "stream": True, "format": "pcm"}
            with client.stream("POST", "/api/tts/generate", json=body) as resp:
                resp.raise_for_status()
                audio = resp.iter_bytes()
                next(audio)
                elapsed = (time.perf_counter() - start) * 1000
                served = resp.headers.get("x-tts-provider", "")
                for _ in audio:  # read it all, so the next request finds the fake's queue as set up
                    pass
            times.append(elapsed)
    return times[1:], served


def cloud_settings(fake: FakeElevenLabs, threshold: int) -> dict:
    return {
        "tts": {"provider": "elevenlabs", "fallback": ["piper"]},
        "elevenlabs": {"api_key": KEY, "base_url": fake.url, "timeout_seconds": 1, "max_retries": 0},
        "resilience": {"failure_threshold": threshold, "cooldown_seconds": 600},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}

    with BackgroundServer(make_settings()) as live:
        times, served = first_audio_ms(live.url, args.runs)
        results["piper alone"] = {**stats(times), "served_by": served}

    with FakeElevenLabs(api_key=KEY) as fake:
        with BackgroundServer(make_settings(cloud_settings(fake, threshold=100))) as live:
            times, served = first_audio_ms(live.url, args.runs)
            results["cloud healthy"] = {**stats(times), "served_by": served}
            times, served = first_audio_ms(live.url, min(args.runs, 40), lambda: fake.fail(503))
            results["cloud 503 -> piper"] = {**stats(times), "served_by": served}
            times, served = first_audio_ms(live.url, max(3, args.runs // 3), lambda: fake.slow(5))
            results["cloud slow (1 s timeout) -> piper"] = {**stats(times), "served_by": served}
        fake.reset()
        with BackgroundServer(make_settings(cloud_settings(fake, threshold=1))) as live:
            fake.fail(503, times=1000)
            times, served = first_audio_ms(live.url, args.runs)
            results["circuit open -> piper"] = {
                **stats(times),
                "served_by": served,
                "vendor_requests": len(fake.audio_requests()),
            }

    machine = describe()
    print(f"machine: {machine}")
    print(f'TTS first audio over HTTP streaming, "{TEXT}", ms:')
    for name, row in results.items():
        extra = f", vendor requests: {row['vendor_requests']}" if "vendor_requests" in row else ""
        print(
            f"  {name:36s} median {row['median']:7.1f}  p95 {row['p95']:7.1f}  (n={row['n']}, "
            f"X-TTS-Provider: {row['served_by']}{extra})"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

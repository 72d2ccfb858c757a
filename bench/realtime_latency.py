"""The same turns through `/v1/realtime` (OpenAI Realtime API) and `/voice`, on one server, interleaved.

    python bench/realtime_latency.py [--turns 10] [--json results.json]

Each turn streams a question spoken by Piper at real-time pace in 20 ms frames (24 kHz pcm16 for the
Realtime door, 16 kHz for /voice), then silence, and measures
- voice-to-voice (server VAD): the frame holding the end of speech sent → the first reply audio received
  (`response.output_audio.delta` / a binary /voice frame);
- push-to-talk: `input_audio_buffer.commit` + `response.create` (Realtime) or `input_audio.commit`
  (/voice) sent → the first reply audio.
The doors alternate turn by turn, so both see the same machine load. p50/p95 per door and mode.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.app.server import BackgroundServer  # noqa: E402
from backend.core.config import PROJECT_ROOT, load_config  # noqa: E402
from backend.media.audio import decode_audio, resample_pcm16  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.speech import stats  # noqa: E402
from bench.voice_latency import FRAME_MS, QUESTIONS, RATE, one_turn, speech_end_s, stream_paced  # noqa: E402

REALTIME_RATE = 24000


class RealtimeSocket:
    """A /v1/realtime connection whose events are timestamped as they arrive."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            self.events.append((time.perf_counter(), json.loads(message)))

    async def send(self, **event: Any) -> None:
        await self.ws.send(json.dumps(event))

    async def wait_for(self, kind: str, after: float = 0.0, timeout: float = 60) -> dict[str, Any]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                for at, event in self.events:
                    if at >= after and event["type"] == kind:
                        return event
                    if at >= after and event["type"] == "error":
                        raise RuntimeError(f"error from /v1/realtime: {event['error']}")
                await asyncio.sleep(0.005)

    def first_audio_after(self, after: float) -> float | None:
        return next(
            (at for at, e in self.events if at >= after and e["type"] == "response.output_audio.delta"), None
        )

    def close(self) -> None:
        self._reader.cancel()


async def realtime_turn(url: str, pcm16k: bytes, push_to_talk: bool) -> dict[str, Any]:
    async with websockets.connect(f"{url}?session_id=bench-{uuid.uuid4().hex[:8]}", max_size=None) as ws:
        rt = RealtimeSocket(ws)
        try:
            await rt.wait_for("session.created")
            detection = None if push_to_talk else {"type": "server_vad"}
            session = {"type": "realtime", "audio": {"input": {"turn_detection": detection}}}
            sent = time.perf_counter()
            await rt.send(type="session.update", session=session)
            await rt.wait_for("session.updated", after=sent)
            pcm = resample_pcm16(bytes(RATE) + pcm16k, RATE, REALTIME_RATE)  # 0.5 s of silence first
            speech_end = 0.5 + speech_end_s(pcm16k)
            frame = REALTIME_RATE * FRAME_MS // 1000 * 2

            async def append(chunk: bytes) -> None:
                await rt.send(type="input_audio_buffer.append", audio=base64.b64encode(chunk).decode())

            end_mark = await stream_paced(pcm, REALTIME_RATE, speech_end, append)
            if push_to_talk:
                end_mark = time.perf_counter()
                await rt.send(type="input_audio_buffer.commit")
                await rt.send(type="response.create")
                pump = None
            else:
                silence = base64.b64encode(bytes(frame)).decode()

                async def keep_talking() -> None:  # the microphone stays open (silence)
                    while True:
                        await rt.send(type="input_audio_buffer.append", audio=silence)
                        await asyncio.sleep(FRAME_MS / 1000)

                pump = asyncio.create_task(keep_talking())
            assert end_mark is not None
            done = await rt.wait_for("response.done", after=end_mark)
            if pump is not None:
                pump.cancel()
            first = rt.first_audio_after(end_mark)
            output = done["response"]["output"]
            return {
                "latency_ms": (first - end_mark) * 1000 if first else None,
                "reply": output[0]["content"][0].get("transcript", "") if output else "",
            }
        finally:
            rt.close()


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [r["latency_ms"] for r in results if r["latency_ms"] is not None]
    return {"first_audio_ms": stats(latencies), "no_audio_turns": len(results) - len(latencies)}


async def run(server_url: str, pcms: list[bytes], turns: int) -> dict[str, Any]:
    ws = server_url.replace("http://", "ws://")
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        "voice": {"vad": [], "push_to_talk": []},
        "realtime": {"vad": [], "push_to_talk": []},
    }
    for mode, ptt in (("vad", False), ("push_to_talk", True)):
        for turn in range(turns):
            pcm = pcms[turn % len(pcms)]
            out["realtime"][mode].append(await realtime_turn(f"{ws}/v1/realtime", pcm, ptt))
            out["voice"][mode].append(
                await one_turn(f"{ws}/voice", f"bench-{uuid.uuid4().hex[:8]}", pcm, ptt)
            )
    return {door: {mode: summarise(r) for mode, r in modes.items()} for door, modes in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=10, help="turns per door and mode")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = load_config(PROJECT_ROOT / "config.yml")
    settings.paths.data_dir = tempfile.mkdtemp(prefix="mithi-bench-")
    machine = describe(("piper-tts", "faster-whisper", "llama-cpp-python", "langgraph"))
    print("machine:", json.dumps(machine))
    with BackgroundServer(settings) as server:
        pcms = []
        for question in QUESTIONS:
            wav = httpx.post(f"{server.url}/api/tts/generate", json={"text": question}, timeout=60).content
            pcms.append((decode_audio(wav, sample_rate=RATE) * 32767).astype("<i2").tobytes())
        asyncio.run(run(server.url, pcms, 1))  # warm-up
        results = asyncio.run(run(server.url, pcms, args.turns))
    for door, modes in results.items():
        for mode, summary in modes.items():
            print(f"{door:9s} {mode:13s} {summary}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "turns": args.turns, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

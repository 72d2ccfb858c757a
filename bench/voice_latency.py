"""The headline number: voice-to-voice latency over the real /voice WebSocket with the local defaults.

    python bench/voice_latency.py [--voices heldout|piper|both] [--turns 28] [--sessions 1] [--json FILE]

A client streams recorded questions at real-time pace in 20 ms frames, followed by silence, like a
microphone: by default the **held-out set** (bench/heldout_voices.py: eSpeak NG voices the app never
speaks with, two speaking rates, pauses inside sentences, background noise; LLM, tool and memory
turns), and beside it (`both`) the same questions spoken by the app's own Piper voice, which flatters
us. It measures
- voice-to-voice: the moment the frame holding the end of the user's speech (the last 20 ms frame above
  -40 dBFS RMS, not the end of the file) was sent → the first byte of reply audio received;
- response latency: push-to-talk, `input_audio.commit` sent → first reply audio byte;
with the server's per-stage breakdown (response.done latency_ms), p50/p95 over all turns and by kind
(LLM-answered vs tool and memory turns), how often the early answer won (`speculative`), how often the
user was cut off (a turn ended inside a sentence with a pause in it and was answered as it was, not
continued), how often a turn ended in such a pause at all and how often reply audio came before the
end of the sentence, and `--sessions N` clients
talking at the same time. It also times the Redis frame hop (XADD → XREAD of a
20 ms frame) on the embedded Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.app.server import BackgroundServer  # noqa: E402
from backend.core.config import load_config  # noqa: E402
from backend.core.redis import RedisService  # noqa: E402
from backend.media.audio import decode_audio  # noqa: E402
from backend.realtime.client import VoiceClient  # noqa: E402
from backend.realtime.frames import FrameStream  # noqa: E402
from bench.heldout_voices import Pauses, heldout_set, speech_end_s  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.processes import AppProcess, app_config  # noqa: E402
from bench.speech import stats  # noqa: E402

QUESTIONS = [
    "What is the capital of France?",
    "How are you today?",
    "What time is it?",
    "What is the largest planet?",
    "Tell me one fact about the sea.",
    "Can you recommend a good book?",
    "What should I eat for breakfast?",
    "Where is the Eiffel Tower?",
    "Is it a good day for a walk?",
    "What is two plus two?",
]
FRAME_MS = 20
RATE = 16000


async def stream_paced(
    pcm: bytes, rate: int, speech_end: float, send: Callable[[bytes], Awaitable[None]]
) -> float | None:
    """Send PCM16 in FRAME_MS frames at real-time pace, like a microphone; returns the moment the frame
    holding the end of speech (`speech_end` s into `pcm`) was sent."""
    frame = rate * FRAME_MS // 1000 * 2
    start = time.perf_counter()
    end_mark = None
    for index, offset in enumerate(range(0, len(pcm), frame)):
        await send(pcm[offset : offset + frame])
        if end_mark is None and (index + 1) * FRAME_MS / 1000 >= speech_end:
            end_mark = time.perf_counter()
        delay = start + (index + 1) * FRAME_MS / 1000 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    return end_mark


async def final_response(client: VoiceClient, end_mark: float, timeout: float = 60) -> dict[str, Any]:  # noqa: ASYNC109
    """The `response.done` of the user's turn that ended after `end_mark` (not of a fragment the server
    took for a whole turn inside a pause: that one is usually interrupted by the rest of the sentence)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        events = client.received.events
        stop = next((t for t, e in events if e["type"] == "speech.stopped" and t >= end_mark), None)
        if stop is not None:
            done = next((e for t, e in events if e["type"] == "response.done" and t >= stop), None)
            if done is not None:
                return done
        await asyncio.sleep(0.01)
    seen = [(round(t - end_mark, 2), e["type"], e.get("code", "")) for t, e in client.received.events]
    raise TimeoutError(f"no response.done after the end of speech within {timeout} s: {seen}")


async def one_turn(
    url: str,
    session: str,
    pcm: bytes,
    push_to_talk: bool,
    api_key: str | None = None,
    speech_end: float | None = None,
) -> dict[str, Any]:
    """One utterance on a new connection of `session`. If the server ended the user's turn before the
    end of speech (inside a pause), the turn ended in the pause; unless the user's going on continued
    that turn (`response.interrupted` with `continued`, its reply withdrawn) it is a cut-off: the reply
    answered half a sentence. The turn measured is the one after the speech."""
    async with VoiceClient.connect(url, session_id=session, api_key=api_key) as client:
        if push_to_talk:
            await client.send_json(type="session.update", config={"vad": False})
            await client.wait_for("session.updated")
        await client.stream_pcm(bytes(RATE * 2 // 2))  # 0.5 s of silence before speaking
        speech_end = speech_end if speech_end is not None else speech_end_s(pcm)  # (noise: given)
        end_mark = await stream_paced(pcm, RATE, speech_end, client.send_bytes)
        if push_to_talk:
            end_mark = time.perf_counter()
            await client.send_json(type="input_audio.commit")
        else:
            await client.stream_pcm(bytes(RATE * 2 * 2 // 10))  # keep the line open with silence
            pump = asyncio.create_task(client.stream_pcm(bytes(RATE * 2 // 50), trailing_silence_s=5))
        assert end_mark is not None
        before = [e for t, e in client.received.events if t < end_mark]
        ended = sum(1 for e in before if e["type"] == "speech.stopped")
        continued = sum(1 for e in before if e["type"] == "response.interrupted" and e.get("continued"))
        heard_early = any(t < end_mark for t, _ in client.received.audio)  # reply audio before the end
        done = await final_response(client, end_mark)
        if not push_to_talk:
            pump.cancel()
        first_audio = client.received.first_audio_after(end_mark)
        stopped = client.received.first_time("speech.stopped", after=end_mark)
        return {
            "latency_ms": (first_audio - end_mark) * 1000 if first_audio else None,
            "turn_end_ms": (stopped - end_mark) * 1000 if stopped else None,  # end of speech → speech.stopped
            "server": done["latency_ms"],
            "speculative": bool(done.get("speculative")),
            "turn_end_in_pause": ended > 0,
            "cut_off": ended > continued,
            "reply_audio_in_pause": heard_early,
            "transcript": done["transcript"],
            "reply": done["text"],
        }


async def run_sessions(
    url: str,
    pcms: list[bytes],
    turns: int,
    sessions: int,
    push_to_talk: bool,
    labels: list[dict[str, Any]] | None = None,
) -> list[dict]:
    """`turns` turns over `sessions` concurrent conversations; `labels[i]` (kind, pause, ...) is merged
    into the result of utterance i."""

    async def talker(n: int) -> list[dict]:
        session = f"bench-{uuid.uuid4().hex[:8]}"
        out = []
        for turn in range(turns // sessions):
            index = (turn + n) % len(pcms)
            end = labels[index].get("speech_end") if labels else None
            result = await one_turn(url, session, pcms[index], push_to_talk, speech_end=end)
            out.append({**(labels[index] if labels else {}), **result})
        return out

    results = await asyncio.gather(*(talker(n) for n in range(sessions)))
    return [r for group in results for r in group]


def summarise(results: list[dict]) -> dict[str, Any]:
    latencies = [r["latency_ms"] for r in results if r["latency_ms"] is not None]
    stages: dict[str, list[float]] = {}
    for r in results:
        for key, value in r["server"].items():
            stages.setdefault(key, []).append(value)
    summary: dict[str, Any] = {
        "first_audio_ms": stats(latencies),
        "server_stages_median_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()},
        "turn_end_ms": stats([r["turn_end_ms"] for r in results if r.get("turn_end_ms") is not None]),
        "no_audio_turns": sum(1 for r in results if r["latency_ms"] is None),
        "speculative_turns": f"{sum(r.get('speculative', False) for r in results)}/{len(results)}",
    }
    if any("kind" in r for r in results):
        for name, kinds in (("llm_turns", ("llm",)), ("tool_and_memory_turns", ("tool", "memory"))):
            chosen = [r["latency_ms"] for r in results if r.get("kind") in kinds and r["latency_ms"]]
            summary[f"{name}_first_audio_ms"] = stats(chosen)
        for pause in sorted({r["pause"] for r in results if r.get("pause")}):
            paused = [r for r in results if r.get("pause") == pause]
            for key in ("cut_off", "turn_end_in_pause", "reply_audio_in_pause"):
                summary[f"{key}_{pause}ms_pause"] = f"{sum(r[key] for r in paused)}/{len(paused)}"
    summary["examples"] = [(r.get("text", ""), r["transcript"], r["reply"]) for r in results[:4]]
    return summary


async def redis_hop(settings: Any, count: int = 500) -> dict[str, Any]:
    redis = RedisService(settings)
    await redis.start()
    try:
        stream = FrameStream(redis.client, f"bench:{uuid.uuid4().hex}", max_backlog=count * 2)
        hops = []
        for _ in range(count):
            start = time.perf_counter()
            await stream.add_audio(bytes(640))
            await stream.next_entries(block_ms=100)
            hops.append((time.perf_counter() - start) * 1000)
        await stream.delete()
        return {"xadd_to_xread_ms": stats(hops)}
    finally:
        await redis.stop()


VoiceSet = tuple[list[bytes], list[dict[str, Any]]]  # utterances (16 kHz PCM16) and their labels


def voice_sets(server_url: str, which: str, turns: int, pauses: Pauses) -> dict[str, VoiceSet]:
    """The utterances (16 kHz PCM16) and their labels per voice set: `heldout` (eSpeak NG, made here)
    and/or `piper` (the same sentences in the app's own voice)."""
    heldout = heldout_set(turns, pauses)
    sets: dict[str, VoiceSet] = {}
    if which in ("heldout", "both"):
        sets["heldout"] = ([u.pcm for u in heldout], [u.describe() for u in heldout])
    if which in ("piper", "both"):
        pcms, labels = [], []
        for u in heldout:
            wav = httpx.post(f"{server_url}/api/tts/generate", json={"text": u.text}, timeout=60).content
            pcms.append((decode_audio(wav, sample_rate=RATE) * 32767).astype("<i2").tobytes())
            labels.append(
                {**u.describe(), "voice": "piper", "speed": None, "noise": False, "speech_end": None}
            )
        sets["piper"] = (pcms, labels)
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", choices=("heldout", "piper", "both"), default="both")
    parser.add_argument("--turns", type=int, default=28, help="turns per voice set (and per mode)")
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument(
        "--pauses",
        choices=("hesitation", "clause"),
        default="hesitation",
        help="where the held-out speakers pause: mid-phrase (default) or after a phrase that is a sentence",
    )
    parser.add_argument("--skip-ptt", action="store_true", help="skip the push-to-talk (commit) run")
    parser.add_argument("--hangover-ms", type=float, help="override realtime.hangover_ms")
    parser.add_argument("--speculative-ms", type=float, help="override realtime.speculative_ms")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a setting, e.g. --set piper.spin=true (repeatable; the value is YAML)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the app in a thread of this process (default: its own process, as users run it)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.set:
        path, _, value = item.partition("=")
        section, _, key = path.partition(".")
        overrides.setdefault(section, {})[key] = yaml.safe_load(value)
    if args.hangover_ms:
        overrides.setdefault("realtime", {})["hangover_ms"] = args.hangover_ms
    if args.speculative_ms:
        overrides.setdefault("realtime", {})["speculative_ms"] = args.speculative_ms
    tmp = Path(tempfile.mkdtemp(prefix="mithi-bench-"))
    overrides.setdefault("paths", {})["data_dir"] = str(tmp / "data")
    config = app_config(tmp / "config.yml", overrides)
    settings = load_config(config)
    for section, values in overrides.items():
        for key in values:
            print(f"set {section}.{key} = {getattr(getattr(settings, section), key)!r}")
    rt = settings.realtime
    print(f"hangover {rt.hangover_ms:g} ms, speculative {rt.speculative_ms:g} ms")
    machine = describe(("piper-tts", "faster-whisper", "llama-cpp-python", "langgraph"))
    print("machine:", json.dumps(machine))
    results: dict[str, Any] = {
        "machine": machine,
        "turns": args.turns,
        "sessions": args.sessions,
        "pauses": args.pauses,
        "server": "in-process" if args.in_process else "process",
        "realtime": settings.realtime.model_dump(),
    }
    server_cm = BackgroundServer(settings) if args.in_process else AppProcess(config, tmp / "app.log")
    with server_cm as server:
        url = server.url.replace("http://", "ws://") + "/voice"
        sets = voice_sets(server.url, args.voices, args.turns, args.pauses)
        first = next(iter(sets.values()))[0]
        asyncio.run(run_sessions(url, first, 2, 1, False))  # warm-up
        for name, (pcms, labels) in sets.items():
            vad = asyncio.run(run_sessions(url, pcms, args.turns, args.sessions, False, labels))
            results[f"{name}:voice_to_voice"] = summarise(vad)
            if not args.skip_ptt:
                ptt = asyncio.run(run_sessions(url, pcms, args.turns, args.sessions, True, labels))
                results[f"{name}:response_latency_commit"] = summarise(ptt)
            results[f"{name}:turns"] = vad
    settings.paths.data_dir = tempfile.mkdtemp(prefix="mithi-bench-")
    results["redis_frame_hop"] = asyncio.run(redis_hop(settings))
    for key, block in results.items():
        if key.endswith(("voice_to_voice", "response_latency_commit")) or key == "redis_frame_hop":
            print(f"\n{key}:")
            for name, value in block.items():
                print(f"  {name:30s} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

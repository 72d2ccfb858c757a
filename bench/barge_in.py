"""Barge-in: how soon a reply stops when the user talks over it, over the real /voice WebSocket.

    python bench/barge_in.py [--runs 10] [--json FILE]

Per run, a new conversation asks (text.input) for something with a long spoken answer; a second after
its audio started, the client streams an interruption spoken by an eSpeak NG voice the app does not use,
at real-time pace. Measured from the frame that holds the first loud 20 ms of the interruption
(-40 dBFS RMS):
- `interrupted_ms`: until `response.interrupted` arrives;
- `audio_stops_ms`: until the last byte of the interrupted reply's audio that arrives (0: none after
  the interruption began; the server sends faster than real time, so audio sent before it is what the
  client drops; the reply to the interruption itself is not counted).
p50/p95 and the machine are printed. The app runs in its own process, as users run it.

`--backchannels`: the same, but what the client says over the reply is a backchannel ("Mm-hmm.",
"Okay.", "Haan ji.", "Accha.", eSpeak NG's English and Hindi voices) — counted: how many interrupted
the reply (they should not) and how many let it play to `response.done`. `--barge-in-ms` sets
`realtime.barge_in_ms` (the speech that makes an interruption, default the config's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.realtime.client import VoiceClient  # noqa: E402
from bench.heldout_voices import RATE, espeak_audio, speech_start_s  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.processes import AppProcess, app_config  # noqa: E402
from bench.speech import stats  # noqa: E402
from bench.voice_latency import stream_paced  # noqa: E402
from tests.helpers.voice import LONG_REPLY_QUESTION, session_with_a_long_reply  # noqa: E402

QUESTION = LONG_REPLY_QUESTION  # answered with a listing of six appointments: several seconds of speech
INTERRUPTION = "Stop, wait a moment please."
BACKCHANNELS = (
    ("Haan.", "hi"),
    ("Accha.", "hi"),
    ("Ji.", "hi"),
    ("Hmm.", "en-us"),
    ("Okay.", "en-us"),
    ("Uh-huh.", "en-us"),
)


def long_reply_session(url: str) -> str:
    """A session with six appointments (its listing is the long reply); another minute if one is taken."""
    for _ in range(5):
        try:
            return session_with_a_long_reply(url)
        except AssertionError:  # a slot another run booked (one calendar): try another minute
            continue
    raise RuntimeError("could not book the six appointments of the long reply")


async def backchannel_run(app: AppProcess, said: bytes, start_s: float) -> dict[str, Any]:
    """Says a backchannel over the reply; did the reply go on to the end?"""
    session = await asyncio.to_thread(long_reply_session, app.url)
    async with VoiceClient.connect(app.ws_url, session_id=session) as client:
        await client.stream_pcm(bytes(RATE * 2 // 5))
        await client.send_json(type="text.input", text=QUESTION)
        await client.wait_for("response.audio.started")
        await asyncio.sleep(1.0)
        sent_at = time.perf_counter()
        await stream_paced(said, RATE, start_s + 0.02, client.send_bytes)
        await client.stream_pcm(bytes(RATE * 2 // 50), trailing_silence_s=2.5)  # then silence, paced
    stopped = client.received.of("speech.stopped")
    finals = client.received.of("transcript.final")
    return {
        "heard": finals[-1]["text"] if finals else None,  # the question was typed: no final of its own
        "interrupted": client.received.first_time("response.interrupted", after=sent_at) is not None,
        "stopped_reason": stopped[-1]["reason"] if stopped else None,
    }


async def one_run(app: AppProcess, interruption: bytes, start_s: float) -> dict[str, Any]:
    session = await asyncio.to_thread(long_reply_session, app.url)
    async with VoiceClient.connect(app.ws_url, session_id=session) as client:
        await client.stream_pcm(bytes(RATE * 2 // 5))  # 0.4 s of silence: the line is open
        await client.send_json(type="text.input", text=QUESTION)
        await client.wait_for("response.audio.started")
        await asyncio.sleep(1.0)
        sent_at = time.perf_counter()
        mark = await stream_paced(interruption, RATE, start_s + 0.02, client.send_bytes)
        assert mark is not None
        speech_at = sent_at + start_s  # the first loud frame went out at about this moment
        pump = asyncio.create_task(client.stream_pcm(bytes(RATE * 2 // 50), trailing_silence_s=2))
        await client.wait_for("response.interrupted", timeout=10)
        await asyncio.sleep(0.5)
        pump.cancel()
    interrupted = client.received.first_time("response.interrupted", after=sent_at)
    # the interruption is a turn too: the audio of its own reply is not the interrupted reply's
    answer = client.received.first_time("response.audio.started", after=sent_at) or float("inf")
    audio_times = [t for t, _ in client.received.audio if speech_at <= t < answer]
    return {
        "interrupted_ms": round((interrupted - speech_at) * 1000, 1) if interrupted else None,
        "audio_stops_ms": round((audio_times[-1] - speech_at) * 1000, 1) if audio_times else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--backchannels", action="store_true", help="say backchannels, not an interruption")
    parser.add_argument("--barge-in-ms", type=float, help="realtime.barge_in_ms for the app")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mithi-bench-"))
    overrides: dict[str, dict[str, Any]] = {"paths": {"data_dir": str(tmp / "data")}}
    if args.barge_in_ms is not None:
        overrides["realtime"] = {"barge_in_ms": args.barge_in_ms}
    config = app_config(tmp / "config.yml", overrides)
    if args.backchannels:
        return backchannels(config, tmp, args)
    audio = espeak_audio(INTERRUPTION, "en-gb-scotland+f2", 175, 0)
    interruption = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    start_s = speech_start_s(interruption)
    machine = describe(("piper-tts", "faster-whisper", "llama-cpp-python"))
    print("machine:", json.dumps(machine))
    with AppProcess(config, tmp / "app.log") as app:
        runs = [asyncio.run(one_run(app, interruption, start_s)) for _ in range(args.runs)]
    results = {
        "machine": machine,
        "runs": runs,
        "interrupted_ms": stats([r["interrupted_ms"] for r in runs if r["interrupted_ms"] is not None]),
        "audio_stops_ms": stats([r["audio_stops_ms"] for r in runs]),
    }
    for key in ("interrupted_ms", "audio_stops_ms"):
        print(f"{key:16s} {results[key]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def backchannels(config: Path, tmp: Path, args: argparse.Namespace) -> int:
    machine = describe(("piper-tts", "faster-whisper", "llama-cpp-python"))
    print("machine:", json.dumps(machine))
    said = {}
    for text, voice in BACKCHANNELS:
        pcm = (np.clip(espeak_audio(text, voice, 175, 0), -1, 1) * 32767).astype("<i2").tobytes()
        said[text] = (pcm, speech_start_s(pcm))
    runs = []
    with AppProcess(config, tmp / "app.log") as app:
        for i in range(args.runs):
            text = BACKCHANNELS[i % len(BACKCHANNELS)][0]
            run = asyncio.run(backchannel_run(app, *said[text]))
            runs.append({"said": text, **run})
            print(runs[-1])
    interrupted = sum(r["interrupted"] for r in runs)
    print(f"backchannels that interrupted the reply: {interrupted}/{len(runs)}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

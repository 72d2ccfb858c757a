"""Capacity: how many concurrent /voice conversations one box holds, with the LLM in-process (llama.cpp in
the app) or on a shared model server (`python -m llama_cpp.server`, what `llm.provider: openai` with
`openai.prompt_style: completion` talks to; docs/DEPLOY.md).

    python bench/capacity.py [--conversations 1,2,4,8] [--turns 3] [--llm local,shared]
                             [--json docs/bench-capacity.json] [--api-key KEY]

For each LLM mode it starts the app as a real process (`python -m backend --config ...`, the repo's
config.yml with a temporary data dir and no per-key session limit), and in `shared` mode one
llama_cpp.server with the bundled Gemma GGUF. Then, for each N, N clients talk at the same time over the
real /voice WebSocket, `--turns` turns each: a question spoken by Piper, streamed at real-time pace in
20 ms frames, then silence (bench/voice_latency.py's `one_turn`, a new connection per turn). Per N:
- answered %: turns that ended with `response.done` and reply audio, of all turns started;
- errors: the turns that did not, by exception type and first words;
- voice-to-voice p50/p95: end of the user's speech (last frame above -40 dBFS) sent → first reply audio;
- CPU: busy % of one core for the app's process tree (with its embedded Redis) and the model server, and
  of the whole machine (/proc/stat: includes this client and anything else running), over the run.
It prints the machine and a sizing line: the largest N whose p95 stays under 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core.config import PROJECT_ROOT  # noqa: E402
from backend.media.audio import decode_audio  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.processes import AppProcess, LlamaServer, app_config  # noqa: E402
from bench.speech import stats  # noqa: E402
from bench.voice_latency import QUESTIONS, RATE, one_turn  # noqa: E402

MODES = ("local", "shared")
SIZING_P95_MS = 1500.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------- CPU sampling
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of `root` and its live descendants (e.g. the app's embedded redis-server)."""
    tree, total, todo = _children(), 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _CLK_TCK
        except OSError:
            continue
        todo.extend(tree.get(pid, []))
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used between start() and stop(), as % of one core per process tree and % of the machine."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def start(self) -> None:
        self.wall = time.monotonic()
        self.cpu = {name: tree_cpu_seconds(pid) for name, pid in self.pids.items()}
        self.machine = machine_jiffies()

    def stop(self) -> dict[str, float]:
        wall = max(time.monotonic() - self.wall, 1e-6)
        out = {
            f"{name}_pct_of_one_core": round((tree_cpu_seconds(pid) - self.cpu[name]) / wall * 100, 1)
            for name, pid in self.pids.items()
        }
        busy, total = machine_jiffies()
        d_total = max(total - self.machine[1], 1)
        out["machine_pct"] = round((busy - self.machine[0]) / d_total * 100, 1)
        return out


# ------------------------------------------------------------------------------------------- conversations
async def conversation(
    url: str, pcms: list[bytes], turns: int, offset: int, api_key: str | None
) -> list[dict]:
    session = f"capacity-{uuid.uuid4().hex[:8]}"
    out = []
    for turn in range(turns):
        try:
            out.append(await one_turn(url, session, pcms[(turn + offset) % len(pcms)], False, api_key))
        except Exception as exc:  # noqa: BLE001 - a failed turn is a result here, counted and shown
            out.append({"error": f"{type(exc).__name__}: {str(exc)[:80]}"})
    return out


async def run_level(url: str, pcms: list[bytes], n: int, turns: int, api_key: str | None) -> list[dict]:
    groups = await asyncio.gather(*(conversation(url, pcms, turns, i, api_key) for i in range(n)))
    return [r for group in groups for r in group]


def summarise(results: list[dict], n: int, wall_s: float, cpu: dict[str, float]) -> dict[str, Any]:
    answered = [r for r in results if "error" not in r and r.get("latency_ms") is not None]
    errors = Counter(r["error"] for r in results if "error" in r)
    no_audio = sum(1 for r in results if "error" not in r and r.get("latency_ms") is None)
    if no_audio:
        errors["response.done without reply audio"] += no_audio
    stages: dict[str, list[float]] = {}
    for r in answered:
        for key, value in (r.get("server") or {}).items():
            if isinstance(value, int | float):
                stages.setdefault(key, []).append(value)
    return {
        "conversations": n,
        "turns": len(results),
        "answered": len(answered),
        "answered_pct": round(100 * len(answered) / max(len(results), 1), 1),
        "errors": dict(errors),
        "voice_to_voice_ms": stats([r["latency_ms"] for r in answered]) if answered else None,
        "server_stages_median_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()},
        "wall_s": round(wall_s, 1),
        "cpu": cpu,
        "examples": [(r["transcript"], r["reply"]) for r in answered[:2]],
    }


def spoken_questions(base: str, headers: dict[str, str]) -> list[bytes]:
    pcms = []
    for question in QUESTIONS:
        response = httpx.post(
            f"{base}/api/tts/generate", json={"text": question}, headers=headers, timeout=60
        )
        response.raise_for_status()
        pcms.append((decode_audio(response.content, sample_rate=RATE) * 32767).astype("<i2").tobytes())
    return pcms


# ------------------------------------------------------------------------------------------- one mode
def app_overrides(mode: str, data_dir: Path, llm: LlamaServer | None, api_key: str | None) -> dict:
    overrides: dict[str, dict[str, Any]] = {
        "paths": {"data_dir": str(data_dir)},
        "redis": {"url": ""},  # the app's own embedded Redis
        "server": {"host": "127.0.0.1"},
        "limits": {"voice_sessions_per_key": 0, "requests_per_minute": 0},  # measure the box, not a quota
    }
    if api_key:
        overrides["auth"] = {"api_keys": f"bench:{api_key}"}
    if mode == "shared":
        assert llm is not None
        overrides["llm"] = {"provider": "openai", "model": "", "fallback": []}
        overrides["openai"] = {
            "base_url": llm.base_url,
            "api_key": "",
            "llm_model": llm.alias,
            "prompt_style": "completion",
        }
    else:
        overrides["llm"] = {"provider": "llama_cpp", "model": "", "fallback": []}
    return overrides


def run_mode(mode: str, levels: list[int], turns: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    models = Path(os.environ.get("MITHI_MODELS_DIR") or PROJECT_ROOT / "models")
    llm = None
    if mode == "shared":
        llm = LlamaServer(
            models / "llm" / "gemma-3-270m-q4_k_m.gguf", threads=args.llm_threads, log=tmp / f"{mode}-llm.log"
        )
        llm.start()
        llm.wait_ready()
    try:
        config = app_config(tmp / f"{mode}.yml", app_overrides(mode, tmp / f"{mode}-data", llm, args.api_key))
        with AppProcess(config, tmp / f"{mode}-app.log") as app:
            headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
            pcms = spoken_questions(app.url, headers)
            asyncio.run(run_level(app.ws_url, pcms, 1, 1, args.api_key))  # warm-up turn
            pids = {"app": app.pid, **({"llm_server": llm.pid} if llm else {})}
            out = []
            for n in levels:
                meter = CpuMeter(pids)
                meter.start()
                start = time.monotonic()
                results = asyncio.run(run_level(app.ws_url, pcms, n, turns, args.api_key))
                summary = summarise(results, n, time.monotonic() - start, meter.stop())
                out.append(summary)
                v2v = summary["voice_to_voice_ms"] or {}
                print(
                    f"  {mode:6s} N={n:<2d} answered {summary['answered']}/{summary['turns']} "
                    f"p50 {v2v.get('median', '-')} ms p95 {v2v.get('p95', '-')} ms "
                    f"cpu {summary['cpu']} errors {summary['errors'] or 0}",
                    flush=True,
                )
            return {"levels": out, "sizing": sizing(out)}
    finally:
        if llm is not None:
            llm.stop()


def sizing(levels: list[dict]) -> dict[str, Any]:
    """The largest N with every turn answered and voice-to-voice p95 under 1.5 s."""
    held = [
        lv["conversations"]
        for lv in levels
        if lv["answered_pct"] == 100
        and lv["voice_to_voice_ms"]
        and lv["voice_to_voice_ms"]["p95"] < SIZING_P95_MS
    ]
    return {"p95_under_ms": SIZING_P95_MS, "conversations": max(held) if held else 0}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", default="1,2,4,8", help="comma-separated concurrency levels")
    parser.add_argument("--turns", type=int, default=3, help="turns per conversation")
    parser.add_argument("--llm", default="local,shared", help="local, shared or both (comma-separated)")
    parser.add_argument(
        "--llm-threads", type=int, default=os.cpu_count() or 1, help="llama_cpp.server threads"
    )
    parser.add_argument("--api-key", help="an API key of the app (auth on); default: auth off on loopback")
    parser.add_argument("--json", type=Path, help="write the results here (e.g. docs/bench-capacity.json)")
    args = parser.parse_args()
    levels = [int(n) for n in args.conversations.split(",") if n.strip()]
    modes = [m.strip() for m in args.llm.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not levels or min(levels) < 1 or args.turns < 1:
        parser.error(f"--llm takes {', '.join(MODES)}; --conversations and --turns must be >= 1")
    machine = describe(("piper-tts", "faster-whisper", "llama-cpp-python", "langgraph"))
    print("machine:", json.dumps(machine), flush=True)
    results: dict[str, Any] = {
        "machine": machine,
        "turns_per_conversation": args.turns,
        "conversations": levels,
        "llm_server_threads": args.llm_threads,
        "modes": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix="mithi-capacity-"))
    for mode in modes:
        print(f"\n{mode}:", flush=True)
        results["modes"][mode] = run_mode(mode, levels, args.turns, args, tmp)
    print()
    for mode, result in results["modes"].items():
        held = result["sizing"]["conversations"]
        print(f"sizing ({mode}): one {machine['cores']}-core box holds {held} conversations under 1.5 s p95")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

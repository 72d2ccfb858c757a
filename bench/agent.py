"""Conversation agent benchmarks with the local defaults: Gemma 3 270M (llama.cpp) + embedded Redis.

    python bench/agent.py [--turns 30] [--runs 20] [--json results.json]

Measures, in-process (no HTTP): LLM time to first token and tokens/s; agent time to first text and to
the first complete sentence; latency of turn 1 vs turn N of one conversation; the Redis checkpoint cost
per turn (AsyncRedisSaver reads and writes, timed around the saver's own methods); and a tool turn
(intent parser + Redis, no LLM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.agents.conversation import ConversationAgent, running_agent  # noqa: E402
from backend.core.config import PROJECT_ROOT, load_config  # noqa: E402
from backend.llm.base import LLMOptions  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.speech import stats  # noqa: E402

QUESTIONS = [
    "What is the capital of France?",
    "Tell me one short fact about the sea.",
    "How are you today?",
    "What is the largest planet?",
    "Can you recommend a good book?",
    "What should I eat for breakfast?",
]
SENTENCE_END = (".", "!", "?")


def timed_saver(agent: ConversationAgent, sink: dict[str, list[float]]) -> None:
    """Wrap the checkpointer's async methods to record how long each call takes."""
    for name in ("aget_tuple", "aput", "aput_writes"):
        original = getattr(agent.saver, name)

        async def wrapper(*args: Any, _orig: Any = original, _name: str = name, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await _orig(*args, **kwargs)
            finally:
                sink[_name].append((time.perf_counter() - start) * 1000)

        setattr(agent.saver, name, wrapper)


async def llm_numbers(agent: ConversationAgent, runs: int) -> dict[str, Any]:
    llm = agent.llm
    ttft, rates = [], []
    for i in range(runs):
        messages = agent._prompt(
            {"messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]}, {}
        )
        start = time.perf_counter()
        first = None
        tokens = 0  # llama.cpp streams one event per generated token
        async for event in llm.stream(messages, LLMOptions(max_tokens=48)):
            if event.text:
                first = first or time.perf_counter()
                tokens += 1
        end = time.perf_counter()
        assert first is not None
        ttft.append((first - start) * 1000)
        if tokens > 3 and end > first:
            rates.append((tokens - 1) / (end - first))
    return {"ttft_ms": stats(ttft), "tokens_per_s_median": round(statistics.median(rates), 1)}


async def agent_turns(agent: ConversationAgent, turns: int, sink: dict[str, list[float]]) -> dict[str, Any]:
    session = f"bench-{time.time_ns()}"
    totals, first_text, first_sentence, checkpoint = [], [], [], []
    await agent.run_turn(session, "Hi, my name is Priya.")
    for turn in range(turns):
        sink.clear()
        start = time.perf_counter()
        seen = ""
        t_first = t_sentence = None
        async for event in agent.stream_turn(session, QUESTIONS[turn % len(QUESTIONS)]):
            if event.type != "delta":
                continue
            now = time.perf_counter()
            t_first = t_first or now
            seen += event.text
            if t_sentence is None and seen.rstrip().endswith(SENTENCE_END):
                t_sentence = now
        end = time.perf_counter()
        totals.append((end - start) * 1000)
        first_text.append(((t_first or end) - start) * 1000)
        first_sentence.append(((t_sentence or end) - start) * 1000)
        checkpoint.append(sum(sum(v) for v in sink.values()))
    head, tail = totals[:5], totals[-5:]
    return {
        "turns": turns,
        "turn_total_ms": stats(totals),
        "first_text_ms": stats(first_text),
        "first_sentence_ms": stats(first_sentence),
        "turn_1_ms": round(totals[0], 1),
        f"turn_{turns}_ms": round(totals[-1], 1),
        "turns_1_5_median_ms": round(statistics.median(head), 1),
        f"turns_{turns - 4}_{turns}_median_ms": round(statistics.median(tail), 1),
        "checkpoint_ms_per_turn": stats(checkpoint),
        "checkpoint_first_5_median_ms": round(statistics.median(checkpoint[:5]), 2),
        "checkpoint_last_5_median_ms": round(statistics.median(checkpoint[-5:]), 2),
    }


async def tool_turns(agent: ConversationAgent, runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = await agent.run_turn(f"bench-tool-{time.time_ns()}", "What time is it?")
        times.append((time.perf_counter() - start) * 1000)
        assert result.action and result.action["tool"] == "get_current_datetime"
    return {"tool_turn_ms": stats(times)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_config(PROJECT_ROOT / "config.yml")
    settings.paths.data_dir = tempfile.mkdtemp(prefix="mithi-bench-")
    async with running_agent(settings) as agent:
        sink: dict[str, list[float]] = defaultdict(list)
        results: dict[str, Any] = {"llm": await llm_numbers(agent, args.runs)}
        timed_saver(agent, sink)
        results["conversation"] = await agent_turns(agent, args.turns, sink)
        results["tools"] = await tool_turns(agent, args.runs)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    machine = describe(("llama-cpp-python", "langgraph", "langgraph-checkpoint-redis", "redis"))
    print("machine:", json.dumps(machine))
    results = {"machine": machine, **asyncio.run(main_async(args))}
    for section in ("llm", "conversation", "tools"):
        print(f"\n{section}:")
        for key, value in results[section].items():
            print(f"  {key:32s} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Answer quality of the conversation agent, scored automatically: scripted turns across its jobs.

    python bench/agent_quality.py [--json results.json] [--show]

Starts the app in its own process (`python -m backend`, the repo's config.yml: the bundled Gemma 3
270M unless the config says otherwise) and plays conversations over `POST /api/chat`: bookings,
changes, cancellations, follow-up questions, memory of the name and the city, the date and time, and
general questions it should answer briefly or decline. Each turn has one check on the reply (a word
that must be there, words that must not, the tool that must have run); the score is the share of
turns that pass, per job and overall. A turn's check says what a user would accept, not the exact
wording: "7" or "seven" for the days of a week.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402
from bench.processes import AppProcess, app_config  # noqa: E402

Check = Callable[[str, dict[str, Any] | None], bool]
DECLINE = r"\b(don'?t know|do not know|not sure|can'?t|cannot|unable|no way to know|sorry)\b"


def says(*patterns: str) -> Check:
    """The reply matches every pattern (case-insensitive regexes)."""
    return lambda reply, _action: all(re.search(p, reply, re.I) for p in patterns)


def avoids(*patterns: str) -> Check:
    """The reply is not empty and matches none of the patterns."""
    return lambda reply, _action: bool(reply.strip()) and not any(re.search(p, reply, re.I) for p in patterns)


def ran(tool: str, ok: bool = True) -> Check:
    return lambda _reply, action: bool(action) and action.get("tool") == tool and action.get("ok") is ok


def both(*checks: Check) -> Check:
    return lambda reply, action: all(c(reply, action) for c in checks)


def short(max_words: int) -> Check:
    return lambda reply, _action: 0 < len(reply.split()) <= max_words


@dataclass(frozen=True)
class Turn:
    text: str
    check: Check
    expect: str  # what the check wants, in words (printed beside failures)


MONTH = datetime.now().strftime("%B")
WEEKDAY = datetime.now().strftime("%A")

CONVERSATIONS: dict[str, list[Turn]] = {
    "memory": [
        Turn("My name is Priya and I live in Mumbai.", avoids(r"^hello!?$", DECLINE), "an acknowledgement"),
        Turn("What is my name?", says("Priya"), "Priya"),
        Turn("Where do I live?", says("Mumbai"), "Mumbai"),
        Turn("Actually, call me Asha.", avoids(DECLINE), "an acknowledgement"),
        Turn("What is my name now?", says("Asha"), "Asha"),
    ],
    "date and time": [
        Turn(
            "What time is it?", says(r"\b\d{1,2}(:\d{2})? ?[ap]\.?m\b"), "a clock time"
        ),  # "7 p.m." on the hour
        Turn("What is today's date?", says(MONTH), f"the month ({MONTH})"),
        Turn("What day of the week is it?", says(WEEKDAY), WEEKDAY),
    ],
    "bookings": [
        Turn("Book a haircut tomorrow at 3 pm.", ran("book_appointment"), "book_appointment ran"),
        Turn("What appointments do I have?", both(ran("list_appointments"), says("haircut")), "the haircut"),
        Turn(
            "Book a dentist appointment on Friday at 10 am.", ran("book_appointment"), "book_appointment ran"
        ),
        Turn("Cancel my haircut.", ran("cancel_appointment"), "cancel_appointment ran"),
        Turn("What appointments do I have?", both(says("dentist"), avoids("haircut")), "only the dentist"),
        Turn("Book a table for two.", avoids(r"\bbooked\b"), "a question back (when?), not a booking"),
        Turn("Tomorrow at 7 pm.", ran("book_appointment"), "the booking completed"),
    ],
    "general": [
        Turn("How many days are in a week?", says(r"\b(7|seven)\b"), "seven"),
        Turn("What is the capital of France?", says("Paris"), "Paris"),
        Turn("What is two plus two?", says(r"\b(4|four)\b"), "four"),
        Turn("What color is the sky on a clear day?", says("blue"), "blue"),
        Turn("How many legs does a dog have?", says(r"\b(4|four)\b"), "four"),
        Turn("What is the largest planet in our solar system?", says("Jupiter"), "Jupiter"),
        Turn(
            "Tell me one short fact about the moon.",
            avoids(r"\bplanet\b", r"\bstar\b"),
            "no moon-is-a-planet",
        ),
        Turn("How are you today?", short(20), "a short reply"),
        Turn("Say hello in one short sentence.", both(short(12), says(r"\bhello|hi\b")), "a short hello"),
    ],
    # what it knows, asked first thing in a conversation: the decline examples must not make it shy
    "knows, not declines": [
        Turn("What is the tallest mountain in the world?", says("Everest"), "Everest, not a decline"),
        Turn("Who wrote Romeo and Juliet?", says("Shakespeare"), "Shakespeare, not a decline"),
    ],
    "declines": [
        Turn("What will the stock market do tomorrow?", says(DECLINE), "declines to predict"),
        Turn("What is my bank account balance?", says(DECLINE), "declines: it cannot know"),
        Turn("What number am I thinking of?", says(DECLINE), "declines: it cannot know"),
        Turn("Who will win the next football world cup?", says(DECLINE), "declines to predict"),
    ],
    "follow-ups": [
        Turn("What is the capital of Japan?", says("Tokyo"), "Tokyo"),
        Turn("And of Italy?", says("Rome"), "Rome"),
        Turn("Which of those two cities is further east?", says("Tokyo"), "Tokyo"),
    ],
}


def run(url: str, show: bool) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=180) as http:
        for job, turns in CONVERSATIONS.items():
            session = f"quality-{uuid.uuid4().hex[:8]}"
            for turn in turns:
                resp = http.post("/api/chat", json={"text": turn.text, "session_id": session})
                body = (
                    resp.json()
                    if resp.status_code == 200
                    else {"reply": f"HTTP {resp.status_code}: {resp.text}"}
                )
                reply, action = body.get("reply", ""), body.get("action")
                passed = resp.status_code == 200 and turn.check(reply, action)
                results.append(
                    {"job": job, "text": turn.text, "reply": reply, "tool": (action or {}).get("tool"),
                     "passed": passed, "expected": turn.expect}
                )  # fmt: skip
                if show or not passed:
                    mark = "ok  " if passed else "FAIL"
                    print(
                        f"  {mark} [{job}] {turn.text!r} -> {reply!r}"
                        + ("" if passed else f"  (wanted {turn.expect})")
                    )
    by_job: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        by_job[r["job"]].append(r["passed"])
    scores = {job: f"{sum(v)}/{len(v)}" for job, v in by_job.items()}
    total = sum(r["passed"] for r in results)
    return {"score": f"{total}/{len(results)}", "percent": round(100 * total / len(results), 1),
            "by_job": scores, "turns": results}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--show", action="store_true", help="print every turn, not only failures")
    parser.add_argument(
        "--config", type=Path, help="a config.yml to run instead of the repo's (e.g. another llm)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mithi-quality-") as tmp_dir:
        tmp = Path(tmp_dir)
        overrides = {"paths": {"data_dir": str(tmp / "data")}}
        config = args.config or app_config(tmp / "config.yml", overrides)
        print(f"machine: {json.dumps(describe())}")
        with AppProcess(config, tmp / "app.log") as app:
            health = httpx.get(f"{app.url}/health", timeout=30).json()
            cfg = health.get("config", {})
            provider = cfg.get("llm", {}).get("provider", "")
            model = cfg.get("llm", {}).get("model") or cfg.get(provider, {}).get("model_path", "")
            print(f"llm: {provider} {model}".rstrip())
            out = run(app.url, args.show)
    print(f"\nscore {out['score']} ({out['percent']} %)")
    for job, score in out["by_job"].items():
        print(f"  {job:15} {score}")
    if args.json:
        args.json.write_text(json.dumps({"machine": describe(), **out}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

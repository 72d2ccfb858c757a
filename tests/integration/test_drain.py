"""SIGTERM drains a real server process: new sessions are refused (server_busy, 1013), readiness turns
503, the turn in flight is finished and heard, then sockets close with 1012 and the process exits."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import httpx
import websockets

from bench.processes import AppProcess
from tests.conftest import write_config


async def test_sigterm_finishes_the_turn_then_closes_1012(assembled_models: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.yml",
        assembled_models,
        {"  drain_seconds:": "  drain_seconds: 20", "  max_tokens:": "  max_tokens: 160"},
    )
    app = AppProcess(config, tmp_path / "app.log")
    url = app.url
    app.start()
    proc = app.proc
    assert proc is not None
    try:
        await asyncio.to_thread(app.wait_ready)
        ws_url = url.replace("http://", "ws://") + "/voice"
        events: list[dict] = []
        async with websockets.connect(ws_url, max_size=None) as ws:
            await ws.send(
                json.dumps({"type": "text.input", "text": "Tell me three facts about the sea, please."})
            )
            while True:  # wait until the reply is being spoken
                message = await asyncio.wait_for(ws.recv(), 60)
                if isinstance(message, str):
                    events.append(json.loads(message))
                    if events[-1]["type"] == "response.audio.started":
                        break
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            async with httpx.AsyncClient(base_url=url, timeout=5) as http:
                for _ in range(50):  # the drain starts at once: not ready any more
                    ready = await http.get("/health/ready")
                    if ready.status_code == 503:
                        break
                    await asyncio.sleep(0.05)
                assert ready.status_code == 503 and "draining" in ready.json()["reasons"]
            async with websockets.connect(ws_url) as late:  # a new session is refused during the drain
                refusal = json.loads(await asyncio.wait_for(late.recv(), 10))
                assert refusal["code"] == "server_busy"
                try:
                    await asyncio.wait_for(late.recv(), 10)
                except websockets.ConnectionClosed:
                    pass
                assert late.close_code == 1013
            try:
                while True:
                    message = await asyncio.wait_for(ws.recv(), 30)
                    if isinstance(message, str):
                        events.append(json.loads(message))
            except websockets.ConnectionClosed:
                pass
            closed_after = time.monotonic() - signalled
            assert ws.close_code == 1012, ws.close_code
        kinds = [e["type"] for e in events]
        assert "response.done" in kinds, kinds  # the turn in flight was finished, not cut
        done = next(e for e in events if e["type"] == "response.done")
        assert done["text"] and kinds.index("response.done") < len(kinds) - 1  # then server_restarting
        assert events[-1]["type"] == "error" and events[-1]["code"] == "server_restarting"
        assert closed_after < 20
        # uvicorn re-raises the SIGTERM it caught once it has shut down: exit by that signal (or 0)
        assert await asyncio.to_thread(proc.wait, 30) in (0, -signal.SIGTERM)
    finally:
        if app.alive:
            proc.kill()
            proc.wait()

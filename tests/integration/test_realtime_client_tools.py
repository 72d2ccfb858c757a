"""/v1/realtime with a tool-calling LLM (llm.provider: openai, against the OpenAI chat stand-in): the
client's session instructions reach the model, client-declared tools are offered beside the agent's and
come back as function_call items, and the client's function_call_output continues the conversation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from backend.core.config import load_config
from tests.conftest import LiveServer
from tests.fakes.openai_chat import FakeChatServer, FakeToolCall
from tests.helpers.cloud import config_with_provider, hosted_chat


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeChatServer]:
    with hosted_chat(monkeypatch) as server:
        yield server


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather now in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def _until(ws: Any, kind: str, within: float = 60) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            event = json.loads(await ws.recv())
            seen.append(event)
            if event["type"] == kind:
                return event, seen
            assert event["type"] != "error" or kind == "error", event


async def _say(ws: Any, text: str) -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
    await ws.send(json.dumps({"type": "response.create"}))


def test_client_tools_and_instructions_with_a_tool_calling_llm(
    tmp_path: Path,
    assembled_models: Path,
    fake: FakeChatServer,
) -> None:
    settings = load_config(config_with_provider(tmp_path, assembled_models, "openai"))

    async def run(url: str) -> None:
        async with websockets.connect(f"{url}?session_id=tools-1") as ws:
            await _until(ws, "session.created")
            session = {
                "type": "realtime",
                "instructions": "Speak like a ship's captain.",
                "output_modalities": ["text"],
                "tools": [WEATHER],
            }
            await ws.send(json.dumps({"type": "session.update", "session": session}))
            await _until(ws, "session.updated")

            fake.reply_tool_calls([FakeToolCall("get_weather", {"city": "Paris"}, id="call_w1")])
            await _say(ws, "What is the weather in Paris?")
            done, seen = await _until(ws, "response.done")
            asked = fake.last.body
            system = " ".join(m["content"] for m in asked["messages"] if m["role"] == "system")
            assert "Speak like a ship's captain." in system
            offered = {t["function"]["name"] for t in asked["tools"]}
            assert {"get_weather", "book_appointment"} <= offered
            (call,) = done["response"]["output"]
            assert call["type"] == "function_call" and call["call_id"] == "call_w1"
            assert json.loads(call["arguments"]) == {"city": "Paris"}
            arguments = next(e for e in seen if e["type"] == "response.function_call_arguments.done")
            assert arguments["name"] == "get_weather"

            fake.reply_text("Aye, it is 21 degrees in Paris.")
            output = {"type": "function_call_output", "call_id": "call_w1", "output": '{"temp_c": 21}'}
            await ws.send(json.dumps({"type": "conversation.item.create", "item": output}))
            await ws.send(json.dumps({"type": "response.create"}))
            done, _ = await _until(ws, "response.done")
            assert done["response"]["status"] == "completed"
            assert done["response"]["output"][0]["content"][0]["text"] == "Aye, it is 21 degrees in Paris."
            history = fake.last.body["messages"]
            assert history[-2]["role"] == "assistant" and history[-2]["tool_calls"][0]["id"] == "call_w1"
            assert history[-1] == {"role": "tool", "tool_call_id": "call_w1", "content": '{"temp_c": 21}'}

            fake.reply_text("You are welcome.")
            await _say(ws, "Thanks!")
            done, _ = await _until(ws, "response.done")
            assert done["response"]["output"][0]["content"][0]["text"] == "You are welcome."
            assert fake.last.body["messages"][-1] == {"role": "user", "content": "Thanks!"}

            # a call whose output never came is not sent back to the model (it would refuse the history)
            fake.reply_tool_calls([FakeToolCall("get_weather", {"city": "Rome"}, id="call_w2")])
            await _say(ws, "And in Rome?")
            await _until(ws, "response.done")
            fake.reply_text("Fair winds.")
            await _say(ws, "Never mind.")
            await _until(ws, "response.done")
            ids = [c["id"] for m in fake.last.body["messages"] for c in m.get("tool_calls") or ()]
            assert ids == ["call_w1"]

            bad = {"type": "function", "name": "book_appointment", "parameters": {}}
            await ws.send(json.dumps({"type": "session.update", "session": {"tools": [bad]}}))
            error, _ = await _until(ws, "error")
            assert error["error"]["param"] == "session.tools[0].name"

    with LiveServer(settings) as live:
        asyncio.run(run(live.url.replace("http://", "ws://") + "/v1/realtime"))


@pytest.mark.parametrize("item", [{"type": "function_call_output", "output": "{}"}])
def test_a_tool_output_without_its_call_id_is_an_error(base_url: str, item: dict[str, Any]) -> None:
    async def run() -> None:
        async with websockets.connect(base_url.replace("http://", "ws://") + "/v1/realtime") as ws:
            await _until(ws, "session.created")
            await ws.send(json.dumps({"type": "session.update", "session": {"tools": [WEATHER]}}))
            error, _ = await _until(ws, "error")
            assert error["error"]["code"] == "tools_unsupported"  # the local model has no tool calls
            assert "openai or groq" in error["error"]["message"]
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            error, _ = await _until(ws, "error")
            assert error["error"]["code"] == "missing_required_parameter"
            assert error["error"]["param"] == "item.call_id"

    asyncio.run(run())

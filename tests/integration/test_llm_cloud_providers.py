"""The OpenAI and Groq LLM providers, through their real SDKs, against a local chat-completions fake.

Every test runs for both providers: the openai SDK talks to ``<fake>/v1`` (it posts to
``/v1/chat/completions``), the groq SDK to the fake's root (it posts to ``/openai/v1/chat/completions``;
``groq.base_url`` is written OpenAI-style, ``<host>/openai/v1``, like the config default).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from backend.core.config import Settings, parse_config
from backend.core.errors import ConfigError, ProviderError
from backend.core.net import free_port
from backend.llm.base import ChatMessage, LLMEvent, LLMOptions, LLMProvider, ToolCall, ToolSpec
from backend.llm.factory import build_llm
from backend.llm.providers.openai_llm import GroqLLM, OpenAILLM
from tests.fakes.openai_chat import FakeChatServer, FakeToolCall

KEY = "sk-test-key"
PROVIDERS = ("openai", "groq")
ENV_VAR = {"openai": "OPENAI_API_KEY", "groq": "GROQ_API_KEY"}
PATH = {"openai": "/v1/chat/completions", "groq": "/openai/v1/chat/completions"}
CLASSES = {"openai": OpenAILLM, "groq": GroqLLM}


WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "units": {"type": "string", "enum": ["metric", "imperial"]},
        },
        "required": ["city"],
    },
)
TIMER = ToolSpec(
    name="set_timer",
    description="Start a countdown timer.",
    parameters={
        "type": "object",
        "properties": {"seconds": {"type": "integer"}, "label": {"type": "string"}},
        "required": ["seconds"],
    },
)
HELLO = [ChatMessage("system", "You are Mithi, a voice assistant."), ChatMessage("user", "Say hello.")]


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeChatServer]:
    with FakeChatServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture(params=PROVIDERS)
def kind(request: pytest.FixtureRequest) -> str:
    """Every test that takes ``kind`` runs once per provider."""
    return str(request.param)


@pytest.fixture
def fake(fake_server: FakeChatServer) -> FakeChatServer:
    fake_server.reset(api_key=KEY)
    return fake_server


def base_url(kind: str, fake: FakeChatServer) -> str:
    return fake.openai_base_url if kind == "openai" else f"{fake.url}/openai/v1"


def make_settings(kind: str, fake: FakeChatServer | None, model: str | None = None, **block: Any) -> Settings:
    cfg: dict[str, Any] = {"api_key": KEY, "llm_model": f"{kind}-block-model", "timeout_seconds": 5}
    if fake is not None:
        cfg["base_url"] = base_url(kind, fake)
    cfg.update(block)
    return parse_config({"llm": {"provider": kind, "model": model}, kind: cfg}, "test config")


@asynccontextmanager
async def loaded(
    kind: str, fake: FakeChatServer | None, model: str | None = None, **block: Any
) -> AsyncIterator[LLMProvider]:
    llm = build_llm(make_settings(kind, fake, model, **block))
    await llm.load()
    try:
        yield llm
    finally:
        await llm.close()


async def collect(
    llm: LLMProvider,
    messages: list[ChatMessage],
    options: LLMOptions | None = None,
    into: list[LLMEvent] | None = None,
    limit: float = 15,
) -> list[LLMEvent]:
    """All events of one stream (also appended to ``into`` as they arrive); never hangs past ``limit``."""
    events = into if into is not None else []

    async def run() -> None:
        async for event in llm.stream(messages, options or LLMOptions()):
            events.append(event)

    await asyncio.wait_for(run(), limit)
    return events


def text_of(events: list[LLMEvent]) -> str:
    return "".join(e.text for e in events)


# --------------------------------------------------------------------------- happy paths


async def test_streams_text_in_deltas(kind: str, fake: FakeChatServer) -> None:
    reply = "Hello there, I am Mithi and I can help you today."
    fake.reply_text(reply)
    async with loaded(kind, fake) as llm:
        assert isinstance(llm, CLASSES[kind]) and llm.name == kind
        events = await collect(llm, HELLO, LLMOptions(max_tokens=64, temperature=0.3))

    text_events = [e for e in events if e.text]
    assert len(text_events) >= 5, "the reply should arrive as several deltas, not at once"
    assert text_of(events) == reply
    assert events[-1] == LLMEvent(text="", tool_calls=(), finish_reason="stop")

    [request] = fake.requests
    assert request.method == "POST" and request.path == PATH[kind]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == f"{kind}-block-model"
    assert body["stream"] is True
    assert body["max_tokens"] == 64
    assert body["temperature"] == 0.3
    assert body["messages"] == [
        {"role": "system", "content": "You are Mithi, a voice assistant."},
        {"role": "user", "content": "Say hello."},
    ]
    assert "tools" not in body and "stop" not in body


async def test_stop_sequences_and_model_override(kind: str, fake: FakeChatServer) -> None:
    fake.reply_text("Short answer.", finish_reason="length")
    async with loaded(kind, fake, model="override-model") as llm:
        assert llm.capabilities().model == "override-model"
        event = await llm.complete(HELLO, LLMOptions(max_tokens=8, stop=("\nUser:", "###")))
    assert event.text == "Short answer." and event.finish_reason == "length"
    body = fake.last.body
    assert body["model"] == "override-model"
    assert body["stop"] == ["\nUser:", "###"]
    assert body["max_tokens"] == 8


async def test_tool_calls_assembled_from_fragments(kind: str, fake: FakeChatServer) -> None:
    weather = {"city": "Pune", "units": "metric"}
    timer = {"seconds": 90, "label": 'tea "strong", {not json} ünïcode'}
    fake.reply_tool_calls(
        [FakeToolCall("get_weather", weather, id="call_w1"), FakeToolCall("set_timer", timer, id="call_t2")]
    )
    async with loaded(kind, fake) as llm:
        events = await collect(llm, HELLO, LLMOptions(tools=(WEATHER, TIMER)))

    assert text_of(events) == ""
    assert events[-1].finish_reason == "tool_calls"
    assert events[-1].tool_calls == (
        ToolCall(id="call_w1", name="get_weather", arguments=weather),
        ToolCall(id="call_t2", name="set_timer", arguments=timer),
    )
    # the arguments really arrived as several string fragments per call
    fragments = [
        tc for chunk in fake.last.chunks for tc in chunk["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert sum(1 for f in fragments if f["index"] == 1 and "id" not in f) >= 3
    assert fake.last.body["tools"] == [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in (WEATHER, TIMER)
    ]


async def test_text_then_whole_tool_call(kind: str, fake: FakeChatServer) -> None:
    """Groq-style: some text first, then each call in a single delta with its complete arguments."""
    fake.reply_tool_calls(
        [FakeToolCall("get_weather", {"city": "Kochi"}, id="call_k")],
        text="Let me check that.",
        fragment_arguments=False,
    )
    async with loaded(kind, fake) as llm:
        events = await collect(llm, HELLO, LLMOptions(tools=(WEATHER,)))
    assert text_of(events) == "Let me check that."
    assert events[-1].tool_calls == (ToolCall("call_k", "get_weather", {"city": "Kochi"}),)
    assert events[-1].finish_reason == "tool_calls"


async def test_tool_conversation_serialised(kind: str, fake: FakeChatServer) -> None:
    fake.reply_text("It is 31 degrees in Pune.")
    messages = [
        ChatMessage("system", "You are Mithi."),
        ChatMessage("user", "Weather in Pune?"),
        ChatMessage("assistant", "", tool_calls=(ToolCall("call_1", "get_weather", {"city": "Pune"}),)),
        ChatMessage("tool", '{"temp_c": 31}', tool_call_id="call_1", name="get_weather"),
    ]
    async with loaded(kind, fake) as llm:
        events = await collect(llm, messages, LLMOptions(tools=(WEATHER,)))
    assert text_of(events) == "It is 31 degrees in Pune."

    sent = fake.last.body["messages"]
    assert sent[:2] == [
        {"role": "system", "content": "You are Mithi."},
        {"role": "user", "content": "Weather in Pune?"},
    ]
    assistant, tool = sent[2], sent[3]
    assert assistant["role"] == "assistant" and not assistant.get("content")
    [call] = assistant["tool_calls"]
    assert call["id"] == "call_1" and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"city": "Pune"}
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 31}'}


async def test_status_capabilities_and_lifecycle(kind: str, fake: FakeChatServer) -> None:
    llm = build_llm(make_settings(kind, fake, api_key="sk-secret-never-shown"))
    caps = llm.capabilities()
    assert caps.streaming and caps.tool_calling and caps.context_tokens >= 8192
    assert caps.model == f"{kind}-block-model"
    await llm.load()
    client = llm._client  # type: ignore[attr-defined]
    await llm.load()  # idempotent: one client, one connection pool
    assert llm._client is client  # type: ignore[attr-defined]
    status = llm.status()
    assert status["model"] == f"{kind}-block-model" and status["base_url"] == base_url(kind, fake)
    assert "sk-secret" not in repr(status) and "sk-secret" not in repr(caps)
    assert fake.requests == [], "load() must not call the API"
    await llm.close()
    assert llm.status()["loaded"] is False


# --------------------------------------------------------------------------- keys and URLs


async def test_missing_key_with_official_url_is_a_config_error(kind: str) -> None:
    llm = build_llm(make_settings(kind, None, api_key=""))  # the vendor's own base_url
    with pytest.raises(ConfigError) as info:
        await llm.load()
    message = str(info.value)
    assert ENV_VAR[kind] in message and f"{kind}.api_key" in message


async def test_empty_key_with_local_url_is_fine(kind: str, fake: FakeChatServer) -> None:
    fake.reset(api_key=None)  # a local server (Ollama, vLLM, ...) that wants no key
    fake.reply_text("No key needed here.")
    async with loaded(kind, fake, api_key="") as llm:
        events = await collect(llm, HELLO)
    assert text_of(events) == "No key needed here."
    assert fake.last.headers["authorization"] == "Bearer not-needed"


async def test_bad_key_is_a_provider_error_naming_401_and_env_var(kind: str, fake: FakeChatServer) -> None:
    wrong = "sk-wrong-key-1234567890"
    async with loaded(kind, fake, api_key=wrong) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO)
    err = info.value
    # the same verdict as every hosted provider (backend.providers.hosted.status_verdict)
    assert (err.status_code, err.code, err.retryable, err.failover) == (
        502,
        "provider_auth_failed",
        False,
        True,
    )
    assert "401" in err.message and "authentication failed" in err.message
    assert ENV_VAR[kind] in err.message and err.message.startswith(f"{kind}:")
    assert "Incorrect API key provided" in err.message  # the vendor's message
    assert wrong not in err.message
    assert len(fake.requests) == 1, "a 401 must not be retried"


async def test_groq_accepts_bare_host_base_url(fake: FakeChatServer) -> None:
    """groq.base_url may also be the bare host, the groq SDK's own convention."""
    fake.reply_text("bare host works")
    async with loaded("groq", fake, base_url=fake.groq_base_url) as llm:
        assert text_of(await collect(llm, HELLO)) == "bare host works"
    assert fake.last.path == "/openai/v1/chat/completions"


# --------------------------------------------------------------------------- failures


async def test_rate_limit_then_success_retries(kind: str, fake: FakeChatServer) -> None:
    fake.fail(429, times=1, retry_after=0.01)
    fake.reply_text("Second time lucky.")
    async with loaded(kind, fake, max_retries=2) as llm:
        events = await collect(llm, HELLO)
    assert text_of(events) == "Second time lucky."
    assert [r.status for r in fake.requests] == [429, 200]


async def test_persistent_rate_limit(kind: str, fake: FakeChatServer) -> None:
    fake.fail(429, times=10, retry_after=0.01)
    async with loaded(kind, fake, max_retries=2) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO)
    assert "429" in info.value.message and "rate limit" in info.value.message.lower()
    assert len(fake.requests) == 3


async def test_persistent_server_error(kind: str, fake: FakeChatServer) -> None:
    fake.fail(500, times=10)
    async with loaded(kind, fake, max_retries=2) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO)
    message = info.value.message
    assert "500" in message and "The server had an error" in message and message.startswith(kind)
    assert len(fake.requests) == 3, "max_retries + 1 attempts"


async def test_bad_request_is_not_retried(kind: str, fake: FakeChatServer) -> None:
    fake.fail(400, times=5, message="'messages' must contain at least one user message")
    async with loaded(kind, fake, max_retries=2) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO)
    assert "400" in info.value.message and "at least one user message" in info.value.message
    assert len(fake.requests) == 1


async def test_timeout(kind: str, fake: FakeChatServer) -> None:
    timeout, retries = 0.5, 1
    fake.slow(seconds=10, times=5)
    async with loaded(kind, fake, timeout_seconds=timeout, max_retries=retries) as llm:
        start = time.monotonic()
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO)
        elapsed = time.monotonic() - start
    assert "timed out" in info.value.message
    assert len(fake.requests) == retries + 1
    # timeout per attempt, plus the SDK's backoff (at most 0.5 s before the first retry), plus slack
    assert timeout * (retries + 1) <= elapsed < timeout * (retries + 1) + 0.5 + 1.0


async def test_stall_mid_stream_times_out(kind: str, fake: FakeChatServer) -> None:
    fake.stall("one two three four five", after_chunks=3, seconds=10)
    events: list[LLMEvent] = []
    async with loaded(kind, fake, timeout_seconds=0.5, max_retries=2) as llm:
        start = time.monotonic()
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO, into=events)
        elapsed = time.monotonic() - start
    assert "timed out" in info.value.message
    assert text_of(events) == "one two", "the deltas before the stall were delivered as they came"
    assert elapsed < 2.0
    assert len(fake.requests) == 1, "a broken stream is not silently re-requested"


@pytest.mark.parametrize("mode", ["abort", "eof"])
async def test_dropped_stream_is_an_error(kind: str, mode: str, fake: FakeChatServer) -> None:
    """The connection closes before [DONE]: truncated chunked body ("abort") or a clean close ("eof")."""
    fake.drop("this reply is cut off half way through", after_chunks=4, mode=mode)  # type: ignore[arg-type]
    events: list[LLMEvent] = []
    async with loaded(kind, fake) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO, into=events, limit=10)
    message = info.value.message
    assert message.startswith(f"{kind}:")
    assert "broke while streaming" in message or "ended before the model finished" in message
    assert all(e.finish_reason is None for e in events), "no event may claim the reply finished"
    assert len(fake.requests) == 1


async def test_malformed_chunk(kind: str, fake: FakeChatServer) -> None:
    fake.malformed()
    async with loaded(kind, fake) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO)
    assert "malformed" in info.value.message


async def test_invalid_tool_arguments_json(kind: str, fake: FakeChatServer) -> None:
    fake.reply_tool_calls([FakeToolCall("get_weather", '{"city": "Pu', id="call_bad")])
    async with loaded(kind, fake) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO, LLMOptions(tools=(WEATHER,)))
    assert "get_weather" in info.value.message and "not valid JSON" in info.value.message


async def test_connection_refused(kind: str) -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/v1" if kind == "openai" else f"http://127.0.0.1:{port}/openai/v1"
    async with loaded(kind, None, base_url=url, max_retries=0) as llm:
        with pytest.raises(ProviderError) as info:
            await collect(llm, HELLO, limit=10)
    assert "cannot connect" in info.value.message and str(port) in info.value.message


async def test_fake_answers_non_streaming_requests(kind: str, fake: FakeChatServer) -> None:
    """The fake itself: a request without ``stream`` gets a whole chat.completion the SDK can parse."""
    fake.reply_tool_calls([FakeToolCall("get_weather", {"city": "Pune"}, id="call_1")], text="Checking.")
    if kind == "openai":
        from openai import AsyncOpenAI

        client: Any = AsyncOpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0)
    else:
        from groq import AsyncGroq

        client = AsyncGroq(api_key=KEY, base_url=fake.groq_base_url, max_retries=0)
    try:
        completion = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "weather?"}]
        )
    finally:
        await client.close()
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    assert choice.message.tool_calls[0].function.arguments == '{"city": "Pune"}'
    assert "stream" not in fake.last.body and fake.last.path == PATH[kind]


async def test_consumer_may_stop_early(kind: str, fake: FakeChatServer) -> None:
    """Breaking out of the stream closes the response; the client stays usable."""
    fake.reply_text("one two three four five six")
    fake.reply_text("again")
    async with loaded(kind, fake) as llm:
        stream = llm.stream(HELLO, LLMOptions())
        async for event in stream:
            if event.text:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        assert text_of(await collect(llm, HELLO)) == "again"

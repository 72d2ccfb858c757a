"""Models served apart from the app (docs/DEPLOY.md): two app processes whose `llm.provider: openai`
points at one shared `python -m llama_cpp.server` running the bundled Gemma 3 270M GGUF, with one shared
Redis. The base model has no chat template, so the apps use `openai.prompt_style: completion`
(`/v1/completions` with the same plain-text prompt as the in-process model). App 2's speech-to-text is
moved out as well: its `groq` STT engine posts to app 1's OpenAI-compatible `/v1/audio/transcriptions`.

Parallel slots (deploy/llm-slots.conf): tests/integration/test_llm_slots.py.

Everything is real: llama_cpp.server, `python -m backend` and redis-server subprocesses, HTTP and the
/voice WebSocket. Nothing here loads the GGUF inside an app process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.core.config import parse_config
from backend.core.errors import ConfigError
from backend.llm.base import ChatMessage, LLMOptions
from backend.llm.factory import build_llm
from backend.realtime.client import VoiceClient
from backend.speech.base import TTSConfig
from backend.speech.factory import build_tts
from bench.processes import AppProcess, LlamaServer, RedisServer, app_config


@dataclass
class Topology:
    llm: LlamaServer
    apps: list[AppProcess]


@pytest.fixture(scope="module")
def topology(
    assembled_models: Path, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    tmp = tmp_path_factory.mktemp("shared-llm")
    llm = LlamaServer(assembled_models / "llm" / "gemma-3-270m-q4_k_m.gguf", threads=1, log=tmp / "llm.log")
    with llm, RedisServer(tmp / "redis") as redis:
        apps = [AppProcess(tmp / f"app{i}.yml", tmp / f"app{i}.log") for i in range(2)]
        for i, app in enumerate(apps):
            overrides: dict[str, dict[str, object]] = {
                "llm": {"provider": "openai", "model": "", "max_tokens": 32},
                "openai": {
                    "base_url": llm.base_url,
                    "api_key": "",
                    "llm_model": llm.alias,
                    "prompt_style": "completion",
                },
                "redis": {"url": redis.url},
                "server": {"host": "127.0.0.1"},
                "whisper_local": {"preload": []},  # typed and short spoken turns: tiny.en only
                "piper": {"noise_scale": 0.0, "noise_w_scale": 0.0},  # the same text, the same length
                "paths": {
                    "models_dir": str(assembled_models),
                    "data_dir": str(tmp / f"data{i}"),
                    "web_dist": str(web_dist),
                },
            }
            if i == 1:  # STT moved out too: worker B's `groq` engine posts to worker A's /v1 (DEPLOY.md)
                overrides["stt"] = {"provider": "groq", "fallback": []}
                overrides["groq"] = {"base_url": f"{apps[0].url}/v1", "api_key": "", "stt_model": "whisper-1"}
            app_config(app.config, overrides)
        try:
            for app in apps:
                app.start()
            for app in apps:
                app.wait_ready()
            yield Topology(llm, apps)
        finally:
            for app in apps:
                app.stop()


def chat(base: str, session_id: str, text: str) -> dict:
    response = httpx.post(f"{base}/api/chat", json={"session_id": session_id, "text": text}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_apps_use_the_shared_server_not_a_local_model(topology: Topology) -> None:
    for app in topology.apps:
        health = httpx.get(f"{app.url}/health", timeout=10).json()
        llm = health["providers"]["llm"]
        assert "openai" in str(llm), llm
        assert topology.llm.base_url in str(llm), llm
        assert "llama_cpp" not in str(llm), llm  # no GGUF loaded in the app worker


def test_memory_is_shared_across_apps_through_the_shared_model(topology: Topology) -> None:
    first, second = topology.apps
    session = f"shared-{uuid.uuid4().hex[:8]}"
    told = chat(first.url, session, "Hi, my name is Priya.")
    assert told["reply"].strip() and told["provider"] == "openai", told
    answer = chat(second.url, session, "What is my name?")  # answered from the facts in Redis
    assert "Priya" in answer["reply"], answer
    follow_up = chat(second.url, session, "Thanks a lot.")  # the shared model, with that history
    assert follow_up["reply"].strip() and follow_up["provider"] == "openai", follow_up
    history = httpx.get(f"{first.url}/api/sessions/{session}", timeout=10).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 3
    assert history["facts"]["name"] == "Priya"


def test_stt_moved_out_worker_b_transcribes_through_worker_a(topology: Topology) -> None:
    first, second = topology.apps
    spoken = httpx.post(
        f"{first.url}/api/tts/generate", json={"text": "Please book a table for two people."}, timeout=60
    )
    assert spoken.status_code == 200, spoken.text
    response = httpx.post(
        f"{second.url}/api/stt/transcribe", files={"file": ("q.wav", spoken.content, "audio/wav")}, timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "groq" and "table for two" in body["text"].lower(), body
    assert '"POST /v1/audio/transcriptions HTTP/1.1" 200' in first.log.read_text(errors="replace")


async def test_tts_moved_out_the_openai_engine_speaks_through_worker_a(topology: Topology) -> None:
    """`tts.provider: openai` at another Mithivoices's /v1/audio/speech: its pcm is OpenAI's 24 kHz (it
    was the voice's 22050 Hz, which the engine, assuming 24 kHz, would have played ~9 % fast)."""
    first = topology.apps[0]
    text = "Your table is booked for seven tonight."
    async with httpx.AsyncClient(timeout=60) as http:  # the same request as WAV, at the voice's own rate
        body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "wav"}
        wav = await http.post(f"{first.url}/v1/audio/speech", json=body)
        assert wav.status_code == 200, wav.text
    native_rate = int(wav.headers["x-sample-rate"])
    assert native_rate == 22050
    spoken_s = (len(wav.content) - 44) / 2 / native_rate

    settings = parse_config(
        {"tts": {"provider": "openai"}, "openai": {"base_url": f"{first.url}/v1", "api_key": ""}},
        "test config",
    )
    engine = build_tts("openai", settings)
    await engine.load()
    try:
        audio = await engine.synthesize_pcm(text, TTSConfig(voice_id="alloy", language="en"))
    finally:
        await engine.close()
    assert audio.sample_rate == 24000
    heard_s = len(audio.pcm) / 2 / audio.sample_rate
    assert abs(heard_s - spoken_s) < 0.03 * spoken_s, f"{heard_s:.2f} s heard for {spoken_s:.2f} s spoken"
    assert '"POST /v1/audio/speech HTTP/1.1" 200' in first.log.read_text(errors="replace")


def test_a_factual_question_gets_a_real_answer_over_completions(topology: Topology) -> None:
    reply = chat(topology.apps[1].url, f"shared-{uuid.uuid4().hex[:8]}", "What is the capital of France?")
    assert "Paris" in reply["reply"], reply


def test_turns_on_both_apps_at_once_are_all_answered(topology: Topology) -> None:
    """Four conversations at once, two per app: the shared server queues them (llama_cpp.server generates
    for one request at a time) and every one is answered."""

    async def run() -> list[dict]:
        async with httpx.AsyncClient(timeout=90) as http:

            async def one(base: str) -> dict:
                body = {"session_id": f"shared-{uuid.uuid4().hex[:8]}", "text": "What is the largest planet?"}
                response = await http.post(f"{base}/api/chat", json=body)
                assert response.status_code == 200, response.text
                return response.json()

            return await asyncio.gather(*(one(app.url) for app in topology.apps for _ in range(2)))

    start = time.perf_counter()
    replies = asyncio.run(run())
    elapsed = time.perf_counter() - start
    assert len(replies) == 4
    for reply in replies:
        assert "Jupiter" in reply["reply"], reply
    assert elapsed < 60, f"four turns took {elapsed:.1f} s"


async def test_voice_turn_on_the_other_app_remembers(topology: Topology) -> None:
    """/voice on app 2 continues a conversation started over REST on app 1: the reply is generated by the
    shared server, spoken by app 2's own TTS, and knows the name."""
    first, second = topology.apps
    session = f"shared-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{first.url}/api/chat", json={"session_id": session, "text": "My name is Priya."}
        )
        assert response.status_code == 200, response.text
    async with VoiceClient.connect(second.ws_url, session_id=session) as client:
        await client.send_json(type="text.input", text="What is my name?")
        done = await client.wait_for("response.done", timeout=60)
        assert "Priya" in done["text"], done
        assert client.received.audio_bytes(), "the reply was spoken (binary audio frames)"


async def test_completion_style_streams_one_line_from_the_real_server(topology: Topology) -> None:
    settings = parse_config(
        {
            "llm": {"provider": "openai"},
            "openai": {"base_url": topology.llm.base_url, "llm_model": "gemma", "prompt_style": "completion"},
        },
        "test config",
    )
    llm = build_llm(settings)
    await llm.load()
    try:
        caps = llm.capabilities()
        assert caps.tool_calling is False and caps.extra["prompt_style"] == "completion"
        messages = [ChatMessage("system", "You are Mithi, a voice assistant."), ChatMessage("user", "Hello!")]
        events = [e async for e in llm.stream(messages, LLMOptions(max_tokens=40))]
    finally:
        await llm.close()
    text = "".join(e.text for e in events)
    assert len([e for e in events if e.text]) >= 2, "streamed in several deltas"
    assert text.strip() and "\n" not in text and "User:" not in text, text
    assert events[-1].finish_reason in ("stop", "length")


async def test_groq_has_no_completion_style() -> None:
    settings = parse_config(
        {"llm": {"provider": "groq"}, "groq": {"api_key": "sk-x", "prompt_style": "completion"}},
        "test config",
    )
    with pytest.raises(ConfigError, match="groq.prompt_style"):
        await build_llm(settings).load()


def test_model_server_down_is_a_clear_503_and_turns_resume_when_it_is_back(topology: Topology) -> None:
    app = topology.apps[0]
    topology.llm.stop()
    try:
        response = httpx.post(f"{app.url}/api/chat", json={"text": "Hello!"}, timeout=60)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "provider_unavailable" and "cannot connect" in error["message"], error
        assert httpx.get(f"{app.url}/health/ready", timeout=10).status_code == 200  # REST TTS/STT still serve
    finally:
        topology.llm.start()  # the same port: the workers' base_url is unchanged
        topology.llm.wait_ready()
    reply = chat(app.url, f"shared-{uuid.uuid4().hex[:8]}", "What is the capital of France?")
    assert "Paris" in reply["reply"], reply

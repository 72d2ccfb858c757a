"""The phrase cache on a real embedded Redis, and over /voice: a phrase said again comes from Redis
(the hit is counted in /metrics) with the same audio."""

from __future__ import annotations

import uuid
from pathlib import Path

from backend.core.config import parse_config
from backend.core.redis import RedisService
from backend.engine.phrase_cache import PhraseCache
from backend.realtime.client import VoiceClient
from backend.speech.base import AudioChunk, TTSConfig
from backend.speech.catalog import Voice
from backend.speech.tts_service import ResolvedVoice
from tests.helpers.metrics import delta, scrape


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


def _voice(voice_id: str = "en_US-joe-medium", speed: float = 1.0) -> ResolvedVoice:
    voice = Voice(
        id=voice_id,
        name=voice_id,
        language="en",
        locale="en_US",
        engine="piper",
        quality="medium",
        sample_rate=22050,
        license="MIT",
        source="test",
    )
    return ResolvedVoice(_Named("piper"), voice, TTSConfig(voice_id=voice_id, language="en", speed=speed))  # type: ignore[arg-type]


async def test_stored_phrases_come_back_bounded_least_recently_used_first(tmp_path: Path) -> None:
    redis = RedisService(parse_config({"paths": {"data_dir": str(tmp_path)}}))
    await redis.start()
    try:
        cache = PhraseCache(lambda: redis.client, max_entries=2, max_chars=40)
        joe = _voice()
        audio = AudioChunk(bytes(range(256)) * 10, 22050, "Hello!")
        assert await cache.get(joe, "Hello!") is None
        await cache.put(joe, "Hello!", audio)
        hit = await cache.get(joe, "Hello!")
        assert hit is not None and hit.pcm == audio.pcm and hit.sample_rate == 22050
        # another voice, another speed or a longer text is another phrase (or none)
        assert await cache.get(_voice("en_US-lessac-medium"), "Hello!") is None
        assert await cache.get(_voice(speed=1.2), "Hello!") is None
        long = "This sentence is far too long to be kept in the phrase cache."
        await cache.put(joe, long, audio)
        assert await cache.get(joe, long) is None
        # bounded: a third phrase pushes out the least recently used one
        await cache.put(joe, "Goodbye.", AudioChunk(b"\x01\x00" * 100, 22050))
        assert await cache.get(joe, "Hello!") is not None  # used now: "Goodbye." is the oldest
        await cache.put(joe, "See you.", AudioChunk(b"\x02\x00" * 100, 22050))
        assert await cache.get(joe, "Goodbye.") is None
        assert await cache.get(joe, "Hello!") is not None and await cache.get(joe, "See you.") is not None
        assert await redis.client.zcard("mithi:tts:phrases") == 2
    finally:
        await redis.stop()
    # Redis gone: a miss, never an error
    assert await cache.get(joe, "Hello!") is None
    await cache.put(joe, "Hello!", audio)


async def test_a_repeated_confirmation_is_spoken_from_the_cache(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/voice"
    before = scrape(base_url)
    audio = []
    for _ in range(2):
        async with VoiceClient.connect(url, session_id=f"phrases-{uuid.uuid4().hex[:8]}") as client:
            await client.send_json(type="text.input", text="Do I have any appointments?")
            done = await client.wait_for("response.done")
            assert "no upcoming appointments" in done["text"].lower(), done
            audio.append(client.received.audio_bytes())
    after = scrape(base_url)
    assert delta(after, before, "mithi_tts_phrase_cache_total", result="hit") >= 1
    assert audio[0] and audio[0] == audio[1]

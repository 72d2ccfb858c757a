"""Speech for phrases that repeat, kept in Redis: a hit costs a Redis read instead of a synthesis.

Confirmations ("You have no upcoming appointments."), questions back ("What time would you like?"),
apologies and greetings are said again and again; LLM answers rarely are. A spoken piece of at most
`tts.phrase_cache_max_chars` characters that the voice's own engine made (not a fallback) is stored
under a key made of the provider, voice, speed, sample rate and text; every worker shares it.

Bounded: at most `tts.phrase_cache_entries` phrases (least recently used go first), each kept
`_TTL_S` after its last use. Redis trouble never fails a turn: the phrase is synthesized as if missed.
Hits and misses are counted in `mithi_tts_phrase_cache` (hit rate = hit / (hit + miss)).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from backend.core import metrics
from backend.speech.base import AudioChunk
from backend.speech.tts_service import ResolvedVoice

logger = logging.getLogger(__name__)

_PREFIX = "mithi:tts:phrase:"
_INDEX = "mithi:tts:phrases"  # sorted set: phrase key → last use (unix time)
_TTL_S = 7 * 24 * 3600


class PhraseCache:
    def __init__(self, client: Callable[[], Any], max_entries: int, max_chars: int) -> None:
        self._client = client  # the Redis client (looked up per call: it is replaced on reconnect)
        self.max_entries = max_entries
        self.max_chars = max_chars

    def wants(self, text: str) -> bool:
        return self.max_entries > 0 and 0 < len(text) <= self.max_chars

    @staticmethod
    def key(voice: ResolvedVoice, text: str) -> str:
        config = voice.config
        what = "\x1f".join(
            (voice.provider.name, voice.voice.id, f"{config.speed:g}", str(voice.voice.sample_rate), text)
        )
        return _PREFIX + hashlib.sha256(what.encode("utf-8")).hexdigest()[:32]

    async def get(self, voice: ResolvedVoice, text: str) -> AudioChunk | None:
        """The stored audio of `text` in `voice`, or None (not stored, or Redis unavailable)."""
        if not self.wants(text):
            return None
        key = self.key(voice, text)
        try:
            client = self._client()
            stored = await client.hgetall(key)
            if stored:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.zadd(_INDEX, {key: time.time()})
                    pipe.expire(key, _TTL_S)
                    await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - a cache: synthesize instead
            logger.debug("phrase cache read skipped: %s", exc)
            return None
        if not stored or b"pcm" not in stored:
            metrics.phrase_cache("miss")
            return None
        metrics.phrase_cache("hit")
        return AudioChunk(
            pcm=stored[b"pcm"],
            sample_rate=int(stored[b"rate"]),
            text=text,
            provider=stored.get(b"provider", b"").decode(),
        )

    async def put(self, voice: ResolvedVoice, text: str, chunk: AudioChunk) -> None:
        """Store the whole audio of `text`; the least recently used phrases beyond the bound go."""
        if not self.wants(text) or not chunk.pcm:
            return
        key = self.key(voice, text)
        try:
            client = self._client()
            async with client.pipeline(transaction=False) as pipe:
                pipe.hset(
                    key, mapping={"pcm": chunk.pcm, "rate": chunk.sample_rate, "provider": chunk.provider}
                )
                pipe.expire(key, _TTL_S)
                pipe.zadd(_INDEX, {key: time.time()})
                pipe.zcard(_INDEX)
                *_, count = await pipe.execute()
            if count > self.max_entries:
                old = await client.zpopmin(_INDEX, count - self.max_entries)
                if old:
                    await client.delete(*(name for name, _ in old))
        except Exception as exc:  # noqa: BLE001 - a cache: the turn goes on
            logger.debug("phrase cache write skipped: %s", exc)

"""The responding side of the engine: transcript or text → agent → sentences → TTS → audio out.

A `Turn` is one response with its playback clock (what the user has heard at a moment); the
`Responder` runs a turn and sends its output, live or held back while the turn is speculative.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from backend.agents.conversation import ConversationAgent, ToolOutput, TurnOptions
from backend.agents.locale.spoken import reply_code, speak_rupees
from backend.core import metrics
from backend.core.config import Settings
from backend.core.cpu import ANSWERING, FIRST_AUDIO
from backend.core.errors import MithiError, RateLimited
from backend.core.usage import UsageMeter
from backend.engine.events import (
    Error,
    ProviderFailover,
    ResponseAudioStarted,
    ResponseDone,
    ResponseSentence,
    ResponseTextDelta,
    ServerEvent,
    TranscriptFinal,
)
from backend.engine.phrase_cache import PhraseCache
from backend.llm.base import ToolSpec
from backend.media.audio import StreamResampler
from backend.media.language_id import text_language
from backend.media.text import SentenceChunker, strip_markup
from backend.providers.failover import FailoverLog, attach, current_log
from backend.speech.base import AudioChunk, Transcription
from backend.speech.tts_service import ResolvedVoice, TTSService

logger = logging.getLogger(__name__)

_CONTEXT_CHARS = 500  # previous_text sent with each sentence (ElevenLabs keeps the prosody continuous)

Send = Callable[[ServerEvent], Awaitable[None]]
SendAudio = Callable[[bytes, str], Awaitable[None]]
Transcribe = Callable[[np.ndarray], Awaitable[Transcription]]


@dataclass
class Turn:
    """One response, and what of it the user has heard so far.

    The client plays audio as it arrives; the server sends it faster than real time, so what has been
    *heard* at a moment is computed from a playback clock: each sentence's audio ends at
    `playback start + duration of all audio sent up to and including it`, and a sentence cut partway
    counts the share of its words that its elapsed playback covers.
    """

    id: str
    transcript: str = ""
    # (text, playback start, playback end) per sentence, perf_counter seconds on the playback clock
    sentences: list[tuple[str, float, float]] = field(default_factory=list)
    sentence_start: float | None = None  # playback start of the sentence whose audio is being sent
    in_memory: bool = False  # the agent has stored the user message: an interruption must be recorded
    latency: dict[str, float] = field(default_factory=dict)
    playback_start: float | None = None
    audio_seconds: float = 0.0
    interrupted: bool = False
    ended_at: float = field(default_factory=time.perf_counter)  # end of the user's turn (latency origin)
    speculative: bool = False  # started at a pause, before the end of the user's turn was confirmed
    held: bool = False  # output is kept in `outbox` until the turn is released
    outbox: list[tuple[str, Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    memory_since: float = 0.0  # time.time() when the turn started (to retract a discarded speculation)
    providers: dict[str, Any] = field(default_factory=dict)  # who served: stt, llm, tts (in order)
    skips_told: set[tuple[str, str, str]] = field(default_factory=set)  # circuit_open failovers sent

    @property
    def playback_until(self) -> float:
        return (self.playback_start or 0.0) + self.audio_seconds

    def heard(self, at: float) -> str:
        """What had been played by `at`: whole sentences, then the words of the sentence in progress
        that its elapsed share of playback covers (rounded down: never claim an unheard word)."""
        heard: list[str] = []
        for text, start, end in self.sentences:
            if end <= at:
                heard.append(text)
                continue
            if start < at < end:
                words = text.split()
                heard.extend(words[: int(len(words) * (at - start) / (end - start))])
            break
        return " ".join(heard)

    def all_text(self) -> str:
        return " ".join(text for text, _, _ in self.sentences)


@dataclass
class ResponseOptions:
    """How replies are made; the session changes these on `update`."""

    language: str | None = None  # None: the language the user spoke (STT detection)
    voice_id: str | None = None  # None: the language's default voice
    speed: float | None = None
    speak: bool = True  # False: text only (no TTS, no audio)
    instructions: str | None = None  # the client's own instructions to the agent (Realtime API)
    client_tools: tuple[ToolSpec, ...] = ()  # tools the client runs itself (Realtime API session.tools)


class Responder:
    """Runs turns: STT result or text → agent → sentences → TTS → audio, through `send`/`send_audio`."""

    def __init__(
        self,
        settings: Settings,
        tts: TTSService,
        agent: ConversationAgent,
        memory_id: str,
        options: ResponseOptions,
        output_rate: int,
        transcribe: Transcribe,
        send: Send,
        send_audio: SendAudio,
        on_quota: Callable[[RateLimited], Awaitable[None]],
        stt_name: str,
        meter: UsageMeter | None = None,
        owner: Hashable | None = None,
    ) -> None:
        self.settings = settings
        self.owner = self if owner is None else owner  # whose reply this is, for `ANSWERING`
        self.cfg = settings.realtime
        self.tts = tts
        self.agent = agent
        self.memory_id = memory_id
        self.options = options
        self.output_rate = output_rate
        self.transcribe = transcribe
        self.send = send
        self.send_audio = send_audio
        self.on_quota = on_quota
        self.stt_name = stt_name
        self.meter = meter  # limits.tts_chars_per_day / stt_seconds_per_day of the caller's key
        self.failover_log = FailoverLog()  # the session's own (provider chains report here)
        tts_cfg = settings.tts
        self.phrases = PhraseCache(
            lambda: agent.redis.client, tts_cfg.phrase_cache_entries, tts_cfg.phrase_cache_max_chars
        )

    def voice(self) -> ResolvedVoice:
        opts = self.options
        return self.tts.resolve(opts.voice_id, None if opts.voice_id else opts.language, opts.speed)

    # ------------------------------------------------------------------ one turn
    async def respond(
        self,
        turn: Turn,
        audio: np.ndarray | None,
        text: str | None,
        transcription: asyncio.Task[Transcription] | None,
        result: Transcription | None = None,
        heard: str | None = None,
        tool_outputs: tuple[ToolOutput, ...] = (),
    ) -> None:
        """Answer one user turn: an utterance (`audio`, its `transcription` task or `result`) or `text`
        (typed, or utterances heard earlier in the language `heard`), after the `tool_outputs` of client
        tools the previous turn called."""
        try:
            await self._run_turn(turn, audio, text, transcription, result, heard, tool_outputs)
        except asyncio.CancelledError:
            raise
        except RateLimited as err:  # a daily quota is used up: say so and end the session (1008)
            await self.on_quota(err)
        except MithiError as err:
            await self.emit(turn, "event", Error(code=err.code, message=err.message, fatal=False))
        except Exception as exc:  # noqa: BLE001 - one failed turn must not end the session
            logger.exception("voice turn failed")
            await self.emit(
                turn,
                "event",
                Error(code="turn_failed", message=f"the response failed: {exc}", fatal=False),
            )

    async def _run_turn(
        self,
        turn: Turn,
        audio: np.ndarray | None,
        text: str | None,
        transcription: asyncio.Task[Transcription] | None,
        result: Transcription | None,
        heard: str | None,
        tool_outputs: tuple[ToolOutput, ...] = (),
    ) -> None:
        language = self.options.language or heard
        turn_log = attach(FailoverLog())  # this turn's failovers (its speaker task inherits it)
        if audio is not None or result is not None:
            text, heard_language = await self.hear(turn, audio, transcription, result)
            language = self.options.language or heard_language
            if not text:
                await self.emit(turn, "done", {"action": None})
                return
        assert text is not None
        turn.transcript = text
        if language is None:  # typed: the language it is written in (its script; Hinglish by its words)
            language = text_language(text, self.settings.languages)
        agent_language = language if language in self.settings.languages else None
        opts = self.options
        voice = self.tts.resolve(opts.voice_id, None if opts.voice_id else agent_language, opts.speed)
        chunker = SentenceChunker(voice.voice.language)
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        limit = self.settings.agent.max_reply_sentences
        queued = {"pieces": 0, "sentences": 0}

        amounts_in = reply_code(agent_language)

        def say(piece: str) -> None:
            """Queue a piece for speech, cleaned and within the sentence limit, as memory stores it
            (rupee amounts in words of the reply's language: "₹1,250" → "बारह सौ पचास रुपये")."""
            piece = speak_rupees(" ".join(strip_markup(piece).split()), amounts_in)
            if not piece or queued["sentences"] >= limit:
                return
            sentences.put_nowait(piece)
            queued["pieces"] += 1
            if piece[-1] in ".!?…।॥":
                queued["sentences"] += 1

        out = self._speak(turn, voice, sentences) if opts.speak else self._write(turn, sentences)
        speaker = asyncio.create_task(out)
        llm_start = time.perf_counter()
        action, reply = None, ""
        with ANSWERING.running(self.owner):  # other sessions' captions and early answers wait
            try:
                turn.memory_since = turn.memory_since or time.time()
                turn.in_memory = True
                wishes = TurnOptions(opts.instructions or "", opts.client_tools, tool_outputs)
                stream = self.agent.stream_turn(self.memory_id, text, agent_language, wishes)
                async for item in stream:
                    if item.type == "delta" and item.text:
                        turn.latency.setdefault("llm_first_token", _ms(llm_start))
                        await self._report_failovers(turn, "llm")
                        await self.emit(turn, "event", ResponseTextDelta(turn_id=turn.id, text=item.text))
                        for piece in chunker.feed(item.text):
                            say(piece)
                    elif item.result is not None:
                        action = item.result.action
                        reply = item.result.reply
                await self._report_failovers(turn, "llm")
                if "llm" in turn_log.served:
                    turn.providers["llm"] = turn_log.served["llm"]
                for piece in chunker.flush():
                    say(piece)
                if not queued["pieces"] and reply:  # nothing speakable streamed: say the stored reply
                    for piece in chunker.feed(reply) + chunker.flush():
                        say(piece)
                sentences.put_nowait(None)
                await speaker
            finally:
                if not speaker.done():
                    speaker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await speaker
        await self.emit(turn, "done", {"action": action})

    async def hear(
        self,
        turn: Turn,
        audio: np.ndarray | None,
        transcription: asyncio.Task[Transcription] | None = None,
        result: Transcription | None = None,
    ) -> tuple[str, str | None]:
        """Transcribe the user's utterance (or take the transcription already made), meter it and say
        `transcript.final`; returns the text and the language it was heard in."""
        if result is None:
            assert audio is not None
            result = await transcription if transcription is not None else await self.transcribe(audio)
            turn.latency["stt"] = _ms(turn.ended_at)
        if self.meter is not None:  # limits.stt_seconds_per_day: the utterance's audio seconds
            await self.meter.stt(result.duration)
        text = result.text.strip()
        turn.providers["stt"] = result.provider or self.stt_name
        await self._report_failovers(turn, "stt")
        final = TranscriptFinal(text=text, language=result.language, provider=turn.providers["stt"])
        await self.emit(turn, "event", final)
        return text, result.language

    async def _speak(self, turn: Turn, voice: ResolvedVoice, sentences: asyncio.Queue[str | None]) -> None:
        # the chain delivers at the output rate (one resampling, engine → output, whoever speaks); a phrase
        # cached at another rate is converted here
        resampler: StreamResampler | None = None
        frame_bytes = int(self.output_rate * self.cfg.output_frame_ms / 1000) * 2
        spoken_by: list[str] = turn.providers.setdefault("tts", [])
        said = ""  # the reply so far: context for engines that keep prosody across requests
        while (sentence := await sentences.get()) is not None:
            ready = time.perf_counter()
            provider = ""
            context = replace(voice, config=replace(voice.config, previous_text=said[-_CONTEXT_CHARS:]))
            if self.meter is not None:  # limits.tts_chars_per_day, sentence by sentence
                await self.meter.tts(len(sentence))
            cached = await self.phrases.get(context, sentence)
            keep = cached is None and self.phrases.wants(sentence)  # store what is synthesized now
            spoken: list[AudioChunk] = []
            with contextlib.ExitStack() as critical:
                if "tts_first_audio" not in turn.latency and cached is None:  # until the first audio,
                    critical.enter_context(FIRST_AUDIO.running())  # a local LLM generating steps aside
                speaking = (
                    _one(cached)
                    if cached
                    else self.tts.stream(sentence, context, sample_rate=self.output_rate)
                )
                async for chunk in speaking:
                    critical.close()
                    if keep:
                        spoken.append(chunk)
                    provider = chunk.provider or voice.provider.name
                    await self._report_failovers(turn, "tts")  # before the audio of the engine taking over
                    pcm = chunk.pcm
                    if chunk.sample_rate != self.output_rate:
                        if resampler is None or resampler.from_rate != chunk.sample_rate:
                            resampler = StreamResampler(chunk.sample_rate, self.output_rate)
                        pcm = await asyncio.to_thread(resampler.process, pcm)  # CPU work: off the event loop
                    turn.latency.setdefault("tts_first_audio", _ms(ready))
                    for start in range(0, len(pcm), frame_bytes):
                        await self.emit(turn, "audio", pcm[start : start + frame_bytes])
            if spoken and all(c.provider in ("", voice.provider.name) for c in spoken):
                whole = AudioChunk(b"".join(c.pcm for c in spoken), spoken[0].sample_rate, sentence)
                await self.phrases.put(context, sentence, whole)  # (only what the voice's own engine said)
            await self.emit(turn, "mark", sentence)
            said = f"{said} {sentence}".strip()
            if provider and provider not in spoken_by:
                spoken_by.append(provider)
            await self.emit(
                turn, "event", ResponseSentence(turn_id=turn.id, text=sentence, provider=provider)
            )

    async def _write(self, turn: Turn, sentences: asyncio.Queue[str | None]) -> None:
        """Text-only replies (`speak=False`): each sentence is marked as said, with no audio."""
        while (sentence := await sentences.get()) is not None:
            await self.emit(turn, "mark", sentence)
            await self.emit(turn, "event", ResponseSentence(turn_id=turn.id, text=sentence, provider=""))

    async def _report_failovers(self, turn: Turn, kind: str) -> None:
        """Send `provider.failover` for each failover of `kind` the chains reported since the last call."""
        turn_log = current_log()
        events = self.failover_log.drain(kind)
        if turn_log is not None and turn_log is not self.failover_log:
            events += turn_log.drain(kind)
        for item in events:
            if item.reason == "circuit_open":  # said once per turn, not for every sentence
                key = (item.kind, item.from_provider, item.to_provider)
                if key in turn.skips_told:
                    continue
                turn.skips_told.add(key)
            await self.emit(turn, "event", ProviderFailover.of(turn.id, item))

    # ------------------------------------------------------------------ output, live or held back
    async def emit(self, turn: Turn, kind: str, payload: Any) -> None:
        """Send a turn's output now, or hold it while the turn is speculative (not yet released)."""
        async with turn.lock:
            if turn.held:
                turn.outbox.append((kind, payload))
            else:
                await self._deliver(turn, kind, payload)

    async def _deliver(self, turn: Turn, kind: str, payload: Any) -> None:
        if kind == "event":
            await self.send(payload)
        elif kind == "audio":
            now = time.perf_counter()
            if turn.playback_start is None:
                turn.playback_start = now
                turn.latency["first_audio"] = _ms(turn.ended_at)
                await self.send(ResponseAudioStarted(turn_id=turn.id, sample_rate=self.output_rate))
            elif turn.playback_until < now:  # the client ran dry: playback resumes now
                turn.audio_seconds = now - turn.playback_start
            if turn.sentence_start is None:
                turn.sentence_start = turn.playback_until
            turn.audio_seconds += len(payload) / 2 / self.output_rate
            await self.send_audio(payload, turn.id)
        elif kind == "mark":
            end = turn.playback_until
            start = end if turn.sentence_start is None else turn.sentence_start
            turn.sentences.append((payload, start, end))
            turn.sentence_start = None
        elif kind == "done":
            turn.latency["total"] = _ms(turn.ended_at)
            if turn.transcript:  # the user said something (an empty transcript is not a turn)
                metrics.observe_voice_turn(turn.latency)
            await self.send(
                ResponseDone(
                    turn_id=turn.id,
                    transcript=turn.transcript,
                    text=turn.all_text(),
                    action=payload["action"],
                    speculative=turn.speculative,
                    latency_ms=turn.latency,
                    providers=turn.providers,
                )
            )

    async def release(self, turn: Turn) -> None:
        """The user's turn is confirmed over: what the speculative response prepared goes out now."""
        async with turn.lock:
            turn.ended_at = time.perf_counter()
            turn.latency["stt"] = 0.0  # the transcript was ready before the turn ended
            turn.held = False
            for kind, payload in turn.outbox:
                await self._deliver(turn, kind, payload)
            turn.outbox.clear()


async def _one(chunk: AudioChunk) -> AsyncIterator[AudioChunk]:
    yield chunk


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)

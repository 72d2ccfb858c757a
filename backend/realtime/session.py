"""One /voice connection: socket → Redis frame stream → VAD → STT → agent → TTS → socket.

Tasks per connection (all owned here and cancelled on disconnect):
- the reader: socket messages → validated → Redis stream (audio, commits) or handled (JSON events);
- the pipeline: Redis stream → resample to 16 kHz → VAD turn detection → speculative / partial STT;
- at most one response at a time: STT result → agent (streamed text) → sentences → TTS → audio frames.
User speech (or `response.cancel`) while a response runs interrupts it (barge-in), and the agent's memory
keeps only the sentences that were sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from backend.agents.conversation import ConversationAgent
from backend.core import metrics
from backend.core.audio import STT_SAMPLE_RATE, StreamResampler, decode_audio, pcm16_to_float
from backend.core.config import Settings
from backend.core.errors import MithiError, RateLimited
from backend.core.failover import FailoverLog, attach, current_log
from backend.core.limits import check_language, check_speed, check_text
from backend.core.text import split_first_phrase, strip_markup
from backend.core.usage import UsageMeter
from backend.core.worker import worker_id
from backend.realtime.frames import FrameStream
from backend.realtime.live_stt import LiveTranscriber
from backend.realtime.overflow import InputGuard
from backend.realtime.protocol import (
    InputAudioCommit,
    ProtocolError,
    ResponseCancel,
    SessionUpdate,
    TextInput,
    event,
    parse_client_event,
)
from backend.realtime.vad import TurnDetector, VADConfig
from backend.voice.base import STTConfig, STTProvider, Transcription
from backend.voice.tts_service import ResolvedVoice, TTSService

logger = logging.getLogger(__name__)

_CLOSE_WAIT_S = 5.0  # how long a closing session waits for its tasks to stop
_CONTEXT_CHARS = 500  # previous_text sent with each sentence (ElevenLabs keeps the prosody continuous)
_SENTENCE_END = re.compile(r"[.!?…।॥][\"'”’)\]]*(\s|$)")


class SentenceChunker:
    """Cuts streamed LLM text into speakable pieces: whole sentences, and a short first phrase."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.buffer = ""
        self.first = True

    def feed(self, text: str) -> list[str]:
        self.buffer += text
        out = []
        while (match := _SENTENCE_END.search(self.buffer)) is not None:
            piece, self.buffer = self.buffer[: match.end()].strip(), self.buffer[match.end() :]
            out.extend(self._pieces(piece))
        if self.first and not out:
            head = split_first_phrase(self.buffer.strip(), self.language)
            if len(head) > 1 and head[0][-1] in ",;:":  # a clause is complete before its sentence is
                out.append(head[0])
                self.buffer = self.buffer.strip()[len(head[0]) :]
                self.first = False
        return [p for p in out if p]

    def _pieces(self, sentence: str) -> list[str]:
        if self.first:
            self.first = False
            return split_first_phrase(sentence, self.language)
        return [sentence]

    def flush(self) -> list[str]:
        rest, self.buffer = self.buffer.strip(), ""
        return self._pieces(rest) if rest else []


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
class Speculation:
    """Work started at the first pause in the user's speech, used if the pause turns out to be the end."""

    stt: asyncio.Task[Transcription]
    starter: asyncio.Task[None] | None = None
    turn: Turn | None = None


class VoiceSession:
    def __init__(
        self,
        ws: WebSocket,
        settings: Settings,
        tts: TTSService,
        stt: STTProvider,
        agent: ConversationAgent,
        session_id: str,
        input_rate: int,
        language: str | None,
        memory_id: str | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self.ws = ws
        self.settings = settings
        self.cfg = settings.realtime
        self.tts = tts
        self.stt = stt
        self.agent = agent
        self.session_id = session_id  # what the client calls it
        self.memory_id = memory_id or session_id  # what the agent stores it under (the key's namespace)
        self.meter = meter  # limits.tts_chars_per_day / stt_seconds_per_day of the caller's key
        self.connection_id = uuid.uuid4().hex[:8]
        self.input_rate = input_rate
        self.language = language
        self.voice_id: str | None = None
        self.speed: float | None = None
        self.vad_enabled = self.cfg.vad
        assert agent.redis.client is not None
        self.frames = FrameStream(
            agent.redis.client,
            f"mithi:voice:{session_id}:{self.connection_id}:in",
            max_backlog=self.cfg.frame_backlog,
        )
        # audio faster than max_input_speed × real time, past a burst of one backlog of 20 ms frames, is shed
        self.guard = InputGuard(self.cfg.max_input_speed, self.cfg.frame_backlog * 0.02)
        self._overflow_task: asyncio.Task[None] | None = None
        self.resampler = StreamResampler(input_rate, STT_SAMPLE_RATE)
        self.vad_config = VADConfig(
            threshold=self.cfg.vad_threshold,
            min_speech_ms=self.cfg.min_speech_ms,
            hangover_ms=self.cfg.hangover_ms,
            speculative_ms=self.cfg.speculative_ms,
        )
        self.detector = TurnDetector(self.vad_config)
        self.buffer: list[np.ndarray] = []  # 16 kHz float32 audio of the current utterance (+ pre-roll)
        self.buffered = 0
        self.response: asyncio.Task[None] | None = None
        self.turn: Turn | None = None
        self.speculative: Speculation | None = None
        self.partial_task: asyncio.Task[None] | None = None
        self.partial_at = 0
        # partials from the provider's live recognition (deepgram) instead of repeated `transcribe` calls
        self.live_partials = self.cfg.partial_transcripts and stt.capabilities().streaming
        self.live: LiveTranscriber | None = None
        self.background: set[asyncio.Task[Any]] = set()
        self.failover_log = FailoverLog()
        self.output_rate = self._voice().voice.sample_rate
        self._send_lock = asyncio.Lock()
        self.closed = False

    # ------------------------------------------------------------------ sending
    async def send_event(self, kind: str, **fields: Any) -> None:
        if self.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.ws.send_text(event(kind, **fields))

    async def send_audio(self, pcm: bytes) -> None:
        if self.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.ws.send_bytes(pcm)

    async def send_error(self, code: str, message: str, fatal: bool = False) -> None:
        await self.send_event("error", code=code, message=message, fatal=fatal)

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        await self.send_event(
            "session.started",
            session_id=self.session_id,
            input_sample_rate=self.input_rate,
            output_sample_rate=self.output_rate,
            output_format="pcm16",
            language=self.language,
            vad=self.vad_enabled,
            worker=worker_id(),
        )
        attach(self.failover_log)  # provider chains report failovers here (tasks below inherit it)
        pipeline = asyncio.create_task(self._pipeline(), name=f"voice-pipeline-{self.connection_id}")
        pipeline.add_done_callback(lambda _: self.frames.release())  # never leave the reader waiting
        metrics.voice_session_started()
        try:
            await self._read_socket(pipeline)
        finally:
            metrics.voice_session_ended()
            self.closed = True
            spec, self.speculative = self.speculative, None
            with contextlib.suppress(Exception):
                await self._discard(spec)  # an answer never sent is not kept in memory
            self._stop_live()
            tasks = [pipeline, *self.background]
            if self.response is not None:
                tasks.append(self.response)
            for task in tasks:
                task.cancel()
            # bounded: a task that swallowed its cancel (redis-py can, mid-command) must not hold the
            # socket, the frame stream and the key's voice slot open
            _, stuck = await asyncio.wait(tasks, timeout=_CLOSE_WAIT_S)
            for task in stuck:
                logger.warning(
                    "voice session %s: task %s ignored its cancel", self.session_id, task.get_name()
                )
                task.cancel()
            with contextlib.suppress(Exception):
                await self.frames.delete()

    # ------------------------------------------------------------------ drain (backend.app.lifecycle)
    async def finish_turn(self, within: float) -> None:
        """Wait (at most `within` s) for the response in flight, so its last sentence is heard."""
        response = self.response
        if response is None or response.done():
            return
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(response), within)

    async def close_for_restart(self) -> None:
        """Close with 1012 (service restart): the client reconnects, another worker continues."""
        if self.closed:
            return
        await self.send_error(
            "server_restarting",
            "this server is restarting; reconnect to continue the conversation",
            fatal=True,
        )
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=1012, reason="server restarting")

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def _read_socket(self, pipeline: asyncio.Task[None]) -> None:
        while True:
            if pipeline.done():  # the pipeline died (e.g. Redis went away): end the connection
                exc = pipeline.exception()
                await self.send_error("pipeline_failed", f"the voice pipeline stopped: {exc}", fatal=True)
                await self.ws.close(code=1011)
                return
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                if message.get("bytes") is not None:
                    await self._on_binary(message["bytes"])
                elif message.get("text") is not None:
                    await self._on_text(message["text"])
            except ProtocolError as err:
                await self.send_error(err.code, err.message, err.fatal)
            except MithiError as err:
                await self.send_error(err.code, err.message)

    # ------------------------------------------------------------------ inbound
    async def _on_binary(self, data: bytes) -> None:
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            limit = self.settings.limits
            audio = await asyncio.to_thread(decode_audio, data, max_seconds=limit.max_audio_seconds)
            await self._start_response(audio=audio, ended_at=time.perf_counter())
            return
        if len(data) > self.cfg.max_frame_bytes:
            raise ProtocolError(
                "frame_too_large",
                f"binary message of {len(data)} bytes; PCM frames may be up to {self.cfg.max_frame_bytes} "
                "bytes (send 20-100 ms frames, or one WAV file per utterance)",
            )
        if len(data) % 2:
            raise ProtocolError(
                "invalid_frame", f"PCM16 frames need an even number of bytes, got {len(data)}; frame dropped"
            )
        seconds = len(data) / 2 / self.input_rate
        if self.guard.admit(seconds):
            if await self.frames.add_audio(data):
                return
            self.guard.drop(seconds)  # the pipeline is a whole backlog behind
        if self._overflow_task is None or self._overflow_task.done():
            self._overflow_task = self._spawn(self._report_overflow())

    async def _report_overflow(self) -> None:
        """Tell the client once per flood, when it is over, how much of its audio was dropped."""
        while (wait := self.guard.due()) is not None:
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            dropped = self.guard.report()
            if dropped is None:
                continue
            await self.send_event(
                "error",
                code="input_overflow",
                message=(
                    f"{dropped.frames} audio frames ({dropped.seconds:g} s) were dropped: audio may arrive "
                    f"at up to {self.cfg.max_input_speed:g}x real time after a burst of "
                    f"{self.guard.burst_s:g} s, with at most {self.cfg.frame_backlog} frames waiting to be "
                    "processed; stream at real time"
                ),
                fatal=False,
                dropped_frames=dropped.frames,
                dropped_seconds=dropped.seconds,
            )

    async def _on_text(self, raw: str) -> None:
        message = parse_client_event(raw, self.cfg.max_frame_bytes)
        if isinstance(message, InputAudioCommit):
            await self.frames.add_commit()
        elif isinstance(message, TextInput):
            text = check_text(message.text, self.settings)
            await self._start_response(text=text, ended_at=time.perf_counter())
        elif isinstance(message, ResponseCancel):
            await self._interrupt()
        elif isinstance(message, SessionUpdate):
            await self._update(message)

    async def _update(self, message: SessionUpdate) -> None:
        cfg = message.config
        language = self.language if cfg.language is None else check_language(cfg.language, self.settings)
        voice = cfg.voice if cfg.voice is not None else self.voice_id
        speed = cfg.speed if cfg.speed is not None else self.speed
        check_speed(speed, self.settings)
        self.tts.resolve(voice or None, language, speed)  # raises a clear error if invalid
        self.language, self.voice_id, self.speed = language, voice or None, speed
        if cfg.vad is not None:
            self.vad_enabled = cfg.vad
        if cfg.hangover_ms is not None:
            self.vad_config.hangover_ms = cfg.hangover_ms
        await self.send_event(
            "session.updated",
            config={
                "voice": self._voice().voice.id,
                "language": self.language,
                "vad": self.vad_enabled,
                "speed": self.speed,
                "hangover_ms": self.vad_config.hangover_ms,
            },
        )

    def _voice(self) -> ResolvedVoice:
        return self.tts.resolve(self.voice_id, None if self.voice_id else self.language, self.speed)

    # ------------------------------------------------------------------ pipeline: frames → VAD → turns
    async def _pipeline(self) -> None:
        max_samples = int(self.cfg.max_utterance_seconds * STT_SAMPLE_RATE)
        preroll = int(self.cfg.preroll_ms * STT_SAMPLE_RATE / 1000)
        while True:
            for _, fields in await self.frames.next_entries():
                if b"c" in fields:
                    await self._end_utterance(reason="commit")
                    continue
                audio = pcm16_to_float(self.resampler.process(fields[b"a"]))
                self.buffer.append(audio)
                self.buffered += len(audio)
                if not self.vad_enabled:
                    if self.buffered >= max_samples:
                        await self._end_utterance(reason="max_length")
                    continue
                if self.live is not None:
                    self.live.feed(audio)
                for vad_event in self.detector.feed(audio):
                    await self._on_vad(vad_event.kind)
                if self.detector.speaking:
                    if not self.detector.paused:
                        self._maybe_partial()
                    if self.buffered >= max_samples:
                        await self._end_utterance(reason="max_length")
                elif self.buffered > preroll * 2:  # not in a turn: keep only the pre-roll
                    self._keep_tail(preroll)

    def _keep_tail(self, samples: int) -> None:
        audio = np.concatenate(self.buffer)[-samples:] if self.buffer else np.zeros(0, np.float32)
        self.buffer, self.buffered = [audio], len(audio)

    def _utterance(self) -> np.ndarray:
        return np.concatenate(self.buffer) if self.buffer else np.zeros(0, np.float32)

    async def _on_vad(self, kind: str) -> None:
        if kind == "speech_start":
            self.partial_at = self.buffered
            await self.send_event("speech.started")
            self._start_live()
            await self._interrupt()  # barge-in, if the bot is speaking or about to
        elif kind == "pause":
            if self.partial_task is not None:  # superseded by the transcription started now
                self.partial_task.cancel()
            await self._discard(self.speculative)
            spec = Speculation(stt=self._spawn(self._transcribe(self._utterance())))
            self.speculative = spec
            spec.starter = self._spawn(self._speculate(spec))
        elif kind == "resume":  # the user went on talking: the early answer is void
            spec, self.speculative = self.speculative, None
            await self._discard(spec)
        elif kind == "speech_end":
            await self._end_utterance(reason="vad")

    async def _speculate(self, spec: Speculation) -> None:
        """At the first pause: transcribe, and if the turn is plain conversation (no tool with side effects),
        start answering, holding the output back until the end of the user's turn is confirmed."""
        result = await asyncio.shield(spec.stt)  # cancelling the starter must not cancel the STT
        text = result.text.strip()
        if (
            self.speculative is not spec
            or not text
            or (self.response is not None and not self.response.done())
        ):
            return
        if await self.agent.would_act(self.memory_id, text) or self.speculative is not spec:
            return
        turn = Turn(id=uuid.uuid4().hex[:8], speculative=True, held=True, memory_since=time.time())
        spec.turn = turn
        self.turn = turn
        self.response = asyncio.create_task(self._respond(turn, None, None, None, result))

    async def _discard(self, spec: Speculation | None) -> None:
        """Drop a speculation: cancel its work and retract what its turn stored in memory."""
        if spec is None:
            return
        spec.stt.cancel()
        if spec.starter is not None:
            spec.starter.cancel()
        turn = spec.turn
        if turn is None or not turn.held:
            return
        if self.turn is turn and self.response is not None:
            self.response.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.response
            self.response, self.turn = None, None
        if turn.in_memory:
            await self.agent.retract_since(self.memory_id, turn.memory_since)

    async def _end_utterance(self, reason: str) -> None:
        ended_at = time.perf_counter()
        audio = self._utterance()
        spec, self.speculative = self.speculative, None
        self.buffer, self.buffered = [], 0
        if reason != "max_length":
            self.detector.reset()
        if self.partial_task is not None:
            self.partial_task.cancel()
        self._stop_live()
        if reason == "max_length" and self.detector.speaking:
            self._start_live()  # the user talks on: a new utterance
        await self.send_event("speech.stopped", reason=reason)
        if spec is not None and reason == "vad" and spec.turn is not None and spec.turn is self.turn:
            await self._release(spec.turn)  # the answer prepared at the pause goes out now
            return
        if spec is not None and spec.starter is not None:
            spec.starter.cancel()
        if reason != "vad":
            await self._discard(spec)
        if audio.size < STT_SAMPLE_RATE * 0.1:
            await self.send_error("empty_audio", "the utterance has no audio to transcribe")
            return
        # The transcription started at the first pause covers the utterance if no speech came after it.
        use = spec.stt if spec is not None and reason == "vad" and not spec.stt.cancelled() else None
        await self._start_response(audio=audio, ended_at=ended_at, transcription=use)

    def _maybe_partial(self) -> None:
        if not self.cfg.partial_transcripts or (self.partial_task and not self.partial_task.done()):
            return
        if self.live is not None and not self.live.failed:
            return  # the live stream sends the partials
        if self.buffered - self.partial_at < self.cfg.partial_interval_ms * STT_SAMPLE_RATE / 1000:
            return
        self.partial_at = self.buffered
        audio = self._utterance()

        async def partial() -> None:
            result = await self._transcribe(audio)
            if result.text and self.detector.speaking:
                await self.send_event("transcript.partial", text=result.text)

        self.partial_task = self._spawn(partial())

    def _start_live(self) -> None:
        """Open live recognition for the utterance that starts now (pre-roll included)."""
        if not self.live_partials or self.live is not None:
            return

        async def partial(text: str) -> None:
            if self.detector.speaking:
                await self.send_event("transcript.partial", text=text)

        self.live = LiveTranscriber(self.stt, self._stt_config(), partial, initial=self._utterance())

    def _stop_live(self) -> None:
        """End the utterance's live recognition in the background (closing a socket takes a moment)."""
        live, self.live = self.live, None
        if live is not None:
            live.cancel()  # now: the task awaiting close() may itself be cancelled before it runs
            self._spawn(live.close())

    def _stt_config(self) -> STTConfig:
        stt = self.settings.stt
        return STTConfig(
            language=self.language or stt.language,
            beam_size=stt.beam_size,
            temperature_fallback=stt.temperature_fallback,
        )

    async def _transcribe(self, audio: np.ndarray) -> Transcription:
        return await self.stt.transcribe(audio, self._stt_config())

    # ------------------------------------------------------------------ responses
    async def _start_response(
        self,
        *,
        ended_at: float,
        audio: np.ndarray | None = None,
        text: str | None = None,
        transcription: asyncio.Task[Transcription] | None = None,
    ) -> None:
        spec, self.speculative = self.speculative, None
        await self._discard(spec)
        await self._interrupt()
        self.turn = Turn(id=uuid.uuid4().hex[:8], ended_at=ended_at)
        self.response = asyncio.create_task(self._respond(self.turn, audio, text, transcription))

    async def _interrupt(self) -> None:
        """Stop the response that is being generated or heard; memory keeps only what was heard."""
        task, turn = self.response, self.turn
        now = time.perf_counter()
        if task is None or turn is None or turn.interrupted or turn.held:
            return
        if task.done() and now >= turn.playback_until:
            return  # finished and fully played: nothing to interrupt
        turn.interrupted = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        heard = turn.heard(now)
        await self.send_event("response.interrupted", turn_id=turn.id, spoken=heard)
        if turn.in_memory:
            await self.agent.record_interruption(self.memory_id, heard, since=turn.memory_since)

    async def _respond(
        self,
        turn: Turn,
        audio: np.ndarray | None,
        text: str | None,
        transcription: asyncio.Task[Transcription] | None,
        result: Transcription | None = None,
    ) -> None:
        try:
            await self._run_turn(turn, audio, text, transcription, result)
        except asyncio.CancelledError:
            raise
        except RateLimited as err:  # a daily quota is used up: say so and end the session (1008)
            await self.send_error(err.code, err.message, fatal=True)
            self.closed = True
            with contextlib.suppress(Exception):
                await self.ws.close(code=1008, reason=err.code)
        except MithiError as err:
            await self._emit(
                turn, "event", {"kind": "error", "code": err.code, "message": err.message, "fatal": False}
            )
        except Exception as exc:  # noqa: BLE001 - one failed turn must not end the session
            logger.exception("voice turn failed")
            await self._emit(
                turn,
                "event",
                {
                    "kind": "error",
                    "code": "turn_failed",
                    "message": f"the response failed: {exc}",
                    "fatal": False,
                },
            )

    async def _run_turn(
        self,
        turn: Turn,
        audio: np.ndarray | None,
        text: str | None,
        transcription: asyncio.Task[Transcription] | None,
        result: Transcription | None,
    ) -> None:
        language = self.language
        turn_log = attach(FailoverLog())  # this turn's failovers (its speaker task inherits it)
        if audio is not None and result is None:
            result = await transcription if transcription is not None else await self._transcribe(audio)
            turn.latency["stt"] = _ms(turn.ended_at)
        if result is not None:
            if self.meter is not None:  # limits.stt_seconds_per_day: the utterance's audio seconds
                await self.meter.stt(result.duration)
            text = result.text.strip()
            language = language or result.language
            turn.providers["stt"] = result.provider or self.stt.name
            await self._report_failovers(turn, "stt")
            await self._emit(
                turn,
                "event",
                {
                    "kind": "transcript.final",
                    "text": text,
                    "language": result.language,
                    "provider": turn.providers["stt"],
                },
            )
            if not text:
                await self._emit(turn, "done", {"action": None})
                return
        assert text is not None
        turn.transcript = text
        agent_language = language if language in self.settings.languages else None
        voice = self.tts.resolve(self.voice_id, None if self.voice_id else agent_language, self.speed)
        chunker = SentenceChunker(voice.voice.language)
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        limit = self.settings.agent.max_reply_sentences
        queued = {"pieces": 0, "sentences": 0}

        def say(piece: str) -> None:
            """Queue a piece for speech, cleaned and within the sentence limit, as memory stores it."""
            piece = " ".join(strip_markup(piece).split())
            if not piece or queued["sentences"] >= limit:
                return
            sentences.put_nowait(piece)
            queued["pieces"] += 1
            if piece[-1] in ".!?…।॥":
                queued["sentences"] += 1

        speaker = asyncio.create_task(self._speak(turn, voice, sentences))
        llm_start = time.perf_counter()
        action, reply = None, ""
        try:
            turn.memory_since = turn.memory_since or time.time()
            turn.in_memory = True
            async for item in self.agent.stream_turn(self.memory_id, text, agent_language):
                if item.type == "delta" and item.text:
                    turn.latency.setdefault("llm_first_token", _ms(llm_start))
                    await self._report_failovers(turn, "llm")
                    await self._emit(
                        turn, "event", {"kind": "response.text.delta", "turn_id": turn.id, "text": item.text}
                    )
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
        await self._emit(turn, "done", {"action": action})

    async def _speak(self, turn: Turn, voice: ResolvedVoice, sentences: asyncio.Queue[str | None]) -> None:
        resampler = StreamResampler(voice.voice.sample_rate, self.output_rate)
        frame_bytes = int(self.output_rate * self.cfg.output_frame_ms / 1000) * 2
        spoken_by: list[str] = turn.providers.setdefault("tts", [])
        said = ""  # the reply so far: context for engines that keep prosody across requests
        while (sentence := await sentences.get()) is not None:
            ready = time.perf_counter()
            provider = ""
            context = replace(voice, config=replace(voice.config, previous_text=said[-_CONTEXT_CHARS:]))
            if self.meter is not None:  # limits.tts_chars_per_day, sentence by sentence
                await self.meter.tts(len(sentence))
            async for chunk in self.tts.stream(sentence, context):
                provider = chunk.provider or voice.provider.name
                await self._report_failovers(turn, "tts")  # before the audio of the engine taking over
                pcm = (  # a sentence's audio: resampled in a thread, never on the event loop
                    await asyncio.to_thread(resampler.process, chunk.pcm) if resampler.converts else chunk.pcm
                )
                turn.latency.setdefault("tts_first_audio", _ms(ready))
                for start in range(0, len(pcm), frame_bytes):
                    await self._emit(turn, "audio", pcm[start : start + frame_bytes])
            await self._emit(turn, "mark", sentence)
            said = f"{said} {sentence}".strip()
            if provider and provider not in spoken_by:
                spoken_by.append(provider)
            event = {"kind": "response.sentence", "turn_id": turn.id, "text": sentence, "provider": provider}
            await self._emit(turn, "event", event)

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
            fields = {"kind": "provider.failover", "turn_id": turn.id, **item.to_dict()}
            await self._emit(turn, "event", fields)

    # ------------------------------------------------------------------ output, live or held back
    async def _emit(self, turn: Turn, kind: str, payload: Any) -> None:
        """Send a turn's output now, or hold it while the turn is speculative (not yet released)."""
        async with turn.lock:
            if turn.held:
                turn.outbox.append((kind, payload))
            else:
                await self._deliver(turn, kind, payload)

    async def _deliver(self, turn: Turn, kind: str, payload: Any) -> None:
        if kind == "event":
            fields = dict(payload)
            await self.send_event(fields.pop("kind"), **fields)
        elif kind == "audio":
            now = time.perf_counter()
            if turn.playback_start is None:
                turn.playback_start = now
                turn.latency["first_audio"] = _ms(turn.ended_at)
                await self.send_event("response.audio.started", turn_id=turn.id, sample_rate=self.output_rate)
            elif turn.playback_until < now:  # the client ran dry: playback resumes now
                turn.audio_seconds = now - turn.playback_start
            if turn.sentence_start is None:
                turn.sentence_start = turn.playback_until
            turn.audio_seconds += len(payload) / 2 / self.output_rate
            await self.send_audio(payload)
        elif kind == "mark":
            end = turn.playback_until
            start = end if turn.sentence_start is None else turn.sentence_start
            turn.sentences.append((payload, start, end))
            turn.sentence_start = None
        elif kind == "done":
            turn.latency["total"] = _ms(turn.ended_at)
            if turn.transcript:  # the user said something (an empty transcript is not a turn)
                metrics.observe_voice_turn(turn.latency)
            await self.send_event(
                "response.done",
                turn_id=turn.id,
                transcript=turn.transcript,
                text=turn.all_text(),
                action=payload["action"],
                speculative=turn.speculative,
                latency_ms=turn.latency,
                providers=turn.providers,
            )

    async def _release(self, turn: Turn) -> None:
        """The user's turn is confirmed over: what the speculative response prepared goes out now."""
        async with turn.lock:
            turn.ended_at = time.perf_counter()
            turn.latency["stt"] = 0.0  # the transcript was ready before the turn ended
            turn.held = False
            for kind, payload in turn.outbox:
                await self._deliver(turn, kind, payload)
            turn.outbox.clear()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)

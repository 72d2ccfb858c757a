"""The voice engine: one conversation's turn-taking, whatever door it came through.

`VoiceEngine` joins the listener (audio → typed turn events) and the responder (turn → agent → TTS →
audio) with the turn-taking policy:
- **speculation**: at the first pause in the user's speech the utterance is transcribed and, if it is
  plain conversation (no tool with side effects), answered at once with the output held back;
- **release**: if the pause turns out to be the end of the turn, the held reply goes out immediately
  (`response.done.speculative` = true); if the user speaks on, it is discarded and retracted from memory;
- **barge-in**: user speech (or `cancel()`) while a reply is generated or still playing stops it, and
  memory keeps only what the user heard (the playback clock of `Turn`);
- **when to answer**: by default every finished turn (VAD, commit, typed text) is answered at once
  (/voice). A door may instead keep turns as waiting input (`answer_speech` / `answer_commits` false,
  `add_text`) until it calls `respond()` — the Realtime API's `create_response: false` and
  `response.create`.

It knows nothing about sockets or wire formats: inputs are method calls, outputs go to an
`EngineOutput` as typed events (backend.engine.events) and PCM audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.agents.conversation import ConversationAgent, ToolOutput
from backend.core import metrics
from backend.core.config import Settings
from backend.core.cpu import ANSWERING
from backend.core.errors import InvalidRequest, MithiError, RateLimited
from backend.core.languages import DEFAULT_BACKCHANNELS
from backend.core.limits import check_language, check_speed, check_text
from backend.core.usage import UsageMeter
from backend.core.worker import worker_id
from backend.engine.events import (
    Error,
    ResponseInterrupted,
    ServerEvent,
    SessionConfigView,
    SessionStarted,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    TranscriptPartial,
)
from backend.engine.listener import (
    InputDropped,
    Listener,
    PartialTranscript,
    SpeechBegan,
    SpeechPaused,
    SpeechResumed,
    SpeechSustained,
    TurnEvent,
    UtteranceCleared,
    UtteranceEnded,
)
from backend.engine.ports import EngineOutput
from backend.engine.responder import Responder, ResponseOptions, Turn
from backend.media.audio import STT_SAMPLE_RATE
from backend.providers.failover import attach
from backend.realtime.backchannel import Backchannels
from backend.realtime.frames import FrameStream
from backend.speech.base import STTConfig, STTProvider, Transcription
from backend.speech.tts_service import TTSService

logger = logging.getLogger(__name__)

_CLOSE_WAIT_S = 5.0  # how long a stopping engine waits for its tasks to stop
_KEEP_TURNS = 16  # recent turns `truncate` can still find
_MAX_TOOL_OUTPUT = 20_000  # characters of one client tool output


@dataclass
class Speculation:
    """Work started at the first pause in the user's speech, used if the pause turns out to be the end."""

    stt: asyncio.Task[Transcription]
    starter: asyncio.Task[None] | None = None
    turn: Turn | None = None


@dataclass(frozen=True)
class EndedUtterance:
    """The audio of the user's last turn that VAD ended, kept so that speech starting soon after can
    continue it (`realtime.continuation_ms`)."""

    turn_id: str
    audio: np.ndarray = field(repr=False)
    ended_at: float  # perf_counter: when the turn was ended


class VoiceEngine:
    """One voice conversation: listen, take turns, respond (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        tts: TTSService,
        stt: STTProvider,
        agent: ConversationAgent,
        output: EngineOutput,
        *,
        session_id: str,
        memory_id: str | None = None,
        input_rate: int = STT_SAMPLE_RATE,
        language: str | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = settings.realtime
        self.tts = tts
        self.stt = stt
        self.agent = agent
        self.output = output
        self.session_id = session_id  # what the client calls it
        self.memory_id = memory_id or session_id  # what the agent stores it under (the key's namespace)
        self.meter = meter  # limits.tts_chars_per_day / stt_seconds_per_day of the caller's key
        self.connection_id = uuid.uuid4().hex[:8]
        self.input_rate = input_rate
        self.options = ResponseOptions(language=language)
        redis = getattr(agent, "redis", None)
        self.frames = FrameStream(
            redis.client if redis is not None else None,
            f"mithi:voice:{session_id}:{self.connection_id}:in",
            max_backlog=self.cfg.frame_backlog,
        )
        self.background: set[asyncio.Task[Any]] = set()
        self.listener = Listener(
            self.cfg, self.frames, stt, self._stt_config, input_rate, self.on_turn_event, self._spawn, self
        )
        self.response: asyncio.Task[None] | None = None
        self.turn: Turn | None = None
        self.speculative: Speculation | None = None
        self.last_utterance: EndedUtterance | None = None
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self.responder = Responder(
            settings,
            tts,
            agent,
            self.memory_id,
            self.options,
            output_rate=0,
            transcribe=self.transcribe,
            send=self._send,
            send_audio=self._send_audio,
            on_quota=self._quota_used_up,
            stt_name=stt.name,
            meter=meter,
            owner=self,
        )
        self.output_rate: int = 0  # Hz of send_audio: the voice's own rate unless a door asks for another
        self.set_output_rate(self.responder.voice().voice.sample_rate)
        self.failover_log = self.responder.failover_log
        self._pipeline: asyncio.Task[None] | None = None
        self.closed = False
        self._stopped = False
        # when to answer (see the module docstring); the defaults are /voice's
        self.answer_speech = True  # a turn the VAD (or the length limit) ended is answered at once
        self.answer_commits = True  # a committed turn (push-to-talk) is answered at once
        self.barge_in = True  # user speech stops the reply being generated or played
        # speech over a reply waits for `barge_in_ms` (or its words) before it interrupts: backchannels
        # ("haan", "uh-huh") do not; False = at once (the Realtime API's server VAD semantics)
        self.hold_for_backchannels = True
        # speech over a reply, not yet `barge_in_ms` long: a backchannel unless its words say otherwise
        self.maybe_backchannel = False
        self.backchannels = Backchannels(
            {**DEFAULT_BACKCHANNELS, **self.cfg.backchannels}, settings.languages
        )
        self.interrupt_playing = True  # a new turn stops a reply the client may still be playing
        # input for `respond()`, in order: (text, language heard) when ready
        self._waiting: list[asyncio.Future[tuple[str, str | None]]] = []
        # a slot in `_waiting` per commit the listener has not reached yet (it reads the frame stream)
        self._commits: deque[asyncio.Future[tuple[str, str | None]]] = deque()
        self._tool_outputs: list[ToolOutput] = []  # client tool outputs for `respond()`

    def set_output_rate(self, rate: int) -> None:
        """Send the reply's audio at ``rate`` Hz: the TTS chain converts each engine's audio to it once
        (a door whose wire format has its own rate asks for that rate instead of resampling again)."""
        self.output_rate = rate
        self.responder.output_rate = rate

    # ------------------------------------------------------------------ settings, readable
    @property
    def language(self) -> str | None:
        return self.options.language

    @property
    def voice_id(self) -> str | None:
        return self.options.voice_id

    @property
    def speed(self) -> float | None:
        return self.options.speed

    @property
    def speak(self) -> bool:
        return self.options.speak

    @property
    def vad_enabled(self) -> bool:
        return self.listener.vad_enabled

    @property
    def vad_config(self):  # type: ignore[no-untyped-def]  # backend.realtime.vad.VADConfig
        return self.listener.vad_config

    @property
    def preroll_ms(self) -> float:
        return self.listener.preroll_ms

    @property
    def failed(self) -> BaseException | None:
        """Why the pipeline died (e.g. Redis went away), or None while it runs."""
        task = self._pipeline
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception() or RuntimeError("the pipeline ended")

    # ------------------------------------------------------------------ sending
    async def _send(self, event: ServerEvent) -> None:
        if not self.closed:
            await self.output.send(event)

    async def _send_audio(self, pcm: bytes, turn_id: str) -> None:
        if not self.closed:
            await self.output.send_audio(pcm, turn_id)

    async def _quota_used_up(self, err: RateLimited) -> None:
        await self._send(Error(code=err.code, message=err.message, fatal=True))
        self.closed = True
        with contextlib.suppress(Exception):
            await self.output.close(1008, err.code)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Say `session.started` and start the pipeline (in the caller's context: failovers reach it)."""
        await self._send(
            SessionStarted(
                session_id=self.session_id,
                input_sample_rate=self.input_rate,
                output_sample_rate=self.output_rate,
                language=self.language,
                vad=self.vad_enabled,
                worker=worker_id(),
            )
        )
        attach(self.failover_log)  # provider chains report failovers here (tasks below inherit it)
        self._pipeline = asyncio.create_task(self.listener.run(), name=f"voice-pipeline-{self.connection_id}")
        self._pipeline.add_done_callback(lambda _: self.frames.release())  # never leave the reader waiting
        metrics.voice_session_started()

    async def stop(self) -> None:
        """Cancel everything (bounded), forget an unsent speculative answer, delete the frame stream."""
        if self._stopped:
            return
        self._stopped = True
        if self._pipeline is not None:
            metrics.voice_session_ended()
        self.closed = True
        spec, self.speculative = self.speculative, None
        with contextlib.suppress(Exception):
            await self._discard(spec)  # an answer never sent is not kept in memory
        self.listener.stop_live()
        tasks = [*self.background]
        if self._pipeline is not None:
            tasks.append(self._pipeline)
        if self.response is not None:
            tasks.append(self.response)
        for task in tasks:
            task.cancel()
        # bounded: a task that swallowed its cancel (redis-py can, mid-command) must not hold the
        # door, the frame stream and the key's voice slot open
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=_CLOSE_WAIT_S)
            for task in stuck:
                logger.warning(
                    "voice session %s: task %s ignored its cancel", self.session_id, task.get_name()
                )
                task.cancel()
        with contextlib.suppress(Exception):
            await self.frames.delete()

    async def finish_turn(self, within: float) -> None:
        """Wait (at most `within` s) for the response in flight, so its last sentence is heard."""
        response = self.response
        if response is None or response.done():
            return
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(response), within)

    async def close_for_restart(self) -> None:
        """End with 1012 (service restart): the client reconnects, another worker continues."""
        if self.closed:
            return
        await self._send(
            Error(
                code="server_restarting",
                message="this server is restarting; reconnect to continue the conversation",
                fatal=True,
            )
        )
        self.closed = True
        with contextlib.suppress(Exception):
            await self.output.close(1012, "server restarting")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    # ------------------------------------------------------------------ inputs
    async def audio(self, pcm: bytes) -> None:
        """PCM16 LE mono at `input_rate` (size and parity already checked by the door)."""
        await self.listener.add_audio(pcm)

    async def commit(self) -> None:
        """End of utterance now (push-to-talk): transcribe what came since the last turn, and respond
        (or, without `answer_commits`, keep it for `respond()`: its place is taken now, so a `respond()`
        right after this waits for it)."""
        if not self.answer_commits:
            slot: asyncio.Future[tuple[str, str | None]] = asyncio.get_running_loop().create_future()
            self._commits.append(slot)
            self._waiting.append(slot)
        await self.frames.add_commit()

    async def clear(self) -> None:
        """Forget the audio buffered for the utterance in progress (no turn)."""
        await self.frames.add_clear()

    async def text(self, text: str) -> None:
        """A typed user turn (skips STT)."""
        text = check_text(text, self.settings)
        await self._start_response(text=text, ended_at=time.perf_counter())

    async def add_text(self, text: str) -> None:
        """Typed user input kept for the next `respond()` (no answer now)."""
        text = check_text(text, self.settings)
        ready: asyncio.Future[tuple[str, str | None]] = asyncio.get_running_loop().create_future()
        ready.set_result((text, None))
        self._waiting.append(ready)

    def add_tool_output(self, call_id: str, output: str) -> None:
        """The output of a client-run tool the model called, kept for the next `respond()`."""
        if not call_id or len(call_id) > 128:
            raise InvalidRequest("call_id must be 1 to 128 characters", code="invalid_value")
        if len(output) > _MAX_TOOL_OUTPUT:
            raise InvalidRequest(
                f"a tool output may have at most {_MAX_TOOL_OUTPUT} characters, not {len(output)}",
                code="invalid_value",
            )
        self._tool_outputs.append(ToolOutput(call_id, output))

    @property
    def responding(self) -> bool:
        """A response is being generated (not merely still playing)."""
        return self.response is not None and not self.response.done()

    async def respond(self) -> str:
        """Answer the input kept since the last response (transcribed utterances and `add_text`, in
        order) as one user turn; returns the turn's id. Raises InvalidRequest while a response is
        being generated, or when there is nothing to answer."""
        if self.responding:
            raise InvalidRequest(
                "a response is in progress: wait for it to finish or cancel it first",
                code="conversation_already_has_active_response",
            )
        if not self._waiting and not self._tool_outputs:
            raise InvalidRequest(
                "there is nothing to respond to: add a user message or commit audio first",
                code="no_user_input",
            )
        waiting, self._waiting = self._waiting, []
        outputs, self._tool_outputs = tuple(self._tool_outputs), []
        turn = Turn(id=uuid.uuid4().hex[:8], ended_at=time.perf_counter())
        if self.interrupt_playing:
            await self._interrupt()
        self._begin(turn, self._answer_waiting(turn, waiting, outputs))
        return turn.id

    async def _answer_waiting(
        self,
        turn: Turn,
        waiting: list[asyncio.Future[tuple[str, str | None]]],
        outputs: tuple[ToolOutput, ...],
    ) -> None:
        heard: list[tuple[str, str | None]] = []
        for task in waiting:
            with contextlib.suppress(Exception):  # a failed transcription said so already
                heard.append(await task)
        texts = [text for text, _ in heard if text]
        if not texts and not outputs:
            await self._send(Error(code="no_user_input", message="the input waiting had no words to answer"))
            await self.responder.emit(turn, "done", {"action": None})
            return
        language = next((lang for _, lang in reversed(heard) if lang), None)
        await self.responder.respond(turn, None, "\n".join(texts), None, heard=language, tool_outputs=outputs)

    def add_utterance(self, audio: np.ndarray) -> None:
        """A whole utterance (16 kHz float32) kept for the next `respond()`: transcribed now."""
        if audio.size < STT_SAMPLE_RATE * 0.1:
            raise InvalidRequest("the audio is shorter than 0.1 s: nothing to transcribe", code="empty_audio")
        self._keep_utterance(audio, None)

    def _keep_utterance(
        self,
        audio: np.ndarray,
        transcription: asyncio.Task[Transcription] | None,
        slot: asyncio.Future[tuple[str, str | None]] | None = None,
    ) -> None:
        """An ended utterance answered later: transcribed now (`transcript.final`), its text kept (in
        its commit's `slot` when it has one)."""

        async def hear() -> tuple[str, str | None]:
            turn = Turn(id=uuid.uuid4().hex[:8])
            try:
                return await self.responder.hear(turn, audio, transcription)
            except RateLimited as err:
                await self._quota_used_up(err)
                raise
            except MithiError as err:
                await self._send(Error(code=err.code, message=err.message, fatal=False))
                raise

        task = self._spawn(hear())
        if slot is None:
            self._waiting.append(task)
        else:
            task.add_done_callback(lambda done: _settle(slot, done))

    async def utterance(self, audio: np.ndarray) -> None:
        """A whole utterance (16 kHz float32, e.g. a decoded WAV): transcribe and respond."""
        await self._start_response(audio=audio, ended_at=time.perf_counter())

    async def cancel(self) -> None:
        """Stop the response; memory keeps what was heard."""
        await self._interrupt()

    async def update(
        self,
        *,
        language: str | None = None,
        voice: str | None = None,
        speed: float | None = None,
        vad: bool | None = None,
        hangover_ms: float | None = None,
        vad_threshold: float | None = None,
        preroll_ms: float | None = None,
        speak: bool | None = None,
    ) -> None:
        """Change the given (not None) settings, all checked first; says `session.updated`.
        `language` '' / 'auto' = detect; `voice` '' = the language's default voice."""
        opts = self.options
        new_language = opts.language if language is None else check_language(language, self.settings)
        new_voice = voice if voice is not None else opts.voice_id
        new_speed = speed if speed is not None else opts.speed
        check_speed(new_speed, self.settings)
        self.tts.resolve(new_voice or None, new_language, new_speed)  # raises a clear error if invalid
        if hangover_ms is not None and not 100 <= hangover_ms <= 3000:
            raise InvalidRequest("hangover_ms must be from 100 to 3000", code="invalid_config")
        if vad_threshold is not None and not 0.0 < vad_threshold < 1.0:
            raise InvalidRequest("vad_threshold must be between 0 and 1", code="invalid_config")
        if preroll_ms is not None and not 0 <= preroll_ms <= 2000:
            raise InvalidRequest("preroll_ms must be from 0 to 2000", code="invalid_config")
        opts.language, opts.voice_id, opts.speed = new_language, new_voice or None, new_speed
        listener = self.listener
        if vad is not None:
            listener.vad_enabled = vad
        if hangover_ms is not None:
            listener.vad_config.hangover_ms = hangover_ms
        if vad_threshold is not None:
            listener.vad_config.threshold = vad_threshold
        if preroll_ms is not None:
            listener.preroll_ms = preroll_ms
        if speak is not None:
            opts.speak = speak
        config = SessionConfigView(
            voice=self.responder.voice().voice.id,
            language=opts.language,
            vad=listener.vad_enabled,
            speed=opts.speed,
            hangover_ms=listener.vad_config.hangover_ms,
        )
        await self._send(SessionUpdated(config=config))

    async def truncate(self, turn_id: str, audio_end_ms: int) -> str:
        """The client played only `audio_end_ms` of that turn's audio: memory keeps the text heard by
        then, which is returned ('' and no change for an unknown turn)."""
        turn = self._turns.get(turn_id)
        if turn is None:
            return ""
        start = turn.playback_start if turn.playback_start is not None else time.perf_counter()
        at = start + max(0, audio_end_ms) / 1000
        if turn is self.turn and not turn.interrupted and not turn.held:
            heard = await self._interrupt(at=at)
            if heard is not None:
                return heard
        heard = turn.heard(at)
        if turn.in_memory:
            await self.agent.record_interruption(self.memory_id, heard, since=turn.memory_since)
        return heard

    def _stt_config(self) -> STTConfig:
        stt = self.settings.stt
        return STTConfig(
            language=self.language or stt.language,
            languages=tuple(self.settings.languages),
            beam_size=stt.beam_size,
            temperature_fallback=stt.temperature_fallback,
        )

    async def transcribe(self, audio: np.ndarray) -> Transcription:
        """16 kHz float32 audio → text, with the same STT settings as the turns."""
        return await self.stt.transcribe(audio, self._stt_config())

    # ------------------------------------------------------------------ policy: turn events
    async def on_turn_event(self, event: TurnEvent) -> None:
        """Apply the turn-taking policy to one listener event (tests feed them directly)."""
        if isinstance(event, SpeechBegan):
            await self._send(SpeechStarted())
            self.maybe_backchannel = False
            if self.barge_in and not await self._continue_turn():
                hold = self.hold_for_backchannels and self.listener.vad_config.sustained_ms > 0
                if hold and self._interruptible():
                    self.maybe_backchannel = True  # interrupts when sustained; or a backchannel
                else:
                    await self._interrupt()  # barge-in, if the bot is speaking or about to
        elif isinstance(event, SpeechSustained):
            if self.maybe_backchannel:  # `barge_in_ms` of speech: longer than a backchannel
                self.maybe_backchannel = False
                await self._interrupt()
        elif isinstance(event, SpeechPaused):
            await self._discard(self.speculative)
            spec = Speculation(stt=self._spawn(self.transcribe(event.audio)))
            self.speculative = spec
            self.listener.judge_pause(event.pause_id, spec.stt)
            # (a turn that waits for `respond()` gets no early answer; nor one while other sessions'
            # replies are being made in this process: on a loaded CPU an early answer that may be
            # thrown away would slow down those that will not)
            if (
                self.answer_speech
                and self.listener.vad_enabled
                and not self.maybe_backchannel
                and not ANSWERING.busy_besides(self)
            ):
                spec.starter = self._spawn(self._speculate(spec))
        elif isinstance(event, SpeechResumed):  # the user went on talking: the early answer is void
            spec, self.speculative = self.speculative, None
            await self._discard(spec)
        elif isinstance(event, UtteranceEnded):
            await self._end_utterance(event)
        elif isinstance(event, PartialTranscript):
            await self._send(TranscriptPartial(text=event.text))
        elif isinstance(event, UtteranceCleared):
            spec, self.speculative = self.speculative, None
            await self._discard(spec)
        elif isinstance(event, InputDropped):
            await self._send(self._overflow_error(event))

    def _overflow_error(self, dropped: InputDropped) -> Error:
        return Error(
            code="input_overflow",
            message=(
                f"{dropped.frames} audio frames ({dropped.seconds:g} s) were dropped: audio may arrive "
                f"at up to {self.cfg.max_input_speed:g}x real time after a burst of "
                f"{self.listener.guard.burst_s:g} s, with at most {self.cfg.frame_backlog} frames waiting to "
                "be processed; stream at real time"
            ),
            fatal=False,
            dropped_frames=dropped.frames,
            dropped_seconds=dropped.seconds,
        )

    async def _end_utterance(self, event: UtteranceEnded) -> None:
        reason, audio = event.reason, event.audio
        if self.maybe_backchannel:  # short speech over a reply: a backchannel, or an interruption?
            self.maybe_backchannel = False
            if await self._backchannel(event):
                return
        spec, self.speculative = self.speculative, None
        await self._send(SpeechStopped(reason=reason))
        self.last_utterance = None
        if spec is not None and reason == "vad" and spec.turn is not None and spec.turn is self.turn:
            self.last_utterance = EndedUtterance(spec.turn.id, audio, event.ended_at)
            await self.responder.release(spec.turn)  # the answer prepared at the pause goes out now
            return
        if spec is not None and spec.starter is not None:
            spec.starter.cancel()
        # The transcription started at the last pause covers the utterance if no speech came after it
        # (a VAD end, or a commit after a pause that started no early answer).
        early = (
            spec is not None
            and not spec.stt.cancelled()
            and (reason == "vad" or (reason == "commit" and spec.turn is None))
        )
        if reason != "vad" and not early:
            await self._discard(spec)
        kept = not (self.answer_commits if reason == "commit" else self.answer_speech)
        slot = self._commits.popleft() if kept and reason == "commit" and self._commits else None
        if audio.size < STT_SAMPLE_RATE * 0.1:
            await self._send(Error(code="empty_audio", message="the utterance has no audio to transcribe"))
            if slot is not None:
                slot.set_result(("", None))
            return
        use = spec.stt if early and spec is not None else None
        if kept:
            self._keep_utterance(audio, use, slot)
            return
        await self._start_response(audio=audio, ended_at=event.ended_at, transcription=use)
        if reason == "vad" and self.turn is not None:
            self.last_utterance = EndedUtterance(self.turn.id, audio, event.ended_at)

    def _interruptible(self) -> bool:
        """Whether a reply is being generated or played that a barge-in would stop."""
        task, turn = self.response, self.turn
        if task is None or turn is None or turn.interrupted or turn.held:
            return False
        return not (task.done() and time.perf_counter() >= turn.playback_until)

    async def _backchannel(self, event: UtteranceEnded) -> bool:
        """Short speech ended while a reply went on: when its words are only backchannels ("haan",
        "ok", "uh-huh") or nothing, it is dropped (`speech.stopped` reason `backchannel`, no turn) and the
        reply goes on; else the reply is interrupted and the speech is answered as a turn."""
        spec = self.speculative
        early = spec is not None and spec.turn is None and not spec.stt.cancelled()
        try:
            result = await (spec.stt if early and spec is not None else self.transcribe(event.audio))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - no words to judge by: take it as an interruption
            logger.debug("backchannel check: transcription failed", exc_info=True)
            result = None
        if result is not None and self.backchannels.matches(result.text) and self._interruptible():
            self.speculative = None
            await self._discard(spec)
            await self._send(SpeechStopped(reason="backchannel"))
            logger.info("backchannel, not an interruption: %r", result.text)
            return True
        await self._interrupt()
        return False

    async def _continue_turn(self) -> bool:
        """Speech that starts within `continuation_ms` of the end of the user's last turn (VAD-ended and
        answered here) continues it: the reply is stopped and withdrawn, from memory too, and the new
        utterance starts with the old one's audio, so one transcript and one reply cover both. Not when
        the words may have made the agent change something (a booking is not made twice)."""
        last, turn, task = self.last_utterance, self.turn, self.response
        self.last_utterance = None
        window_s = self.cfg.continuation_ms / 1000
        if last is None or turn is None or task is None or last.turn_id != turn.id or turn.interrupted:
            return False
        now = time.perf_counter()
        if now - last.ended_at > window_s or not self.listener.vad_enabled:
            return False
        if task.done() and now >= turn.playback_until:
            return False  # the reply was made and heard whole: this is a new turn
        if turn.transcript and await self.agent.would_act(self.memory_id, turn.transcript):
            return False
        turn.interrupted = True
        await self._withdraw(turn)
        self.listener.continue_from(last.audio)
        await self._send(ResponseInterrupted(turn_id=turn.id, spoken="", continued=True))
        return True

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
        self._begin(turn, self.responder.respond(turn, None, None, None, result))

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
        await self._withdraw(turn)

    async def _withdraw(self, turn: Turn) -> None:
        """Cancel `turn`'s reply if it is the one being made, and remove the turn, from memory too."""
        if self.turn is turn and self.response is not None:
            self.response.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.response
            self.response, self.turn = None, None
        self._turns.pop(turn.id, None)
        if turn.in_memory:
            await self.agent.retract_since(self.memory_id, turn.memory_since)

    # ------------------------------------------------------------------ policy: responses
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
        if self.interrupt_playing or self.responding:
            await self._interrupt()
        turn = Turn(id=uuid.uuid4().hex[:8], ended_at=ended_at)
        self._begin(turn, self.responder.respond(turn, audio, text, transcription))

    def _begin(self, turn: Turn, work: Coroutine[Any, Any, None]) -> None:
        self.turn = turn
        self._turns[turn.id] = turn
        while len(self._turns) > _KEEP_TURNS:
            self._turns.popitem(last=False)
        self.response = asyncio.create_task(work)

    async def _interrupt(self, at: float | None = None) -> str | None:
        """Stop the response that is being generated or heard; memory keeps only what was heard (by
        `at`, default now), which is returned; None when there was nothing to interrupt."""
        task, turn = self.response, self.turn
        now = time.perf_counter()
        if task is None or turn is None or turn.interrupted or turn.held:
            return None
        if task.done() and now >= turn.playback_until:
            return None  # finished and fully played: nothing to interrupt
        turn.interrupted = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        heard = turn.heard(now if at is None else at)
        await self._send(ResponseInterrupted(turn_id=turn.id, spoken=heard))
        if turn.in_memory:
            await self.agent.record_interruption(self.memory_id, heard, since=turn.memory_since)
        return heard


def _settle(
    slot: asyncio.Future[tuple[str, str | None]], done: asyncio.Future[tuple[str, str | None]]
) -> None:
    """Give a commit's slot the outcome of its transcription."""
    if slot.done():
        return
    if done.cancelled():
        slot.cancel()
    elif (error := done.exception()) is not None:
        slot.set_exception(error)
    else:
        slot.set_result(done.result())

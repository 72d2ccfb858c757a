"""The listening side of the engine: audio in (any rate) → Redis frame stream → 16 kHz → VAD → turns.

The `Listener` owns the inbound audio: the input guard (audio faster than real time is shed), the
frame stream, the resampler, the turn detector, the utterance buffer (with pre-roll), and the partial
transcripts (repeated `transcribe` calls, or the provider's live recognition). It reports what happens
as typed turn events to one handler, the session, which applies the turn-taking policy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from backend.core.config import RealtimeSettings
from backend.core.cpu import ANSWERING
from backend.media.audio import STT_SAMPLE_RATE, StreamResampler, pcm16_to_float
from backend.realtime.frames import FrameStream
from backend.realtime.live_stt import LiveTranscriber
from backend.realtime.overflow import InputGuard
from backend.realtime.turn_end import Verdict, verdict
from backend.realtime.vad import TurnDetector, VADConfig
from backend.speech.base import STTConfig, STTProvider, Transcription


@dataclass(frozen=True)
class SpeechBegan:
    """The user started speaking (barge-in, if a reply is playing)."""


@dataclass(frozen=True)
class SpeechSustained:
    """The user's speech has lasted `realtime.barge_in_ms`: an interruption, not a backchannel."""


@dataclass(frozen=True)
class SpeechPaused:
    """A first short silence inside the turn: `audio` is the utterance so far (for an early answer);
    `Listener.judge_pause(pause_id, transcription)` says whether its words sound finished."""

    audio: np.ndarray = field(repr=False)
    pause_id: int = 0


@dataclass(frozen=True)
class SpeechResumed:
    """Speech again after a pause: an early answer is void."""


@dataclass(frozen=True)
class UtteranceEnded:
    """The utterance is over (end of speech, commit, or the length limit) with its audio at 16 kHz."""

    reason: Literal["vad", "commit", "max_length"]
    audio: np.ndarray = field(repr=False)
    ended_at: float  # perf_counter: the latency origin of the reply


@dataclass(frozen=True)
class PartialTranscript:
    """What the user has said so far in the utterance in progress."""

    text: str


@dataclass(frozen=True)
class UtteranceCleared:
    """The audio buffered for the utterance in progress was forgotten (no turn)."""


@dataclass(frozen=True)
class InputDropped:
    """Audio came faster than the engine may take it; this much was dropped (reported once a flood ends)."""

    frames: int
    seconds: float


TurnEvent = (
    SpeechBegan
    | SpeechSustained
    | SpeechPaused
    | SpeechResumed
    | UtteranceEnded
    | PartialTranscript
    | UtteranceCleared
    | InputDropped
)


class Listener:
    """Inbound audio → typed turn events for `on_event` (the pipeline runs as `run()`)."""

    def __init__(
        self,
        cfg: RealtimeSettings,
        frames: FrameStream,
        stt: STTProvider,
        stt_config: Callable[[], STTConfig],
        input_rate: int,
        on_event: Callable[[TurnEvent], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]],
        owner: Hashable | None = None,
    ) -> None:
        self.cfg = cfg
        self.owner = self if owner is None else owner  # the session: its own replies do not slow captions
        self.frames = frames
        self.stt = stt
        self.stt_config = stt_config
        self.input_rate = input_rate
        self.on_event = on_event
        self.spawn = spawn
        # audio faster than max_input_speed × real time, past a burst of one backlog of 20 ms frames, is shed
        self.guard = InputGuard(cfg.max_input_speed, cfg.frame_backlog * 0.02)
        self._overflow_task: asyncio.Task[None] | None = None
        self.resampler = StreamResampler(input_rate, STT_SAMPLE_RATE)
        self.vad_enabled = cfg.vad
        self.preroll_ms = cfg.preroll_ms
        self.vad_config = VADConfig(
            threshold=cfg.vad_threshold,
            min_speech_ms=cfg.min_speech_ms,
            hangover_ms=cfg.hangover_ms,
            speculative_ms=cfg.speculative_ms,
            unfinished_hangover_ms=cfg.unfinished_hangover_ms,
            unclear_hangover_ms=cfg.unclear_hangover_ms,
            sustained_ms=cfg.barge_in_ms if cfg.barge_in_ms > cfg.min_speech_ms else 0,
        )
        self.detector = TurnDetector(self.vad_config)
        self.buffer: list[np.ndarray] = []  # 16 kHz float32 audio of the current utterance (+ pre-roll)
        self.buffered = 0
        self.partial_task: asyncio.Task[None] | None = None
        self.partial_at = 0
        self.heard_at_pause: tuple[int, str] = (0, "")  # (pause_id, text) of the last pause transcribed
        # partials from the provider's live recognition (deepgram) instead of repeated `transcribe` calls
        self.live_partials = cfg.partial_transcripts and stt.capabilities().streaming
        self.live: LiveTranscriber | None = None

    async def transcribe(self, audio: np.ndarray) -> Transcription:
        return await self.stt.transcribe(audio, self.stt_config())

    # ------------------------------------------------------------------ audio in
    async def add_audio(self, pcm: bytes) -> None:
        """Queue a PCM16 frame at the input rate, unless it comes too fast (then report the drop)."""
        seconds = len(pcm) / 2 / self.input_rate
        if self.guard.admit(seconds):
            if await self.frames.add_audio(pcm):
                return
            self.guard.drop(seconds)  # the pipeline is a whole backlog behind
        if self._overflow_task is None or self._overflow_task.done():
            self._overflow_task = self.spawn(self._report_overflow())

    async def _report_overflow(self) -> None:
        """Tell the handler once per flood, when it is over, how much of the audio was dropped."""
        while (wait := self.guard.due()) is not None:
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            dropped = self.guard.report()
            if dropped is None:
                continue
            await self.on_event(InputDropped(frames=dropped.frames, seconds=dropped.seconds))

    # ------------------------------------------------------------------ pipeline: frames → VAD → turns
    async def run(self) -> None:
        max_samples = int(self.cfg.max_utterance_seconds * STT_SAMPLE_RATE)
        while True:
            for _, fields in await self.frames.next_entries():
                if b"c" in fields:
                    await self._end_utterance(reason="commit")
                    continue
                if b"x" in fields:
                    await self._clear()
                    continue
                preroll = int(self.preroll_ms * STT_SAMPLE_RATE / 1000)
                audio = pcm16_to_float(self.resampler.process(fields[b"a"]))
                self.buffer.append(audio)
                self.buffered += len(audio)
                if not self.vad_enabled:
                    # push-to-talk: no turn-taking, but a pause still starts the transcription early
                    # (used at the commit if no speech came after it)
                    for vad_event in self.detector.feed(audio):
                        if vad_event.kind in ("pause", "resume"):
                            await self._on_vad(vad_event.kind)
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

    def continue_from(self, audio: np.ndarray) -> None:
        """The utterance that just started continues `audio` (the user's previous turn): it goes first."""
        self.buffer.insert(0, audio)
        self.buffered += len(audio)
        self.partial_at += len(audio)

    def utterance(self) -> np.ndarray:
        """The 16 kHz audio of the utterance in progress (pre-roll included)."""
        return np.concatenate(self.buffer) if self.buffer else np.zeros(0, np.float32)

    async def _on_vad(self, kind: str) -> None:
        if kind == "speech_start":
            self.partial_at = self.buffered
            self._start_live()
            await self.on_event(SpeechBegan())
        elif kind == "sustained":
            await self.on_event(SpeechSustained())
        elif kind == "pause":
            if self.partial_task is not None:  # superseded by the transcription started now
                self.partial_task.cancel()
            await self.on_event(SpeechPaused(audio=self.utterance(), pause_id=self.detector.pause_id))
        elif kind == "resume":
            await self.on_event(SpeechResumed())
            partial = self._pause_partial(*self.heard_at_pause)
            if partial is not None:
                await self.on_event(partial)
        elif kind == "speech_end":
            await self._end_utterance(reason="vad")

    def judge_pause(self, pause_id: int, transcription: asyncio.Task[Transcription]) -> None:
        """When the transcription of the utterance at pause `pause_id` is done, its words decide the
        silence that ends the turn: `unfinished_hangover_ms` mid-phrase, `unclear_hangover_ms` without a
        sentence mark, else the usual hangover (a failed or cancelled transcription counts as finished).
        Its text is also sent as a partial transcript if the user speaks on."""

        def judge(task: asyncio.Task[Transcription]) -> None:
            said: Verdict = "finished"
            if not task.cancelled() and task.exception() is None:
                result = task.result()
                said = verdict(result.text, result.language)
                self.heard_at_pause = (pause_id, result.text.strip())
                self._late_pause_partial(pause_id, result.text.strip())
            if self.vad_config.unfinished_hangover_ms > 0:
                self.detector.judge(pause_id, said)

        transcription.add_done_callback(judge)

    async def _end_utterance(self, reason: Literal["vad", "commit", "max_length"]) -> None:
        ended_at = time.perf_counter()
        audio = self.utterance()
        self.buffer, self.buffered = [], 0
        if reason != "max_length":
            self.detector.reset()
        if self.partial_task is not None:
            self.partial_task.cancel()
        self.stop_live()
        if reason == "max_length" and self.detector.speaking:
            self._start_live()  # the user talks on: a new utterance
        await self.on_event(UtteranceEnded(reason=reason, audio=audio, ended_at=ended_at))

    async def _clear(self) -> None:
        self.buffer, self.buffered = [], 0
        self.detector.reset()
        if self.partial_task is not None:
            self.partial_task.cancel()
        self.stop_live()
        await self.on_event(UtteranceCleared())

    # ------------------------------------------------------------------ partial transcripts
    def _partials_by_transcribing(self) -> bool:
        """Partial transcripts are on, with turn-taking, and come from `transcribe` (not a live stream)."""
        live = self.live is not None and not self.live.failed
        return self.cfg.partial_transcripts and self.vad_enabled and not live

    def _late_pause_partial(self, pause_id: int, text: str) -> None:
        """The pause's transcription finished after the user spoke on (the pause was shorter than the
        transcription): it is still the latest partial (the resume found none to send)."""
        if self.detector.speaking and not self.detector.paused:
            partial = self._pause_partial(pause_id, text)
            if partial is not None:
                self.spawn(self.on_event(partial))

    def _pause_partial(self, pause_id: int, text: str) -> PartialTranscript | None:
        """What was said up to pause `pause_id`, as the latest partial, if that is still the last pause."""
        if not (text and pause_id == self.detector.pause_id and self._partials_by_transcribing()):
            return None
        self.partial_at = self.buffered
        return PartialTranscript(text=text)

    def _maybe_partial(self) -> None:
        if not self._partials_by_transcribing() or (self.partial_task and not self.partial_task.done()):
            return
        if self.detector.silence_ms > 0:
            return  # maybe the end of the turn: its transcription needs the CPU first
        # while another session's reply is being made in the process, captions come 3x less often
        interval_ms = self.cfg.partial_interval_ms * (3 if ANSWERING.busy_besides(self.owner) else 1)
        if self.buffered - self.partial_at < interval_ms * STT_SAMPLE_RATE / 1000:
            return
        self.partial_at = self.buffered
        audio = self.utterance()

        async def partial() -> None:
            result = await self.transcribe(audio)
            if result.text and self.detector.speaking:
                await self.on_event(PartialTranscript(text=result.text))

        self.partial_task = self.spawn(partial())

    def _start_live(self) -> None:
        """Open live recognition for the utterance that starts now (pre-roll included)."""
        if not self.live_partials or self.live is not None:
            return

        async def partial(text: str) -> None:
            if self.detector.speaking:
                await self.on_event(PartialTranscript(text=text))

        self.live = LiveTranscriber(self.stt, self.stt_config(), partial, initial=self.utterance())

    def stop_live(self) -> None:
        """End the utterance's live recognition in the background (closing a socket takes a moment)."""
        live, self.live = self.live, None
        if live is not None:
            live.cancel()  # now: the task awaiting close() may itself be cancelled before it runs
            self.spawn(live.close())

"""Streaming voice activity detection with Silero VAD (the ONNX model faster-whisper ships), plus the
turn-taking state machine built on it: speech start after `min_speech_ms` of speech, speech end after
`hangover_ms` of silence — or after `unfinished_hangover_ms` / `unclear_hangover_ms` when what was said
so far sounds unfinished or unclear (`judge()`: the verdict on the transcript made at the pause, see
`realtime/turn_end.py`).

The model takes 512-sample windows at 16 kHz (32 ms) with 64 samples of left context and carries an
LSTM state between calls, so audio can be fed in any frame size as it arrives.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from backend.realtime.turn_end import Verdict

VAD_SAMPLE_RATE = 16000
WINDOW = 512
CONTEXT = 64
WINDOW_MS = WINDOW * 1000 / VAD_SAMPLE_RATE  # 32 ms


def silero_model_path() -> Path:
    return Path(str(resources.files("faster_whisper").joinpath("assets", "silero_vad_v6.onnx")))


class _SharedSession:
    """One ONNX session for all connections (the state lives in each StreamingVAD, not in the model)."""

    _session = None
    _lock = threading.Lock()

    @classmethod
    def get(cls):  # type: ignore[no-untyped-def]
        with cls._lock:
            if cls._session is None:
                import onnxruntime

                opts = onnxruntime.SessionOptions()
                opts.inter_op_num_threads = 1
                opts.intra_op_num_threads = 1
                opts.log_severity_level = 4
                cls._session = onnxruntime.InferenceSession(
                    str(silero_model_path()), providers=["CPUExecutionProvider"], sess_options=opts
                )
            return cls._session


class StreamingVAD:
    """Speech probability per 32 ms window for a continuous 16 kHz float32 stream."""

    def __init__(self) -> None:
        self.session = _SharedSession.get()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, audio: np.ndarray) -> list[float]:
        """Add samples; returns one speech probability per complete 512-sample window."""
        self._pending = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        count = len(self._pending) // WINDOW
        if count == 0:
            return []
        windows = self._pending[: count * WINDOW].reshape(count, WINDOW)
        self._pending = self._pending[count * WINDOW :]
        probs = []
        for window in windows:  # sequential: each window's state feeds the next
            batch = np.concatenate([self._context, window])[None, :]
            out, self._h, self._c = self.session.run(None, {"input": batch, "h": self._h, "c": self._c})
            self._context = window[-CONTEXT:]
            probs.append(float(out.reshape(-1)[0]))
        return probs


@dataclass
class VADConfig:
    threshold: float = 0.5
    min_speech_ms: float = 160  # speech this long starts a turn (filters clicks and breaths)
    hangover_ms: float = 300  # silence this long ends it
    speculative_ms: float = 120  # first silence this long starts the answer early
    # silence that ends a turn whose words so far sound unfinished (`TurnDetector.judge`); 0 = off: the
    # turn ends after `hangover_ms` whatever was said. While the verdict on a pause is still coming, the
    # end waits for it (at most this long).
    unfinished_hangover_ms: float = 0
    # silence that ends a turn whose words end without a sentence mark ("unclear"); 0 = hangover_ms
    unclear_hangover_ms: float = 0
    # speech longer than this in a turn (counted in speech windows from its first) is `sustained`: long
    # enough to be an interruption, not a backchannel; 0 = no such event
    sustained_ms: float = 0


@dataclass(frozen=True)
class VADEvent:
    """`speech_start` / `sustained` (the turn's speech has lasted `sustained_ms`) / `pause` (first short
    silence: a chance to start answering early) / `resume` (speech again after a pause: the early answer
    is void) / `speech_end`;
    `at_ms` is the stream position (ms since the first sample) where it was decided."""

    kind: str
    at_ms: float


class TurnDetector:
    """Turns a stream of speech probabilities into speech start / pause / end events."""

    def __init__(self, config: VADConfig) -> None:
        self.cfg = config
        self.vad = StreamingVAD()
        self.speaking = False
        self.position_ms = 0.0
        self._speech_ms = 0.0
        self._silence_ms = 0.0
        self._paused = False
        self._sustained = False
        self.pause_id = 0  # counts pauses: a verdict is for one pause only
        self._verdict: Verdict | None = None  # how the current pause's words end (None: not judged yet)

    @property
    def silence_ms(self) -> float:
        """How long the current silence inside the turn has lasted (0 while speech is heard)."""
        return self._silence_ms

    @property
    def paused(self) -> bool:
        """In a turn, but silent for at least `speculative_ms`."""
        return self._paused

    def reset(self) -> None:
        self.vad.reset()
        self.speaking = False
        self._speech_ms = self._silence_ms = 0.0
        self._paused = self._sustained = False
        self._verdict = None

    def judge(self, pause_id: int, verdict: Verdict) -> None:
        """The verdict on pause `pause_id`'s words (`realtime.turn_end.verdict`): "unfinished" waits
        `unfinished_hangover_ms`, "unclear" `unclear_hangover_ms`, "finished" `hangover_ms` before the
        turn ends (ignored if the user has spoken again since)."""
        if pause_id == self.pause_id and self._paused:
            self._verdict = verdict

    def _hangover(self) -> float:
        """The silence that ends the turn now: the longer one while the pause sounds unfinished or has no
        verdict yet (when judging is on)."""
        cfg = self.cfg
        if cfg.unfinished_hangover_ms <= 0 or self._verdict == "finished":
            return cfg.hangover_ms
        if self._verdict == "unclear":
            return max(cfg.unclear_hangover_ms, cfg.hangover_ms)
        return max(cfg.unfinished_hangover_ms, cfg.hangover_ms)  # unfinished, or no verdict yet

    def feed(self, audio_16k: np.ndarray) -> list[VADEvent]:
        events = []
        for prob in self.vad.feed(audio_16k):
            self.position_ms += WINDOW_MS
            if prob >= self.cfg.threshold:
                self._silence_ms = 0.0
                if self._paused:
                    events.append(VADEvent("resume", self.position_ms))
                self._paused = False
                self._speech_ms += WINDOW_MS
                if not self.speaking and self._speech_ms >= self.cfg.min_speech_ms:
                    self.speaking = True
                    events.append(VADEvent("speech_start", self.position_ms - self._speech_ms))
                if self.speaking and not self._sustained and 0 < self.cfg.sustained_ms < self._speech_ms:
                    self._sustained = True
                    events.append(VADEvent("sustained", self.position_ms))
            else:
                if not self.speaking:
                    self._speech_ms = max(0.0, self._speech_ms - WINDOW_MS)
                    continue
                self._silence_ms += WINDOW_MS
                if not self._paused and self._silence_ms >= self.cfg.speculative_ms:
                    self._paused = True
                    self.pause_id += 1
                    self._verdict = None
                    events.append(VADEvent("pause", self.position_ms))
                if self._silence_ms >= self._hangover():
                    self.speaking = False
                    self._speech_ms = 0.0
                    self._paused = self._sustained = False
                    self._verdict = None
                    events.append(VADEvent("speech_end", self.position_ms - self._silence_ms))
        return events

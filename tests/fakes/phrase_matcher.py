"""A closed-vocabulary recogniser for vendor stand-ins: it knows only the phrases it was taught.

This is **not a speech recognition model**. It is the trick a test stand-in uses to "hear" speech that no
local model can transcribe (Whisper base does not understand eSpeak NG's Hindi): the stand-in renders each
phrase it may be asked about with the same eSpeak voice it speaks with (:meth:`PhraseMatcher.learn`), and
an incoming recording is matched against those renderings waveform to waveform. A recording of a phrase
that was never taught, or of the same phrase in another voice, matches nothing.

How a match is scored: both signals are taken to 16 kHz mono and leading and trailing silence is cut
off (so padding does not matter). Each becomes a log-energy spectrogram (32 ms frames every 10 ms, 40
log-spaced bands from 100 Hz to 7 kHz, each band's mean removed, so the gain does not matter), and the
shorter is slid along the longer computing the normalized cross-correlation (Pearson's r) of the
spectrogram windows. The best lag's r is the score; the best phrase at or above
:attr:`PhraseMatcher.threshold` wins. Lengths must agree within :data:`MAX_LENGTH_RATIO`, so a fragment of
a phrase is not taken for the whole. A recording of several known phrases one after the other (a reply
synthesized sentence by sentence) is recognised by :meth:`PhraseMatcher.spot`: each phrase's windows
inside the recording that score at or above the threshold, the best that do not overlap, in time order,
covering at least :data:`MIN_COVERAGE` of the speech.

Why spectrograms and not raw waveforms: eSpeak NG does not render the same text to the same samples twice
(its voicing jitters), and the waveform correlation of two renderings of one Hindi sentence measured 0.59,
against 0.39 for a different sentence. On the spectrograms, measured with eSpeak's Hindi, Tamil and English
through a WAV round trip and 22.05 → 24 / 8 → 16 kHz resampling: the same phrase scores 0.99 or more, a
different phrase under 0.12, the same phrase spoken 20 % faster about 0.5 (``test_phrase_matcher_scores``
in tests/integration/test_sarvam.py keeps these honest). The default threshold 0.6 sits between. Two
phrases one vowel apart both score about 0.99; the better one wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
DEFAULT_THRESHOLD = 0.6
MAX_LENGTH_RATIO = 1.3
"""The longer of the (trimmed) recording and rendering may be at most this much longer than the other."""
MIN_COVERAGE = 0.8
"""A sequence of phrases (:meth:`PhraseMatcher.spot`) must span this much of the recording."""
_SILENCE = 0.01  # amplitude (of full scale) under which the ends of a signal count as silence
_FRAME = 160  # 10 ms at 16 kHz


@dataclass(frozen=True)
class Phrase:
    text: str
    language: str
    audio: np.ndarray
    """16 kHz mono float32, silence trimmed."""
    spectrogram: np.ndarray
    """:func:`features` of ``audio``."""


@dataclass(frozen=True)
class Match:
    text: str
    language: str
    score: float


def trim_silence(audio: np.ndarray, level: float = _SILENCE) -> np.ndarray:
    """``audio`` without its silent start and end (10 ms frames whose peak is under ``level``)."""
    if audio.size == 0:
        return audio
    frames = audio[: audio.size // _FRAME * _FRAME].reshape(-1, _FRAME) if audio.size >= _FRAME else None
    if frames is None:
        return audio
    loud = np.nonzero(np.abs(frames).max(axis=1) > level)[0]
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0] * _FRAME : (loud[-1] + 1) * _FRAME]


def features(audio: np.ndarray) -> np.ndarray:
    """The log-energy spectrogram a match compares: (frames, bands), each band's mean removed."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size < _N_FFT:
        x = np.pad(x, (0, _N_FFT - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT)[::_FRAME] * _WINDOW
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    bands = power @ _BANDS
    logs = np.log(bands + 1e-8)
    centred: np.ndarray = logs - logs.mean(axis=0, keepdims=True)
    return centred


def _band_matrix() -> np.ndarray:
    freqs = np.fft.rfftfreq(_N_FFT, 1 / SAMPLE_RATE)
    edges = np.geomspace(100, 7000, _N_BANDS + 1)
    index = np.digitize(freqs, edges) - 1
    matrix: np.ndarray = (index[:, None] == np.arange(_N_BANDS)[None, :]).astype(np.float64)
    return matrix


_N_FFT = 512
_N_BANDS = 40
_WINDOW = np.hanning(_N_FFT)
_BANDS = _band_matrix()


def _scores_at(long: np.ndarray, short: np.ndarray) -> np.ndarray:
    """Pearson r of ``short`` (a spectrogram) against the window of ``long`` at every frame lag."""
    s = short - short.mean()
    s_norm = float(np.sqrt(np.sum(s**2)))
    lags = long.shape[0] - short.shape[0] + 1
    out = np.zeros(max(0, lags))
    if s_norm == 0:
        return out
    for lag in range(lags):
        w = long[lag : lag + short.shape[0]]
        w = w - w.mean()
        w_norm = float(np.sqrt(np.sum(w**2)))
        if w_norm > 0:
            out[lag] = float(np.sum(w * s)) / (s_norm * w_norm)
    return out


def _similarity(long: np.ndarray, short: np.ndarray) -> float:
    """The best Pearson r of ``short`` (a spectrogram) against every window of ``long`` as long as it."""
    scores = _scores_at(long, short)
    return float(max(0.0, scores.max())) if scores.size else 0.0


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The match score of two trimmed 16 kHz signals, 0..1 (0 when their lengths disagree)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    long, short = (a, b) if a.size >= b.size else (b, a)
    if long.size > short.size * MAX_LENGTH_RATIO:
        return 0.0
    return _similarity(features(long), features(short))


class PhraseMatcher:
    """Phrases taught with :meth:`learn` (or :meth:`learn_audio`), recordings matched with :meth:`match`."""

    def __init__(
        self,
        render: Callable[[str, str], np.ndarray] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        """``render(text, language)`` → 16 kHz mono float32 audio of the phrase (for :meth:`learn`)."""
        self.render = render
        self.threshold = threshold
        self._phrases: dict[tuple[str, str, int], Phrase] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._phrases)

    def learn(self, text: str, language: str) -> None:
        """Render ``text`` in ``language`` with the stand-in's voice and remember it."""
        if self.render is None:
            raise RuntimeError("this PhraseMatcher has no renderer: use learn_audio()")
        self.learn_audio(text, language, self.render(text, language))

    def learn_audio(self, text: str, language: str, audio: np.ndarray) -> None:
        """Remember ``audio`` (16 kHz mono float32) as a rendering of ``text`` in ``language``."""
        trimmed = trim_silence(np.asarray(audio, dtype=np.float32))
        if trimmed.size == 0:
            return
        key = (text, language, trimmed.size)
        with self._lock:
            self._phrases[key] = Phrase(text, language, trimmed, features(trimmed))

    def scores(self, audio: np.ndarray, language: str | None = None) -> list[Match]:
        """Every known phrase (of ``language``, when given) with its score, best first."""
        heard = trim_silence(np.asarray(audio, dtype=np.float32))
        with self._lock:
            phrases = [p for p in self._phrases.values() if language is None or p.language == language]
        if heard.size == 0:
            return []
        spectrogram = features(heard)
        found = []
        for p in phrases:
            longer, shorter = max(heard.size, p.audio.size), min(heard.size, p.audio.size)
            if longer > shorter * MAX_LENGTH_RATIO:
                score = 0.0
            elif heard.size >= p.audio.size:
                score = _similarity(spectrogram, p.spectrogram)
            else:
                score = _similarity(p.spectrogram, spectrogram)
            found.append(Match(p.text, p.language, round(score, 4)))
        return sorted(found, key=lambda m: m.score, reverse=True)

    def match(self, audio: np.ndarray, language: str | None = None) -> Match | None:
        """The best known phrase whose score is at least :attr:`threshold`, else :meth:`spot`'s
        sequence of known phrases (several renderings one after the other), else None."""
        best = self.scores(audio, language)
        if best and best[0].score >= self.threshold:
            return best[0]
        return self.spot(audio, language)

    def spot(self, audio: np.ndarray, language: str | None = None) -> Match | None:
        """Known phrases spoken one after the other (a reply synthesized sentence by sentence): each
        phrase's best windows inside the recording, the best-scoring ones that do not overlap taken in
        time order. They must cover at least :data:`MIN_COVERAGE` of the recording's speech, else None."""
        heard = trim_silence(np.asarray(audio, dtype=np.float32))
        if heard.size == 0:
            return None
        spectrogram = features(heard)
        with self._lock:
            phrases = [p for p in self._phrases.values() if language is None or p.language == language]
        candidates: list[tuple[float, int, int, Phrase]] = []
        for p in phrases:
            width = p.spectrogram.shape[0]
            scores = _scores_at(spectrogram, p.spectrogram)
            for lag in np.nonzero(scores >= self.threshold)[0]:
                candidates.append((float(scores[lag]), int(lag), int(lag) + width, p))
        chosen: list[tuple[float, int, int, Phrase]] = []
        slack = 5  # frames (50 ms) two neighbouring phrases may share
        for candidate in sorted(candidates, key=lambda c: c[0], reverse=True):
            _, start, end, _ = candidate
            if all(end <= c[1] + slack or start >= c[2] - slack for c in chosen):
                chosen.append(candidate)
        covered = sum(c[2] - c[1] for c in chosen)
        if not chosen or covered < MIN_COVERAGE * spectrogram.shape[0]:
            return None
        chosen.sort(key=lambda c: c[1])
        return Match(
            " ".join(c[3].text for c in chosen),
            chosen[0][3].language,
            round(min(c[0] for c in chosen), 4),
        )

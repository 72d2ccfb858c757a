"""Audio in and out: decode anything a browser or phone records to 16 kHz mono float32, and encode
PCM16 to wav / pcm / flac / mp3 / opus / aac, in one shot or incrementally for streaming responses.

Everything goes through PyAV (FFmpeg's libraries in-process), so no subprocess per request and no
reliance on file extensions: the container is sniffed from the bytes.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import av
import numpy as np

from backend.core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMedia

STT_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class OutputFormat:
    """How one response format is produced."""

    name: str
    media_type: str
    container: str | None = None  # None: written by hand (wav, pcm)
    codec: str | None = None
    sample_rate: int | None = None  # forced output rate (opus only runs at 48 kHz here)


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("wav", "audio/wav"),
        OutputFormat("pcm", "audio/L16"),
        OutputFormat("flac", "audio/flac", "flac", "flac"),
        OutputFormat("mp3", "audio/mpeg", "mp3", "libmp3lame"),
        OutputFormat("opus", "audio/ogg; codecs=opus", "ogg", "libopus", 48000),
        OutputFormat("aac", "audio/aac", "adts", "aac"),
    )
}


def output_format(name: str) -> OutputFormat:
    fmt = OUTPUT_FORMATS.get(name.lower().strip())
    if fmt is None:
        raise InvalidRequest(
            f"format '{name}' is not supported; allowed: {', '.join(OUTPUT_FORMATS)}", code="invalid_format"
        )
    return fmt


# --------------------------------------------------------------------------- decoding


def decode_audio(
    data: bytes, *, sample_rate: int = STT_SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """Decode any container/codec FFmpeg knows to mono float32 at `sample_rate`.

    Raises UnsupportedMedia for bytes that are not audio, InvalidRequest for audio with no samples and
    PayloadTooLarge when the audio is longer than `max_seconds`.
    """
    if not data:
        raise InvalidRequest("the audio file is empty", code="empty_audio")
    max_samples = int(max_seconds * sample_rate) if max_seconds else None
    parts: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UnsupportedMedia("the file has no audio stream", code="unsupported_audio")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1).copy())
                    total += out.samples
                if max_samples is not None and total > max_samples:
                    raise PayloadTooLarge(
                        f"the audio is longer than the limit of {max_seconds:g} s", code="audio_too_long"
                    )
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1).copy())
    except (UnsupportedMedia, PayloadTooLarge):
        raise
    except (av.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise UnsupportedMedia(
            "could not decode the audio; send wav, mp3, ogg/opus, webm, m4a/aac or flac "
            f"({type(exc).__name__}: {exc})",
            code="unsupported_audio",
        ) from None
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if audio.size == 0:
        raise InvalidRequest("the audio contains no samples", code="empty_audio")
    return audio.astype(np.float32, copy=False)


def loudest_dbfs(audio: np.ndarray, window: int = 480) -> float:
    """The level of the loudest ``window``-sample stretch (30 ms at 16 kHz), as RMS in dBFS: about -3
    for a full-scale tone, -20 to -30 for speech, below -50 for room noise; -inf for digital silence."""
    if audio.size == 0:
        return float("-inf")
    loudest = 0.0
    step = window * 100_000  # a bounded temporary, however long the audio
    for start in range(0, audio.size, step):
        part = audio[start : start + step].astype(np.float32, copy=False)
        whole = part.size // window * window
        if whole:
            loudest = max(loudest, float(np.square(part[:whole]).reshape(-1, window).mean(axis=1).max()))
        if part.size > whole:
            loudest = max(loudest, float(np.square(part[whole:]).mean()))
    return 10.0 * float(np.log10(loudest)) if loudest > 0 else float("-inf")


def float_to_pcm16(audio: np.ndarray) -> np.ndarray:
    pcm: np.ndarray = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    return pcm


# --------------------------------------------------------------------------- encoding


def wav_header(sample_rate: int, num_samples: int | None, channels: int = 1) -> bytes:
    """A 44-byte PCM16 WAV header; num_samples=None writes the 'unknown length' form used for streaming."""
    data_size = 0xFFFFFFFF - 36 if num_samples is None else num_samples * 2 * channels
    riff_size = 0xFFFFFFFF if num_samples is None else 36 + data_size
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * 2 * channels, 2 * channels, 16)
        + b"data"
        + struct.pack("<I", data_size)
    )


def pcm16_to_wav(pcm: bytes, sample_rate: int) -> bytes:
    return wav_header(sample_rate, len(pcm) // 2) + pcm


class _Sink(io.RawIOBase):
    """A write-only file that hands out what the muxer wrote since the last call."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self._buf += b
        return len(b)

    def take(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


class StreamEncoder:
    """Encode PCM16 mono chunks incrementally; each `feed` returns the bytes ready to send.

    For wav the header is written with an 'unknown length' (players and decoders accept it); use
    :func:`encode_pcm16` for a one-shot file with exact sizes.
    """

    def __init__(self, fmt: OutputFormat, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self._started = False
        self._container: av.container.OutputContainer | None = None
        # wav / pcm with a forced rate (OpenAI's 24 kHz pcm on /v1/audio/speech): resampled here
        self._raw_resampler = (
            StreamResampler(sample_rate, fmt.sample_rate)
            if fmt.container is None and fmt.sample_rate and fmt.sample_rate != sample_rate
            else None
        )
        if fmt.container is not None:
            self._sink = _Sink()
            self._container = av.open(self._sink, mode="w", format=fmt.container)
            assert fmt.codec is not None  # every container format names its codec
            stream = self._container.add_stream(fmt.codec, rate=fmt.sample_rate or sample_rate)
            assert isinstance(stream, av.AudioStream)
            stream.layout = "mono"
            self._stream = stream

    def feed(self, pcm: bytes) -> bytes:
        if self._container is None:
            head = b""
            if not self._started and self.fmt.name == "wav":
                head = wav_header(self.fmt.sample_rate or self.sample_rate, None)
            self._started = True
            return head + (self._raw_resampler.process(pcm) if self._raw_resampler else pcm)
        samples = np.frombuffer(pcm, dtype=np.int16)
        if samples.size:
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self.sample_rate
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._sink.take()

    def close(self) -> bytes:
        if self._container is None:
            if not self._started and self.fmt.name == "wav":
                return wav_header(self.fmt.sample_rate or self.sample_rate, 0)
            return self._raw_resampler.flush() if self._raw_resampler is not None else b""
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._sink.take()


def encode_pcm16(pcm: bytes, sample_rate: int, fmt: OutputFormat) -> bytes:
    """Encode a whole PCM16 mono buffer into one file of the given format."""
    if fmt.name == "wav":
        return pcm16_to_wav(pcm, sample_rate)
    if fmt.name == "pcm":
        return pcm
    encoder = StreamEncoder(fmt, sample_rate)
    return encoder.feed(pcm) + encoder.close()


class StreamResampler:
    """Resample a continuous PCM16 mono stream chunk by chunk (keeps filter state between chunks)."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._resampler = (
            av.AudioResampler(format="s16", layout="mono", rate=to_rate) if from_rate != to_rate else None
        )

    @property
    def converts(self) -> bool:
        """Whether it changes anything (the rates differ); callers run `process` in a thread only then."""
        return self._resampler is not None

    def process(self, pcm: bytes) -> bytes:
        if self._resampler is None or not pcm:
            return pcm
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.from_rate
        return _pcm16(self._resampler.resample(frame))

    def flush(self) -> bytes:
        """The samples still held in the filter, at the end of the stream."""
        return b"" if self._resampler is None else _pcm16(self._resampler.resample(None))


def _pcm16(frames: list[av.AudioFrame]) -> bytes:
    return b"".join(out.to_ndarray().astype("<i2").tobytes() for out in frames)


def resample_pcm16(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample a complete PCM16 mono buffer (flushing the resampler, unlike a stream)."""
    if from_rate == to_rate or not pcm:
        return pcm
    resampler = StreamResampler(from_rate, to_rate)
    return resampler.process(pcm) + resampler.flush()


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0

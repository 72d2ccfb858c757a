from __future__ import annotations

import numpy as np
import pytest

from backend.core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMedia
from backend.media.audio import (
    OUTPUT_FORMATS,
    StreamEncoder,
    decode_audio,
    encode_pcm16,
    output_format,
    pcm16_to_wav,
)


def tone(seconds: float = 1.0, rate: int = 22050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


@pytest.mark.parametrize("name", [n for n in OUTPUT_FORMATS if n != "pcm"])
def test_every_output_format_decodes_back_with_the_same_duration(name: str) -> None:
    data = encode_pcm16(tone(1.0), 22050, output_format(name))
    audio = decode_audio(data)
    assert abs(len(audio) / 16000 - 1.0) < 0.1
    assert np.abs(audio).max() > 0.1  # real signal, not silence


def test_pcm_is_raw_samples() -> None:
    pcm = tone(0.5)
    assert encode_pcm16(pcm, 22050, output_format("pcm")) == pcm


def test_wav_header_sizes() -> None:
    wav = pcm16_to_wav(tone(0.5), 22050)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert int.from_bytes(wav[40:44], "little") == len(wav) - 44


@pytest.mark.parametrize("name", ["wav", "mp3", "opus", "flac"])
def test_stream_encoder_output_is_one_valid_file(name: str) -> None:
    enc = StreamEncoder(output_format(name), 22050)
    pcm = tone(1.0)
    data = enc.feed(pcm[:20000]) + enc.feed(pcm[20000:]) + enc.close()
    assert abs(len(decode_audio(data)) / 16000 - 1.0) < 0.1


def test_unknown_format_lists_allowed() -> None:
    with pytest.raises(InvalidRequest, match="allowed: wav, pcm, flac, mp3, opus, aac"):
        output_format("ogg-vorbis")


@pytest.mark.parametrize("junk", [b"hello world" * 50, b"RIFF" + b"\0" * 60, bytes(range(256)) * 8])
def test_garbage_is_unsupported_media(junk: bytes) -> None:
    with pytest.raises(UnsupportedMedia):
        decode_audio(junk)


def test_empty_input_is_invalid() -> None:
    with pytest.raises(InvalidRequest):
        decode_audio(b"")


def test_wav_with_no_samples_is_invalid() -> None:
    with pytest.raises(InvalidRequest, match="no samples"):
        decode_audio(pcm16_to_wav(b"", 16000))


def test_duration_limit() -> None:
    with pytest.raises(PayloadTooLarge, match="longer than the limit of 2 s"):
        decode_audio(pcm16_to_wav(tone(3.0, 16000), 16000), max_seconds=2)


@pytest.mark.parametrize("name", ["pcm", "wav"])
def test_stream_encoder_resamples_raw_formats_to_a_forced_rate(name: str) -> None:
    """/v1/audio/speech forces OpenAI's 24 kHz on pcm: 1 s at 22050 Hz in uneven chunks → 1 s at 24 kHz."""
    from dataclasses import replace

    t = np.arange(22050) / 22050
    pcm = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2").tobytes()
    enc = StreamEncoder(replace(output_format(name), sample_rate=24000), 22050)
    out = b"".join(enc.feed(pcm[i : i + 3000]) for i in range(0, len(pcm), 3000)) + enc.close()
    if name == "wav":
        assert int.from_bytes(out[24:28], "little") == 24000  # the header names the new rate
        out = out[44:]
    assert abs(len(out) // 2 - 24000) <= 48, len(out) // 2

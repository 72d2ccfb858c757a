"""G.711 and base64 codecs of the OpenAI Realtime door (backend/doors/openai_realtime/codecs.py)."""

import base64

import numpy as np
import pytest

from backend.doors.openai_realtime.codecs import (
    AudioDecodeError,
    InputAudioDecoder,
    OutputAudioEncoder,
    alaw_to_pcm16,
    mulaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_mulaw,
)


def _pcm(*samples: int) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def _samples(pcm: bytes) -> list[int]:
    return np.frombuffer(pcm, dtype="<i2").tolist()


def test_g711_reference_codes() -> None:
    # ITU-T G.711 table values: silence and full scale.
    assert pcm16_to_mulaw(_pcm(0, 32767, -32768)) == bytes([0xFF, 0x80, 0x00])
    assert pcm16_to_alaw(_pcm(0, 32767, -32768)) == bytes([0xD5, 0xAA, 0x2A])
    assert _samples(mulaw_to_pcm16(bytes([0x00, 0x80, 0xFF, 0x7F]))) == [-32124, 32124, 0, 0]
    assert _samples(alaw_to_pcm16(bytes([0xD5, 0x55, 0xAA, 0x2A]))) == [8, -8, 32256, -32256]


@pytest.mark.parametrize(
    ("encode", "decode"), [(pcm16_to_mulaw, mulaw_to_pcm16), (pcm16_to_alaw, alaw_to_pcm16)]
)
def test_g711_round_trip_keeps_the_signal(encode, decode) -> None:
    t = np.arange(8000) / 8000
    tone = (np.sin(2 * np.pi * 440 * t) * 20000).astype("<i2")
    back = np.frombuffer(decode(encode(tone.tobytes())), dtype="<i2").astype(np.float64)
    assert len(back) == len(tone)
    error = back - tone
    snr_db = 10 * np.log10(np.mean(tone.astype(np.float64) ** 2) / np.mean(error**2))
    assert snr_db > 30  # G.711 gives ~38 dB on a loud tone


def test_input_decoder_resamples_pcm16_24k_to_engine_rate() -> None:
    decoder = InputAudioDecoder("pcm16", 16000)
    chunk = base64.b64encode(np.zeros(2400, dtype="<i2").tobytes()).decode()  # 100 ms at 24 kHz
    total = sum(len(decoder.decode(chunk)) for _ in range(10))
    assert abs(total // 2 - 16000) < 400  # ~1 s at 16 kHz (resampler holds a few samples)


def test_input_decoder_ulaw_is_8k() -> None:
    decoder = InputAudioDecoder("g711_ulaw", 8000)
    assert decoder.decode(base64.b64encode(bytes([0xFF] * 80)).decode()) == bytes(160)


@pytest.mark.parametrize("payload", ["not base64!!", "AAA"])
def test_input_decoder_rejects_bad_base64(payload: str) -> None:
    with pytest.raises(AudioDecodeError):
        InputAudioDecoder("pcm16", 24000).decode(payload)


def test_input_decoder_rejects_odd_pcm16() -> None:
    with pytest.raises(AudioDecodeError, match="even"):
        InputAudioDecoder("pcm16", 24000).decode(base64.b64encode(b"\x00\x01\x02").decode())


def test_output_encoder_alaw_8k_from_engine_rate() -> None:
    encoder = OutputAudioEncoder("g711_alaw", 16000)
    out = base64.b64decode(encoder.encode(np.zeros(16000, dtype="<i2").tobytes()) + "") + base64.b64decode(
        encoder.flush()
    )
    assert abs(len(out) - 8000) < 200  # one byte per 8 kHz sample
    assert set(out) == {0xD5}  # silence


def test_output_encoder_serves_response_after_response() -> None:
    """Each response ends with flush(); the next one must still encode (a flushed resampler is at EOF)."""
    encoder = OutputAudioEncoder("pcm16", 22050)
    second = b""
    for _ in range(2):
        chunk = base64.b64decode(encoder.encode(np.zeros(22050, dtype="<i2").tobytes()))
        second = chunk + base64.b64decode(encoder.flush())
    assert abs(len(second) - 24000 * 2) < 400  # one second at 24 kHz, PCM16

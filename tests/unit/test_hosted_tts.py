"""Pure helpers of the hosted TTS providers: sample alignment, output formats, text pieces, voice ids."""

from __future__ import annotations

import pytest

from backend.core.config import parse_config
from backend.core.errors import ConfigError
from backend.media.audio import resample_pcm16
from backend.speech.hosted_tts import PCMAligner, vendor_voice_id
from backend.speech.providers.elevenlabs_tts import ElevenLabsTTS, parse_output_format
from backend.speech.providers.openai_tts import OpenAITTS, text_pieces


def test_aligner_never_splits_a_sample() -> None:
    aligner = PCMAligner()
    out = [aligner.feed(part) for part in (b"\x01", b"\x02\x03", b"\x04\x05\x06", b"")]
    assert out == [b"", b"\x01\x02", b"\x03\x04\x05\x06", b""]
    assert aligner.pending == 0
    aligner.feed(b"\x07")
    assert aligner.pending == 1


def test_output_formats() -> None:
    assert parse_output_format("pcm_22050") == ("pcm", 22050)
    assert parse_output_format("mp3_44100_128") == ("mp3", 44100)
    for bad in ("pcm", "ulaw_8000", "mp3_44100", "wav", "pcm_12345", "mp3_44100_100"):
        with pytest.raises(ConfigError, match="elevenlabs.output_format"):
            parse_output_format(bad)


def test_text_pieces_respect_the_limit_and_keep_every_word() -> None:
    assert text_pieces("Short text.") == ["Short text."]
    text = "One two three. Four five six. Seven eight nine."
    pieces = text_pieces(text, limit=20)
    assert all(len(p) <= 20 for p in pieces) and " ".join(pieces) == text


def test_resample_keeps_duration() -> None:
    pcm = b"\x00\x10" * 22050  # one second
    out = resample_pcm16(pcm, 22050, 16000)
    assert abs(len(out) / 2 - 16000) < 50
    assert resample_pcm16(pcm, 22050, 22050) is pcm


def test_catalogue_ids_per_language() -> None:
    settings = parse_config({"tts": {"language": "hi"}, "openai": {"tts_voice": "nova"}})
    ids = OpenAITTS.installed_voice_ids(settings)
    assert ids[0] == "nova"  # the default voice first, in the home language (tts.language)
    assert OpenAITTS.describe_voice(settings, "nova")["language"] == "hi"  # type: ignore[index]
    assert OpenAITTS.describe_voice(settings, "nova@en")["language"] == "en"  # type: ignore[index]
    assert "nova@ml" not in ids  # OpenAI does not speak Malayalam
    assert vendor_voice_id("nova@en") == "nova" and vendor_voice_id("abc") == "abc"
    english_only = parse_config({"elevenlabs": {"model_id": "eleven_flash_v2"}})
    assert ElevenLabsTTS.catalogue_languages(english_only) == ["en"]

"""The Sarvam AI providers (TTS: Bulbul, STT: Saaras) against a local stand-in of Sarvam's API
(tests/fakes/sarvam.py): the providers straight, then the real app with ``tts.provider: sarvam`` and
``stt.provider: sarvam`` (and Piper / local Whisper behind them).

The stand-in speaks with eSpeak NG and recognises what it said (tests/fakes/phrase_matcher.py), so the
Hindi round trips compare real text, not "some audio came back".
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from backend.core.config import Settings, load_config, parse_config
from backend.core.errors import ConfigError, ProviderError
from backend.media.audio import decode_audio, pcm16_to_float, pcm16_to_wav
from backend.realtime.client import VoiceClient
from backend.speech.base import StreamResult, STTConfig, TTSConfig
from backend.speech.factory import stt_class, tts_class
from backend.speech.providers.sarvam_stt import SarvamSTT, cut_points
from backend.speech.providers.sarvam_tts import SPEAKERS, SarvamTTS, _without_wav_header
from tests.conftest import LiveServer, make_settings
from tests.fakes.phrase_matcher import PhraseMatcher
from tests.fakes.sarvam import FakeSarvam
from tests.helpers.cloud import close_circuits
from tests.helpers.speech import normalise, word_error_rate

KEY = "sarvam-test-key-1"
HINDI = "नमस्ते, आप कैसे हैं?"
HINDI_2 = "मुझे कल सुबह दस बजे डॉक्टर से मिलना है।"
ENGLISH = "Good morning. The train leaves at ten."
ONE_SENTENCE = "The train to the city leaves at ten in the morning."  # the stand-in knows whole renderings
QUESTION = "Could you please tell me the name of the capital city of France?"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeSarvam]:
    with FakeSarvam(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeSarvam) -> FakeSarvam:
    fake_server.reset(api_key=KEY)
    return fake_server


def settings_for(fake: FakeSarvam | None, realtime: dict[str, Any] | None = None, **block: Any) -> Settings:
    values: dict[str, Any] = {"api_key": KEY, "timeout_seconds": 5, "max_retries": 2}
    if fake is not None:
        values["base_url"] = fake.url
    values.update(block)
    return parse_config({"sarvam": values, "languages": ["en", "hi", "ta"], "realtime": realtime or {}})


def speech16(fake: FakeSarvam, text: str, language: str, rate: int = 22050) -> np.ndarray:
    """What the stand-in says, as a client would send it: through a WAV at ``rate``, at 16 kHz."""
    pcm = fake.synthesize(text, language, rate=rate)
    fake.learn_pcm(text, language, pcm, rate)
    return decode_audio(pcm16_to_wav(pcm, rate))


@asynccontextmanager
async def loaded_tts(settings: Settings) -> AsyncIterator[SarvamTTS]:
    provider = SarvamTTS(settings)
    await provider.load()
    try:
        yield provider
    finally:
        await provider.close()


@asynccontextmanager
async def loaded_stt(settings: Settings) -> AsyncIterator[SarvamSTT]:
    provider = SarvamSTT(settings)
    await provider.load()
    try:
        yield provider
    finally:
        await provider.close()


async def speak(settings: Settings, text: str, voice: str, language: str, speed: float = 1.0) -> bytes:
    async with loaded_tts(settings) as provider:
        return b"".join([c.pcm async for c in provider.stream(text, TTSConfig(voice, language, speed))])


# --------------------------------------------------------------------------- the stand-in's ears


def test_phrase_matcher_scores(fake: FakeSarvam) -> None:
    """The numbers tests/fakes/phrase_matcher.py's docstring states, measured again."""
    matcher = PhraseMatcher(render=fake.render)
    phrases = [(HINDI, "hi"), (HINDI_2, "hi"), ("आज मौसम बहुत अच्छा है।", "hi"), (ENGLISH, "en")]
    for text, language in phrases:
        matcher.learn(text, language)
    for text, language in phrases:
        for rate in (22050, 24000, 8000):  # re-rendered (eSpeak jitters), WAV round trip, resampled
            heard = decode_audio(pcm16_to_wav(fake.synthesize(text, language, rate=rate), rate))
            heard = np.concatenate([np.zeros(8000, np.float32), heard * 0.3, np.zeros(16000, np.float32)])
            best, *others = matcher.scores(heard)
            assert best.text == text and best.score >= (0.9 if rate > 8000 else 0.85), (rate, best)
            assert all(o.score < 0.3 for o in others), others
    never_taught = decode_audio(pcm16_to_wav(fake.synthesize("धन्यवाद, फिर मिलेंगे।", "hi"), 22050))
    assert matcher.match(never_taught) is None
    faster = pcm16_to_float(fake.synthesize(HINDI, "hi", pace=1.25, rate=16000))
    assert matcher.match(faster) is None  # the same words, another rendering: not the taught phrase


# --------------------------------------------------------------------------- config, registry, voices


def test_config_block_registry_and_startup_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tts_class("sarvam") is SarvamTTS and stt_class("sarvam") is SarvamSTT
    monkeypatch.setenv("SARVAM_API_KEY", "from-the-env")
    monkeypatch.delenv("SARVAM_BASE_URL", raising=False)
    cfg = load_config().sarvam  # config.yml's block reads the environment
    assert cfg.api_key == "from-the-env" and cfg.base_url == "https://api.sarvam.ai"
    assert (cfg.tts_model, cfg.speaker, cfg.stt_model, cfg.sample_rate) == (
        "bulbul:v3",
        "shubh",
        "saaras:v3",
        24000,
    )
    with pytest.raises(ConfigError, match="sarvam.sample_rate: 12345 is invalid.*8000, 16000, 22050"):
        parse_config({"sarvam": {"sample_rate": 12345}})
    with pytest.raises(ConfigError, match="sarvam.pace"):
        parse_config({"sarvam": {"pace": 2.5}})


async def test_missing_key_for_sarvams_host_fails_at_load_naming_the_variable() -> None:
    settings = settings_for(None, api_key="")
    with pytest.raises(ConfigError, match="sarvam.api_key is empty: set SARVAM_API_KEY"):
        await SarvamTTS(settings).load()
    with pytest.raises(ConfigError, match="sarvam.api_key is empty: set SARVAM_API_KEY"):
        await SarvamSTT(settings).load()


def test_voices_are_listed_per_language() -> None:
    settings = parse_config({"sarvam": {"speaker": "ritu"}, "languages": ["en", "hi", "ne"]})
    ids = SarvamTTS.installed_voice_ids(settings)
    assert ids[0] == "ritu" and "shubh" in ids and "ritu@hi" in ids and "kavya@hi" in ids
    assert not any(i.endswith("@ne") for i in ids)  # Bulbul does not speak Nepali
    assert len(ids) == 2 * len(SPEAKERS["bulbul:v3"])
    hindi = SarvamTTS.describe_voice(settings, "ritu@hi")
    assert (
        hindi and hindi["language"] == "hi" and hindi["engine"] == "sarvam" and hindi["sample_rate"] == 24000
    )
    custom = SarvamTTS.installed_voice_ids(parse_config({"sarvam": {"speaker": "my-clone"}}))
    assert custom[0] == "my-clone"


# --------------------------------------------------------------------------- TTS


@pytest.mark.parametrize(
    ("streaming", "path", "codec"),
    [(True, "/text-to-speech/stream", "linear16"), (False, "/text-to-speech", "wav")],
)
async def test_tts_wire_format_and_real_audio(
    fake: FakeSarvam, streaming: bool, path: str, codec: str
) -> None:
    settings = settings_for(fake, sample_rate=16000, pace=1.2, tts_streaming=streaming)
    pcm = await speak(settings, HINDI, "ritu@hi", "hi", speed=1.5)
    (request,) = fake.tts_requests()
    assert request.path == path and request.headers["api-subscription-key"] == KEY
    assert request.body == {
        "text": HINDI,
        "language_code": "hi-IN",
        "speaker": "ritu",
        "model": "bulbul:v3",
        "pace": 1.8,  # sarvam.pace x the request's speed
        "speech_sample_rate": 16000,
        "output_audio_codec": codec,
    }
    samples = np.frombuffer(pcm, "<i2")
    assert samples.size / 16000 == pytest.approx(request.audio_seconds, abs=0.01)  # all of it, at 16 kHz
    assert np.abs(samples).max() > 3000
    slow_settings = settings_for(fake, sample_rate=16000, tts_streaming=streaming)
    slow = await speak(slow_settings, HINDI, "ritu@hi", "hi", speed=0.25)
    assert fake.last.body["pace"] == 0.5  # clamped to bulbul:v3's range
    assert len(slow) > 1.5 * len(pcm)  # and it really is slower speech


async def test_tts_sentence_by_sentence(fake: FakeSarvam) -> None:
    text = f"{HINDI} {HINDI_2}"
    async with loaded_tts(settings_for(fake)) as provider:
        chunks = [c async for c in provider.stream(text, TTSConfig("shubh@hi", "hi"))]
    assert [r.body["text"] for r in fake.tts_requests()] == [HINDI, HINDI_2]
    assert [c.text for c in chunks if c.text] == [HINDI, HINDI_2] and all(
        c.sample_rate == 24000 for c in chunks
    )
    # streamed: each sentence's audio comes in pieces, as the body arrives (0.1 s chunks here)
    assert len(chunks) > 4 and all(len(c.pcm) % 2 == 0 for c in chunks)


def test_a_streamed_wav_header_is_skipped() -> None:
    pcm = (np.arange(100, dtype="<i2") * 300).tobytes()
    assert _without_wav_header(pcm16_to_wav(pcm, 24000)) == pcm
    assert _without_wav_header(pcm) == pcm  # raw linear16 as it is


async def test_stand_in_validates_like_sarvam(fake: FakeSarvam) -> None:
    url = f"{fake.url}/text-to-speech"
    good = {"text": HINDI, "language_code": "hi-IN", "model": "bulbul:v3"}
    cases: list[tuple[dict[str, str], dict[str, Any], int, str]] = [
        ({}, good, 403, "invalid_api_key_error"),
        ({"api-subscription-key": "wrong"}, good, 403, "invalid_api_key_error"),
        ({"api-subscription-key": KEY}, good | {"text": "क" * 2501}, 422, "2500 characters"),
        ({"api-subscription-key": KEY}, good | {"language_code": "fr-FR"}, 400, "not supported"),
        ({"api-subscription-key": KEY}, good | {"speaker": "anushka"}, 400, "not compatible with model"),
        ({"api-subscription-key": KEY}, good | {"pace": 2.5}, 422, "between 0.5 and 2.0"),
        ({"api-subscription-key": KEY}, good | {"speech_sample_rate": 11025}, 400, "11025"),
    ]
    async with httpx.AsyncClient() as client:
        for headers, body, status, words in cases:
            resp = await client.post(url, json=body, headers=headers)
            assert resp.status_code == status, resp.text
            error = resp.json()["error"]
            assert words in error["message"] or words == error["code"], error
            assert error["code"] in ("invalid_request_error", "invalid_api_key_error") and error["request_id"]
        streamed = await client.post(
            f"{url}/stream", json=good | {"text": "क" * 3501}, headers={"api-subscription-key": KEY}
        )
        assert streamed.status_code == 422 and "3500 characters" in streamed.json()["error"]["message"]
        legacy = good | {"target_language_code": "hi-IN"}
        del legacy["language_code"]
        resp = await client.post(url, json=legacy, headers={"api-subscription-key": KEY})
        assert resp.status_code == 200 and base64.b64decode(resp.json()["audios"][0])[:4] == b"RIFF"


async def test_tts_bad_key_is_a_clear_auth_error_not_retried(fake: FakeSarvam) -> None:
    with pytest.raises(ProviderError) as err:
        await speak(settings_for(fake, api_key="wrong-key"), HINDI, "shubh@hi", "hi")
    exc = err.value
    assert exc.code == "provider_auth_failed" and exc.status_code == 502 and exc.upstream_status == 403
    assert "Invalid API key" in exc.message and "check sarvam.api_key" in exc.message
    assert exc.failover and not exc.retryable and len(fake.tts_requests()) == 1


async def test_tts_rate_limits_server_errors_and_malformed_answers(fake: FakeSarvam) -> None:
    fake.fail(429, retry_after=0.3)
    start = time.perf_counter()
    assert await speak(settings_for(fake), HINDI, "shubh@hi", "hi")
    assert time.perf_counter() - start >= 0.3 and [r.status for r in fake.tts_requests()] == [429, 200]
    fake.reset(api_key=KEY)
    fake.fail(429, times=3, retry_after=0.01)
    with pytest.raises(ProviderError) as err:
        await speak(settings_for(fake), HINDI, "shubh@hi", "hi")
    assert err.value.code == "provider_rate_limited" and err.value.status_code == 503
    assert "Rate limit exceeded" in err.value.message and len(fake.tts_requests()) == 3
    fake.reset(api_key=KEY)
    fake.fail(500)
    assert await speak(settings_for(fake), HINDI, "shubh@hi", "hi")  # retried
    fake.reset(api_key=KEY)
    fake.malformed()
    with pytest.raises(ProviderError, match="not base64") as err:
        await speak(settings_for(fake, tts_streaming=False), HINDI, "shubh@hi", "hi")
    assert err.value.code == "provider_bad_response"
    fake.reset(api_key=KEY)
    fake.malformed()  # a streamed 200 whose body is JSON, not audio
    with pytest.raises(ProviderError, match="expected audio, got application/json") as err:
        await speak(settings_for(fake), HINDI, "shubh@hi", "hi")
    assert err.value.code == "provider_bad_response"


async def test_tts_request_faults_are_422_and_not_failed_over(fake: FakeSarvam) -> None:
    with pytest.raises(ProviderError) as err:
        await speak(settings_for(fake, speaker="my-clone"), HINDI, "my-clone@hi", "hi")
    exc = err.value
    assert exc.status_code == 422 and exc.code == "provider_rejected_request" and not exc.failover
    assert "Speaker 'my-clone' is not compatible with model bulbul:v3" in exc.message
    assert len(fake.tts_requests()) == 1


# --------------------------------------------------------------------------- STT (REST)


async def test_stt_detects_hindi_and_reports_sarvams_language(fake: FakeSarvam) -> None:
    audio = speech16(fake, HINDI, "hi")
    async with loaded_stt(settings_for(fake)) as provider:
        detected = await provider.transcribe(audio, STTConfig())
        given = await provider.transcribe(audio, STTConfig(language="hi"))
    assert detected.text == HINDI and detected.language == "hi" and 0.6 < detected.language_probability <= 1
    assert given.text == HINDI and given.language == "hi" and given.model == "saaras:v3"
    first, second = fake.stt_requests()
    assert first.headers["api-subscription-key"] == KEY
    assert first.body == {"model": "saaras:v3", "language_code": "unknown", "with_timestamps": "true"}
    assert second.body["language_code"] == "hi-IN" and first.file[:4] == b"RIFF"
    assert (
        detected.segments and 0 <= detected.segments[0].start < detected.segments[0].end <= detected.duration
    )


async def test_stt_language_comes_from_sarvams_answer(fake: FakeSarvam) -> None:
    audio = speech16(fake, ENGLISH, "en")
    async with loaded_stt(settings_for(fake)) as provider:
        result = await provider.transcribe(audio, STTConfig())
        with pytest.raises(ProviderError) as err:
            await provider.transcribe(audio, STTConfig(language="fr"))
    assert result.text == ENGLISH and result.language == "en"
    assert err.value.status_code == 422 and err.value.code == "unsupported_language"
    assert len(fake.stt_requests()) == 1  # French was refused before Sarvam was asked


async def test_stt_long_audio_is_cut_into_30_second_pieces(fake: FakeSarvam) -> None:
    one, two = speech16(fake, HINDI, "hi"), speech16(fake, HINDI_2, "hi")
    audio = np.concatenate([one, np.zeros(16000 * 28, np.float32), two])  # ~34 s
    spans = cut_points(audio)
    assert len(spans) == 2 and all(end - start <= 29.5 * 16000 for start, end in spans)
    async with loaded_stt(settings_for(fake)) as provider:
        result = await provider.transcribe(audio, STTConfig(language="hi"))
    assert result.text == f"{HINDI} {HINDI_2}" and result.duration == pytest.approx(
        audio.size / 16000, abs=0.01
    )
    assert [s.text for s in result.segments] == [HINDI, HINDI_2] and result.segments[1].start > 28
    assert sorted(r.audio_seconds for r in fake.stt_requests())[-1] <= 30
    async with httpx.AsyncClient() as client:  # what Sarvam says to audio over 30 s
        resp = await client.post(
            f"{fake.url}/speech-to-text",
            headers={"api-subscription-key": KEY},
            files={"file": ("a.wav", pcm16_to_wav(bytes(2 * 16000 * 31), 16000), "audio/wav")},
        )
    assert resp.status_code == 400 and "exceeds the maximum of 30 seconds" in resp.json()["error"]["message"]


async def test_stt_errors(fake: FakeSarvam) -> None:
    audio = speech16(fake, HINDI, "hi")
    with pytest.raises(ProviderError) as err:
        async with loaded_stt(settings_for(fake, api_key="wrong")) as provider:
            await provider.transcribe(audio, STTConfig())
    assert err.value.code == "provider_auth_failed" and err.value.upstream_status == 403
    assert "check SARVAM_API_KEY (sarvam.api_key)" in err.value.message
    fake.reset(api_key=KEY)
    fake.fail(429, times=3, retry_after=0.01)
    with pytest.raises(ProviderError) as err:
        async with loaded_stt(settings_for(fake)) as provider:
            await provider.transcribe(audio, STTConfig())
    assert err.value.code == "provider_rate_limited" and len(fake.stt_requests()) == 3
    fake.reset(api_key=KEY)
    fake.drop()
    async with loaded_stt(settings_for(fake)) as provider:
        assert (await provider.transcribe(audio, STTConfig())).text == HINDI  # retried
        fake.malformed()
        with pytest.raises(ProviderError, match="no 'transcript'"):
            await provider.transcribe(audio, STTConfig())


# --------------------------------------------------------------------------- STT (live)


async def stream_through(
    provider: SarvamSTT, audio: np.ndarray, config: STTConfig, tail_s: float = 1.3
) -> tuple[list[tuple[float, StreamResult]], float]:
    """Send ``audio`` at real-time pace in 20 ms frames, then silence, then finalize()."""
    stream = await provider.open_stream(config)
    start = time.perf_counter()
    sent = {"speech": 0.0}

    async def sender() -> None:
        data = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        for i, offset in enumerate(range(0, len(data), 640)):
            await stream.send(data[offset : offset + 640])
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.perf_counter()))
        sent["speech"] = time.perf_counter() - start
        for _ in range(int(tail_s / 0.1)):
            await stream.send(bytes(3200))
            await asyncio.sleep(0.1)
        await stream.finalize()

    task = asyncio.create_task(sender())
    results = []
    try:
        async for result in stream:
            results.append((time.perf_counter() - start, result))
        await task
    finally:
        task.cancel()
        await stream.aclose()
    return results, sent["speech"]


async def test_live_stream_transcribes_each_stretch_of_speech(fake: FakeSarvam) -> None:
    audio = speech16(fake, HINDI, "hi")
    settings = settings_for(fake, realtime={"partial_interval_ms": 60_000})  # no flush mid-phrase
    async with loaded_stt(settings) as provider:
        assert provider.capabilities().streaming
        results, _ = await stream_through(provider, audio, STTConfig(language="hi"))
    assert [r.text for _, r in results] == [HINDI] and results[0][1].is_final and results[0][1].speech_final
    (session,) = fake.live_sessions()
    assert session.path == "/speech-to-text/ws" and session.headers["api-subscription-key"] == KEY
    assert session.query == {
        "language-code": "hi-IN",
        "model": "saaras:v3",
        "sample_rate": "16000",
        "input_audio_codec": "pcm_s16le",
        "vad_signals": "true",
        "flush_signal": "true",
    }
    audio_messages = [m for m in session.received if "audio_bytes" in m]
    assert audio_messages[0] == {"audio_bytes": 640, "sample_rate": 16000, "encoding": "audio/wav"}
    assert [m["data"]["signal_type"] for m in session.sent if m["type"] == "events"] == [
        "START_SPEECH",
        "END_SPEECH",
    ]
    assert session.received[-1] == {"type": "flush"}


async def test_live_flushes_give_partials_while_the_user_speaks(
    fake: FakeSarvam, assembled_models: Path
) -> None:
    fake.asr.warm()
    audio = speech16(fake, f"{ENGLISH} {QUESTION}", "en")
    async with loaded_stt(settings_for(fake)) as provider:  # realtime.partial_interval_ms: 800
        results, speech_sent = await stream_through(provider, audio, STTConfig(language="en"))
    texts = [(t, r.text) for t, r in results if r.text]
    assert len(texts) >= 2 and texts[0][0] < speech_sent, (texts, speech_sent)  # before the audio ended
    heard = set(normalise(" ".join(text for _, text in texts)).split())
    said = set(normalise(f"{ENGLISH} {QUESTION}").split())
    assert len(heard & said) >= 6, heard  # Whisper on 0.8 s fragments of eSpeak: words, not a transcript
    flushes = [m for m in fake.live_sessions()[0].received if m == {"type": "flush"}]
    assert len(flushes) >= int(audio.size / 16000 / 0.8)


async def test_live_refusals_and_drops_are_provider_errors(fake: FakeSarvam) -> None:
    async with loaded_stt(settings_for(fake, api_key="wrong")) as provider:
        with pytest.raises(ProviderError) as err:
            await provider.open_stream(STTConfig(language="hi"))
    assert err.value.code == "provider_auth_failed" and err.value.upstream_status == 403
    fake.fail(429, retry_after=2)
    no_flush = {"partial_interval_ms": 60_000}  # one transcript per stretch of speech
    async with loaded_stt(settings_for(fake, realtime=no_flush)) as provider:
        with pytest.raises(ProviderError) as err:
            await provider.open_stream(STTConfig(language="hi"))
        assert err.value.code == "provider_rate_limited"
        fake.drop()
        audio = speech16(fake, HINDI, "hi")
        with pytest.raises(ProviderError, match="code 1011") as err:
            await stream_through(
                provider,
                np.concatenate([audio, np.zeros(24000, np.float32), audio]),
                STTConfig(language="hi"),
            )
        assert err.value.code == "provider_bad_response"
    off = SarvamSTT(settings_for(fake, streaming=False))
    assert not off.capabilities().streaming
    with pytest.raises(ProviderError) as err:
        await off.open_stream(STTConfig())
    assert err.value.code == "streaming_unsupported"


# --------------------------------------------------------------------------- through the app


@pytest.fixture(scope="module")
def live(fake_server: FakeSarvam, assembled_models: Path) -> Iterator[LiveServer]:
    fake_server.asr.warm()  # Whisper in the stand-in, for what its phrase matcher does not know
    settings = make_settings(
        {
            "tts": {
                "provider": "sarvam",
                "fallback": ["piper"],
                "language_fallback": "",
                "voice_id": None,
                "phrase_cache_entries": 0,
            },
            "stt": {"provider": "sarvam", "fallback": ["whisper_local"], "model_size": "tiny.en"},
            "sarvam": {"api_key": KEY, "base_url": fake_server.url, "max_retries": 0, "timeout_seconds": 5},
            "piper": {"noise_scale": 0.0, "noise_w_scale": 0.0},
            "whisper_local": {"preload": []},
            "languages": ["en", "hi"],
            "limits": {"requests_per_minute": 0},
            "resilience": {"failure_threshold": 50},
        },
        models=assembled_models,
    )
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def app(live: LiveServer, fake: FakeSarvam) -> LiveServer:
    close_circuits(live.app.state.tts.chain, live.app.state.stt.chain)
    return live


def test_rest_tts_and_stt_through_our_apis_in_hindi(app: LiveServer, fake: FakeSarvam) -> None:
    resp = httpx.post(f"{app.url}/api/tts/generate", json={"text": HINDI, "language": "hi"}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-tts-provider"] == "sarvam" and resp.headers["x-voice-id"] == "shubh@hi"
    assert fake.tts_requests()[-1].body["language_code"] == "hi-IN"
    files = {"file": ("speech.wav", resp.content, "audio/wav")}
    verbose = httpx.post(
        f"{app.url}/v1/audio/transcriptions",
        files=files,
        data={"model": "whisper-1", "response_format": "verbose_json"},
        timeout=60,
    )
    assert verbose.status_code == 200, verbose.text
    body = verbose.json()
    assert body["text"] == HINDI and body["language"] == "hindi", body  # detected by "Sarvam"
    assert fake.stt_requests()[-1].body["language_code"] == "unknown"

    resp = httpx.post(
        f"{app.url}/v1/audio/speech",
        json={"model": "tts-1", "voice": "ritu", "input": ONE_SENTENCE, "response_format": "wav"},
        timeout=60,
    )
    assert resp.status_code == 200 and resp.headers["x-tts-provider"] == "sarvam", resp.text
    assert fake.tts_requests()[-1].body["speaker"] == "ritu"
    heard = httpx.post(
        f"{app.url}/api/stt/transcribe",
        files={"file": ("a.wav", resp.content)},
        data={"language": "en"},
        timeout=60,
    ).json()
    assert heard["text"] == ONE_SENTENCE and heard["language"] == "en" and heard["provider"] == "sarvam"


def test_vendor_outages_fail_over_to_local_engines(app: LiveServer, fake: FakeSarvam) -> None:
    fake.fail(503, times=20)
    resp = httpx.post(f"{app.url}/api/tts/generate", json={"text": ENGLISH}, timeout=60)
    assert resp.status_code == 200 and resp.headers["x-tts-provider"] == "piper", resp.headers
    assert fake.tts_requests() and all(r.status == 503 for r in fake.tts_requests())
    fake.reset(api_key=KEY)
    fake.fail(429, times=20, retry_after=0.01)
    heard = httpx.post(f"{app.url}/api/stt/transcribe", files={"file": ("a.wav", resp.content)}, timeout=120)
    body = heard.json()
    assert heard.status_code == 200 and body["provider"] == "whisper_local", body
    assert word_error_rate(ENGLISH, body["text"]) <= 0.3, body["text"]
    [event] = body["failover"]
    assert (event["from"], event["to"], event["reason"]) == (
        "sarvam",
        "whisper_local",
        "provider_rate_limited",
    )


def test_bad_input_is_our_4xx_before_sarvam_is_asked(app: LiveServer, fake: FakeSarvam) -> None:
    too_long = httpx.post(
        f"{app.url}/api/tts/generate", json={"text": "क" * 5001, "language": "hi"}, timeout=30
    )
    assert too_long.status_code == 422 and "limits.max_text_chars" in too_long.json()["error"]["message"]
    nobody = httpx.post(f"{app.url}/api/tts/generate", json={"text": HINDI, "voice_id": "nobody"}, timeout=30)
    assert nobody.status_code == 422 and nobody.json()["error"]["code"] == "unknown_voice"
    assert fake.request_count == 0
    fake.fail(400, message="Text could not be normalised.")  # a request Sarvam refuses: no failover
    refused = httpx.post(f"{app.url}/api/tts/generate", json={"text": HINDI, "language": "hi"}, timeout=30)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "provider_rejected_request"
    assert "Text could not be normalised." in refused.json()["error"]["message"]


async def test_voice_partials_come_from_the_streaming_socket(app: LiveServer, fake: FakeSarvam) -> None:
    wav = httpx.post(f"{app.url}/api/tts/generate", json={"text": QUESTION}, timeout=60).content
    pcm = (decode_audio(wav) * 32767).astype("<i2").tobytes()
    fake.reset(api_key=KEY)
    url = app.url.replace("http://", "ws://") + "/voice"
    async with VoiceClient.connect(url, language="en") as client:
        await client.stream_pcm(bytes(32000) + pcm, trailing_silence_s=1.5)
        final = await client.wait_for("transcript.final", timeout=90)
    got = client.received
    assert final["text"] == QUESTION and final["language"] == "en", final  # Sarvam's REST answer
    partials = [e["text"] for e in got.of("transcript.partial")]
    sessions = fake.live_sessions()
    assert partials and sessions and sessions[0].headers["api-subscription-key"] == KEY
    assert sessions[0].query["language-code"] == "en-IN"
    streamed = [m["data"]["transcript"] for s in sessions for m in s.sent if m["type"] == "data"]
    assert any(p.startswith(streamed[0]) for p in partials), (partials, streamed)
    stopped, first_partial = got.first_time("speech.stopped"), got.first_time("transcript.partial")
    assert first_partial is not None and stopped is not None and first_partial < stopped

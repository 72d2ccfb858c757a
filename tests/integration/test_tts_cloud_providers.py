"""The hosted TTS providers (elevenlabs, openai, coqui) against local fakes of the vendors' real APIs.

Every test builds the real provider class from settings whose base_url points at a fake on 127.0.0.1
(tests/fakes/), so requests, headers, bodies, error bodies and dropped connections are all real HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from backend.core.config import Settings, parse_config
from backend.core.errors import ConfigError, ProviderError
from backend.media.audio import pcm16_to_wav
from backend.speech.base import AudioChunk, TTSConfig, TTSProvider
from backend.speech.hosted_tts import HostedTTSProvider
from backend.speech.providers.coqui_tts import CoquiTTS, read_wav
from backend.speech.providers.elevenlabs_tts import ElevenLabsTTS
from backend.speech.providers.openai_tts import OpenAITTS, text_pieces
from tests.fakes.coqui import FakeCoqui
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.tts_vendor import FakeTTSVendor, Fault
from tests.helpers.cloud import EL_KEY, OA_KEY, tts_vendor_fakes

RACHEL = "21m00Tcm4TlvDq8ikWAM"
TEXT = "Good morning. The train leaves at ten."


@dataclass
class Vendor:
    """One provider and its fake, with what differs between them."""

    name: str
    fake: FakeTTSVendor
    cls: type[HostedTTSProvider]
    voice: str
    rate: int

    def settings(self, **block: Any) -> Settings:
        blocks: dict[str, dict[str, Any]] = {
            "elevenlabs": {"api_key": EL_KEY, "base_url": self.fake.url},
            "openai": {"api_key": OA_KEY, "base_url": f"{self.fake.url}/v1"},
            "coqui": {"base_url": self.fake.url},
        }
        blocks[self.name] |= {"timeout_seconds": 5, "max_retries": 2} | block
        return parse_config({self.name: blocks[self.name]})

    def provider(self, **block: Any) -> HostedTTSProvider:
        return self.cls(self.settings(**block))


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeTTSVendor]]:
    with tts_vendor_fakes() as servers:
        yield servers


_VOICES = {"elevenlabs": (RACHEL, 22050), "openai": ("alloy", 24000), "coqui": ("coqui-default", 22050)}
_CLASSES: dict[str, type[HostedTTSProvider]] = {
    "elevenlabs": ElevenLabsTTS,
    "openai": OpenAITTS,
    "coqui": CoquiTTS,
}


@pytest.fixture(params=list(_CLASSES))
def vendor(request: pytest.FixtureRequest, fakes: dict[str, FakeTTSVendor]) -> Vendor:
    name = request.param
    fake = fakes[name]
    fake.reset()
    return Vendor(name, fake, _CLASSES[name], *_VOICES[name])


async def collect(provider: TTSProvider, text: str, config: TTSConfig) -> list[tuple[float, AudioChunk]]:
    """(seconds since the call, chunk) for every chunk the provider yields."""
    start = time.perf_counter()
    return [(time.perf_counter() - start, chunk) async for chunk in provider.stream(text, config)]


async def speak(vendor: Vendor, text: str = TEXT, language: str = "en", speed: float = 1.0, **block: Any):
    provider = vendor.provider(**block)
    await provider.load()
    try:
        return await collect(provider, text, TTSConfig(vendor.voice, language, speed))
    finally:
        await provider.close()


def pcm_of(chunks: list[tuple[float, AudioChunk]]) -> bytes:
    return b"".join(c.pcm for _, c in chunks)


# --------------------------------------------------------------------------- happy path and wire format


async def test_happy_path_is_pcm16_at_the_declared_rate(vendor: Vendor) -> None:
    chunks = await speak(vendor)
    assert chunks
    assert all(c.sample_rate == vendor.rate and len(c.pcm) % 2 == 0 for _, c in chunks)
    samples = np.frombuffer(pcm_of(chunks), dtype="<i2")
    assert 1.0 < samples.size / vendor.rate < 6.0  # a sentence pair of speech, not silence or noise
    assert np.abs(samples).max() > 3000
    provider = vendor.provider()
    assert provider.capabilities().sample_rate == vendor.rate
    assert vendor.fake.audio_requests(), "the provider talked to the fake"


async def test_elevenlabs_wire_format(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["elevenlabs"]
    fake.reset()
    vendor = Vendor("elevenlabs", fake, ElevenLabsTTS, f"{RACHEL}@hi", 16000)
    chunks = await speak(
        vendor,
        "नमस्ते, आप कैसे हैं?",
        language="hi",
        speed=1.5,
        output_format="pcm_16000",
        stability=0.4,
        optimize_streaming_latency=3,
    )
    assert chunks and all(c.sample_rate == 16000 for _, c in chunks)
    req = fake.audio_requests()[-1]
    assert req.method == "POST" and req.path == f"/v1/text-to-speech/{RACHEL}/stream"
    assert req.headers["xi-api-key"] == EL_KEY and req.headers["content-type"] == "application/json"
    assert req.query == {"output_format": "pcm_16000", "optimize_streaming_latency": "3"}
    assert req.body == {
        "text": "नमस्ते, आप कैसे हैं?",
        "model_id": "eleven_flash_v2_5",
        "voice_settings": {"stability": 0.4, "speed": 1.2},  # 1.5 clamped to ElevenLabs' 0.7-1.2
        "language_code": "hi",
    }
    # a model that does not enforce languages gets no language_code (the real API answers 400 to it)
    await speak(vendor, "नमस्ते", language="hi", model_id="eleven_multilingual_v2")
    assert "language_code" not in fake.audio_requests()[-1].body


async def test_elevenlabs_mp3_output_is_decoded_as_it_streams(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["elevenlabs"]
    fake.reset()
    fake.chunk_bytes = 1500
    fake.first_chunk_pause = 0.6
    vendor = Vendor("elevenlabs", fake, ElevenLabsTTS, RACHEL, 44100)
    chunks = await speak(vendor, output_format="mp3_44100_128")
    assert fake.audio_requests()[-1].query["output_format"] == "mp3_44100_128"
    assert all(c.sample_rate == 44100 and len(c.pcm) % 2 == 0 for _, c in chunks)
    assert chunks[-1][0] >= 0.6 and chunks[0][0] < chunks[-1][0] / 3  # decoded frame by frame
    assert 1.0 < len(pcm_of(chunks)) / 2 / 44100 < 6.0
    samples = np.frombuffer(pcm_of(chunks), dtype="<i2")
    assert np.abs(samples).max() > 3000
    fake.reset()
    fake.malformed("wav")  # an "MP3" body that is not MP3
    with pytest.raises(ProviderError, match="contained no audio") as err:
        await speak(vendor, output_format="mp3_44100_128")
    assert err.value.code == "provider_bad_response"


async def test_openai_wire_format_and_long_text(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["openai"]
    fake.reset()
    vendor = Vendor("openai", fake, OpenAITTS, "nova", 24000)
    await speak(vendor, speed=1.25, tts_model="tts-1")
    req = fake.audio_requests()[-1]
    assert req.path == "/v1/audio/speech" and req.headers["authorization"] == f"Bearer {OA_KEY}"
    assert req.body == {
        "model": "tts-1",
        "input": TEXT,
        "voice": "nova",
        "response_format": "pcm",
        "speed": 1.25,
    }
    # OpenAI takes at most 4096 characters: a longer text is sent in sentence-aligned pieces
    long_text = " ".join(f"This is sentence number {i} of a long text." for i in range(120))
    assert len(long_text) > 4096
    pieces = text_pieces(long_text)
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces) and " ".join(pieces) == long_text
    fake.reset()
    fake.chunk_bytes = 1 << 20
    provider = vendor.provider()
    await provider.load()
    try:
        config = TTSConfig("nova", "en")
        first = await anext(aiter(provider.stream(long_text, config)))
        assert first.pcm  # audio before the second piece was even requested
        assert len(fake.audio_requests()) == 1
    finally:
        await provider.close()


async def test_coqui_wire_format_speakers_languages_and_resampling() -> None:
    with FakeCoqui(
        speakers=("Ana Florence", "Claribel Dervla"), languages=("en", "hi"), sample_rate=24000
    ) as fake:
        settings = parse_config(
            {
                "coqui": {"base_url": fake.url, "languages": ["en", "hi"], "sample_rate": 22050},
                "tts": {"language": "en"},
            }
        )
        provider = CoquiTTS(settings)
        await provider.load()
        try:
            ids = provider.voice_ids()
            assert ids[:3] == ["coqui-default", "coqui-Ana Florence", "coqui-Claribel Dervla"]
            assert "coqui-Ana Florence@hi" in ids
            described = CoquiTTS.describe_voice(settings, "coqui-Ana Florence@hi")
            assert described and described["language"] == "hi" and described["engine"] == "coqui"
            chunks = await collect(provider, "नमस्ते। आप कैसे हैं?", TTSConfig("coqui-Ana Florence@hi", "hi"))
        finally:
            await provider.close()
        reqs = fake.audio_requests()
        assert [r.query["text"] for r in reqs] == ["नमस्ते।", "आप कैसे हैं?"]  # sentence by sentence
        assert all(r.method == "GET" and r.query["speaker_id"] == "Ana Florence" for r in reqs)
        assert all(r.query["language_id"] == "hi" for r in reqs)
        assert len(chunks) == 2 and all(c.sample_rate == 22050 for _, c in chunks)  # 24 kHz WAV resampled


async def test_coqui_single_speaker_server_sends_no_speaker_or_language(
    fakes: dict[str, FakeTTSVendor],
) -> None:
    fake = fakes["coqui"]
    fake.reset()
    vendor = Vendor("coqui", fake, CoquiTTS, "coqui-default", 22050)
    await speak(vendor)
    assert [set(r.query) for r in fake.audio_requests()] == [{"text"}, {"text"}]
    assert CoquiTTS.installed_voice_ids(vendor.settings()) == ["coqui-default"]


# --------------------------------------------------------------------------- streaming


async def test_first_chunk_arrives_before_the_whole_body(vendor: Vendor) -> None:
    fake = vendor.fake
    if vendor.name == "coqui":
        fake.slow(0.0)  # the first sentence at once ...
        fake.slow(0.8)  # ... the second one late: its audio cannot be waited for
    else:
        fake.first_chunk_pause = 0.8  # the vendor sends its first chunk, then takes its time
    chunks = await speak(vendor)
    first_at, total_at = chunks[0][0], chunks[-1][0]
    assert total_at >= 0.8
    assert first_at < total_at / 3, f"first audio after {first_at:.3f} s of {total_at:.3f} s: not streamed"
    assert len(chunks) >= 2


async def test_odd_sized_network_chunks_never_split_a_sample(fakes: dict[str, FakeTTSVendor]) -> None:
    for name, cls, voice in (("elevenlabs", ElevenLabsTTS, RACHEL), ("openai", OpenAITTS, "alloy")):
        fake = fakes[name]
        fake.reset()
        fake.chunk_bytes = 777
        fake.chunk_interval = 0.002
        chunks = await speak(Vendor(name, fake, cls, voice, 0))
        assert len(chunks) > 10 and all(len(c.pcm) % 2 == 0 for _, c in chunks)
        sent = fake.audio_requests()[-1].bytes_sent
        assert len(pcm_of(chunks)) == sent  # nothing lost, nothing invented


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("vendor", ["elevenlabs", "openai"], indirect=True)  # coqui: test_coqui_proxy_key
async def test_bad_key_is_a_clear_auth_error_and_not_retried(vendor: Vendor) -> None:
    with pytest.raises(ProviderError) as err:
        await speak(vendor, api_key="wrong-key")
    exc = err.value
    assert exc.code == "provider_auth_failed" and exc.status_code == 502 and exc.upstream_status == 401
    assert f"check {vendor.name}.api_key" in exc.message
    assert ("Invalid API key" if vendor.name == "elevenlabs" else "Incorrect API key") in exc.message
    assert exc.failover and not exc.retryable
    assert len(vendor.fake.audio_requests()) == 1


async def test_coqui_proxy_key() -> None:
    with FakeCoqui(api_key="proxy-secret") as fake:
        vendor = Vendor("coqui", fake, CoquiTTS, "coqui-default", 22050)
        assert await speak(vendor, api_key="proxy-secret")
        assert fake.audio_requests()[-1].headers["authorization"] == "Bearer proxy-secret"
        with pytest.raises(ProviderError) as err:
            await speak(vendor)
        assert err.value.code == "provider_auth_failed"


@pytest.mark.parametrize(
    ("name", "cls", "env", "url"),
    [
        ("elevenlabs", ElevenLabsTTS, "ELEVENLABS_API_KEY", "https://api.elevenlabs.io"),
        ("openai", OpenAITTS, "OPENAI_API_KEY", "https://api.openai.com/v1"),
    ],
)
async def test_missing_key_for_the_official_host_fails_at_load(
    name: str, cls: type[HostedTTSProvider], env: str, url: str
) -> None:
    provider = cls(parse_config({name: {"api_key": "", "base_url": url}}))
    with pytest.raises(ConfigError, match=f"{name}.api_key is empty: set {env}"):
        await provider.load()


async def test_bad_base_url_and_output_format_fail_at_startup() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        await CoquiTTS(parse_config({"coqui": {"base_url": "localhost:5002"}})).load()
    with pytest.raises(ConfigError, match="elevenlabs.output_format: 'ogg_44100' is not supported"):
        ElevenLabsTTS(parse_config({"elevenlabs": {"output_format": "ogg_44100"}}))


# --------------------------------------------------------------------------- rate limits, timeouts


async def test_rate_limit_is_retried_after_retry_after(vendor: Vendor) -> None:
    vendor.fake.fail(429, times=1, retry_after=0.3)
    start = time.perf_counter()
    chunks = await speak(vendor)
    assert chunks and time.perf_counter() - start >= 0.3  # Retry-After was honoured
    reqs = vendor.fake.audio_requests()
    assert [r.status for r in reqs][:2] == [429, 200]


async def test_rate_limit_exhausted_is_503_with_the_vendor_message(vendor: Vendor) -> None:
    vendor.fake.fail(429, times=5, retry_after=0.01, message="slow down please")
    with pytest.raises(ProviderError) as err:
        await speak(vendor, max_retries=1)
    exc = err.value
    assert exc.code == "provider_rate_limited" and exc.status_code == 503 and exc.upstream_status == 429
    assert "rate limited" in exc.message and "slow down please" in exc.message
    assert len(vendor.fake.audio_requests()) == 2  # the first try and one retry


async def test_server_error_is_retried(vendor: Vendor) -> None:
    vendor.fake.fail(503, times=1)
    assert await speak(vendor, max_retries=1)
    assert [r.status for r in vendor.fake.audio_requests()][:2] == [503, 200]


async def test_timeout_is_504_in_bounded_time(vendor: Vendor) -> None:
    vendor.fake.slow(3.0, times=3)
    start = time.perf_counter()
    with pytest.raises(ProviderError) as err:
        await speak(vendor, timeout_seconds=0.3, max_retries=1)
    elapsed = time.perf_counter() - start
    assert err.value.code == "provider_timeout" and err.value.status_code == 504
    assert elapsed < 2.0, elapsed  # two tries of 0.3 s plus a short backoff, not the vendor's 3 s
    assert len(vendor.fake.audio_requests()) == 2


# --------------------------------------------------------------------------- malformed answers


@pytest.mark.parametrize("kind", ["json", "html", "odd", "empty"])
async def test_malformed_answer_is_provider_bad_response(vendor: Vendor, kind: str) -> None:
    vendor.fake.malformed(kind)  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as err:
        await speak(vendor, max_retries=0)
    assert err.value.code == "provider_bad_response" and err.value.status_code == 502, err.value.message
    assert err.value.failover and vendor.name in err.value.message


@pytest.mark.parametrize("vendor", ["elevenlabs", "openai"], indirect=True)
async def test_coded_audio_where_pcm_was_asked_is_rejected_not_played_as_noise(vendor: Vendor) -> None:
    vendor.fake.malformed("mp3")
    with pytest.raises(ProviderError, match="asked for raw PCM, got audio/mpeg") as err:
        await speak(vendor, max_retries=0)
    assert err.value.code == "provider_bad_response"


async def test_coqui_broken_wav_is_provider_bad_response(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["coqui"]
    fake.reset()
    fake.malformed("wav")
    with pytest.raises(ProviderError, match="not a PCM WAV file") as err:
        await speak(Vendor("coqui", fake, CoquiTTS, "coqui-default", 22050))
    assert err.value.code == "provider_bad_response"


def test_read_wav_accepts_pcm16_and_rejects_the_rest() -> None:
    assert read_wav(pcm16_to_wav(b"\0\1" * 10, 8000)) == (b"\0\1" * 10, 8000)
    for bad in (b"", b"RIFF", b"<html>error</html>", pcm16_to_wav(b"\0\1" * 10, 8000)[:-1]):
        with pytest.raises(ValueError):
            read_wav(bad)


async def test_voice_listing_shapes(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["elevenlabs"]
    assert isinstance(fake, FakeElevenLabs)
    fake.reset()
    vendor = Vendor("elevenlabs", fake, ElevenLabsTTS, RACHEL, 22050)
    provider = vendor.provider()
    await provider.load()
    try:
        assert fake.requests[0].path == "/v1/voices" and fake.requests[0].headers["xi-api-key"] == EL_KEY
        settings = vendor.settings()
        ids = ElevenLabsTTS.installed_voice_ids(settings)
        assert ids[:2] == [RACHEL, "pNInz6obpgDQGcFmaJgB"]  # the configured default first
        assert {f"{RACHEL}@hi", f"{RACHEL}@ta", "pNInz6obpgDQGcFmaJgB@hi"} <= set(ids)
        assert not any(i.endswith(("@ml", "@bn")) for i in ids)  # flash v2.5 does not speak them
        adam = ElevenLabsTTS.describe_voice(settings, "pNInz6obpgDQGcFmaJgB@hi")
        assert adam is not None
        assert (adam["name"], adam["gender"], adam["language"], adam["quality"]) == (
            "Adam (Hindi)", "male", "hi", "premade",
        )  # fmt: skip
        v3 = vendor.settings(model_id="eleven_v3")
        assert ElevenLabsTTS.catalogue_languages(v3) == ["en", "hi", "ml", "mr", "ta", "te", "bn", "gu"]
    finally:
        await provider.close()


async def test_voice_listing_failure_keeps_the_configured_voice(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["elevenlabs"]
    assert isinstance(fake, FakeElevenLabs)
    fake.reset()
    fake.voices_fault = Fault(status=401)
    try:
        vendor = Vendor("elevenlabs", fake, ElevenLabsTTS, RACHEL, 22050)
        provider = vendor.provider(voice_id="someCustomVoice", base_url=fake.url + "/")
        await provider.load()  # no crash: a key without voices_read still speaks
        try:
            assert provider.voice_ids()[0] == "someCustomVoice"
            assert "pNInz6obpgDQGcFmaJgB" not in provider.voice_ids()
            assert "API key was rejected" in str(provider.status()["voices_error"])
        finally:
            await provider.close()
    finally:
        fake.voices_fault = None


# --------------------------------------------------------------------------- dropped streams, request faults


async def test_dropped_stream_mid_body(vendor: Vendor) -> None:
    if vendor.name == "coqui":
        # a WAV is read whole before anything is yielded, so the cut answer is simply asked again
        vendor.fake.drop_after(3000)
        assert await speak(vendor)
        assert [r.bytes_sent for r in vendor.fake.audio_requests()][0] == 3000
        vendor.fake.reset()
        vendor.fake.drop_after(3000, times=3)
        with pytest.raises(ProviderError) as err:
            await speak(vendor, max_retries=1)
        assert err.value.code == "provider_bad_response"
        return
    vendor.fake.drop_after(12000)
    received: list[AudioChunk] = []
    provider = vendor.provider()
    await provider.load()
    try:
        with pytest.raises(ProviderError) as err:
            async for chunk in provider.stream(TEXT, TTSConfig(vendor.voice, "en")):
                received.append(chunk)
    finally:
        await provider.close()
    assert err.value.code == "provider_bad_response" and "broke off" in err.value.message
    assert 0 < sum(len(c.pcm) for c in received) <= 12000  # what arrived was passed on, then the error
    assert len(vendor.fake.audio_requests()) == 1  # a stream that already delivered audio is not re-sent


async def test_request_fault_is_422_with_the_vendor_message_and_not_retried(vendor: Vendor) -> None:
    vendor.fake.fail(400, message="the vendor says no to this text")
    with pytest.raises(ProviderError) as err:
        await speak(vendor)
    exc = err.value
    assert exc.code == "provider_rejected_request" and exc.status_code == 422 and exc.upstream_status == 400
    assert "the vendor says no to this text" in exc.message
    assert not exc.failover and not exc.retryable
    assert len(vendor.fake.audio_requests()) == 1


async def test_unknown_vendor_voice_is_rejected_once(fakes: dict[str, FakeTTSVendor]) -> None:
    fake = fakes["elevenlabs"]
    fake.reset()
    with pytest.raises(ProviderError) as err:
        await speak(Vendor("elevenlabs", fake, ElevenLabsTTS, "noSuchVoice", 22050))
    assert err.value.status_code == 422 and "noSuchVoice was not found" in err.value.message
    assert len(fake.audio_requests()) == 1
    fake = fakes["openai"]
    fake.reset()
    with pytest.raises(ProviderError) as err:
        await speak(Vendor("openai", fake, OpenAITTS, "ballad", 24000), tts_model="tts-1")
    assert err.value.status_code == 422 and "Invalid value: 'ballad'" in err.value.message
    assert len(fake.audio_requests()) == 1


async def test_voice_resolution_with_a_cloud_engine(fakes: dict[str, FakeTTSVendor]) -> None:
    """TTSService picks cloud voices per language: tts.voice_id in every language it speaks, vendor ids
    with a language, and the language fallback for languages the model does not speak."""
    from backend.speech.tts_service import TTSService

    fake = fakes["elevenlabs"]
    fake.reset()
    adam = "pNInz6obpgDQGcFmaJgB"
    settings = parse_config(
        {
            "tts": {"provider": "elevenlabs", "voice_id": adam, "language_fallback": "espeak"},
            "elevenlabs": {"api_key": EL_KEY, "base_url": fake.url},
            "languages": ["en", "hi", "ta", "ml"],
        }
    )
    service = TTSService(settings)
    await service.load()
    try:
        assert service.resolve(None, "en").voice.id == adam
        assert service.resolve(None, "hi").voice.id == f"{adam}@hi"  # tts.voice_id, in Hindi
        assert service.resolve(RACHEL, "ta").voice.id == f"{RACHEL}@ta"
        assert service.resolve(f"{RACHEL}@hi", "ta").voice.id == f"{RACHEL}@ta"
        assert service.resolve(f"{RACHEL}@hi", None).config.language == "hi"
        assert service.resolve(None, "ml").voice.id == "espeak-ml"  # flash v2.5 has no Malayalam
        with pytest.raises(Exception, match="speaks 'en', not 'ml'"):
            service.resolve(RACHEL, "ml")
        resolved = service.resolve(None, "hi")
        chunks = [c async for c in service.stream("नमस्ते।", resolved)]
        assert chunks and fake.audio_requests()[-1].path == f"/v1/text-to-speech/{adam}/stream"
    finally:
        await service.close()

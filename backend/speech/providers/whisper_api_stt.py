"""Hosted Whisper over OpenAI's ``POST /v1/audio/transcriptions``: OpenAI (``whisper_api``) and Groq.

One class serves both; :class:`GroqSTT` only reads the ``groq`` block instead of ``openai`` (another
``base_url``, key and model). The request is OpenAI's multipart form: ``file`` (our 16 kHz mono samples as a
PCM16 WAV), ``model``, ``language`` (ISO-639-1, omitted to detect), ``prompt``, ``response_format`` and
``temperature``, ``timestamp_granularities[]``. ``verbose_json`` is asked for so the answer carries the
language (a full lower-case name such as ``"english"``), the duration and timestamped segments; models
that only answer ``json`` (``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``) get one segment spanning the
audio. HTTP (pooling, timeouts, retries, Retry-After, error bodies) is
:class:`~backend.providers.hosted.HostedClient`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.core.errors import ProviderError
from backend.core.languages import LANGUAGES, normalize_language
from backend.media.audio import STT_SAMPLE_RATE, float_to_pcm16, pcm16_to_wav
from backend.providers.hosted import HostedClient, bad_response, check_base_url, require_api_key
from backend.speech.base import Segment, STTCapabilities, STTConfig, STTProvider, Transcription

if TYPE_CHECKING:
    from backend.core.config import OpenAICompatSettings, Settings

logger = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "not-needed"
"""Sent to servers that need no key (a local faster-whisper-server, LocalAI, vLLM ...)."""

DEFAULT_MODEL_ALIASES = frozenset({"", "default", "whisper-1"})
"""What a request may name to mean "the configured model" (the OpenAI-compatible API always sends one)."""

_JSON_ONLY_PREFIXES = ("gpt-4o",)  # gpt-4o(-mini)-transcribe answer json or text, not verbose_json

# Whisper's language names (as verbose_json reports them) → ISO codes, aliases included.
_WHISPER_LANGUAGES = (
    "en english,zh chinese,de german,es spanish,ru russian,ko korean,fr french,ja japanese,pt portuguese,"
    "tr turkish,pl polish,ca catalan,nl dutch,ar arabic,sv swedish,it italian,id indonesian,hi hindi,"
    "fi finnish,vi vietnamese,he hebrew,uk ukrainian,el greek,ms malay,cs czech,ro romanian,da danish,"
    "hu hungarian,ta tamil,no norwegian,th thai,ur urdu,hr croatian,bg bulgarian,lt lithuanian,la latin,"
    "mi maori,ml malayalam,cy welsh,sk slovak,te telugu,fa persian,lv latvian,bn bengali,sr serbian,"
    "az azerbaijani,sl slovenian,kn kannada,et estonian,mk macedonian,br breton,eu basque,is icelandic,"
    "hy armenian,ne nepali,mn mongolian,bs bosnian,kk kazakh,sq albanian,sw swahili,gl galician,mr marathi,"
    "pa punjabi,si sinhala,km khmer,sn shona,yo yoruba,so somali,af afrikaans,oc occitan,ka georgian,"
    "be belarusian,tg tajik,sd sindhi,gu gujarati,am amharic,yi yiddish,lo lao,uz uzbek,fo faroese,"
    "ht haitian creole,ps pashto,tk turkmen,nn nynorsk,mt maltese,sa sanskrit,lb luxembourgish,my myanmar,"
    "bo tibetan,tl tagalog,mg malagasy,as assamese,tt tatar,haw hawaiian,ln lingala,ha hausa,ba bashkir,"
    "jw javanese,su sundanese,yue cantonese,my burmese,ca valencian,nl flemish,ht haitian,"
    "lb letzeburgesch,ps pushto,pa panjabi,ro moldavian,ro moldovan,si sinhalese,es castilian,zh mandarin"
)
WHISPER_LANGUAGE_CODES: dict[str, str] = {
    name: code for code, name in (item.split(" ", 1) for item in _WHISPER_LANGUAGES.split(","))
}


def language_code(value: Any, fallback: str = "") -> str:
    """A vendor's language ("english", "English", "en", "en-US") as our code ("en")."""
    if not isinstance(value, str) or not value.strip():
        return fallback
    name = value.strip().lower()
    if name in WHISPER_LANGUAGE_CODES:
        return WHISPER_LANGUAGE_CODES[name]
    return normalize_language(name)


def json_float(value: Any, default: float = 0.0) -> float:
    """A number from a vendor's JSON, or ``default`` when it is missing or not a number."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def hosted_model(configured: str, requested: str | None) -> str:
    """The model a request asks for; none, or an alias such as ``whisper-1``, means the configured one."""
    return configured if requested is None or requested.strip() in DEFAULT_MODEL_ALIASES else requested


def name_the_key(err: ProviderError, provider: str, block: str, env_var: str) -> ProviderError:
    """A rejected key's message names the setting to fix: the environment variable and the config key."""
    if err.code == "provider_auth_failed":
        err.message = err.message.replace(f"check {provider}.api_key", f"check {env_var} ({block}.api_key)")
        err.args = (err.message,)
    return err


def wav_bytes(audio: np.ndarray) -> bytes:
    """16 kHz mono float32 samples as a PCM16 WAV file (what every vendor accepts)."""
    return pcm16_to_wav(float_to_pcm16(audio).tobytes(), STT_SAMPLE_RATE)


class WhisperAPISTT(STTProvider):
    """OpenAI's transcriptions endpoint, or any server that speaks it (``openai.base_url``)."""

    name = "whisper_api"
    block = "openai"
    env_var = "OPENAI_API_KEY"
    official_hosts: frozenset[str] = frozenset({"api.openai.com"})

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg: OpenAICompatSettings = getattr(settings, self.block)
        self.model = self.cfg.stt_model
        self.base_url = self.cfg.base_url.strip().rstrip("/")
        self._client: HostedClient | None = None

    # ------------------------------------------------------------------ lifecycle
    def _api_key(self) -> str:
        use = f"the {self.name} speech-to-text provider"
        key = require_api_key(
            self.block, self.cfg.api_key, self.base_url, self.official_hosts, self.env_var, use=use
        )
        return key or PLACEHOLDER_API_KEY

    async def load(self) -> None:
        if self._client is not None:
            return
        check_base_url(self.block, self.cfg.base_url, "https://api.openai.com/v1")
        self._client = HostedClient(
            self.name,
            self.base_url,
            headers={"Authorization": f"Bearer {self._api_key()}"},
            timeout=self.cfg.timeout_seconds,
            max_retries=self.cfg.max_retries,
        )
        logger.info("%s STT ready: model=%s base_url=%s", self.name, self.model, self.base_url)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def capabilities(self) -> STTCapabilities:
        return STTCapabilities(streaming=False, languages=(), models=(self.model,))

    def status(self) -> dict[str, object]:
        return {"model": self.model, "base_url": self.base_url}

    # ------------------------------------------------------------------ transcription
    def resolve_model(self, requested: str | None) -> str:
        return hosted_model(self.model, requested)

    async def transcribe(self, audio: np.ndarray, config: STTConfig) -> Transcription:
        if self._client is None:
            await self.load()
        assert self._client is not None
        model = self.resolve_model(config.model)
        verbose = not model.startswith(_JSON_ONLY_PREFIXES)
        form: dict[str, Any] = {
            "model": model,
            "response_format": "verbose_json" if verbose else "json",
            "temperature": "0",
        }
        if verbose:
            form["timestamp_granularities[]"] = ["segment", "word"] if config.word_timestamps else "segment"
        if config.language:
            lang = LANGUAGES.get(config.language)
            form["language"] = lang.whisper_code if lang else config.language
        if config.prompt:
            form["prompt"] = config.prompt
        files = {"file": ("audio.wav", wav_bytes(audio), "audio/wav")}
        try:
            response = await self._client.request("POST", "/audio/transcriptions", data=form, files=files)
        except ProviderError as err:
            raise name_the_key(err, self.name, self.block, self.env_var) from None
        body = self._client.json(response)
        duration = round(len(audio) / STT_SAMPLE_RATE, 3)
        return self._parse(body, model, config, duration)

    def _parse(self, body: Any, model: str, config: STTConfig, duration: float) -> Transcription:
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise bad_response(self.name, "no 'text' string in the transcription")
        text = body["text"].strip()
        raw_segments = body.get("segments")
        if raw_segments is not None and not isinstance(raw_segments, list):
            raise bad_response(self.name, "'segments' is not a list")
        segments: list[Segment] = []
        for i, seg in enumerate(raw_segments or []):
            if not isinstance(seg, dict) or not isinstance(seg.get("text"), str):
                raise bad_response(self.name, f"segment {i} has no text")
            start, end = json_float(seg.get("start")), json_float(seg.get("end"))
            segments.append(
                Segment(
                    id=int(seg["id"]) if isinstance(seg.get("id"), int) else i,
                    start=round(min(start, duration), 3),
                    end=round(min(max(end, start), duration), 3),
                    text=seg["text"].strip(),
                    avg_logprob=round(json_float(seg.get("avg_logprob")), 4),
                    no_speech_prob=round(json_float(seg.get("no_speech_prob")), 4),
                    compression_ratio=round(json_float(seg.get("compression_ratio")), 4),
                )
            )
        if not segments and text:
            segments = [Segment(id=0, start=0.0, end=duration, text=text)]
        detected = language_code(body.get("language"))
        language = config.language or detected or ""
        return Transcription(
            text=text,
            language=language,
            # the API reports no probability: 1 when the language was given or reported, else unknown
            language_probability=1.0 if config.language or detected else 0.0,
            duration=round(json_float(body.get("duration"), duration), 3),
            segments=segments,
            model=model,
        )


class GroqSTT(WhisperAPISTT):
    """Groq's OpenAI-compatible Whisper (``<groq.base_url>/audio/transcriptions``)."""

    name = "groq"
    block = "groq"
    env_var = "GROQ_API_KEY"
    official_hosts = frozenset({"api.groq.com"})

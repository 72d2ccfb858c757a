"""config.yml → validated settings.

`${VAR}` and `${VAR:-default}` in any string value are replaced from the environment. The file is
`MITHI_CONFIG` (or the path given to :func:`load_config`), else `config.yml` in the project root.
Every mistake becomes a :class:`ConfigError` that names the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from backend.core.errors import ConfigError
from backend.core.languages import DEFAULT_LANGUAGES, LANGUAGES, normalize_language

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_ENV = "MITHI_CONFIG"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _empty_as_none(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


def _language_code(value: Any) -> Any:
    value = _empty_as_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a language code such as 'en' or 'hi'")
    code = normalize_language(value)
    if code not in LANGUAGES:
        raise ValueError(f"'{value}' is not a supported language; known: {', '.join(LANGUAGES)}")
    return code


OptionalStr = Annotated[str | None, BeforeValidator(_empty_as_none)]
LanguageCode = Annotated[str, BeforeValidator(_language_code)]
OptionalLanguageCode = Annotated[str | None, BeforeValidator(_language_code)]


class Section(BaseModel):
    """A config section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class TTSSettings(Section):
    provider: str = "piper"
    voice_id: OptionalStr = None
    language: LanguageCode = "en"
    speed: float = Field(1.0, gt=0)
    language_fallback: OptionalStr = "espeak"
    fallback: list[str] = []  # providers that serve a request when the one before fails (5xx, 429, ...)
    phrase_cache_entries: int = Field(500, ge=0, le=100_000)  # spoken phrases kept in Redis; 0 = off
    phrase_cache_max_chars: int = Field(80, ge=1, le=1000)  # longer pieces are not cached


class STTSettings(Section):
    provider: str = "whisper_local"
    model_size: str = "tiny.en"
    language: OptionalLanguageCode = None
    beam_size: int = Field(1, ge=1, le=10)
    vad: bool = False
    temperature_fallback: bool = False
    fallback: list[str] = []
    # per-language whisper_local model: a folder in models/whisper/ or a path to a CTranslate2 model
    models: dict[LanguageCode, str] = {}


class LLMSettings(Section):
    provider: str = "llama_cpp"
    model: OptionalStr = None  # None = the provider block's model (llama_cpp.model, openai.llm_model, ...)
    max_tokens: int = Field(96, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0, le=2)
    fallback: list[str] = []


class LlamaCppSettings(Section):
    # a file in models/llm/ or a path to any GGUF; None = the model `download_models.py --llm` selected
    # (models/llm/selected.json), else the bundled Gemma 3 270M
    model: OptionalStr = None
    context_tokens: int = Field(2048, ge=256, le=131072)
    threads: int = Field(0, ge=0)  # 0 = all cores
    # auto: chat when the GGUF carries a chat template (instruct models), completion when not (base models)
    prompt_style: Literal["auto", "completion", "chat"] = "auto"
    tool_calling: bool = True  # with the chat prompt: offer the agent's tools when the template takes them
    contexts: int = Field(4, ge=1, le=16)  # generations at once (each context: its own KV cache)
    yield_to_speech: bool = True  # pause between tokens while a reply's first phrase is synthesized


class OpenAICompatSettings(Section):
    """An OpenAI-compatible endpoint: OpenAI itself, or Ollama / vLLM / LM Studio / llama.cpp server."""

    api_key: str = ""
    base_url: str = "https://api.openai.com/v1"
    llm_model: str = "gpt-4o-mini"
    tts_model: str = "gpt-4o-mini-tts"
    tts_voice: str = "alloy"
    stt_model: str = "whisper-1"
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    # LLM: chat = /chat/completions (the server's chat template); completion = /completions with the
    # plain-text dialogue prompt, for base models such as the bundled Gemma on llama_cpp.server (openai only)
    prompt_style: Literal["chat", "completion"] = "chat"


class RealtimeSettings(Section):
    """The /voice engine: turn-taking, partial transcripts, input limits."""

    vad: bool = True  # false = push-to-talk only (input_audio.commit)
    vad_threshold: float = Field(0.5, gt=0, lt=1)
    min_speech_ms: float = Field(160, ge=32, le=2000)
    hangover_ms: float = Field(300, ge=100, le=3000)  # silence that ends the user's turn
    speculative_ms: float = Field(64, ge=32, le=3000)  # silence after which the answer starts early
    # silence that ends a turn whose words at the pause sound unfinished ("... and", "a table for"); 0 = off
    unfinished_hangover_ms: float = Field(900, ge=0, le=5000)
    # silence that ends a turn whose words at the pause have no sentence mark at the end; 0 = hangover_ms
    unclear_hangover_ms: float = Field(500, ge=0, le=5000)
    # speech this soon after the end of the user's turn continues it (its reply is withdrawn); 0 = off
    continuation_ms: float = Field(1000, ge=0, le=5000)
    preroll_ms: float = Field(300, ge=0, le=2000)  # audio kept from before speech start
    # speech over a reply interrupts it once it has lasted this long; shorter speech whose words are only
    # backchannels ("haan", "ok", "uh-huh") lets the reply go on; 0 (or <= min_speech_ms) = at speech start
    barge_in_ms: float = Field(300, ge=0, le=3000)
    # per language: the phrases that are backchannels (replaces that language's built-in list; [] = none)
    backchannels: dict[LanguageCode, list[str]] = Field(default_factory=dict)
    partial_transcripts: bool = True
    partial_interval_ms: float = Field(800, ge=200)
    max_utterance_seconds: float = Field(30, ge=1, le=600)
    max_frame_bytes: int = Field(256 * 1024, ge=320)  # one binary PCM message (WAV files may be larger)
    frame_backlog: int = Field(1500, ge=50)  # frames buffered in Redis; audio beyond it is dropped
    max_input_speed: float = Field(4, ge=1, le=1000)  # × real time, after a burst of frame_backlog × 20 ms
    min_input_rate: int = Field(8000, ge=8000)
    max_input_rate: int = Field(48000, le=192000)
    output_frame_ms: int = Field(100, ge=10, le=1000)  # size of each binary audio message sent

    @model_validator(mode="after")
    def _consistent(self) -> RealtimeSettings:
        if self.min_input_rate > self.max_input_rate:
            raise ValueError(
                f"min_input_rate ({self.min_input_rate}) is above max_input_rate ({self.max_input_rate})"
            )
        if 0 < self.unclear_hangover_ms < self.hangover_ms:
            raise ValueError(
                f"unclear_hangover_ms ({self.unclear_hangover_ms:g}) must be 0 (= hangover_ms) or at least "
                f"hangover_ms ({self.hangover_ms:g})"
            )
        if 0 < self.unfinished_hangover_ms < self.hangover_ms:
            raise ValueError(
                f"unfinished_hangover_ms ({self.unfinished_hangover_ms:g}) must be 0 (off) or at least "
                f"hangover_ms ({self.hangover_ms:g})"
            )
        if self.speculative_ms >= self.hangover_ms:
            raise ValueError(
                f"speculative_ms ({self.speculative_ms:g}) must be below hangover_ms ({self.hangover_ms:g})"
            )
        return self


class GroqSettings(OpenAICompatSettings):
    base_url: str = "https://api.groq.com/openai/v1"
    llm_model: str = "llama-3.1-8b-instant"
    stt_model: str = "whisper-large-v3-turbo"


class AgentSettings(Section):
    assistant_name: str = "Mithi"
    timezone: str = "UTC"
    history_tokens: int = Field(768, ge=64)  # prompt budget for past turns; older turns are summarised
    max_reply_sentences: int = Field(3, ge=1, le=20)
    session_ttl_days: float = Field(30, ge=0)  # a conversation not used this long expires; 0 = never

    @model_validator(mode="after")
    def _known_timezone(self) -> AgentSettings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"agent.timezone: '{self.timezone}' is not an IANA time zone (e.g. Asia/Kolkata)"
            ) from None
        return self


class RedisSettings(Section):
    url: str = ""
    max_memory_mb: int = Field(0, ge=0)  # embedded Redis: maxmemory (0 = no cap); never evicts (noeviction)
    reconnect_max_seconds: float = Field(30.0, gt=0)  # longest wait between reconnect attempts (backoff)


_KEY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MIN_SECRET_CHARS = 8


def parse_api_keys(value: Any) -> dict[str, str]:
    """`name:secret,name:secret` (or a list of `name:secret`, or a mapping) → {name: secret}."""
    value = _empty_as_none(value)
    if value is None:
        return {}
    if isinstance(value, dict):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        items = value.split(",") if isinstance(value, str) else list(value)
        pairs = []
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            name, sep, secret = item.partition(":")
            if not sep:
                raise ValueError(
                    "each key is name:secret (e.g. clinic:sk-clinic-1); an entry without ':' was given"
                )
            pairs.append((name.strip(), secret.strip()))
    keys: dict[str, str] = {}
    for name, secret in pairs:
        if not _KEY_NAME.fullmatch(name):
            raise ValueError(f"key name {name!r} may only contain letters, digits, '_' and '-' (1-32)")
        if len(secret) < _MIN_SECRET_CHARS:
            raise ValueError(f"the secret of key '{name}' is shorter than {_MIN_SECRET_CHARS} characters")
        if name in keys:
            raise ValueError(f"key name '{name}' appears twice")
        if secret in keys.values():
            raise ValueError(f"the secret of key '{name}' is also another key's secret")
        keys[name] = secret
    return keys


class AuthSettings(Section):
    """API keys (docs/DEPLOY.md). No keys = auth off, allowed only on a loopback server.host."""

    api_keys: Annotated[dict[str, str], BeforeValidator(parse_api_keys)] = {}
    required: bool = True  # false = serve a non-loopback host with no keys, on purpose
    token_ttl_seconds: int = Field(300, ge=10, le=86400)  # POST /api/auth/token (WebSocket ?token=)
    metrics_token: str = ""  # a bearer token for GET /metrics alone (scrapers); "" = any API key

    @property
    def enabled(self) -> bool:
        return bool(self.api_keys)


class LimitsSettings(Section):
    max_text_chars: int = Field(5000, ge=1)
    max_upload_mb: float = Field(25, gt=0)
    max_audio_seconds: float = Field(600, gt=0)
    min_speed: float = Field(0.5, gt=0)
    max_speed: float = Field(2.0, gt=0)
    # per key (or per client address while auth is off), shared by every worker through Redis; 0 = no limit
    requests_per_minute: int = Field(600, ge=0)
    voice_sessions_per_key: int = Field(8, ge=0)
    tts_chars_per_day: int = Field(1_000_000, ge=0)
    stt_seconds_per_day: float = Field(36_000, ge=0)

    @model_validator(mode="after")
    def _speed_range(self) -> LimitsSettings:
        if self.min_speed > self.max_speed:
            raise ValueError(f"min_speed ({self.min_speed}) is greater than max_speed ({self.max_speed})")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: list[str] = ["http://localhost:5173", "http://127.0.0.1:5173"]
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    public_url: str = ""  # e.g. https://voice.example.com: its host and origin are allowed
    allowed_hosts: list[str] = []  # Host names besides loopback, server.host and public_url; ["*"] = any
    max_voice_sessions: int = Field(32, ge=1)  # per process; a new /voice beyond it: server_busy, close 1013
    drain_seconds: float = Field(10.0, ge=0, le=600)  # SIGTERM: how long the turns in flight may finish

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)


class WyomingSettings(Section):
    """The Wyoming TCP door for Home Assistant (docs/HOME_ASSISTANT.md). Wyoming has no authentication."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(10300, ge=1, le=65535)
    allow_remote: bool = False  # a non-loopback host serves anyone who can reach it: only on purpose

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> WyomingSettings:
        if self.enabled and not self.allow_remote and not is_loopback_host(self.host):
            raise ValueError(
                f"wyoming.host: {self.host} can be reached by other machines, and Wyoming has no "
                "authentication: bind to 127.0.0.1, or set wyoming.allow_remote: true on purpose "
                "(on a trusted network only)"
            )
        return self


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"})


def is_loopback_host(host: str) -> bool:
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class PathSettings(Section):
    models_dir: str = "models"
    data_dir: str = "data"
    voices_manifest: str = "voice_assets/voices.manifest.json"
    web_dist: str = "frontend/dist"  # the built browser app, served at / (npm --prefix frontend run build)

    def resolve(self, value: str) -> Path:
        """Relative paths are relative to the project root, not the working directory."""
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else PROJECT_ROOT / path


class PiperSettings(Section):
    default_voice: str = "en_US-joe-medium"
    noise_scale: float | None = None
    noise_w_scale: float | None = None
    threads: int = Field(0, ge=0, le=64)  # ONNX intra-op threads; 0 = one per core
    spin: bool = False  # let idle ONNX threads spin (faster alone, slower beside the LLM)


class EspeakSettings(Section):
    pitch: int = Field(50, ge=0, le=99)
    words_per_minute: int = Field(175, ge=80, le=450)


class WhisperLocalSettings(Section):
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = Field(0, ge=0)
    preload: list[str] = []
    short_window_seconds: float = Field(10.0, ge=0, le=30)


class HostedSettings(Section):
    """Endpoint, key and resilience settings shared by every hosted speech provider."""

    api_key: str = ""
    base_url: str = ""
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)


class ElevenLabsSettings(HostedSettings):
    base_url: str = "https://api.elevenlabs.io"
    model_id: str = "eleven_flash_v2_5"
    voice_id: str = "21m00Tcm4TlvDq8ikWAM"  # "Rachel", a premade voice every account has
    output_format: str = "pcm_22050"  # pcm_16000 | pcm_22050 | pcm_24000 | pcm_44100 | mp3_44100_128 ...
    stability: float | None = Field(None, ge=0, le=1)
    similarity_boost: float | None = Field(None, ge=0, le=1)
    style: float | None = Field(None, ge=0, le=1)
    use_speaker_boost: bool | None = None
    optimize_streaming_latency: int | None = Field(None, ge=0, le=4)  # None = not sent (the API's default)


class DeepgramSettings(HostedSettings):
    base_url: str = "https://api.deepgram.com"
    model: str = "nova-3"
    smart_format: bool = True
    punctuate: bool = True
    streaming: bool = True  # /voice partial transcripts over Deepgram's live WebSocket
    endpointing_ms: int = Field(300, ge=10, le=10000)  # live: silence after which a result is final


class SarvamSettings(HostedSettings):
    """Sarvam AI (docs/PROVIDERS.md): Bulbul text-to-speech, Saaras speech-to-text."""

    base_url: str = "https://api.sarvam.ai"
    tts_model: str = "bulbul:v3"
    speaker: str = "shubh"  # the default voice; any speaker of tts_model (GET /api/voices lists them)
    pace: float = Field(1.0, ge=0.5, le=2.0)  # the pace at speed 1.0 (a request's speed multiplies it)
    sample_rate: Literal[8000, 16000, 22050, 24000, 32000, 44100, 48000] = 24000  # speech_sample_rate
    tts_streaming: bool = (
        True  # TTS: POST /text-to-speech/stream (audio as it is made); false = /text-to-speech
    )
    stt_model: str = "saaras:v3"
    streaming: bool = True  # /voice partial transcripts over Sarvam's streaming WebSocket


class CoquiSettings(HostedSettings):
    base_url: str = "http://localhost:5002"
    speaker_id: str = ""  # "" = the server's default speaker
    language_id: str = ""  # sent with every request when set; "" = the request's language (multilingual)
    languages: list[LanguageCode] = ["en"]  # the languages the served model speaks
    sample_rate: int = Field(22050, ge=8000, le=96000)  # audio is resampled to this rate if the model differs


def _http_url(value: Any) -> Any:
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value.strip()):
        raise ValueError("must be an http(s) URL such as https://huggingface.co")
    return value.strip().rstrip("/")


class ModelsSettings(Section):
    """Models fetched from the Hugging Face hub while the app runs (backend/app/auto_download.py)."""

    auto_download: bool = True  # at startup, fetch missing Piper voices the config needs, in the background
    hub_url: Annotated[str, BeforeValidator(_http_url)] = "https://huggingface.co"


class ResilienceSettings(Section):
    """Circuit breaker shared by every provider in a fallback chain."""

    failure_threshold: int = Field(3, ge=1, le=100)  # consecutive failures that open the circuit
    cooldown_seconds: float = Field(30.0, gt=0)  # skipped this long, then one request re-probes it


class Settings(Section):
    """The whole config.yml."""

    tts: TTSSettings = TTSSettings()
    stt: STTSettings = STTSettings()
    llm: LLMSettings = LLMSettings()
    redis: RedisSettings = RedisSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitsSettings = LimitsSettings()
    server: ServerSettings = ServerSettings()
    paths: PathSettings = PathSettings()
    piper: PiperSettings = PiperSettings()
    espeak: EspeakSettings = EspeakSettings()
    whisper_local: WhisperLocalSettings = WhisperLocalSettings()
    elevenlabs: ElevenLabsSettings = ElevenLabsSettings()
    openai: OpenAICompatSettings = OpenAICompatSettings()
    deepgram: DeepgramSettings = DeepgramSettings()
    sarvam: SarvamSettings = SarvamSettings()
    groq: GroqSettings = GroqSettings()
    coqui: CoquiSettings = CoquiSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    models: ModelsSettings = ModelsSettings()
    llama_cpp: LlamaCppSettings = LlamaCppSettings()
    agent: AgentSettings = AgentSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    wyoming: WyomingSettings = WyomingSettings()
    languages: list[LanguageCode] = list(DEFAULT_LANGUAGES)

    @model_validator(mode="after")
    def _languages_consistent(self) -> Settings:
        if not self.languages:
            raise ValueError("languages: at least one language is required")
        if self.tts.language not in self.languages:
            raise ValueError(
                f"tts.language: '{self.tts.language}' is not in languages ({', '.join(self.languages)})"
            )
        if not self.limits.min_speed <= self.tts.speed <= self.limits.max_speed:
            raise ValueError(
                f"tts.speed: {self.tts.speed:g} is outside limits.min_speed..limits.max_speed "
                f"({self.limits.min_speed:g}..{self.limits.max_speed:g})"
            )
        if not self.auth.enabled and self.auth.required and not self.server.loopback:
            raise ValueError(
                f"server.host is {self.server.host}, which other machines can reach, but no API key is set: "
                "add one with MITHI_API_KEYS=name:secret (auth.api_keys, e.g. clinic:sk-clinic-1), or set "
                "auth.required: false to serve without keys on purpose"
            )
        unserved = [code for code in self.stt.models if code not in self.languages]
        if unserved:
            raise ValueError(f"stt.models: '{unserved[0]}' is not in languages ({', '.join(self.languages)})")
        if self.stt.language is not None and self.stt.language not in self.languages:
            raise ValueError(
                f"stt.language: '{self.stt.language}' is not in languages ({', '.join(self.languages)})"
            )
        return self

    @property
    def models_dir(self) -> Path:
        return self.paths.resolve(os.environ.get("MITHI_MODELS_DIR") or self.paths.models_dir)

    @property
    def data_dir(self) -> Path:
        return self.paths.resolve(self.paths.data_dir)

    @property
    def voices_manifest(self) -> Path:
        return self.paths.resolve(self.paths.voices_manifest)

    @property
    def web_dist(self) -> Path:
        return self.paths.resolve(self.paths.web_dist)

    def public_view(self) -> dict[str, Any]:
        """The config in effect with secrets masked, for /health and the status page."""
        data = self.model_dump()
        for section in data.values():
            if isinstance(section, dict):
                for key in list(section):
                    if key in _SECRET_KEYS and section[key]:
                        section[key] = "***"
        data["auth"]["api_keys"] = {name: "***" for name in self.auth.api_keys}  # names only
        masked: dict[str, Any] = _mask_urls(data)
        return masked  # user info in every URL (base_url, redis.url, ...): user:***@host


_SECRET_KEYS = frozenset({"api_key", "token", "secret", "password", "metrics_token"})


def _mask_urls(value: Any) -> Any:
    from backend.core.urls import mask_url

    if isinstance(value, dict):
        return {k: _mask_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_urls(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


# --------------------------------------------------------------------------- loading


def interpolate(value: Any, path: str = "") -> Any:
    """Replace ${VAR} / ${VAR:-default} in every string of a parsed YAML tree."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def _sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{path}: environment variable {name} is not set; set it or write ${{{name}:-default}}"
        )

    return _VAR.sub(_sub, value)


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown key")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and not loc:
            lines.append(msg)
        elif err["type"] in ("missing",):
            lines.append(f"{loc}: {msg}")
        else:
            lines.append(f"{loc}: {err['input']!r} is invalid: {msg}")
    return "\n  ".join(lines)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else PROJECT_ROOT / "config.yml"


def parse_config(data: Any, source: str = "config") -> Settings:
    """Validate an already-parsed YAML tree (interpolation included)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {type(data).__name__}")
    data = interpolate(data)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration in {source}:\n  {_format_validation_error(exc)}") from None


def load_config(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read, interpolate and validate the config file."""
    file = config_path(path)
    if not file.is_file():
        raise ConfigError(f"config file not found: {file} (set {CONFIG_ENV} or pass --config)")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file} is not valid YAML: {exc}") from None
    return parse_config(data, str(file))

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
from backend.media.audio import STT_SAMPLE_RATE
from backend.providers.hosted import bad_response
from backend.speech.base import Segment, STTConfig, Transcription
from backend.speech.hosted_stt import HostedSTTProvider, json_float, name_the_key, wav_bytes

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "not-needed"
"""Sent to servers that need no key (a local faster-whisper-server, LocalAI, vLLM ...)."""

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


class WhisperAPISTT(HostedSTTProvider):
    """OpenAI's transcriptions endpoint, or any server that speaks it (``openai.base_url``)."""

    name = "whisper_api"
    block = "openai"
    env_var = "OPENAI_API_KEY"
    official_hosts: frozenset[str] = frozenset({"api.openai.com"})
    example_base_url = "https://api.openai.com/v1"

    def _api_key(self) -> str:
        return super()._api_key() or PLACEHOLDER_API_KEY

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    # ------------------------------------------------------------------ transcription
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

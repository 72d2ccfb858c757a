"""What the hosted TTS providers (ElevenLabs, OpenAI, Coqui) share: the key rule, the pooled client,
PCM sample alignment and how cloud voices appear in the voice catalogue.

Cloud voices in the catalogue
-----------------------------
A catalogue :class:`~backend.speech.catalog.Voice` speaks one language, while a cloud voice speaks every
language of its model. So each cloud voice is listed once per enabled language its model supports:

* ``<vendor id>`` speaks the voice's *home* language: ``tts.language`` when the model supports it,
  else the first language of ``languages`` that it does;
* ``<vendor id>@<language>`` (e.g. ``21m00Tcm4TlvDq8ikWAM@hi``, ``nova@ta``) speaks another language.

A request that names ``<vendor id>`` (or any variant) together with a ``language`` is served by the
variant for that language (:meth:`VoiceCatalog.in_language`), so clients can keep using vendor ids.
The provider sends the vendor id (the part before ``@``) and the request's language to the vendor.

Which voices exist: the configured default voice (always, so it works even when listing voices fails)
followed by what :meth:`HostedTTSProvider.discover_voices` found at ``load()``. The catalogue asks the
provider *class* (:meth:`~backend.speech.base.TTSProvider.installed_voice_ids`), so the discovered
voices are kept per provider name and base URL in :data:`_DISCOVERED`.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from backend.core.errors import ProviderError
from backend.core.languages import LANGUAGES
from backend.providers.hosted import HostedClient, bad_response, check_base_url, require_api_key
from backend.speech.base import TTSCapabilities, TTSProvider

if TYPE_CHECKING:
    from backend.core.config import HostedSettings, Settings

logger = logging.getLogger(__name__)

VARIANT_SEP = "@"
DISCOVERY_TIMEOUT_S = 5.0  # the voice listing at startup: one try, at most this long


def vendor_voice_id(voice_id: str) -> str:
    """The vendor's own voice id in a catalogue id (``abc@hi`` → ``abc``)."""
    return voice_id.split(VARIANT_SEP, 1)[0]


@dataclass(frozen=True)
class CloudVoice:
    """A voice as the vendor lists it."""

    vendor_id: str
    name: str
    gender: str | None = None
    quality: str = "cloud"
    source: str = ""


_DISCOVERED: dict[tuple[str, str], list[CloudVoice]] = {}
"""Voices found by ``load()``: (provider name, base URL) → voices."""


def default_first(voices: list[CloudVoice], default: str) -> list[CloudVoice]:
    """A vendor's fixed voice list with the configured default voice first; a default that is not in the
    list (a custom or cloned voice) is added, in front."""
    if not default:
        return voices
    ordered = sorted(voices, key=lambda v: v.vendor_id != default)
    if all(v.vendor_id != default for v in voices):
        ordered.insert(0, CloudVoice(default, default, quality="configured"))
    return ordered


class PCMAligner:
    """Re-cuts a byte stream of PCM16 so that no chunk splits a 16-bit sample."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        data = self._carry + data
        cut = len(data) - (len(data) % 2)
        self._carry = data[cut:]
        return data[:cut]

    @property
    def pending(self) -> int:
        """Bytes held back (0 or 1); 1 at the end of a stream means the body had an odd length."""
        return len(self._carry)


def looks_like_text(content_type: str) -> bool:
    """An error page or a JSON body where audio was expected."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    return ctype.startswith("text/") or ctype.endswith("json") or ctype.endswith("xml")


_CODED_AUDIO = ("audio/mpeg", "audio/mp3", "audio/ogg", "audio/opus", "audio/aac", "audio/flac", "audio/wav")
_CODED_AUDIO += ("audio/x-wav", "audio/wave", "audio/webm", "audio/mp4")


def not_raw_pcm(content_type: str) -> str | None:
    """Why a body of this type cannot be the raw PCM that was asked for (None: it can)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if looks_like_text(ctype):
        return f"expected audio, got {ctype}"
    if ctype in _CODED_AUDIO:
        return f"asked for raw PCM, got {ctype}"
    return None


class HostedTTSProvider(TTSProvider):
    """Base class of the hosted TTS providers: a :class:`HostedClient`, the key rule and the catalogue."""

    name = ""
    env_var: ClassVar[str] = ""
    """The environment variable config.yml reads the key from; "" = the service needs no key."""
    official_hosts: ClassVar[frozenset[str]] = frozenset()
    """Hosts that need a key; a ``base_url`` on another host (a proxy, a local fake) may run without."""
    license: ClassVar[str] = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = self.settings_block(settings)
        self.base_url = self.cfg.base_url.strip().rstrip("/")
        self._client: HostedClient | None = None
        self.voices_error: str | None = None

    # ------------------------------------------------------------------ hooks
    @classmethod
    @abc.abstractmethod
    def settings_block(cls, settings: Settings) -> HostedSettings:
        """This provider's section of config.yml."""

    @classmethod
    @abc.abstractmethod
    def model_languages(cls, settings: Settings) -> frozenset[str]:
        """The platform language codes the configured model speaks."""

    @classmethod
    @abc.abstractmethod
    def output_rate(cls, settings: Settings) -> int:
        """The sample rate of every AudioChunk this provider yields."""

    @classmethod
    @abc.abstractmethod
    def configured_voices(cls, settings: Settings) -> list[CloudVoice]:
        """The voices config.yml names (the default first); they are listed even if discovery fails."""

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Headers that carry the key (only called with a non-empty key)."""
        return {}

    async def discover_voices(self) -> list[CloudVoice]:
        """Ask the vendor which voices this account has (called once by ``load()``)."""
        return []

    # ------------------------------------------------------------------ catalogue
    @classmethod
    def catalogue_languages(cls, settings: Settings) -> list[str]:
        """Enabled languages the model speaks, the home language (``tts.language`` if spoken) first."""
        spoken = cls.model_languages(settings)
        langs = [code for code in settings.languages if code in spoken]
        if settings.tts.language in langs:
            langs.remove(settings.tts.language)
            langs.insert(0, settings.tts.language)
        return langs

    @classmethod
    def _all_voices(cls, settings: Settings) -> list[CloudVoice]:
        block = cls.settings_block(settings)
        found = _DISCOVERED.get((cls.name, block.base_url.strip().rstrip("/")), [])
        voices: dict[str, CloudVoice] = {}
        configured = cls.configured_voices(settings)
        by_id = {v.vendor_id: v for v in found}
        for voice in configured:  # configured first (the default voice leads every language)
            voices[voice.vendor_id] = by_id.get(voice.vendor_id, voice)
        for voice in found:
            voices.setdefault(voice.vendor_id, voice)
        return list(voices.values())

    @classmethod
    def _entries(cls, settings: Settings) -> dict[str, dict[str, Any]]:
        langs = cls.catalogue_languages(settings)
        rate = cls.output_rate(settings)
        voices = cls._all_voices(settings)
        source = cls.settings_block(settings).base_url
        entries: dict[str, dict[str, Any]] = {}
        for index, lang in enumerate(langs):  # language-major: available(lang) lists the default first
            for voice in voices:
                voice_id = voice.vendor_id if index == 0 else f"{voice.vendor_id}{VARIANT_SEP}{lang}"
                entries[voice_id] = {
                    "id": voice_id,
                    "name": voice.name if index == 0 else f"{voice.name} ({LANGUAGES[lang].name})",
                    "language": lang,
                    "locale": lang,
                    "gender": voice.gender,
                    "engine": cls.name,
                    "quality": voice.quality,
                    "sample_rate": rate,
                    "license": cls.license,
                    "source": voice.source or source,
                }
        return entries

    @classmethod
    def installed_voice_ids(cls, settings: Settings) -> list[str]:
        return list(cls._entries(settings))

    @classmethod
    def describe_voice(cls, settings: Settings, voice_id: str) -> dict[str, Any] | None:
        return cls._entries(settings).get(voice_id)

    def voice_ids(self) -> list[str]:
        return self.installed_voice_ids(self.settings)

    def capabilities(self) -> TTSCapabilities:
        return TTSCapabilities(
            streaming=True,
            sample_rate=self.output_rate(self.settings),
            languages=tuple(self.catalogue_languages(self.settings)),
        )

    # ------------------------------------------------------------------ lifecycle
    def api_key(self) -> str:
        """The configured key; empty is a startup error on the vendor's own host."""
        return require_api_key(self.name, self.cfg.api_key, self.base_url, self.official_hosts, self.env_var)

    def open_client(self) -> HostedClient:
        check_base_url(self.name, self.cfg.base_url)
        key = self.api_key()
        return HostedClient(
            self.name,
            self.base_url,
            headers=self.auth_headers(key) if key else {},
            timeout=self.cfg.timeout_seconds,
            max_retries=self.cfg.max_retries,
        )

    def discovery_options(self) -> dict[str, Any]:
        """For the voice listing at startup: one short try. A vendor that is down must not hold the
        server's start for retries x timeout_seconds; the configured voice works without the list."""
        return {"retries": 0, "timeout": min(DISCOVERY_TIMEOUT_S, self.cfg.timeout_seconds)}

    async def load(self) -> None:
        if self._client is None:
            self._client = self.open_client()
        try:
            found = await self.discover_voices()
        except ProviderError as exc:
            self.voices_error = exc.message
            logger.warning(
                "%s: could not list voices (%s); only the configured voice(s) are offered: %s",
                self.name,
                exc.message,
                ", ".join(v.vendor_id for v in self.configured_voices(self.settings)),
            )
            found = []
        else:
            self.voices_error = None
        _DISCOVERED[(self.name, self.base_url)] = found
        logger.info(
            "%s TTS ready: base_url=%s, %d voice(s), languages %s, %d Hz",
            self.name,
            self.base_url,
            len(self._all_voices(self.settings)),
            ",".join(self.catalogue_languages(self.settings)) or "none",
            self.output_rate(self.settings),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> HostedClient:
        if self._client is None:
            raise ProviderError(f"{self.name}: the provider is not loaded", provider=self.name, failover=True)
        return self._client

    def status(self) -> dict[str, object]:
        return {
            "base_url": self.base_url,
            "voices": len(self._all_voices(self.settings)),
            "languages": self.catalogue_languages(self.settings),
            "sample_rate": self.output_rate(self.settings),
            **({"voices_error": self.voices_error} if self.voices_error else {}),
        }

    def no_audio(self) -> ProviderError:
        return bad_response(self.name, "the answer contained no audio")

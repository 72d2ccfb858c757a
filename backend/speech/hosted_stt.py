"""The shell of a cloud speech-to-text provider: its config section, key, HTTP client and live socket.

A subclass names its config section (`block`), the key's environment variable, the vendor's own hosts
and how the key is sent (`auth_headers`); it writes `transcribe` (and `open_stream` with
`connect_live` for live partials). The client (:class:`~backend.providers.hosted.HostedClient`: pooling,
timeouts, retries, vendor error bodies) is made at `load()` and closed at `close()`; a live WebSocket's
refusal, timeout or dead host is mapped to the same errors as a request's.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.core.errors import ProviderError
from backend.media.audio import STT_SAMPLE_RATE, float_to_pcm16, pcm16_to_wav
from backend.providers.hosted import (
    HostedClient,
    bad_response,
    check_base_url,
    error_from_status,
    require_api_key,
    unreachable,
)
from backend.speech.base import STTCapabilities, STTProvider

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from backend.core.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ALIASES = frozenset({"", "default", "whisper-1"})
"""What a request may name to mean "the configured model" (the OpenAI-compatible API always sends one)."""


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


class HostedSTTProvider(STTProvider):
    block: str  # the config section: settings.<block> (api_key, base_url, timeout_seconds, max_retries)
    env_var: str  # where the key comes from (named in errors)
    official_hosts: frozenset[str]  # the vendor's own hosts: a key is required for them
    example_base_url: str  # shown when base_url is not a URL
    model_field = "stt_model"  # the section's field that names the model

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg: Any = getattr(settings, self.block)
        self.model: str = getattr(self.cfg, self.model_field)
        self.base_url = self.cfg.base_url.strip().rstrip("/")
        self._client: HostedClient | None = None
        self._key = ""

    def auth_headers(self, key: str) -> dict[str, str]:
        """The request headers that carry `key` (an empty key: none)."""
        raise NotImplementedError

    def _api_key(self) -> str:
        return require_api_key(
            self.block,
            self.cfg.api_key,
            self.base_url,
            self.official_hosts,
            self.env_var,
            use=f"the {self.name} speech-to-text provider",
        )

    @property
    def streaming(self) -> bool:
        return bool(getattr(self.cfg, "streaming", False))

    async def load(self) -> None:
        if self._client is not None:
            return
        check_base_url(self.block, self.cfg.base_url, self.example_base_url)
        self._key = self._api_key()
        self._client = HostedClient(
            self.name,
            self.base_url,
            headers=self.auth_headers(self._key),
            timeout=self.cfg.timeout_seconds,
            max_retries=self.cfg.max_retries,
        )
        logger.info("%s STT ready: %s", self.name, " ".join(f"{k}={v}" for k, v in self.status().items()))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def capabilities(self) -> STTCapabilities:
        return STTCapabilities(streaming=self.streaming, languages=(), models=(self.model,))

    def status(self) -> dict[str, object]:
        status: dict[str, object] = {"model": self.model, "base_url": self.base_url}
        if hasattr(self.cfg, "streaming"):
            status["streaming"] = self.streaming
        return status

    def resolve_model(self, requested: str | None) -> str:
        return hosted_model(self.model, requested)

    async def client(self) -> HostedClient:
        """The HTTP client, loading the provider first if it was not."""
        if self._client is None:
            await self.load()
        assert self._client is not None
        return self._client

    async def connect_live(self, url: str, what: str, max_size: int | None = 2**20) -> ClientConnection:
        """Open the vendor's live WebSocket (`what` names it in errors) with the key's headers, within
        `timeout_seconds`; a refusal is the vendor's HTTP error, the rest timeouts / bad answers /
        unreachable, as for a request."""
        await self.client()
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        try:
            return await asyncio.wait_for(
                connect(
                    url, additional_headers=self.auth_headers(self._key), open_timeout=None, max_size=max_size
                ),
                self.cfg.timeout_seconds,
            )
        except InvalidStatus as exc:
            response = exc.response
            error = error_from_status(
                self.name,
                response.status_code,
                bytes(response.body or b""),
                dict(response.headers.raw_items()),
            )
            raise self.keyed(error) from None
        except TimeoutError:
            raise ProviderError(
                f"{self.name}: no answer from {self.base_url} in {self.cfg.timeout_seconds:g} s ({what})",
                code="provider_timeout",
                status_code=504,
                provider=self.name,
                retryable=True,
            ) from None
        except InvalidHandshake as exc:
            raise bad_response(self.name, f"the {what} handshake failed: {exc}") from None
        except OSError as exc:
            raise unreachable(self.name, exc, self.base_url) from None

    def keyed(self, error: ProviderError) -> ProviderError:
        """`error`, saying which key to check when the vendor refused it (see `name_the_key`)."""
        return name_the_key(error, self.name, self.block, self.env_var)


def broken_stream(provider: str, exc: BaseException, what: str) -> ProviderError:
    """The error for a live socket (`what`: "live", "streaming") that closed or failed mid-stream."""
    from websockets.exceptions import ConnectionClosed

    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        how = f"code {rcvd.code}{f': {rcvd.reason}' if rcvd.reason else ''}" if rcvd else "no close frame"
        message = f"the {what} connection closed mid-stream ({how})"
    else:
        message = f"the {what} connection failed ({type(exc).__name__}: {exc})"
    return ProviderError(
        f"{provider}: {message}",
        code="provider_bad_response",
        status_code=502,
        provider=provider,
        retryable=True,
    )

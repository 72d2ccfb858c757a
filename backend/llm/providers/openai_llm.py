"""Hosted chat-completions LLMs: OpenAI (or any OpenAI-compatible server) and Groq, via their official SDKs.

Both SDKs expose the same ``chat.completions.create(..., stream=True)`` shape, so one implementation
(:class:`ChatCompletionsLLM`) serves both; the subclasses only pick the settings block and build the
client (:meth:`ChatCompletionsLLM._make_client`).

* Retries (429 / 408 / 409 / 5xx / connection errors, honouring ``Retry-After``) and timeouts are the
  SDK's own (``max_retries``, ``timeout``); a request error (400 / 401 / 403 / 404 / 422) is not retried.
* Every failure is re-raised as :class:`ProviderError` naming the provider, the HTTP status and the
  vendor's message; no SDK or transport exception escapes :meth:`ChatCompletionsLLM.stream`.
* A stream that ends without a ``finish_reason`` (the connection was dropped before ``[DONE]``) is an
  error, never a silent partial reply.

Base URL conventions: ``openai.base_url`` is the OpenAI-style API root (``https://api.openai.com/v1``,
``http://localhost:11434/v1``); the SDK posts to ``<base_url>/chat/completions``. The ``groq`` SDK posts to
``<host>/openai/v1/chat/completions`` itself, so a ``groq.base_url`` ending in ``/openai/v1`` (the config
default, OpenAI-style) has that suffix removed before the client is built; a bare host works too.

``openai.prompt_style: completion`` talks to ``<base_url>/completions`` instead, with the same plain-text
dialogue prompt as ``llama_cpp.prompt_style: completion`` (:func:`completion_prompt`) and the same stops:
for a *base* model with no chat template (the bundled Gemma 3 270M) served by ``llama_cpp.server``, vLLM or
any other OpenAI-compatible server. Tools are then not offered (the agent's deterministic intent parser
routes, as with the local model).
"""

from __future__ import annotations

import abc
import json
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from backend.core.errors import ConfigError, InvalidRequest, MithiError, ProviderError
from backend.llm.base import (
    ChatMessage,
    LLMCapabilities,
    LLMEvent,
    LLMOptions,
    LLMProvider,
    ToolCall,
)
from backend.llm.providers.llama_cpp_llm import COMPLETION_STOPS, completion_prompt
from backend.providers.hosted import check_base_url, require_api_key, status_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from backend.core.config import OpenAICompatSettings, Settings

logger = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "not-needed"
"""Sent as the bearer token to servers that need no key (Ollama, vLLM, LM Studio, llama.cpp server)."""

DEFAULT_CONTEXT_TOKENS = 8192
_VENDOR_MESSAGE_CHARS = 300


@dataclass
class _PartialToolCall:
    """A tool call being assembled from streamed deltas."""

    id: str = ""
    name: str = ""
    arguments: str = ""


def _vendor_message(exc: BaseException) -> str:
    """The vendor's own error message from an SDK exception (OpenAI error body shape), sans final '.'."""
    return _raw_vendor_message(exc).rstrip(".")


def _raw_vendor_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str) and err["message"].strip():
            return err["message"].strip()[:_VENDOR_MESSAGE_CHARS]
        if isinstance(err, str) and err.strip():
            return err.strip()[:_VENDOR_MESSAGE_CHARS]
    if isinstance(body, str) and body.strip():
        return body.strip()[:_VENDOR_MESSAGE_CHARS]
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)[:_VENDOR_MESSAGE_CHARS]


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout, other transport) exception classes of httpx / httpx2, whichever are installed.

    The SDKs wrap transport errors raised while the request is sent, but not always those raised
    while a stream is being read (the groq SDK lets ``httpx.ReadTimeout`` / ``RemoteProtocolError``
    through), so :meth:`ChatCompletionsLLM.stream` maps them itself.
    """
    timeouts: list[type[BaseException]] = []
    transport: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transport.append(module.TransportError)
        transport.append(module.StreamError)
    return tuple(timeouts), tuple(transport)


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    """One ChatMessage as a chat-completions message dict."""
    if message.role == "tool":
        if not message.tool_call_id:
            raise InvalidRequest("a 'tool' message needs the tool_call_id of the call it answers")
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


class ChatCompletionsLLM(LLMProvider):
    """A chat-completions endpoint spoken through an official SDK client (``AsyncOpenAI`` / ``AsyncGroq``)."""

    name = ""
    env_var = ""
    """The environment variable config.yml reads the key from (named in error messages)."""
    official_hosts: frozenset[str] = frozenset()
    """Hosts that require a key; any other base_url (a local server) may run without one."""
    supports_completions = False
    """Whether the SDK has the legacy ``completions`` endpoint (``prompt_style: completion``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = self._settings_block(settings)
        self.model = settings.llm.model or self.cfg.llm_model
        self.base_url = self.cfg.base_url.strip().rstrip("/")
        self._client: Any = None

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _settings_block(self, settings: Settings) -> OpenAICompatSettings:
        """This provider's section of config.yml."""

    @abc.abstractmethod
    def _sdk(self) -> ModuleType:
        """The SDK module (its exception classes are used to classify failures)."""

    @abc.abstractmethod
    def _make_client(self, api_key: str) -> Any:
        """Build the SDK's async client for ``self.base_url`` (no network call)."""

    # ------------------------------------------------------------------ lifecycle
    def _api_key(self) -> str:
        key = require_api_key(self.name, self.cfg.api_key, self.base_url, self.official_hosts, self.env_var)
        return key or PLACEHOLDER_API_KEY

    @property
    def completion_style(self) -> bool:
        """True: ``<base_url>/completions`` with the plain-text prompt (base models)."""
        return self.cfg.prompt_style == "completion"

    async def load(self) -> None:
        """Create the SDK client once (it pools connections). No request is made here."""
        if self._client is not None:
            return
        if self.completion_style and not self.supports_completions:
            raise ConfigError(
                f"{self.name}.prompt_style: 'completion' is not supported by the {self.name} API "
                "(no /completions endpoint); use prompt_style: chat"
            )
        check_base_url(self.name, self.cfg.base_url, "https://api.openai.com/v1 or http://localhost:11434/v1")
        api_key = self._api_key()
        try:
            self._client = self._make_client(api_key)
        except MithiError:
            raise
        except Exception as exc:  # the SDK rejected its arguments
            raise ConfigError(f"{self.name}: cannot create the client: {exc}") from exc
        logger.info(
            "%s LLM ready: model=%s base_url=%s timeout=%.1fs max_retries=%d",
            self.name,
            self.model,
            self.base_url,
            self.cfg.timeout_seconds,
            self.cfg.max_retries,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def status(self) -> dict[str, object]:
        return {
            "model": self.model,
            "base_url": self.base_url,
            "loaded": self._client is not None,
            "prompt_style": self.cfg.prompt_style,
        }

    def capabilities(self) -> LLMCapabilities:
        return LLMCapabilities(
            streaming=True,
            tool_calling=not self.completion_style,
            context_tokens=DEFAULT_CONTEXT_TOKENS,
            model=self.model,
            extra={"provider": self.name, "base_url": self.base_url, "prompt_style": self.cfg.prompt_style},
        )

    async def warm_up(self, messages: list[ChatMessage]) -> None:
        """Completion style: one 1-token request, so the server caches the fixed start of every prompt
        (llama.cpp reuses the longest matching prefix). A server that is not up yet only logs a warning:
        the first turn then pays for it, and the failure is reported there."""
        if not self.completion_style:
            return
        try:
            async for _ in self.stream(messages, LLMOptions(max_tokens=1)):
                pass
        except ProviderError as exc:
            logger.warning("%s: warm-up failed (the first turn will retry): %s", self.name, exc.message)

    # ------------------------------------------------------------------ requests
    def request_params(self, messages: list[ChatMessage], options: LLMOptions) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for one turn."""
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [to_wire_message(m) for m in messages],
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        if options.stop:
            params["stop"] = list(options.stop)
        if options.tools:
            params["tools"] = [t.as_function() for t in options.tools]
        return params

    def completion_params(self, messages: list[ChatMessage], options: LLMOptions) -> dict[str, Any]:
        """The keyword arguments of ``completions.create`` (``prompt_style: completion``) for one turn."""
        return {
            "model": self.model,
            "prompt": completion_prompt(messages),
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stop": list(dict.fromkeys([*COMPLETION_STOPS, *options.stop]))[:4],  # OpenAI allows 4
        }

    async def stream(self, messages: list[ChatMessage], options: LLMOptions) -> AsyncIterator[LLMEvent]:
        """Text deltas as they arrive, then one final event with the tool calls and the finish reason."""
        if self._client is None:
            await self.load()
        completion = self.completion_style
        partial: dict[int, _PartialToolCall] = {}
        finish_reason: str | None = None
        streaming = False  # False: the request failed (after the SDK's retries); True: the stream broke
        try:
            if completion:
                params = self.completion_params(messages, options)
                response = await self._client.completions.create(**params)
            else:
                params = self.request_params(messages, options)
                response = await self._client.chat.completions.create(**params)
            streaming = True
            try:
                async for chunk in response:
                    for choice in chunk.choices or ():
                        if choice.index not in (0, None):
                            continue
                        if completion:
                            if choice.text:
                                yield LLMEvent(text=choice.text)
                            finish_reason = choice.finish_reason or finish_reason
                            continue
                        delta = choice.delta
                        if delta is not None:
                            if delta.content:
                                yield LLMEvent(text=delta.content)
                            for fragment in delta.tool_calls or ():
                                self._add_tool_call_fragment(partial, fragment)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
            finally:
                await response.close()
        except MithiError:
            raise
        except Exception as exc:
            error = self._provider_error(exc, streaming=streaming)
            logger.warning("%s", error.message)
            raise error from exc
        if finish_reason is None:
            raise ProviderError(
                f"{self.name}: the response stream ended before the model finished (no finish_reason; "
                f"the connection to {self.base_url} was probably dropped)",
                provider=self.name,
                retryable=True,
            )
        yield LLMEvent(tool_calls=self._finish_tool_calls(partial), finish_reason=finish_reason)

    @staticmethod
    def _add_tool_call_fragment(partial: dict[int, _PartialToolCall], fragment: Any) -> None:
        """Merge one streamed ``delta.tool_calls[i]`` into the call with the same index."""
        index = fragment.index
        if index is None:  # servers that send each call whole, without an index
            index = next((i for i, c in partial.items() if fragment.id and c.id == fragment.id), len(partial))
        call = partial.setdefault(index, _PartialToolCall())
        if fragment.id:
            call.id = fragment.id
        function = fragment.function
        if function is not None:
            if function.name and not call.name:
                call.name = function.name
            if function.arguments:
                call.arguments += function.arguments

    def _finish_tool_calls(self, partial: dict[int, _PartialToolCall]) -> tuple[ToolCall, ...]:
        calls = []
        for index in sorted(partial):
            call = partial[index]
            if not call.name:
                raise ProviderError(
                    f"{self.name}: the model streamed a tool call (index {index}) without a function name",
                    provider=self.name,
                    failover=True,
                )
            try:
                arguments = json.loads(call.arguments) if call.arguments.strip() else {}
            except ValueError as exc:
                raise ProviderError(
                    f"{self.name}: the model called tool '{call.name}' with arguments that are not valid "
                    f"JSON ({exc.msg} at position {exc.pos}): {call.arguments[:200]!r}",
                    provider=self.name,
                    failover=True,
                ) from None
            if not isinstance(arguments, dict):
                raise ProviderError(
                    f"{self.name}: the arguments of tool call '{call.name}' are JSON but not an object: "
                    f"{call.arguments[:200]!r}",
                    provider=self.name,
                    failover=True,
                )
            calls.append(ToolCall(id=call.id or f"call_{index}", name=call.name, arguments=arguments))
        return tuple(calls)

    # ------------------------------------------------------------------ errors
    def _provider_error(self, exc: Exception, *, streaming: bool = False) -> ProviderError:
        """Classify an SDK / transport / decoding failure as a ProviderError with a useful message.

        A vendor status is judged by ``backend.providers.hosted.status_verdict`` (the one table for every
        provider); timeouts and connection errors are retryable, malformed replies fail over.
        """
        sdk = self._sdk()
        name, retries = self.name, self.cfg.max_retries
        timeouts, transport = _transport_errors()

        def error(message: str, *, retryable: bool = False, failover: bool | None = None) -> ProviderError:
            status = getattr(exc, "status_code", None)
            return ProviderError(
                message,
                provider=name,
                retryable=retryable,
                failover=failover,
                upstream_status=status if isinstance(status, int) else None,
            )

        if streaming and (isinstance(exc, sdk.APITimeoutError) or isinstance(exc, timeouts)):
            return error(
                f"{name}: {self.base_url} stopped sending the reply for more than "
                f"{self.cfg.timeout_seconds:g} s mid-stream (timed out)",
                retryable=True,
            )
        if streaming and isinstance(exc, (sdk.APIConnectionError, *transport)):
            cause = exc.__cause__ if isinstance(exc, sdk.APIConnectionError) and exc.__cause__ else exc
            return error(
                f"{name}: the connection to {self.base_url} broke while streaming the reply "
                f"({type(cause).__name__}: {cause})",
                retryable=True,
            )
        if isinstance(exc, sdk.APIStatusError):  # what the status means: backend.providers.hosted's one table
            status, vendor = exc.status_code, _vendor_message(exc)
            if isinstance(exc, sdk.AuthenticationError):
                message = f"{name}: authentication failed ({status}): {vendor}; check {self.env_var}"
            elif isinstance(exc, sdk.PermissionDeniedError):
                message = (
                    f"{name}: permission denied ({status}): {vendor}; check that the key in "
                    f"{self.env_var} may use model '{self.model}'"
                )
            elif isinstance(exc, sdk.RateLimitError):
                message = f"{name}: rate limited ({status}) after {retries} retries: {vendor}"
            elif isinstance(exc, sdk.NotFoundError):
                message = (
                    f"{name}: not found ({status}): {vendor}; check the model ('{self.model}', "
                    f"{name}.llm_model / llm.model) and {name}.base_url ({self.base_url})"
                )
            elif status >= 500 or status in (408, 425):
                message = f"{name}: server error ({status}) after {retries} retries: {vendor}"
            else:
                message = f"{name}: request rejected ({status}): {vendor}"
            return status_error(name, status, message)
        if isinstance(exc, sdk.APITimeoutError) or isinstance(exc, timeouts):
            return error(
                f"{name}: no response from {self.base_url} within {self.cfg.timeout_seconds:g} s "
                f"(timed out; {retries} retries)",
                retryable=True,
            )
        if isinstance(exc, (sdk.APIConnectionError, *transport)):
            cause = exc.__cause__ if isinstance(exc, sdk.APIConnectionError) and exc.__cause__ else exc
            return error(
                f"{name}: cannot connect to {self.base_url} ({type(cause).__name__}: {cause}; "
                f"after {retries} retries)",
                retryable=True,
            )
        if isinstance(exc, sdk.APIError):  # an error event inside the stream, or a malformed response
            return error(f"{name}: error in the response stream: {_vendor_message(exc)}", failover=True)
        if isinstance(exc, ValueError):  # json.JSONDecodeError from a malformed SSE chunk
            return error(f"{name}: malformed response from {self.base_url}: {exc}", failover=True)
        return error(f"{name}: unexpected failure: {type(exc).__name__}: {exc}", failover=True)


class OpenAILLM(ChatCompletionsLLM):
    """OpenAI, or any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp server): ``openai:``."""

    name = "openai"
    env_var = "OPENAI_API_KEY"
    official_hosts = frozenset({"api.openai.com"})
    supports_completions = True

    def _settings_block(self, settings: Settings) -> OpenAICompatSettings:
        return settings.openai

    def _sdk(self) -> ModuleType:
        import openai

        return openai

    def _make_client(self, api_key: str) -> Any:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            timeout=self.cfg.timeout_seconds,
            max_retries=self.cfg.max_retries,
        )


class GroqLLM(ChatCompletionsLLM):
    """Groq's hosted models through the ``groq`` SDK: ``groq:``."""

    name = "groq"
    env_var = "GROQ_API_KEY"
    official_hosts = frozenset({"api.groq.com"})

    def _settings_block(self, settings: Settings) -> OpenAICompatSettings:
        return settings.groq

    def _sdk(self) -> ModuleType:
        import groq

        return groq

    @property
    def sdk_base_url(self) -> str:
        """What AsyncGroq gets: the SDK appends ``/openai/v1/chat/completions`` itself."""
        return self.base_url.removesuffix("/openai/v1")

    def _make_client(self, api_key: str) -> Any:
        from groq import AsyncGroq

        return AsyncGroq(
            api_key=api_key,
            base_url=self.sdk_base_url,
            timeout=self.cfg.timeout_seconds,
            max_retries=self.cfg.max_retries,
        )

"""A local stand-in for the OpenAI / Groq chat-completions API, for tests that must not touch the internet.

It is a real HTTP/1.1 server (``ThreadingHTTPServer`` in a daemon thread) on 127.0.0.1 and a free
port that speaks the chat-completions wire format at both

* ``POST /v1/chat/completions`` (OpenAI; the ``openai`` SDK with ``base_url=<url>/v1``), and
* ``POST /openai/v1/chat/completions`` (Groq; the ``groq`` SDK appends ``/openai/v1/chat/completions``
  to its ``base_url``, so it gets ``base_url=<url>``).

Streaming requests (``"stream": true``) get ``text/event-stream`` with chunked transfer encoding:
``data: {chat.completion.chunk}\\n\\n`` events (first delta ``{"role": "assistant", "content": ""}``, the
text word by word, tool calls as the real API streams them: a first delta with ``index``, ``id``,
``type`` and ``function.name`` and empty ``arguments``, then argument string fragments) and a last
chunk with the ``finish_reason``, ending with ``data: [DONE]\\n\\n``. Other requests get a whole
``chat.completion`` object. Errors use OpenAI's body ``{"error": {"message", "type", "param", "code"}}``.

Replies are scripted in a FIFO queue; each request to a chat-completions path takes the next one (a
request with a wrong key is answered 401 and takes nothing). When the queue is empty the reply is
:attr:`FakeChatServer.default_text`. Failure injection: :meth:`fail` (429 with ``Retry-After`` /
5xx / 400 ..., N times), :meth:`slow` (sleep before answering), ``stall_after`` (stop mid-stream),
``drop_after`` (close the connection mid-stream: ``"abort"`` truncates the chunked body, ``"eof"`` ends
a close-delimited body cleanly but without ``[DONE]`` or a finish_reason) and :meth:`malformed`.
Every request is recorded (path, headers, parsed JSON body, chunks sent) in :attr:`requests`.

Usage::

    with FakeChatServer(api_key="sk-test") as fake:
        fake.reply_text("Hello there, how can I help?")
        fake.fail(429, times=1, retry_after=0.01)
        fake.reply_tool_calls([FakeToolCall("get_time", {"timezone": "UTC"})])
        ... AsyncOpenAI(base_url=fake.openai_base_url, api_key="sk-test") ...
        assert fake.requests[0].body["stream"] is True
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.vendor_server import QuietHandler, ThreadedVendorFake, openai_error_body, openai_key_error

__all__ = ["FakeChatServer", "FakeReply", "FakeToolCall", "RecordedRequest", "error_body"]

CHAT_PATHS = ("/v1/chat/completions", "/openai/v1/chat/completions")
DropMode = Literal["abort", "eof"]

_ERRORS: dict[int, tuple[str, str, str | None]] = {
    # status: (message, type, code) as the real API words them
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to use this model.", "invalid_request_error", "model_not_allowed"),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    422: ("Unprocessable request.", "invalid_request_error", None),
    429: (
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. "
        "Please try again in 20s.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


error_body = openai_error_body


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes. ``arguments`` is a dict (sent as JSON) or a raw string."""

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None

    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class FakeReply:
    """One scripted answer: a reply (text and/or tool calls) or a failure."""

    text: str = ""
    tool_calls: tuple[FakeToolCall, ...] = ()
    finish_reason: str | None = None
    """Default: "tool_calls" if there are tool calls, else "stop"."""
    fragment_arguments: bool = True
    """Stream tool-call arguments in several small fragments (OpenAI) or in one delta (Groq)."""
    status: int = 200
    """Non-200: answer with this status and OpenAI's error body (message from ``error_message``)."""
    error_message: str | None = None
    retry_after: float | None = None
    """Sent as ``Retry-After`` with an error status."""
    delay: float = 0.0
    """Sleep this long before sending anything (to trip the client's timeout)."""
    stall_after: int | None = None
    """Stream this many chunks, then stop sending for ``stall_seconds`` (mid-stream timeout)."""
    stall_seconds: float = 0.0
    drop_after: int | None = None
    """Stream this many chunks, then close the connection without ``[DONE]``."""
    drop_mode: DropMode = "abort"
    malformed: bool = False
    """Send a body that is not valid JSON (a broken SSE chunk when streaming)."""

    def resolved_finish_reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


@dataclass
class RecordedRequest:
    """One request as the fake saw it, and what it sent back."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-case header names."""
    body: Any
    """The parsed JSON body (None if it was not JSON)."""
    status: int = 0
    chunks: list[dict[str, Any]] = field(default_factory=list)
    """The chat.completion.chunk objects streamed (empty for errors and non-streaming replies)."""
    time: float = field(default_factory=time.monotonic)


class _Handler(QuietHandler):
    @property
    def fake(self) -> FakeChatServer:
        fake: FakeChatServer = self.server.fake
        return fake

    # ------------------------------------------------------------------ plumbing
    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{self.fake.request_count}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, data: bytes, chunked: bool) -> None:
        if chunked:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.wfile.write(data)
        self.wfile.flush()

    # ------------------------------------------------------------------ requests
    def do_GET(self) -> None:
        self._record(None)
        self._send_json(404, error_body(f"Invalid URL (GET {self.path})"))

    def do_POST(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = self._record(body)
        try:
            self._answer(fake, record, raw, body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _record(self, body: Any) -> RecordedRequest:
        record = RecordedRequest(
            method=self.command,
            path=self.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.fake._record(record)
        return record

    def _answer(self, fake: FakeChatServer, record: RecordedRequest, raw: bytes, body: Any) -> None:
        if record.path not in CHAT_PATHS:
            record.status = 404
            self._send_json(404, error_body(f"Invalid URL (POST {record.path})"))
            return
        key_error = openai_key_error(fake.api_key, record.headers)
        if key_error is not None:
            record.status = 401
            self._send_json(401, error_body(key_error, "invalid_request_error", "invalid_api_key"))
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            record.status = 400
            self._send_json(
                400,
                error_body("We could not parse the JSON body of your request.", "invalid_request_error"),
            )
            return

        reply = fake._next_reply()
        if reply.delay and fake._stopped.wait(reply.delay):
            return
        if reply.status != 200:
            record.status = reply.status
            message, type_, code = _ERRORS.get(reply.status, ("Error.", "server_error", None))
            headers = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after is not None else {}
            self._send_json(reply.status, error_body(reply.error_message or message, type_, code), headers)
            return
        record.status = 200
        model = str(body["model"])
        if not body.get("stream"):
            if reply.malformed:
                self._send_json(200, b'{"id": "chatcmpl-broken", "choices": [')
            else:
                self._send_json(200, completion_object(reply, model, fake.next_id()))
            return
        self._stream(fake, record, reply, model)

    def _stream(self, fake: FakeChatServer, record: RecordedRequest, reply: FakeReply, model: str) -> None:
        chunks = stream_chunks(reply, model, fake.next_id(), groq=record.path.startswith("/openai/"))
        chunked = not (reply.drop_after is not None and reply.drop_mode == "eof")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", f"req_{fake.request_count}")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:  # a close-delimited body: the end of the connection is the end of the body
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

        for i, chunk in enumerate(chunks):
            if reply.drop_after is not None and i >= reply.drop_after:
                self._drop(chunked)
                return
            if reply.stall_after is not None and i == reply.stall_after:
                if fake._stopped.wait(reply.stall_seconds):
                    return
            if reply.malformed and i == 1:
                self._write_chunk(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n', chunked)
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode(), chunked)
            record.chunks.append(chunk)
            if fake.chunk_interval:
                time.sleep(fake.chunk_interval)
        if reply.drop_after is not None:
            self._drop(chunked)
            return
        self._write_chunk(b"data: [DONE]\n\n", chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _drop(self, chunked: bool) -> None:
        """Close the connection now: mid chunked body ("abort"), or a clean end of a close-delimited body."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- wire objects


def _chunk(
    cid: str, model: str, delta: dict[str, Any], finish: str | None = None, created: int = 0
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created or int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_chunks(reply: FakeReply, model: str, cid: str, groq: bool = False) -> list[dict[str, Any]]:
    """The chat.completion.chunk objects the real API would stream for ``reply``."""
    chunks = [_chunk(cid, model, {"role": "assistant", "content": ""})]
    if groq:
        chunks[0]["x_groq"] = {"id": f"req_{cid}"}
    words = reply.text.split(" ") if reply.text else []
    for i, word in enumerate(words):
        chunks.append(_chunk(cid, model, {"content": word if i == 0 else " " + word}))
    for index, call in enumerate(reply.tool_calls):
        call_id = call.id or f"call_{cid[-6:]}{index}"
        args = call.arguments_json()
        first = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name}}
        if reply.fragment_arguments:
            first["function"]["arguments"] = ""
            chunks.append(_chunk(cid, model, {"tool_calls": [first]}))
            for piece in _split(args, 4):
                chunks.append(
                    _chunk(cid, model, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
        else:
            first["function"]["arguments"] = args
            chunks.append(_chunk(cid, model, {"tool_calls": [first]}))
    chunks.append(_chunk(cid, model, {}, reply.resolved_finish_reason()))
    if groq:
        chunks[-1]["x_groq"] = {"id": f"req_{cid}", "usage": _usage(reply)}
    return chunks


def _usage(reply: FakeReply) -> dict[str, int]:
    completion = max(1, len(reply.text.split()) + 8 * len(reply.tool_calls))
    return {"prompt_tokens": 10, "completion_tokens": completion, "total_tokens": 10 + completion}


def completion_object(reply: FakeReply, model: str, cid: str) -> dict[str, Any]:
    """A whole ``chat.completion`` (the non-streaming answer)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{cid[-6:]}{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.resolved_finish_reason(),
            }
        ],
        "usage": _usage(reply),
    }


# --------------------------------------------------------------------------- the server


class FakeChatServer(ThreadedVendorFake[RecordedRequest, FakeReply]):
    """The fake API. ``api_key=None`` accepts any (or no) key. The FIFO holds scripted replies."""

    thread_name = "fake-openai-chat"

    def __init__(
        self, api_key: str | None = "sk-test-key", default_text: str = "Hello from the fake."
    ) -> None:
        super().__init__(api_key, _Handler)
        self.default_text = default_text
        self.chunk_interval = 0.0
        """Pause between streamed chunks (seconds)."""
        self._ids = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def openai_base_url(self) -> str:
        """``base_url`` for the openai SDK (it posts to ``<base_url>/chat/completions``)."""
        return f"{self.url}/v1"

    @property
    def groq_base_url(self) -> str:
        """``base_url`` for the groq SDK (it posts to ``<base_url>/openai/v1/chat/completions``)."""
        return self.url

    def reset(self, api_key: str | None = "sk-test-key") -> None:
        """Forget scripted replies and recorded requests (between tests sharing one server)."""
        self._clear()
        self.api_key = api_key
        self.chunk_interval = 0.0

    # ------------------------------------------------------------------ scripting
    def reply_text(self, text: str, finish_reason: str | None = None, **kw: Any) -> None:
        """Answer the next request with ``text`` (streamed word by word)."""
        self.enqueue(FakeReply(text=text, finish_reason=finish_reason, **kw))

    def reply_tool_calls(
        self, calls: list[FakeToolCall], text: str = "", finish_reason: str | None = None, **kw: Any
    ) -> None:
        """Answer the next request with tool calls (arguments streamed in fragments by default)."""
        self.enqueue(FakeReply(text=text, tool_calls=tuple(calls), finish_reason=finish_reason, **kw))

    def fail(
        self, status: int, times: int = 1, retry_after: float | None = None, message: str | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and OpenAI's error body."""
        self.enqueue(FakeReply(status=status, retry_after=retry_after, error_message=message), times)

    def slow(self, seconds: float, times: int = 1, text: str = "too late") -> None:
        """Sleep ``seconds`` before answering the next ``times`` requests."""
        self.enqueue(FakeReply(text=text, delay=seconds), times)

    def drop(self, text: str, after_chunks: int, mode: DropMode = "abort") -> None:
        """Stream ``after_chunks`` chunks of ``text``, then close the connection without ``[DONE]``."""
        self.enqueue(FakeReply(text=text, drop_after=after_chunks, drop_mode=mode))

    def stall(self, text: str, after_chunks: int, seconds: float) -> None:
        """Stream ``after_chunks`` chunks of ``text``, then go quiet for ``seconds``."""
        self.enqueue(FakeReply(text=text, stall_after=after_chunks, stall_seconds=seconds))

    def malformed(self, text: str = "broken reply") -> None:
        """Answer the next request with a body (or an SSE chunk) that is not valid JSON."""
        self.enqueue(FakeReply(text=text, malformed=True))

    # ------------------------------------------------------------------ inspection
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path in CHAT_PATHS]

    def next_id(self) -> str:
        with self._lock:
            self._ids += 1
            return f"chatcmpl-fake{self._ids:06d}"

    def _next_reply(self) -> FakeReply:
        return self._pop_fault(FakeReply(text=self.default_text))

"""A local stand-in for the Hugging Face hub, for tests that must not touch the internet.

It is a real HTTP/1.1 server (``ThreadingHTTPServer`` in a daemon thread) on 127.0.0.1 and a
free port that serves the paths ``download_models.py`` uses:

* ``GET /<owner>/<repo>/resolve/main/<path>`` with ``Content-Length`` and ``Range: bytes=N-``
  / ``bytes=N-M`` support (206 + ``Content-Range``; 416 when out of range);
* ``GET /api/models/<owner>/<repo>/tree/main`` → the JSON listing of the repo's files;
* anything else → 404.

Failure simulation per file: drop the connection after K body bytes on the first N requests
(``drop_after``/``drop_times``), serve corrupted bytes of the right length (``corrupt``),
answer 5xx the first N times (``fail_times``), or redirect to a ``/cdn/...`` URL like the real
hub does for LFS files (``redirect``). Every request is recorded (method, path, Range header,
status) in :attr:`FakeHub.requests`.

Usage::

    with FakeHub() as hub:
        hub.add_piper_voice("hi_IN-pratham-medium", onnx=b"...", config=b"{}")
        hub.add_whisper_repo("Systran/faster-whisper-small", {"model.bin": b"...", ...})
        ... HF_ENDPOINT=hub.url ...
        assert any(r.range_header for r in hub.requests_for("model.bin"))
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["FakeFile", "FakeHub", "RecordedRequest", "git_blob_sha1", "piper_voice_entry"]

PIPER_REPO = "rhasspy/piper-voices"
_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")


def git_blob_sha1(data: bytes) -> str:
    """Git blob object id of ``data`` (the hub's ``oid`` for non-LFS files)."""
    return hashlib.sha1(b"blob " + str(len(data)).encode() + b"\0" + data).hexdigest()


@dataclass
class FakeFile:
    """A file the fake hub serves, with optional failure behaviour."""

    content: bytes
    drop_after: int | None = None
    """Close the connection after this many body bytes (on the first ``drop_times`` requests)."""
    drop_times: int = 1
    corrupt: bool = False
    """Serve the file with some bytes flipped (same length) on every request."""
    fail_times: int = 0
    """Answer ``fail_status`` on the first ``fail_times`` requests."""
    fail_status: int = 503
    redirect: bool = False
    """Answer 302 to ``/cdn/<repo>/<path>`` (like the hub does for LFS files)."""
    ignore_range: bool = False
    """Always answer 200 with the full body, even to Range requests."""
    requests: int = 0

    def body(self) -> bytes:
        """The bytes actually served (corrupted if requested)."""
        if not self.corrupt or not self.content:
            return self.content
        data = bytearray(self.content)
        for i in range(0, len(data), max(1, len(data) // 7)):
            data[i] ^= 0xFF
        return bytes(data)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake hub received."""

    method: str
    path: str
    range_header: str | None
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def piper_voice_entry(
    voice_id: str, onnx: bytes, config: bytes, model_card: bytes = b"card\n"
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Build a ``voices.json`` entry for a voice plus its files keyed by repo path.

    ``voice_id`` has the usual ``<lang>_<REGION>-<name>-<quality>`` form, e.g.
    ``hi_IN-pratham-medium`` → files under ``hi/hi_IN/pratham/medium/``.
    """
    lang_code, name, quality = voice_id.split("-", 2)
    family, region = lang_code.split("_", 1)
    base = f"{family}/{lang_code}/{name}/{quality}"
    files = {
        f"{base}/{voice_id}.onnx": onnx,
        f"{base}/{voice_id}.onnx.json": config,
        f"{base}/MODEL_CARD": model_card,
    }
    entry = {
        "key": voice_id,
        "name": name,
        "language": {
            "code": lang_code,
            "family": family,
            "region": region,
            "name_native": family,
            "name_english": family,
            "country_english": region,
        },
        "quality": quality,
        "num_speakers": 1,
        "speaker_id_map": {},
        "files": {
            path: {"size_bytes": len(data), "md5_digest": hashlib.md5(data).hexdigest()}
            for path, data in files.items()
        },
        "aliases": [],
    }
    return entry, files


class FakeHub:
    """A fake Hugging Face hub on ``127.0.0.1``; use as a context manager or call start/stop."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], FakeFile] = {}
        self.trees: dict[str, list[dict[str, Any]]] = {}
        self.voices: dict[str, Any] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content -----------------------------------------------------------------------------

    def add_file(self, repo: str, path: str, content: bytes, **options: Any) -> FakeFile:
        """Serve ``content`` at ``/<repo>/resolve/main/<path>``; ``options`` go to :class:`FakeFile`."""
        fake = FakeFile(content, **options)
        self.files[(repo, path)] = fake
        return fake

    def file(self, repo: str, path: str) -> FakeFile:
        """The :class:`FakeFile` served at ``repo``/``path`` (to tweak failure options)."""
        return self.files[(repo, path)]

    def add_piper_voice(self, voice_id: str, onnx: bytes, config: bytes, **options: Any) -> dict[str, Any]:
        """Add a voice to ``voices.json`` and serve its files; returns the voices.json entry.

        ``options`` (e.g. ``drop_after=...``, ``corrupt=True``) apply to the ``.onnx`` file.
        """
        entry, files = piper_voice_entry(voice_id, onnx, config)
        self.voices[voice_id] = entry
        for path, data in files.items():
            self.add_file(PIPER_REPO, path, data, **(options if path.endswith(".onnx") else {}))
        self._refresh_voices_json()
        return entry

    def set_voices_json(self, voices: dict[str, Any]) -> None:
        """Replace ``voices.json`` wholesale (files are added separately with :meth:`add_file`)."""
        self.voices = dict(voices)
        self._refresh_voices_json()

    def _refresh_voices_json(self) -> None:
        data = json.dumps(self.voices, indent=1).encode()
        existing = self.files.get((PIPER_REPO, "voices.json"))
        if existing is None:
            self.add_file(PIPER_REPO, "voices.json", data)
        else:
            existing.content = data

    def add_whisper_repo(
        self,
        repo: str,
        files: dict[str, bytes],
        *,
        lfs: set[str] | frozenset[str] = frozenset({"model.bin"}),
        tree_overrides: dict[str, dict[str, Any]] | None = None,
        file_options: dict[str, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Serve a model repo and its ``tree/main`` listing; returns the tree entries.

        Files named in ``lfs`` get an ``lfs`` block with their sha256; the others carry their
        git blob sha1 as ``oid``. ``tree_overrides`` patches entries (e.g. a wrong sha),
        ``file_options`` passes :class:`FakeFile` options per path.
        """
        tree: list[dict[str, Any]] = [
            {"type": "file", "oid": git_blob_sha1(b".gitattributes"), "size": 14, "path": ".gitattributes"},
            {"type": "file", "oid": git_blob_sha1(b"# README\n"), "size": 9, "path": "README.md"},
        ]
        self.add_file(repo, ".gitattributes", b".gitattributes")
        self.add_file(repo, "README.md", b"# README\n")
        for path, data in files.items():
            options = (file_options or {}).get(path, {})
            self.add_file(repo, path, data, redirect=path in lfs, **options)
            if path in lfs:
                pointer = (
                    f"version https://git-lfs.github.com/spec/v1\n"
                    f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n"
                ).encode()
                entry: dict[str, Any] = {
                    "type": "file",
                    "oid": git_blob_sha1(pointer),
                    "size": len(data),
                    "path": path,
                    "lfs": {
                        "oid": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "pointerSize": len(pointer),
                    },
                }
            else:
                entry = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}
            entry.update((tree_overrides or {}).get(path, {}))
            tree.append(entry)
        self.trees[repo] = tree
        return tree

    # -- inspection --------------------------------------------------------------------------

    def requests_for(self, suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``suffix``."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix)]

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (use as ``HF_ENDPOINT``)."""
        if self._server is None:
            raise RuntimeError("FakeHub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        """Start serving in a background thread."""
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hf-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeHFHub/1.0"
    hub: FakeHub  # set on the bound subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log (requests are recorded instead)."""

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch(head=False)

    # -- helpers -----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, head: bool, **headers: str) -> None:
        self._log(status)  # record before answering, so the client never sees an unrecorded response
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _log(self, status: int) -> None:
        self.hub._record(
            RecordedRequest(
                method=self.command,
                path=urlsplit(self.path).path,
                range_header=self.headers.get("Range"),
                status=status,
                headers={k: v for k, v in self.headers.items()},
            )
        )

    def _not_found(self, head: bool) -> None:
        self._send(404, b'{"error":"Entry not found"}', "application/json", head)

    def _dispatch(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path.startswith("/api/models/") and path.endswith("/tree/main"):
            repo = path[len("/api/models/") : -len("/tree/main")]
            tree = self.hub.trees.get(repo)
            if tree is None:
                self._send(404, b'{"error":"Repository not found"}', "application/json", head)
            else:
                self._send(200, json.dumps(tree).encode(), "application/json", head)
            return
        cdn = path.startswith("/cdn/")
        if cdn:
            rest = path[len("/cdn/") :]
            parts = rest.split("/", 2)
            if len(parts) < 3:
                self._not_found(head)
                return
            repo, file_path = f"{parts[0]}/{parts[1]}", parts[2]
        else:
            marker = "/resolve/main/"
            if marker not in path:
                self._not_found(head)
                return
            repo, file_path = path[1:].split(marker, 1)
        fake = self.hub.files.get((repo, file_path))
        if fake is None:
            self._not_found(head)
            return
        if fake.redirect and not cdn:
            self._send(302, b"", "text/plain", head, Location=f"/cdn/{repo}/{file_path}")
            return
        self._serve_file(fake, head)

    def _serve_file(self, fake: FakeFile, head: bool) -> None:
        with self.hub._lock:
            fake.requests += 1
            nth = fake.requests
        if nth <= fake.fail_times:
            self._send(fake.fail_status, b"temporarily unavailable", "text/plain", head)
            return
        body = fake.body()
        total = len(body)
        status, start, end = 200, 0, total - 1
        range_header = self.headers.get("Range")
        if range_header and not fake.ignore_range:
            match = _RANGE_RE.match(range_header.strip())
            if match is None:
                self._send(416, b"", "text/plain", head, Content_Range=f"bytes */{total}")
                return
            start = int(match.group(1))
            end = min(int(match.group(2)), total - 1) if match.group(2) else total - 1
            if start >= total or start > end:
                self._send(416, b"", "text/plain", head, Content_Range=f"bytes */{total}")
                return
            status = 206
        chunk = body[start : end + 1]
        self._log(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{hashlib.sha256(fake.content).hexdigest()}"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.end_headers()
        if head:
            return
        if fake.drop_after is not None and nth - fake.fail_times <= fake.drop_times:
            self.wfile.write(chunk[: fake.drop_after])
            self.wfile.flush()
            self._drop_connection()
            return
        self.wfile.write(chunk)

    def _drop_connection(self) -> None:
        """Abruptly end the response mid-body (the client sees a short read)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

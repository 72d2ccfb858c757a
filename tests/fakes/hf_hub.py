"""A local stand-in for the Hugging Face hub, for tests that must not touch the internet.

It is a real HTTP/1.1 server (``ThreadingHTTPServer`` in a daemon thread) on 127.0.0.1 and a
free port that answers what ``huggingface_hub`` (``hf_hub_download``, ``HfApi.list_repo_tree``)
asks of the hub:

* ``HEAD|GET /<owner>/<repo>/resolve/<revision>/<path>``: the file, with ``X-Repo-Commit`` (the
  repo's commit sha), ``ETag`` (the git blob sha1; for LFS files the sha256), ``Content-Length``
  and ``Range: bytes=N-`` / ``bytes=N-M`` support (206 + ``Content-Range``; 416 when out of range).
  LFS files answer ``302`` to a CDN on a second port (another origin, as the real hub's CDN is),
  carrying ``X-Linked-Etag`` (sha256) and ``X-Linked-Size``;
* ``GET /api/models/<owner>/<repo>/tree/<revision>`` → the JSON listing of the repo's files
  (``oid``, ``size``, ``lfs: {oid, size, pointerSize}``);
* ``GET /api/models/<owner>/<repo>[/revision/<revision>]`` → ``{id, sha, siblings}``;
* ``GET /api/agent-harnesses`` → an empty registry (huggingface_hub fetches it once a day);
* an unknown repo or file → 404 with ``X-Error-Code: RepoNotFound`` / ``EntryNotFound``.

Failure simulation per file (on downloads, GET): drop the connection after K body bytes on the
first N requests (``drop_after``/``drop_times``), serve corrupted bytes of the right length
(``corrupt``), answer 5xx the first N times (``fail_times``), hold the answer until an event is set
(``hold``). Every request is recorded (method,
path, Range header, status) in :attr:`FakeHub.requests`.

Usage::

    with FakeHub() as hub:
        hub.add_piper_voice("hi_IN-pratham-medium", onnx=b"...", config=b"{}")
        hub.add_piper_voice_from("mr_IN-google-medium", joe_onnx, joe_config)  # a real, loadable model
        hub.add_repo("Systran/faster-whisper-small", {"model.bin": b"...", ...})
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
COMMIT = "0123456789abcdef0123456789abcdef01234567"
AGENT_HARNESSES: dict[str, Any] = {"standardEnvVars": [], "harnesses": {}}
_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")
_RESOLVE_RE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<path>.+)$")


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
    lfs: bool = False
    """Stored in LFS: /resolve answers 302 to the CDN, and the ETag is the sha256."""
    ignore_range: bool = False
    """Always answer 200 with the full body, even to Range requests."""
    hold: threading.Event | None = None
    """Keep a download (GET) waiting until this event is set (a slow transfer, as long as a test wants)."""
    requests: int = 0

    @property
    def etag(self) -> str:
        """What the hub reports as the file's ETag: sha256 for LFS files, else the git blob sha1."""
        return hashlib.sha256(self.content).hexdigest() if self.lfs else git_blob_sha1(self.content)

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
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

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

    def add_piper_voice_from(
        self, voice_id: str, onnx: bytes, config: dict[str, Any], **options: Any
    ) -> dict[str, Any]:
        """Serve a real Piper model (e.g. the bundled ``en_US-joe-medium.onnx``) under ``voice_id``, with
        ``config`` (its ``.onnx.json``) re-labelled for that voice: its language, espeak voice and dataset
        name come from the id (``mr_IN-google-medium`` → Marathi, espeak ``mr``). A fake voice, but one
        Piper loads and speaks with; ``options`` as for :meth:`add_piper_voice`."""
        lang_code, name, quality = voice_id.split("-", 2)
        family, region = lang_code.split("_", 1)
        relabelled = {
            **config,
            "dataset": name,
            "language": {"code": lang_code, "family": family, "region": region},
            "espeak": {**config.get("espeak", {}), "voice": family},
            "audio": {**config.get("audio", {}), "quality": quality},
        }
        return self.add_piper_voice(voice_id, onnx, json.dumps(relabelled).encode(), **options)

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

    def add_repo(
        self,
        repo: str,
        files: dict[str, bytes],
        *,
        lfs: set[str] | frozenset[str] = frozenset({"model.bin"}),
        tree_overrides: dict[str, dict[str, Any]] | None = None,
        file_options: dict[str, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Serve a model repo and its tree listing; returns the tree entries.

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
            self.add_file(repo, path, data, lfs=path in lfs, **options)
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
        return self._origin(0)

    @property
    def cdn_url(self) -> str:
        """Where LFS files are redirected to: another origin, like the real hub's CDN."""
        return self._origin(1)

    def _origin(self, index: int) -> str:
        if not self._servers:
            raise RuntimeError("FakeHub is not running")
        host, port = self._servers[index].server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        """Start serving the hub and its CDN in background threads."""
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        for name in ("fake-hf-hub", "fake-hf-cdn"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop the servers and wait for their threads."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

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
                headers={k.title(): v for k, v in self.headers.items()},  # as sent, whatever the case
            )
        )

    def _not_found(self, head: bool, code: str = "EntryNotFound") -> None:
        message = "Repository not found" if code == "RepoNotFound" else "Entry not found"
        body = json.dumps({"error": message}).encode()
        self._send(404, body, "application/json", head, X_Error_Code=code, X_Error_Message=message)

    def _repos(self) -> set[str]:
        return {repo for repo, _ in self.hub.files} | set(self.hub.trees)

    def _dispatch(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/api/agent-harnesses":  # huggingface_hub asks once a day (its agent detection)
            self._send(200, json.dumps(AGENT_HARNESSES).encode(), "application/json", head)
            return
        if path.startswith("/api/models/"):
            self._api(path[len("/api/models/") :], head)
            return
        if path.startswith("/cdn/"):
            parts = path[len("/cdn/") :].split("/", 2)
            fake = self.hub.files.get((f"{parts[0]}/{parts[1]}", parts[2])) if len(parts) == 3 else None
            if fake is None:
                self._not_found(head)
            else:
                self._serve_file(fake, head)
            return
        match = _RESOLVE_RE.match(path)
        if match is None:
            self._not_found(head, "RepoNotFound")
            return
        repo, revision, file_path = match.group("repo"), match.group("revision"), match.group("path")
        if repo not in self._repos():
            self._not_found(head, "RepoNotFound")
            return
        if revision not in ("main", COMMIT):
            self._not_found(head, "RevisionNotFound")
            return
        fake = self.hub.files.get((repo, file_path))
        if fake is None:
            self._not_found(head)
            return
        if fake.lfs:
            location = f"{self.hub.cdn_url}/cdn/{repo}/{file_path}"
            self._send(
                302,
                b"",
                "text/plain",
                head,
                Location=location,
                X_Repo_Commit=COMMIT,
                X_Linked_Etag=f'"{fake.etag}"',
                X_Linked_Size=str(len(fake.content)),
                ETag=f'"{git_blob_sha1(fake.content)}"',
            )
            return
        self._serve_file(fake, head, X_Repo_Commit=COMMIT)

    def _api(self, rest: str, head: bool) -> None:
        """``<repo>/tree/<revision>[/<path>]`` and ``<repo>[/revision/<revision>]``."""
        parts = rest.split("/")
        repo = "/".join(parts[:2])
        if len(parts) < 2 or repo not in self._repos():
            self._not_found(head, "RepoNotFound")
            return
        if len(parts) >= 4 and parts[2] == "tree":
            tree = self.hub.trees.get(repo)
            if tree is None:
                tree = [
                    {"type": "file", "oid": fake.etag, "size": len(fake.content), "path": path}
                    for (owner, path), fake in self.hub.files.items()
                    if owner == repo
                ]
            self._send(200, json.dumps(tree).encode(), "application/json", head)
            return
        siblings = [{"rfilename": path} for (owner, path) in self.hub.files if owner == repo]
        info = {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "siblings": siblings}
        self._send(200, json.dumps(info).encode(), "application/json", head)

    def _serve_file(self, fake: FakeFile, head: bool, **extra: str) -> None:
        if head:  # metadata (the size is the file's, no body): never fails, counts for nothing
            self._log(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(fake.content)))
            self.send_header("ETag", f'"{fake.etag}"')
            for key, value in extra.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            return
        if fake.hold is not None:
            fake.hold.wait(timeout=120)
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
        self.send_header("ETag", f'"{fake.etag}"')
        for key, value in extra.items():
            self.send_header(key.replace("_", "-"), value)
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

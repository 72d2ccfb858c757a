"""Who gets the CPU first: the first audio of a reply before the text generated ahead of it.

On a 2-core machine llama.cpp and onnxruntime (Piper) each use every core; while the LLM keeps
generating the rest of a reply, the synthesis of its first phrase takes 2-3x longer (~90 ms instead
of ~35 ms). The first phrase is on the path to the first audio the user hears, the rest of the text is
not (it is spoken only after that phrase has played). So while a first phrase is being synthesized
(`FIRST_AUDIO.running()`), a local LLM that is generating waits between two tokens
(`FIRST_AUDIO.step_aside()`), at most `max_wait_s` at a time so nothing starves.

Partial transcripts (live captions while the user speaks) are the most deferrable work of all: while a
reply of another conversation in the process is being made (`ANSWERING.busy_besides(session)`) they are
made 3x less often and no early answer is started, so under load (several conversations at once) the cores
go to the answers. A session's own early answer does not count: it is void once the user speaks on, and
counting it left a long question without a single caption.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Hashable, Iterator


class CriticalPath:
    """A count of critical-path work running now; other work waits (bounded) while it is above zero."""

    def __init__(self, max_wait_s: float = 0.15) -> None:
        self.max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._running = 0
        self._owners: Counter[Hashable] = Counter()
        self._clear = threading.Event()
        self._clear.set()

    @contextlib.contextmanager
    def running(self, owner: Hashable | None = None) -> Iterator[None]:
        """Mark critical work for the duration of the block (any thread or the event loop); `owner`
        (a session) lets that session ask whether anyone *else* is busy."""
        with self._lock:
            self._running += 1
            self._owners[owner] += 1
            self._clear.clear()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._owners[owner] -= 1
                if not self._owners[owner]:
                    del self._owners[owner]
                if self._running == 0:
                    self._clear.set()

    @property
    def busy(self) -> bool:
        return not self._clear.is_set()

    def busy_besides(self, owner: Hashable) -> bool:
        """Critical work runs that `owner` did not start."""
        with self._lock:
            return self._running > self._owners.get(owner, 0)

    def step_aside(self) -> None:
        """Called from a worker thread between two units of deferrable work: wait while critical work
        runs (at most `max_wait_s`)."""
        self._clear.wait(self.max_wait_s)


FIRST_AUDIO = CriticalPath()
ANSWERING = CriticalPath()

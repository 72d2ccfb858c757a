"""Who gets the CPU first: the first audio of a reply before the text generated ahead of it.

On a 2-core machine llama.cpp and onnxruntime (Piper) each use every core; while the LLM keeps
generating the rest of a reply, the synthesis of its first phrase takes 2-3x longer (~90 ms instead
of ~35 ms). The first phrase is on the path to the first audio the user hears, the rest of the text is
not (it is spoken only after that phrase has played). So while a first phrase is being synthesized
(`FIRST_AUDIO.running()`), a local LLM that is generating waits between two tokens
(`FIRST_AUDIO.step_aside()`), at most `max_wait_s` at a time so nothing starves.

Partial transcripts (live captions while the user speaks) are the most deferrable work of all: while any
reply in the process is being made (`ANSWERING.busy`) they are made 3x less often and no early answer is
started, so under load (several conversations at once) the cores go to the answers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class CriticalPath:
    """A count of critical-path work running now; other work waits (bounded) while it is above zero."""

    def __init__(self, max_wait_s: float = 0.15) -> None:
        self.max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._running = 0
        self._clear = threading.Event()
        self._clear.set()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Mark critical work for the duration of the block (any thread or the event loop)."""
        with self._lock:
            self._running += 1
            self._clear.clear()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    self._clear.set()

    @property
    def busy(self) -> bool:
        return not self._clear.is_set()

    def step_aside(self) -> None:
        """Called from a worker thread between two units of deferrable work: wait while critical work
        runs (at most `max_wait_s`)."""
        self._clear.wait(self.max_wait_s)


FIRST_AUDIO = CriticalPath()
ANSWERING = CriticalPath()

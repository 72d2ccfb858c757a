"""Which process this is: `<hostname>:<pid>`, shown to clients so a load-balanced deployment can be
traced (the `X-Mithi-Worker` response header, the `worker` field of `/voice`'s `session.started`)."""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    """`<hostname>:<pid>` of the current process (computed per call: right after a fork, too)."""
    return f"{socket.gethostname()}:{os.getpid()}"

"""`python -m backend [--config FILE] [--host H] [--port P]`: run the API server."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from backend.core.config import CONFIG_ENV, is_loopback_host, load_config
from backend.core.errors import ConfigError

SHUTDOWN_GRACE_S = 5  # seconds uvicorn waits for connections and tasks once the drain has ended


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Run the Mithivoices API server.")
    parser.add_argument("--config", help=f"config file (default: ${CONFIG_ENV} or ./config.yml)")
    parser.add_argument("--host", help="bind address (default: server.host)")
    parser.add_argument("--port", type=int, help="port (default: server.port)")
    args = parser.parse_args(argv)
    if args.config:
        os.environ[CONFIG_ENV] = os.path.abspath(args.config)
    try:
        settings = load_config()
    except ConfigError as exc:
        sys.stderr.write(f"mithivoices: configuration error: {exc.message}\n")
        return 2
    host = args.host or settings.server.host
    if not settings.auth.enabled and settings.auth.required and not is_loopback_host(host):
        sys.stderr.write(
            f"mithivoices: configuration error: --host {host} can be reached by other machines, but no "
            "API key is set: add one with MITHI_API_KEYS=name:secret (auth.api_keys), or set "
            "auth.required: false to serve without keys on purpose\n"
        )
        return 2
    uvicorn.run(
        "backend.app.main:app",
        host=host,
        port=args.port or settings.server.port,
        log_level=settings.server.log_level,
        # after the drain (backend.app.lifecycle) the sockets are closed: whatever still holds a
        # connection or a task then is cut after this long, so a stop never hangs
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

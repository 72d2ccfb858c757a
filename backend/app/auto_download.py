"""``models.auto_download``: Piper voices the configuration needs, fetched in the background at startup.

Wanted are the voices the catalogue knows (``voice_assets/voices.manifest.json``) but that are not
installed, when Piper is one of the enabled TTS engines: ``tts.voice_id`` (when ``tts.provider`` is
piper), ``piper.default_voice``, and for each language in ``languages`` that has no Piper voice installed,
its best one (the catalogue's first, preferring a licence that allows commercial use:
``backend.models.voices.best_voice``, the rule ``download_models.py --language`` follows). Languages with
no Piper voice in the catalogue (ta, gu) are not attempted: eSpeak NG speaks them.

The download runs in a task the app's lifespan owns (cancelled on shutdown) and a daemon thread, after
startup is complete, so it never delays readiness; each file is verified (size + md5 from the hub's
``voices.json``, ``backend/models/hub.py``) and the catalogue is refreshed after each voice, so the next
request uses it. When the hub cannot be reached, one line says so and which engine speaks those
languages meanwhile. Several workers on one models directory take turns (a file lock).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from backend.core.config import Settings
from backend.models.common import DownloadError, DownloadReport, human_size
from backend.models.hub import (
    STAGING_DIR,
    Hub,
    download_piper_voices,
    fetch_piper_catalog,
    resolve_piper_voices,
)
from backend.models.voices import best_voice
from backend.speech.tts_service import TTSService

logger = logging.getLogger(__name__)

PIPER = "piper"
ENGINE_NAMES = {"espeak": "eSpeak NG"}
T = TypeVar("T")


class AutoDownload:
    """Plans the voices to fetch (:meth:`plan`); fetches them behind the app (:meth:`start`, :meth:`stop`)."""

    def __init__(self, settings: Settings, tts: TTSService) -> None:
        self.settings = settings
        self.tts = tts
        self.task: asyncio.Task[None] | None = None
        self.fetched: list[str] = []
        self._stop = threading.Event()

    def plan(self) -> dict[str, str]:
        """voice id → the language it is fetched for (see the module docstring); empty when off."""
        if not self.settings.models.auto_download or PIPER not in self.tts.providers:
            return {}
        catalog = self.tts.catalog
        wanted: dict[str, str] = {}

        def want(voice_id: str | None) -> None:
            voice = catalog.get(voice_id) if voice_id else None
            if voice is not None and voice.engine == PIPER and not voice.installed:
                wanted.setdefault(voice.id, voice.language)

        if self.settings.tts.provider == PIPER:
            want(self.settings.tts.voice_id)
        want(self.settings.piper.default_voice)
        for language in self.settings.languages:
            voices = [v for v in catalog.list(language) if v.engine == PIPER]
            if any(v.installed for v in voices) or language in wanted.values():
                continue
            best = best_voice(voices, language)
            if best is not None:
                want(best.id)
        return wanted

    def start(self) -> None:
        """Start fetching what :meth:`plan` wants (nothing to do: no task)."""
        plan = self.plan()
        if plan:
            self.task = asyncio.get_running_loop().create_task(self._run(plan), name="models.auto_download")

    async def stop(self) -> None:
        """Cancel the task; a file in transfer is abandoned (the next start resumes or re-verifies it)."""
        self._stop.set()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    def _meanwhile(self, languages: list[str]) -> str:
        fallback = self.settings.tts.language_fallback
        if not fallback:
            return f"{', '.join(languages)} have no voice meanwhile (tts.language_fallback is off)"
        return f"{ENGINE_NAMES.get(fallback, fallback)} speaks {', '.join(languages)} meanwhile"

    async def _run(self, plan: dict[str, str]) -> None:
        hub = Hub.from_env(self.settings.models.hub_url)
        languages = list(dict.fromkeys(plan.values()))
        problem = await _in_thread(hub.unreachable)
        if problem is not None:
            logger.warning(
                "models.auto_download: %s; %s (not fetched: %s)",
                problem,
                self._meanwhile(languages),
                ", ".join(plan),
            )
            return
        for voice_id, language in plan.items():
            if self._stop.is_set():
                return
            start = time.monotonic()
            try:
                report = await _in_thread(functools.partial(self._fetch, voice_id, hub))
            except DownloadError as exc:
                logger.warning("models.auto_download: %s: %s; %s", voice_id, exc, self._meanwhile([language]))
                continue
            except Exception:  # noqa: BLE001 - a background task must say what broke, not die silently
                logger.exception("models.auto_download: %s failed", voice_id)
                continue
            self.tts.catalog.refresh()
            self.fetched.append(voice_id)
            logger.info(
                "models.auto_download: %s ready in %.1f s (%d file(s) downloaded, %d already there); "
                "'%s' requests use it now",
                voice_id,
                time.monotonic() - start,
                len(report.downloaded),
                len(report.skipped),
                language,
            )

    def _fetch(self, voice_id: str, hub: Hub) -> DownloadReport:
        """In the download thread: one voice, verified, with the models directory's lock held."""
        from filelock import FileLock

        models_dir = self.settings.models_dir
        lock_file = models_dir / STAGING_DIR / "auto-download.lock"
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(lock_file)):
            if self._stop.is_set():
                return DownloadReport()
            entry = resolve_piper_voices(fetch_piper_catalog(hub, models_dir), [voice_id])[voice_id]
            listed = entry.get("files")
            files: dict[str, Any] = listed if isinstance(listed, dict) else {}
            size = sum(int(f.get("size_bytes") or 0) for f in files.values() if isinstance(f, dict))
            logger.info(
                "models.auto_download: fetching Piper voice %s (%s) from %s into %s",
                voice_id,
                human_size(size),
                hub.endpoint,
                models_dir / "piper",
            )
            return download_piper_voices([voice_id], models_dir, hub)


def _in_thread(func: Callable[[], T]) -> asyncio.Future[T]:
    """`func()` in a daemon thread: unlike the default executor's, it never holds up the process's exit
    (a shutdown does not wait for a 60 MB transfer); the awaiting task can be cancelled at any time."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        try:
            result = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
            deliver: Callable[[], None] = lambda: settle(lambda: future.set_exception(error))  # noqa: E731
        else:
            deliver = lambda: settle(lambda: future.set_result(result))  # noqa: E731
        try:
            loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the loop is closed: the app stopped while this ran
            pass

    threading.Thread(target=run, name="mithi-auto-download", daemon=True).start()
    return future

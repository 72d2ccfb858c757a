"""Partial transcripts for /voice from a provider's live recognition (`STTProvider.open_stream`).

One :class:`LiveTranscriber` per user utterance: it opens the stream in the background, sends the audio
buffered so far and then every frame fed to it, and reports the running transcript (the final results so
far plus the current interim one) through a callback. A failure (the vendor refused the connection, the
socket dropped) is logged once and sets :attr:`LiveTranscriber.failed`, so the session can fall back to
partial transcripts made with `transcribe` for the rest of the utterance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import numpy as np

from backend.core.errors import MithiError
from backend.media.audio import float_to_pcm16
from backend.speech.base import STTConfig, STTProvider, STTStream

logger = logging.getLogger(__name__)


class LiveTranscriber:
    def __init__(
        self,
        stt: STTProvider,
        config: STTConfig,
        on_text: Callable[[str], Awaitable[None]],
        initial: np.ndarray | None = None,
    ) -> None:
        self.stt = stt
        self.config = config
        self.on_text = on_text
        self.failed = False
        self.finals: list[str] = []
        self.text = ""
        self._audio: asyncio.Queue[bytes] = asyncio.Queue()
        if initial is not None and initial.size:
            self.feed(initial)
        self._task = asyncio.create_task(self._run(), name="live-stt")

    def feed(self, audio: np.ndarray) -> None:
        """Queue 16 kHz float32 audio for the stream (never blocks)."""
        if not self.failed and audio.size:
            self._audio.put_nowait(float_to_pcm16(audio).tobytes())

    async def _send(self, stream: STTStream) -> None:
        while True:
            await stream.send(await self._audio.get())

    async def _run(self) -> None:
        stream: STTStream | None = None
        sender: asyncio.Task[None] | None = None
        try:
            stream = await self.stt.open_stream(self.config)
            sender = asyncio.create_task(self._send(stream))
            async for result in stream:
                if result.is_final:
                    if result.text:
                        self.finals.append(result.text)
                    current = ""
                else:
                    current = result.text
                text = " ".join([*self.finals, current]).strip()
                if text and text != self.text:
                    self.text = text
                    await self.on_text(text)
                if sender.done():
                    sender.result()  # the sender failed: raise its error
        except MithiError as err:
            self.failed = True
            logger.warning("live transcription stopped (%s): %s", err.code, err.message)
        except Exception:  # noqa: BLE001 - partials are best effort; the turn itself goes on
            self.failed = True
            logger.exception("live transcription failed")
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender
            if stream is not None:
                await stream.aclose()

    def cancel(self) -> None:
        """Stop without waiting: the stream closes as the recognition task unwinds."""
        self._task.cancel()

    async def close(self) -> None:
        """Stop now: the utterance is over (its final transcript is made by `transcribe`)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

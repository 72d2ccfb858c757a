"""What a door gives the engine: where its typed events and its audio go."""

from __future__ import annotations

from typing import Protocol

from backend.engine.events import ServerEvent


class EngineOutput(Protocol):
    """The door's side of a session. Calls come in order from one engine; a door that has lost its
    client silently drops what it cannot send (the engine is stopped by the door when the client goes)."""

    async def send(self, event: ServerEvent) -> None:
        """A typed server event."""

    async def send_audio(self, pcm: bytes, turn_id: str) -> None:
        """PCM16 LE mono at `engine.output_rate`, only between `response.audio.started` and the
        `response.done` / `response.interrupted` of that turn."""

    async def close(self, code: int, reason: str) -> None:
        """The engine ends the session (1008 quota used up, 1011 pipeline failed, 1012 restart)."""

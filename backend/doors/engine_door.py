"""What every WebSocket door over a VoiceEngine does the same way: run the engine for the life of the
socket, and take part in the drain (`Lifecycle`: finish the turn in flight, then close for a restart)."""

from __future__ import annotations

import abc

from backend.engine.session import VoiceEngine


class EngineDoor(abc.ABC):
    """A door's shell; the door reads its socket in `_read_socket` (returns when the socket ends)."""

    engine: VoiceEngine

    async def finish_turn(self, within: float) -> None:
        await self.engine.finish_turn(within)

    async def close_for_restart(self) -> None:
        await self.engine.close_for_restart()

    async def run(self) -> None:
        await self.engine.start()
        try:
            await self._read_socket()
        finally:
            await self.engine.stop()

    @abc.abstractmethod
    async def _read_socket(self) -> None: ...

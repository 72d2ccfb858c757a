"""Appointments, stored in Redis: one calendar for the whole deployment (a slot is booked once),
listed per session (the caller who booked it).

Keys (prefix `mithi:`): `appt:<id>` JSON document, `slot:<UTC ISO start>` → id (SET NX: the atomic
double-booking guard), `session:<session_id>:appts` sorted set of ids by start time.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import BaseModel


class Appointment(BaseModel):
    id: str
    session_id: str
    start: datetime
    purpose: str | None = None
    name: str | None = None
    created_at: datetime


class SlotTaken(Exception):
    def __init__(self, existing_id: str) -> None:
        super().__init__(f"slot already booked by {existing_id}")
        self.existing_id = existing_id


class AppointmentStore:
    def __init__(self, client: aioredis.Redis, prefix: str = "mithi") -> None:
        self.r = client
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _slot(self, start: datetime) -> str:
        return self._k("slot", start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"))

    async def book(
        self, session_id: str, start: datetime, purpose: str | None, name: str | None
    ) -> Appointment:
        appt = Appointment(
            id=uuid.uuid4().hex[:10],
            session_id=session_id,
            start=start,
            purpose=purpose,
            name=name,
            created_at=datetime.now(UTC),
        )
        if not await self.r.set(self._slot(start), appt.id, nx=True):
            existing = await self.r.get(self._slot(start))
            raise SlotTaken(existing.decode() if isinstance(existing, bytes) else str(existing))
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.set(self._k("appt", appt.id), appt.model_dump_json())
            pipe.zadd(self._k("session", session_id, "appts"), {appt.id: start.timestamp()})
            await pipe.execute()
        return appt

    async def get(self, appointment_id: str) -> Appointment | None:
        raw = await self.r.get(self._k("appt", appointment_id))
        return Appointment.model_validate(json.loads(raw)) if raw else None

    async def list(self, session_id: str, after: datetime | None = None) -> list[Appointment]:
        low = after.timestamp() if after else "-inf"
        ids = await self.r.zrangebyscore(self._k("session", session_id, "appts"), low, "+inf")
        found = [await self.get(i.decode() if isinstance(i, bytes) else i) for i in ids]
        return [a for a in found if a is not None]

    async def cancel(self, appointment: Appointment) -> None:
        slot = self._slot(appointment.start)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("appt", appointment.id))
            pipe.zrem(self._k("session", appointment.session_id, "appts"), appointment.id)
            await pipe.execute()
        if (await self.r.get(slot)) in (appointment.id.encode(), appointment.id):
            await self.r.delete(slot)

    async def delete_session(self, session_id: str) -> int:
        appointments = await self.list(session_id)
        for appt in appointments:
            await self.cancel(appt)
        await self.r.delete(self._k("session", session_id, "appts"))
        return len(appointments)

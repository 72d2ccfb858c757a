"""Appointments, stored in Redis: one calendar per tenant (API key; a slot is booked once within it,
and two tenants may book the same minute), listed per session (the caller who booked it).

Keys (prefix `mithi:`): `appt:<id>` JSON document, `slot:[<tenant>:]<UTC ISO start>` → id (SET NX: the
atomic double-booking guard), `session:<memory id>:appts` sorted set of ids by start time. The session id
here is the memory id (`backend.core.tenancy`), so it carries its tenant.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import BaseModel

from backend.core.tenancy import split_scoped


class Appointment(BaseModel):
    id: str
    session_id: str
    start: datetime
    purpose: str | None = None
    name: str | None = None
    created_at: datetime

    def is_for(self, purpose: str) -> bool:
        """Whether it was booked for ``purpose``: a word in common ("haircut" ~ "a quick haircut")."""
        return bool(self.purpose) and bool(
            set(purpose.lower().split()) & set(str(self.purpose).lower().split())
        )


class SlotTaken(Exception):
    def __init__(self, existing_id: str) -> None:
        super().__init__(f"slot already booked by {existing_id}")
        self.existing_id = existing_id


class AppointmentStore:
    """`ttl_seconds` (agent.session_ttl_days; 0 = keep forever): a session's index expires that long after
    it was last used (booking or listing renews it); an appointment and its slot that long after the
    appointment's start (so a booked slot is never freed early)."""

    def __init__(self, client: aioredis.Redis, prefix: str = "mithi", ttl_seconds: int = 0) -> None:
        self.r = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def _expire_at(self, start: datetime) -> int | None:
        if not self.ttl_seconds:
            return None
        return int(max(start.timestamp(), datetime.now(UTC).timestamp())) + self.ttl_seconds

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _slot(self, session_id: str, start: datetime) -> str:
        tenant, _ = split_scoped(session_id)
        minute = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
        return self._k("slot", tenant, minute) if tenant else self._k("slot", minute)

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
        slot = self._slot(session_id, start)
        expire_at = self._expire_at(start)
        if not await self.r.set(slot, appt.id, nx=True, exat=expire_at):
            existing = await self.r.get(slot)
            raise SlotTaken(existing.decode() if isinstance(existing, bytes) else str(existing))
        index = self._k("session", session_id, "appts")
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.set(self._k("appt", appt.id), appt.model_dump_json(), exat=expire_at)
            pipe.zadd(index, {appt.id: start.timestamp()})
            if self.ttl_seconds:
                pipe.expire(index, self.ttl_seconds)
            await pipe.execute()
        return appt

    async def get(self, appointment_id: str) -> Appointment | None:
        raw = await self.r.get(self._k("appt", appointment_id))
        return Appointment.model_validate(json.loads(raw)) if raw else None

    async def list(self, session_id: str, after: datetime | None = None) -> list[Appointment]:
        low = after.timestamp() if after else "-inf"
        index = self._k("session", session_id, "appts")
        ids = await self.r.zrangebyscore(index, low, "+inf")
        if self.ttl_seconds:  # (no-op when the session has no appointments)
            await self.r.expire(index, self.ttl_seconds)  # used: it lives agent.session_ttl_days more
        found = [await self.get(i.decode() if isinstance(i, bytes) else i) for i in ids]
        return [a for a in found if a is not None]

    async def cancel(self, appointment: Appointment) -> None:
        slot = self._slot(appointment.session_id, appointment.start)
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

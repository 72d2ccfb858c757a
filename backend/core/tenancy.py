"""Ownership: every conversation and appointment belongs to the API key (tenant) that created it.

The agent, its Redis checkpoints and the appointment store know one id per conversation: the *memory
id*. With auth off there is one tenant ("") and the memory id is the session id itself (so data made
before keys were configured stays reachable); with auth on it is ``<tenant>.<session_id>``. Tenant
names and session ids never contain '.', so two tenants' ``demo`` sessions can never meet.
"""

from __future__ import annotations

SEPARATOR = "."


def scoped_session_id(tenant: str, session_id: str) -> str:
    """The memory id of `session_id` as seen by `tenant` ("" = auth off: no namespace)."""
    return f"{tenant}{SEPARATOR}{session_id}" if tenant else session_id


def split_scoped(memory_id: str) -> tuple[str, str]:
    """(tenant, session id) of a memory id made by :func:`scoped_session_id`."""
    tenant, sep, session_id = memory_id.partition(SEPARATOR)
    return (tenant, session_id) if sep else ("", memory_id)

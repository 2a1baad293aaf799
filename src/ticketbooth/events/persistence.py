"""What the event flows need of storage (events/service.py), implemented by the SQL store (events/store.py).

`EventLog` is the part any change's transaction offers, so a flow writes its event in the same
transaction as the change it reports (`events.publish(core, tx, ...)`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import EventRecord


class EventLog(Protocol):
    """Writing events: what `events.publish(core, tx, ...)` needs of a transaction."""

    async def add_events(self, rows: list[dict[str, Any]]) -> None: ...


class EventsPersistence(EventLog, Protocol):
    """The event service's storage: writing, reading the log of a tenant, and its retention."""

    async def event_page(self, tenant_id: int, query: ListQuery) -> tuple[list[EventRecord], int]: ...
    async def event_by_event_id(self, tenant_id: int, event_id: str) -> EventRecord | None: ...
    async def purge_events(self, older_than: datetime) -> int: ...

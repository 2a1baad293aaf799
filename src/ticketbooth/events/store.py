"""The SQL of the event log: appending events with the change they report, a tenant's log read by page
(Kibo's filter and sortBy over topic, entity, time and the log order), and retention."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from ticketbooth.accounts.store.filtering import ListField, columns, page
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import EventRecord
from ticketbooth.events.rules import TOPICS
from ticketbooth.infra import metrics

_e = t.events.c
_INSERT = insert(t.events)
EVENT_FIELDS: dict[str, ListField] = columns(t.events, "id", "event_id", "topic", "entity_id", "site_id", "is_test",
                                             "created_at", "correlation_id")


class EventStore(StoreBase):
    async def add_events(self, rows: list[dict[str, Any]]) -> None:
        """Append events (dicts of the table's columns but `id`), in one statement; counted in /metrics once
        committed (`TopicInfo.counted` topics only)."""
        if not rows:
            return
        async with self._begin(write=True) as conn:
            await conn.execute(_INSERT, rows)
        self._count_events(rows)

    def _count_events(self, rows: list[dict[str, Any]]) -> None:
        """Count written events in /metrics once committed (`TopicInfo.counted` topics only)."""
        counts = Counter(r["topic"] for r in rows if (info := TOPICS.get(r["topic"])) is not None and info.counted)
        if counts:
            self._on_commit(lambda: metrics.events_written(counts))

    async def event_page(self, tenant_id: int, query: ListQuery) -> tuple[list[EventRecord], int]:
        """One page of the tenant's log and how many events match in all (the log order, `id`, breaks ties)."""
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, select(t.events).where(_e.tenant_id == tenant_id), EVENT_FIELDS, query,
                                     _e.id)
        return [_record(r) for r in rows], total

    async def event_by_event_id(self, tenant_id: int, event_id: str) -> EventRecord | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.events).where(
                _e.tenant_id == tenant_id, _e.event_id == event_id))).first()
        return None if row is None else _record(row)

    async def purge_events(self, older_than: datetime) -> int:
        """Delete the events created before `older_than` that have been dispatched (an undispatched event
        is never deleted: its deliveries are not made yet); how many were deleted."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(t.events).where(
                _e.created_at < older_than, _e.dispatched_at.is_not(None)))
            return int(res.rowcount)


def _record(r: Any) -> EventRecord:
    return EventRecord(
        id=int(r.id), event_id=r.event_id, tenant_id=r.tenant_id, site_id=r.site_id, topic=r.topic,
        entity_id=r.entity_id, correlation_id=r.correlation_id, is_test=bool(r.is_test),
        extended_properties=dict(r.extended_properties) if r.extended_properties else None,
        created_at=r.created_at, dispatched_at=r.dispatched_at,
    )

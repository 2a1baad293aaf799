"""What operations ask of the database: is it there (`/readyz`), how much mail is waiting
(`/metrics`), and how many of some audit events a tenant had lately (the console's overview)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase

_o = t.outbox.c
_SELECT_ONE = text("SELECT 1")
_BACKLOG = select(func.count()).select_from(t.outbox).where(_o.sent_at.is_(None), _o.failed_at.is_(None))


class HealthStore(StoreBase):
    async def ping(self) -> None:
        """One `SELECT 1`; `ServiceUnavailable` when the database cannot be reached. Callers bound
        the wait (a pool checkout or a connect to a silent host can take long)."""
        async with self._begin(write=False) as conn:
            await conn.execute(_SELECT_ONE)

    async def outbox_backlog(self) -> int:
        """Messages in the outbox that are neither sent nor given up (due now or waiting for a retry)."""
        async with self._begin(write=False) as conn:
            return int((await conn.execute(_BACKLOG)).scalar_one())

    async def audit_event_counts(self, tenant_id: int, events: Sequence[str], since: datetime) -> dict[str, int]:
        """How many entries of each of `events` the tenant's audit trail has from `since` on."""
        e = t.audit_entries.c
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(e.event, func.count()).where(
                e.tenant_id == tenant_id, e.event.in_(list(events)), e.at >= since).group_by(e.event))).all()
        return {str(event): int(count) for event, count in rows}

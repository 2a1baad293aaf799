"""What operations ask of the database: is it there (`/readyz`), and how much mail is waiting
(`/metrics`)."""

from __future__ import annotations

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

"""The stored settings of tenants and sites, as JSON documents: read, and changed atomically."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select, update

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.models import SettingsOwner

_TABLES: dict[SettingsOwner, Table] = {"tenant": t.tenants, "site": t.sites}


class SettingsStore(StoreBase):
    async def stored_settings(self, owner: SettingsOwner, owner_id: int) -> dict[str, Any] | None:
        """The settings document stored for the tenant or site `owner_id` as it is (defaults not
        filled in); None when there is no such tenant or site."""
        table = _TABLES[owner]
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(table.c.settings).where(table.c.id == owner_id))).first()
        return None if row is None else dict(row[0] or {})

    async def change_settings(self, owner: SettingsOwner, owner_id: int,
                              change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any] | None:
        """Replace the stored settings document of the tenant or site `owner_id` with `change(stored)`,
        in one transaction that holds the row, so two changes at once both apply; `change` may raise
        to leave it as it was. The new document, or None when there is no such tenant or site."""
        table = _TABLES[owner]
        async with self._begin(write=True) as conn:
            query = select(table.c.settings).where(table.c.id == owner_id)
            if not self._is_sqlite:
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            document = change(dict(row[0] or {}))
            await conn.execute(update(table).where(table.c.id == owner_id).values(settings=document))
            return document

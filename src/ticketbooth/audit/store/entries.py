"""The audit trail: security events, appended and read back per account (audit/store/retention.py purges
them after the tenant's retention period)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.models import AuditEntry

_e = t.audit_entries.c
_a = t.accounts.c
_INSERT = insert(t.audit_entries)


class AuditStore(StoreBase):
    async def add_audit_entries(self, entries: list[dict[str, Any]]) -> None:
        """Append entries (dicts of the table's columns but `id`), in one statement. An entry with an
        account id but no `user_id` gets the user id of that account, read in the same transaction
        (an entry written after its account was deleted must name the user id itself)."""
        if not entries:
            return
        async with self._begin(write=True) as conn:
            missing = {e["account_id"] for e in entries if e.get("account_id") is not None and not e.get("user_id")}
            found: dict[int, str] = {}
            if missing:
                found = {int(r.id): str(r.user_id) for r in await conn.execute(
                    select(_a.id, _a.user_id).where(_a.id.in_(sorted(missing))))}
            await conn.execute(_INSERT, [{**e, "user_id": e.get("user_id") or found.get(e.get("account_id") or 0)}
                                         for e in entries])

    async def audit_entries(self, tenant_id: int, account_id: int, start: int, size: int,
                            newest_first: bool = True) -> tuple[list[AuditEntry], int]:
        """One page of an account's entries and how many there are in all: the entries written under
        its id AND its user id, so that nothing kept under the id of a deleted account (or written
        before the ids were never reused) is shown as a later account's."""
        owner = select(_a.user_id).where(_a.id == account_id).scalar_subquery()
        where = (_e.tenant_id == tenant_id, _e.account_id == account_id, _e.user_id == owner)
        order = (_e.at.desc(), _e.id.desc()) if newest_first else (_e.at, _e.id)
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(select(func.count()).select_from(t.audit_entries).where(*where)))
                        .scalar_one())
            rows = (await conn.execute(select(t.audit_entries).where(*where).order_by(*order)
                                       .offset(start).limit(size))).all()
        return [AuditEntry(
            id=r.id, tenant_id=r.tenant_id, site_id=r.site_id, account_id=r.account_id, event=r.event, at=r.at,
            client_address=r.client_address, client_id=r.client_id, actor=r.actor, detail=r.detail, user_id=r.user_id,
        ) for r in rows], total

"""Retention: forgetting audit entries once they are older than their tenant keeps them
(`TenantSettings.audit.keep_days`). Run from the mail sender's hourly housekeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import delete, select

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.policies import AuditSettings

_e = t.audit_entries.c


class RetentionStore(StoreBase):
    async def purge_expired_audit_entries(self, now: datetime) -> int:
        """Delete every tenant's audit entries older than its `audit.keep_days`; how many were deleted."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.tenants.c.id, t.tenants.c.settings))).all()
        deleted = 0
        for tenant_id, settings in rows:
            try:
                keep_days = AuditSettings.model_validate((settings or {}).get("audit") or {}).keep_days
            except (ValidationError, AttributeError):
                keep_days = AuditSettings().keep_days
            async with self._begin(write=True) as conn:
                res = await conn.execute(delete(t.audit_entries).where(
                    _e.tenant_id == tenant_id, _e.at < now - timedelta(days=keep_days)))
                deleted += int(res.rowcount)
        return deleted

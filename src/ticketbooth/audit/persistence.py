"""What the audit flows need of storage (audit/service.py), implemented by the SQL store (audit/store/).

`AuditTrail` is the part any change's transaction offers, so a flow records its entry in the same
transaction as the change it describes."""

from __future__ import annotations

from typing import Any, Protocol

from ticketbooth.domain.models import AuditEntry
from ticketbooth.events.persistence import EventLog


class AuditTrail(EventLog, Protocol):
    """Writing audit entries, and the events some of them publish (audit/service.py `PUBLISHED`): what
    `audit.record(..., store=tx)` needs of a transaction."""

    async def add_audit_entries(self, entries: list[dict[str, Any]]) -> None: ...


class AuditPersistence(AuditTrail, Protocol):
    """The audit service's storage: writing entries and reading an account's trail."""

    async def audit_entries(self, tenant_id: int, account_id: int, start: int, size: int,
                            newest_first: bool = True) -> tuple[list[AuditEntry], int]: ...

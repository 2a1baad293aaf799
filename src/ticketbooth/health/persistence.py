"""What the operations flows need of storage (health/overview.py), implemented by the SQL store
(health/store.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class OverviewPersistence(Protocol):
    async def outbox_backlog(self) -> int: ...
    async def webhook_backlog(self) -> int: ...
    async def audit_event_counts(self, tenant_id: int, events: Sequence[str], since: datetime) -> dict[str, int]: ...

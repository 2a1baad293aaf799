"""What the mail flows need of storage (mail/service.py), implemented by the SQL store (mail/store.py and
the purges of the other concepts' stores).

`Outbox` is the part any change's transaction offers, so a message exists exactly when its change does."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ticketbooth.domain.models import OutboxMessage


class Outbox(Protocol):
    """Queueing a sealed message: what `mail.enqueue(core, tx, ...)` needs of a transaction."""

    async def enqueue_mail(self, tenant_id: int, kind: str, message: bytes, now: datetime,
                           recipient_key: str | None = None) -> int: ...


class MailPersistence(Outbox, Protocol):
    """The mail sender's storage: claiming, marking and releasing messages, and its housekeeping
    (old mail, expired reset codes and challenges, audit entries past their tenant's keep time)."""

    async def claim_mail(self, worker: str, now: datetime, lease_until: datetime, limit: int,
                         max_attempts: int) -> list[OutboxMessage]: ...
    async def mark_mail_sent(self, message_id: int, worker: str, now: datetime) -> bool: ...
    async def mark_mail_failed(self, message_id: int, worker: str, error: str, now: datetime,
                               retry_at: datetime | None) -> bool: ...
    async def release_mail(self, worker: str, message_ids: list[int] | None = None) -> int: ...
    async def purge_mail(self, now: datetime, older_than: datetime, max_attempts: int) -> int: ...
    async def purge_codes(self, expired_before: datetime) -> int: ...
    async def purge_challenges(self, expired_before: datetime) -> int: ...
    async def purge_expired_audit_entries(self, now: datetime) -> int: ...
    async def purge_events(self, older_than: datetime) -> int: ...

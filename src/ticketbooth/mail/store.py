"""The mail outbox: messages written in the same transaction as the change that causes them, then
claimed, delivered and marked by the mail sender (mail/service.py).

A sender claims a batch with a lease (`claimed_by`, `claimed_until`); until the lease runs out no
other sender may claim those rows, so several processes never send the same message at the same
time. A sender that dies leaves its claim to run out, and the next sender takes the message over:
nothing is lost. The body is dropped once a message is delivered; the row stays for
`keep` (so an operator can see what was sent) and is then purged.

One recipient's messages go out in the order they were queued: a message is claimed only when no earlier
message to the same `recipient_key` (a keyed hash of the address: the row never names it) is still
waiting, claimed or not. So a superseded code never arrives after the code that replaced it (a second
invitation, a resent reset code). A message waiting for a retry holds its recipient's later ones back until
it is sent or given up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, insert, or_, select, update

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.models import OutboxMessage

_o = t.outbox.c
_earlier = t.outbox.alias("earlier")
LAST_ERROR_MAX = 500


def _due(now: datetime, max_attempts: int) -> list[ColumnElement[bool]]:
    e = _earlier.c
    return [
        _o.sent_at.is_(None), _o.failed_at.is_(None), _o.next_attempt_at <= now,
        or_(_o.claimed_until.is_(None), _o.claimed_until < now), _o.attempts < max_attempts,
        or_(_o.recipient_key.is_(None), ~exists().where(  # no earlier message to its recipient still waiting
            e.recipient_key == _o.recipient_key, e.id < _o.id, e.sent_at.is_(None), e.failed_at.is_(None))),
    ]


class OutboxStore(StoreBase):
    async def enqueue_mail(self, tenant_id: int, kind: str, message: bytes, now: datetime,
                           recipient_key: str | None = None) -> int:
        """Queue a sealed message; its id. Call it on the transaction of the change that causes the mail,
        so the message exists exactly when the change does. Messages with one `recipient_key` are sent in
        the order queued (None: no order kept)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(insert(t.outbox).values(
                tenant_id=tenant_id, kind=kind, message=message, created_at=now, next_attempt_at=now, attempts=0,
                recipient_key=recipient_key,
            ).returning(_o.id))
            return int(res.scalar_one())

    async def claim_mail(self, worker: str, now: datetime, lease_until: datetime, limit: int,
                         max_attempts: int) -> list[OutboxMessage]:
        """Claim up to `limit` due messages for `worker` until `lease_until`, oldest first, at most one per
        recipient (the earliest of theirs still waiting, and only when no other sender holds an earlier one),
        counting an attempt on each (so a message whose sending kills its sender is still given up after
        `max_attempts`). On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so concurrent
        claimers take disjoint batches without waiting; SQLite has one writer at a time, so the
        conditional UPDATE is enough."""
        pick = select(_o.id).where(*_due(now, max_attempts)).order_by(_o.next_attempt_at, _o.id).limit(limit)
        if not self._is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        async with self._begin(write=True) as conn:
            rows = (await conn.execute(
                update(t.outbox).where(_o.id.in_(pick.scalar_subquery()))
                .values(claimed_by=worker, claimed_until=lease_until, attempts=_o.attempts + 1)
                .returning(_o.id, _o.tenant_id, _o.kind, _o.message, _o.attempts, _o.created_at)
            )).all()
        messages = [OutboxMessage(id=r.id, tenant_id=r.tenant_id, kind=r.kind, message=bytes(r.message),
                                  attempts=r.attempts, created_at=r.created_at) for r in rows]
        return sorted(messages, key=lambda m: m.id)

    async def mark_mail_sent(self, message_id: int, worker: str, now: datetime) -> bool:
        """Record the delivery and drop the body. False when `worker` no longer holds the claim (its
        lease ran out and another sender took the message over)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.outbox).where(
                _o.id == message_id, _o.claimed_by == worker, _o.sent_at.is_(None),
            ).values(sent_at=now, message=None, claimed_by=None, claimed_until=None, last_error=None))
            return bool(res.rowcount == 1)

    async def mark_mail_failed(self, message_id: int, worker: str, error: str, now: datetime,
                               retry_at: datetime | None) -> bool:
        """Record a failed delivery: try again at `retry_at`, or give the message up (None). False when
        `worker` no longer holds the claim."""
        values: dict[str, object] = {"last_error": error[:LAST_ERROR_MAX], "claimed_by": None, "claimed_until": None}
        if retry_at is None:
            values["failed_at"] = now
        else:
            values["next_attempt_at"] = retry_at
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.outbox).where(
                _o.id == message_id, _o.claimed_by == worker, _o.sent_at.is_(None),
            ).values(**values))
            return bool(res.rowcount == 1)

    async def release_mail(self, worker: str, message_ids: list[int] | None = None) -> int:
        """Give back `worker`'s claims (all, or those listed) so another sender may take them at once."""
        where = [_o.claimed_by == worker, _o.sent_at.is_(None)]
        if message_ids is not None:
            where.append(_o.id.in_(message_ids))
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.outbox).where(*where).values(claimed_by=None, claimed_until=None))
            return int(res.rowcount)

    async def purge_mail(self, now: datetime, older_than: datetime, max_attempts: int) -> int:
        """Housekeeping: give up messages whose every attempt was spent by senders that died mid-way,
        and delete sent or given-up messages older than `older_than`. The number deleted."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.outbox).where(
                _o.sent_at.is_(None), _o.failed_at.is_(None), _o.attempts >= max_attempts,
                or_(_o.claimed_until.is_(None), _o.claimed_until < now),
            ).values(failed_at=now, claimed_by=None, claimed_until=None,
                     last_error="given up: every attempt ended without an answer (sender stopped)"))
            res = await conn.execute(delete(t.outbox).where(or_(
                and_(_o.sent_at.is_not(None), _o.sent_at < older_than),
                and_(_o.failed_at.is_not(None), _o.failed_at < older_than),
            )))
            return int(res.rowcount)

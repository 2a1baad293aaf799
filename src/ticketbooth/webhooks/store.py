"""The SQL of push delivery: subscriptions, the dispatch of events into deliveries, and the deliveries'
claims, outcomes, listing, redelivery and retention.

Dispatch turns undispatched events (`events.dispatched_at IS NULL`) into one delivery per matching active
subscription and marks them dispatched, in one transaction. On PostgreSQL one dispatcher runs at a time
(a transaction-level advisory lock; the others skip the round) and takes the events FOR UPDATE SKIP
LOCKED, so deliveries are created in the log's order and their ids keep it; on SQLite the write lock
does the same.

Deliveries are claimed like the mail outbox's messages: a lease (`claimed_by`, `claimed_until`) that no
other deliverer may take until it runs out, rows picked FOR UPDATE SKIP LOCKED on PostgreSQL. Order per
entity and subscription: a delivery is not claimed while an earlier pending one of the same entity for
the same subscription exists (claimed or not), so a receiver gets an entity's events in order, each one
only after the one before was delivered or given up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import aliased

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.webhooks.rules import DELIVERED, FAILED, PENDING, Delivery, Job, Subscription, notification

_s = t.webhook_subscriptions.c
_d = t.webhook_deliveries.c
_e = t.events.c
LAST_ERROR_MAX = 500
_ANY_UNDISPATCHED = select(_e.id).where(_e.dispatched_at.is_(None)).limit(1)
DISPATCH_LOCK = 0x7469636B_77680001
"""PostgreSQL advisory lock key of the dispatcher ("tick" "wh" 1)."""


def _subscription(row: Any) -> Subscription:
    return Subscription(id=row.id, tenant_id=row.tenant_id, client_id=row.client_id, endpoint=row.endpoint,
                        topics=tuple(row.topics or ()), package_id=row.package_id, is_active=bool(row.is_active),
                        created_at=row.created_at, updated_at=row.updated_at)


def _delivery(row: Any) -> Delivery:
    return Delivery(id=row.id, subscription_id=row.subscription_id, tenant_id=row.tenant_id, event_id=row.event_id,
                    topic=row.topic, entity_id=row.entity_id, status=row.status, attempts=row.attempts,
                    created_at=row.created_at, next_attempt_at=row.next_attempt_at,
                    last_attempt_at=row.last_attempt_at, last_status_code=row.last_status_code,
                    last_error=row.last_error, delivered_at=row.delivered_at, failed_at=row.failed_at)


_DELIVERY_COLUMNS = [c for c in t.webhook_deliveries.c if c.name not in ("body", "claimed_by", "claimed_until")]


class WebhookStore(StoreBase):
    # -- subscriptions ----------------------------------------------------------------------------

    async def add_subscription(self, tenant_id: int, client_id: str, endpoint: str, topics: Sequence[str],
                               package_id: int | None, is_active: bool, secret: bytes, now: datetime) -> Subscription:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(insert(t.webhook_subscriptions).values(
                tenant_id=tenant_id, client_id=client_id, endpoint=endpoint, topics=list(topics),
                package_id=package_id, is_active=is_active, secret=secret, created_at=now, updated_at=now,
            ).returning(*[c for c in t.webhook_subscriptions.c if c.name != "secret"]))).one()
        return _subscription(row)

    async def update_subscription(self, tenant_id: int, subscription_id: int, client_id: str | None,
                                  changes: dict[str, Any], now: datetime) -> Subscription | None:
        """Change the subscription of the tenant (and of `client_id`, when given); None if there is none."""
        where = [_s.id == subscription_id, _s.tenant_id == tenant_id]
        if client_id is not None:
            where.append(_s.client_id == client_id)
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.webhook_subscriptions).where(*where).values(
                **changes, updated_at=now).returning(*[c for c in t.webhook_subscriptions.c if c.name != "secret"])
            )).first()
        return None if row is None else _subscription(row)

    async def get_subscription(self, subscription_id: int, tenant_id: int | None = None,
                               client_id: str | None = None) -> Subscription | None:
        where = [_s.id == subscription_id]
        if tenant_id is not None:
            where.append(_s.tenant_id == tenant_id)
        if client_id is not None:
            where.append(_s.client_id == client_id)
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.webhook_subscriptions).where(*where))).first()
        return None if row is None else _subscription(row)

    async def list_subscriptions(self, tenant_id: int | None = None, client_id: str | None = None) -> list[Subscription]:
        query = select(t.webhook_subscriptions).order_by(_s.id)
        if tenant_id is not None:
            query = query.where(_s.tenant_id == tenant_id)
        if client_id is not None:
            query = query.where(_s.client_id == client_id)
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [_subscription(r) for r in rows]

    async def delete_subscription(self, subscription_id: int, tenant_id: int | None = None,
                                  client_id: str | None = None) -> bool:
        """Delete the subscription and its deliveries (pending ones are not attempted any more)."""
        where = [_s.id == subscription_id]
        if tenant_id is not None:
            where.append(_s.tenant_id == tenant_id)
        if client_id is not None:
            where.append(_s.client_id == client_id)
        async with self._begin(write=True) as conn:
            found = (await conn.execute(select(_s.id).where(*where))).scalar()
            if found is None:
                return False
            await conn.execute(delete(t.webhook_deliveries).where(_d.subscription_id == found))
            await conn.execute(delete(t.webhook_subscriptions).where(_s.id == found))
            return True

    # -- dispatch ---------------------------------------------------------------------------------

    async def dispatch_events(self, now: datetime, limit: int) -> tuple[int, int]:
        """Turn up to `limit` undispatched events, oldest first, into deliveries for the active subscriptions
        of their tenant and topic, and mark them dispatched; (events dispatched, deliveries created). (0, 0)
        on PostgreSQL while another process dispatches. A read first: an idle round takes no write lock
        (SQLite's is the one the hot paths commit under)."""
        async with self._begin(write=False) as conn:
            if (await conn.execute(_ANY_UNDISPATCHED)).first() is None:
                return 0, 0
        async with self._begin(write=True) as conn:
            if not self._is_sqlite:
                got = (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                          {"key": DISPATCH_LOCK})).scalar()
                if not got:
                    return 0, 0
            pick = select(t.events).where(_e.dispatched_at.is_(None)).order_by(_e.id).limit(limit)
            if not self._is_sqlite:
                pick = pick.with_for_update(skip_locked=True)
            events = (await conn.execute(pick)).all()
            if not events:
                return 0, 0
            tenants = sorted({e.tenant_id for e in events})
            subs = (await conn.execute(select(_s.id, _s.tenant_id, _s.topics).where(
                _s.tenant_id.in_(tenants), _s.is_active.is_(True)).order_by(_s.id))).all()
            rows: list[dict[str, Any]] = []
            for e in events:
                body: str | None = None
                for s in subs:
                    if s.tenant_id != e.tenant_id or e.topic not in (s.topics or ()):
                        continue
                    body = body or notification(e.event_id, e.topic, e.entity_id, e.created_at, e.correlation_id,
                                                e.is_test, e.extended_properties)
                    rows.append(dict(subscription_id=s.id, tenant_id=e.tenant_id, event_id=e.event_id, topic=e.topic,
                                     entity_id=e.entity_id, body=body, status=PENDING, attempts=0, created_at=now,
                                     retry_since=now, next_attempt_at=now))
            if rows:
                await conn.execute(insert(t.webhook_deliveries), rows)
            await conn.execute(update(t.events).where(_e.id.in_([e.id for e in events])).values(dispatched_at=now))
            return len(events), len(rows)

    # -- claims and outcomes -------------------------------------------------------------------------

    async def claim_deliveries(self, worker: str, now: datetime, lease_until: datetime, limit: int,
                               skip_subscriptions: Sequence[int] = ()) -> list[Job]:
        """Claim up to `limit` due deliveries for `worker` until `lease_until`, counting an attempt on each,
        none of a subscription in `skip_subscriptions` (those this deliverer cannot take more of now) and
        none with an earlier pending delivery of the same entity for the same subscription."""
        earlier = aliased(t.webhook_deliveries)
        blocked = select(earlier.c.id).where(
            earlier.c.subscription_id == _d.subscription_id, earlier.c.entity_id == _d.entity_id,
            earlier.c.status == PENDING, earlier.c.id < _d.id,
        ).exists()
        pick = select(_d.id).where(
            _d.status == PENDING, _d.next_attempt_at <= now,
            or_(_d.claimed_until.is_(None), _d.claimed_until < now), ~blocked,
        ).order_by(_d.next_attempt_at, _d.id).limit(limit)
        if skip_subscriptions:
            pick = pick.where(_d.subscription_id.not_in(list(skip_subscriptions)))
        async with self._begin(write=False) as conn:  # an idle round takes no write lock
            if (await conn.execute(select(_d.id).where(_d.status == PENDING, _d.next_attempt_at <= now,
                                                       or_(_d.claimed_until.is_(None), _d.claimed_until < now))
                                   .limit(1))).first() is None:
                return []
        if not self._is_sqlite:
            pick = pick.with_for_update(skip_locked=True, of=t.webhook_deliveries)
        async with self._begin(write=True) as conn:
            ids = [r[0] for r in (await conn.execute(pick)).all()]
            if not ids:
                return []
            await conn.execute(update(t.webhook_deliveries).where(_d.id.in_(ids)).values(
                claimed_by=worker, claimed_until=lease_until, attempts=_d.attempts + 1))
            rows = (await conn.execute(
                select(_d.id, _d.subscription_id, _d.tenant_id, _d.event_id, _d.entity_id, _d.body, _d.attempts,
                       _d.created_at, _d.retry_since, _s.client_id, _s.endpoint, _s.secret)
                .join_from(t.webhook_deliveries, t.webhook_subscriptions, _s.id == _d.subscription_id)
                .where(_d.id.in_(ids)).order_by(_d.id)
            )).all()
        return [Job(id=r.id, subscription_id=r.subscription_id, tenant_id=r.tenant_id, client_id=r.client_id,
                    event_id=r.event_id,
                    entity_id=r.entity_id, body=r.body, attempts=r.attempts, created_at=r.created_at,
                    retry_since=r.retry_since, endpoint=r.endpoint, secret=bytes(r.secret)) for r in rows]

    async def mark_delivered(self, delivery_id: int, worker: str, now: datetime, status_code: int) -> bool:
        """Record the delivery. False when `worker` no longer held the claim (another deliverer took it)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.webhook_deliveries).where(
                _d.id == delivery_id, _d.claimed_by == worker, _d.status == PENDING,
            ).values(status=DELIVERED, delivered_at=now, last_attempt_at=now, last_status_code=status_code,
                     last_error=None, claimed_by=None, claimed_until=None))
            return bool(res.rowcount == 1)

    async def mark_attempt_failed(self, delivery_id: int, worker: str, now: datetime, status_code: int | None,
                                  error: str, retry_at: datetime | None) -> bool:
        """Record a failed attempt: try again at `retry_at`, or give the delivery up (None)."""
        values: dict[str, Any] = {"last_attempt_at": now, "last_status_code": status_code,
                                  "last_error": error[:LAST_ERROR_MAX], "claimed_by": None, "claimed_until": None}
        if retry_at is None:
            values.update(status=FAILED, failed_at=now)
        else:
            values["next_attempt_at"] = retry_at
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.webhook_deliveries).where(
                _d.id == delivery_id, _d.claimed_by == worker, _d.status == PENDING).values(**values))
            return bool(res.rowcount == 1)

    async def release_deliveries(self, worker: str, delivery_ids: Sequence[int] | None = None) -> int:
        """Give back `worker`'s claims (all, or those listed), not counting the attempt they were claimed for."""
        where = [_d.claimed_by == worker, _d.status == PENDING]
        if delivery_ids is not None:
            where.append(_d.id.in_(list(delivery_ids)))
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.webhook_deliveries).where(*where).values(
                claimed_by=None, claimed_until=None, attempts=_d.attempts - 1))
            return int(res.rowcount)

    # -- inspection and redelivery ----------------------------------------------------------------

    async def list_deliveries(self, subscription_id: int, status: str | None, start: int,
                              size: int) -> tuple[list[Delivery], int]:
        """A page of the subscription's deliveries, newest first, and how many there are."""
        where = [_d.subscription_id == subscription_id]
        if status is not None:
            where.append(_d.status == status)
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(select(func.count()).select_from(t.webhook_deliveries).where(*where)))
                        .scalar_one())
            rows = (await conn.execute(select(*_DELIVERY_COLUMNS).where(*where).order_by(_d.id.desc())
                                       .offset(start).limit(size))).all()
        return [_delivery(r) for r in rows], total

    async def get_delivery(self, subscription_id: int, delivery_id: int) -> Delivery | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(*_DELIVERY_COLUMNS).where(
                _d.id == delivery_id, _d.subscription_id == subscription_id))).first()
        return None if row is None else _delivery(row)

    async def redeliver(self, subscription_id: int, delivery_id: int, now: datetime) -> Delivery | None:
        """Send a delivered or given-up delivery again (the same body and eventId), from now, with a new retry
        window; a pending one is left as it is. None if there is no such delivery."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.webhook_deliveries).where(
                _d.id == delivery_id, _d.subscription_id == subscription_id, _d.status != PENDING,
            ).values(status=PENDING, next_attempt_at=now, retry_since=now, failed_at=None, delivered_at=None,
                     claimed_by=None, claimed_until=None))
            row = (await conn.execute(select(*_DELIVERY_COLUMNS).where(
                _d.id == delivery_id, _d.subscription_id == subscription_id))).first()
        return None if row is None else _delivery(row)

    # -- operations ------------------------------------------------------------------------------

    async def webhook_backlog(self) -> int:
        """Deliveries waiting (due now or for a retry), plus events not yet dispatched."""
        async with self._begin(write=False) as conn:
            pending = (await conn.execute(select(func.count()).select_from(t.webhook_deliveries)
                                          .where(_d.status == PENDING))).scalar_one()
            undispatched = (await conn.execute(select(func.count()).select_from(t.events)
                                               .where(_e.dispatched_at.is_(None)))).scalar_one()
        return int(pending) + int(undispatched)

    async def purge_deliveries(self, older_than: datetime) -> int:
        """Delete deliveries delivered or given up before `older_than`; the number deleted."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(t.webhook_deliveries).where(or_(
                and_(_d.status == DELIVERED, _d.delivered_at < older_than),
                and_(_d.status == FAILED, _d.failed_at < older_than),
            )))
            return int(res.rowcount)

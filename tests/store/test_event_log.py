"""The event log's writing, on SQLite and PostgreSQL: an event commits with the change of its transaction
or not at all, carries the request's correlation id and ids only, and retention never deletes an
undispatched event."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.applications import admin
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Account, NewAccount
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.logging import correlation_id
from ticketbooth.tickets import service as tickets

TENANT = 300


class Boom(Exception):
    pass


async def _rows(core: Core) -> list[dict[str, object]]:
    async with core.store.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(t.events).order_by(t.events.c.id))]


async def test_an_event_commits_with_its_change(core: Core, clock: ManualClock) -> None:
    token = correlation_id.set("corr-1")
    try:
        async with core.store.transaction() as tx:
            await tx.create_tenant(TENANT, "Events", TenantSettings(), clock.now())
            await events.publish(core, tx, topics.ACCOUNT_CREATED, entity_id=42, tenant_id=TENANT,
                                 extended={"userId": "abc123", "contactId": None})
    finally:
        correlation_id.reset(token)
    (row,) = await _rows(core)
    assert row["topic"] == "customeraccount.created" and row["entity_id"] == "42" and row["tenant_id"] == TENANT
    assert row["correlation_id"] == "corr-1" and row["is_test"] is False and row["dispatched_at"] is None
    assert row["extended_properties"] == {"userId": "abc123"}
    assert uuid.UUID(str(row["event_id"])).version == 4


async def test_a_change_rolled_back_leaves_no_event(core: Core, clock: ManualClock) -> None:
    with pytest.raises(Boom):
        async with core.store.transaction() as tx:
            await tx.create_tenant(TENANT, "Events", TenantSettings(), clock.now())
            await events.publish(core, tx, topics.ACCOUNT_CREATED, entity_id=42, tenant_id=TENANT)
            raise Boom  # the failure after the publish, in the same transaction
    assert await _rows(core) == []
    assert await core.store.get_tenant(TENANT) is None


@pytest.mark.parametrize("extended", [
    {"email": "a@example.test"}, {"firstName": "Ann"}, {"password": "x"}, {"token": "abc"}, {"code": "123456"},
    {"userId": "a@example.test b"}, {"userId": {"nested": 1}}, {"accountId": True},
])
def test_anything_but_ids_is_refused(core: Core, extended: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        events.row(core, topics.ACCOUNT_UPDATED, entity_id=1, tenant_id=TENANT, extended=extended)


def test_an_undeclared_topic_is_refused(core: Core) -> None:
    with pytest.raises(ValueError):
        events.row(core, "customeraccount.exploded", entity_id=1, tenant_id=TENANT)


async def test_retention_keeps_undispatched_events(core: Core, clock: ManualClock) -> None:
    old = clock.now()
    for entity in ("1", "2"):
        await events.publish(core, core.store, topics.ACCOUNT_UPDATED, entity_id=entity, tenant_id=TENANT)
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.events).where(t.events.c.entity_id == "1").values(dispatched_at=old))
    clock.advance(timedelta(days=40))
    assert await core.store.purge_events(clock.now() - timedelta(days=30)) == 1
    assert [r["entity_id"] for r in await _rows(core)] == ["2"]


async def test_a_tenant_reads_only_its_own_log(core: Core) -> None:
    for tenant in (TENANT, TENANT + 1):
        await events.publish(core, core.store, topics.ACCOUNT_UPDATED, entity_id=tenant, tenant_id=tenant)
    items, total = await core.store.event_page(TENANT, ListQuery(where=None, words=(), sort=(), offset=0, limit=10))
    assert total == 1 and [e.entity_id for e in items] == [str(TENANT)]


async def _caller_and_account(core: Core) -> tuple[Caller, Account]:
    await admin.ensure_tenant(core, TENANT, 400, "Events")
    await admin.save_application(core, TENANT, "events.app", "events-secret-0123456789", [])
    tenant, site = await core.store.get_tenant(TENANT), await core.store.get_site(400)
    app = await core.store.get_application("events.app")
    assert tenant is not None and site is not None and app is not None
    account_id = await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id="e" * 32, email=None, email_key=None,
        username=None, username_key=None, password_hash=None), core.clock.now())
    account = await core.store.get_account(account_id)
    assert account is not None
    return Caller(app, tenant, site), account


async def test_a_login_and_its_event_are_one_write_on_the_hot_path(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login's session and its `customeraccount.loginsucceeded` are written together (the hot path's one
    write): when the event cannot be written, the session is not opened either."""
    caller, account = await _caller_and_account(core)
    ttl = timedelta(minutes=5)

    async def log_in() -> None:
        await tickets.open_family(core, core.store, caller, user_id=account.user_id, account=account,
                                  previous_anonymous="a" * 32, access_ttl=ttl, refresh_ttl=ttl)

    await log_in()
    (row,) = [r for r in await _rows(core) if r["topic"] == topics.LOGIN_SUCCEEDED]
    assert row["entity_id"] == str(account.id) and row["extended_properties"]["previousAnonymousUserId"] == "a" * 32
    async with core.store.engine.connect() as conn:
        families = (await conn.execute(select(func.count()).select_from(t.token_families))).scalar_one()
    monkeypatch.setattr(events.uuid, "uuid4", lambda: uuid.UUID(str(row["event_id"])))  # the same eventId again
    with pytest.raises(IntegrityError):
        await log_in()
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(t.token_families))).scalar_one() == families

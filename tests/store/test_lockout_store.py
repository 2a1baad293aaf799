"""The failed-login statement of the store, on SQLite and PostgreSQL: it counts, locks exactly once however
many calls race, changes nothing while a lock holds or for no account, and forgets a lock whose time has run
out; a good login is refused by the store while a lock holds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from ticketbooth.core import Core
from ticketbooth.domain.models import NO_ACCOUNT, NewAccount
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

TENANT = 100
LIMIT = 5
USER_ID = new_hex()


@pytest.fixture
async def account_id(core: Core, clock: ManualClock) -> int:
    await core.store.create_tenant(TENANT, "Test tenant", TenantSettings(), clock.now())
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    return await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=USER_ID, email="lock@example.test",
        email_key="lock@example.test", username=None, username_key=None, password_hash="$argon2id$stand-in",
    ), clock.now())


async def test_counts_then_locks_at_the_limit(core: Core, clock: ManualClock, account_id: int) -> None:
    now = clock.now()
    until = now + timedelta(minutes=30)
    results = [await core.store.record_failed_login(account_id, now, LIMIT, until) for _ in range(LIMIT)]
    assert results == [False] * (LIMIT - 1) + [True]
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None
    assert (account.is_locked, account.locked_at, account.lock_expires_at, account.failed_login_count) == \
        (True, now, until, LIMIT)
    assert account.first_failed_login_at == now
    # while the lock holds nothing changes, and no later call claims to have locked it
    assert await core.store.record_failed_login(account_id, now, LIMIT, until) is False
    assert not await core.store.record_successful_login(account_id, now)
    again = await core.store.get_account(account_id, with_parts=False)
    assert again is not None and again.failed_login_count == LIMIT and again.last_login_at is None


async def test_racing_failures_lock_exactly_once(core: Core, clock: ManualClock, account_id: int) -> None:
    results = await asyncio.gather(*(core.store.record_failed_login(account_id, clock.now(), LIMIT, None)
                                     for _ in range(60)))
    assert results.count(True) == 1
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None
    assert (account.is_locked, account.failed_login_count, account.lock_expires_at) == (True, LIMIT, None)


async def test_no_account_changes_nothing(core: Core, clock: ManualClock, account_id: int) -> None:
    assert await core.store.record_failed_login(NO_ACCOUNT, clock.now(), 1, None) is False
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None and (account.failed_login_count, account.is_locked) == (0, False)


async def test_a_lock_that_ran_out_is_forgotten(core: Core, clock: ManualClock, account_id: int) -> None:
    start = clock.now()
    for _ in range(LIMIT):
        await core.store.record_failed_login(account_id, start, LIMIT, start + timedelta(minutes=30))
    later = start + timedelta(minutes=30)
    # the next failure starts a new count (and does not lock again at once)
    assert await core.store.record_failed_login(account_id, later, LIMIT, later + timedelta(minutes=30)) is False
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None
    assert (account.is_locked, account.failed_login_count, account.first_failed_login_at, account.lock_expires_at) == \
        (False, 1, later, None)
    assert account.locked_at == start  # the last lock's time stays
    # a good login after an expired lock ends it
    for _ in range(LIMIT - 1):
        await core.store.record_failed_login(account_id, later, LIMIT, later + timedelta(minutes=30))
    assert (await core.store.get_account(account_id, with_parts=False)).is_locked  # type: ignore[union-attr]
    assert not await core.store.record_successful_login(account_id, later + timedelta(minutes=29))
    assert await core.store.record_successful_login(account_id, later + timedelta(minutes=30))
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None
    assert (account.is_locked, account.failed_login_count, account.lock_expires_at) == (False, 0, None)


async def test_settle_lock_shows_an_expired_lock_as_none(core: Core, clock: ManualClock, account_id: int) -> None:
    now = clock.now()
    for _ in range(LIMIT):
        await core.store.record_failed_login(account_id, now, LIMIT, now + timedelta(minutes=1))
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None
    assert account.settle_lock(now + timedelta(seconds=59)).is_locked
    settled = account.settle_lock(now + timedelta(minutes=1))
    assert (settled.is_locked, settled.failed_login_count, settled.first_failed_login_at) == (False, 0, None)


def _login_entry(account_id: int, when: datetime, n: int = 0) -> dict[str, object]:
    return {"tenant_id": TENANT, "site_id": None, "account_id": account_id, "user_id": USER_ID, "event": "login.succeeded",
            "at": when, "client_address": f"203.0.113.{n}", "client_id": "app", "actor": None,
            "detail": {"method": "password", "n": n}}


async def test_a_good_login_and_its_audit_entry_are_one_write(core: Core, clock: ManualClock, account_id: int) -> None:
    """Outside a transaction it is the hot path's one write (db/hotpath.py ChangeAndRecord): the
    entry lands exactly as the SQLAlchemy path would store it, and only when the login counted."""
    now = clock.now()
    assert core.store._hot is not None
    await core.store.record_failed_login(account_id, now, LIMIT, None)
    assert await core.store.record_successful_login(account_id, now, audit_entry=_login_entry(account_id, now))
    account = await core.store.get_account(account_id, with_parts=False)
    assert account is not None and (account.last_login_at, account.failed_login_count) == (now, 0)
    entries, total = await core.store.audit_entries(TENANT, account_id, 0, 10)
    assert total == 1
    (entry,) = entries
    assert (entry.event, entry.at, entry.client_address, entry.client_id, entry.detail) == \
        ("login.succeeded", now, "203.0.113.0", "app", {"method": "password", "n": 0})
    # locked: the login does not count, and no entry is added
    for _ in range(LIMIT):
        await core.store.record_failed_login(account_id, now, LIMIT, None)
    later = now + timedelta(minutes=1)
    assert not await core.store.record_successful_login(account_id, later, audit_entry=_login_entry(account_id, later))
    assert (await core.store.audit_entries(TENANT, account_id, 0, 10))[1] == 1
    again = await core.store.get_account(account_id, with_parts=False)
    assert again is not None and again.last_login_at == now and again.is_locked


async def test_concurrent_good_logins_each_count_with_their_entry(core: Core, clock: ManualClock, account_id: int) -> None:
    """Many at once (one group on SQLite): each is answered for itself and each entry is stored once;
    a login racing a lock either counts before it or is refused, never half-written."""
    now = clock.now()
    results = await asyncio.gather(*(core.store.record_successful_login(account_id, now, audit_entry=_login_entry(
        account_id, now, n)) for n in range(40)))
    assert results == [True] * 40
    entries, total = await core.store.audit_entries(TENANT, account_id, 0, 100)
    assert total == 40 and sorted(e.client_address or "" for e in entries) == \
        sorted(f"203.0.113.{n}" for n in range(40))
    locking = [core.store.record_failed_login(account_id, now, 1, None)]
    logins = [core.store.record_successful_login(account_id, now, audit_entry=_login_entry(account_id, now, n))
              for n in range(100, 110)]
    outcome = await asyncio.gather(*logins, *locking)
    counted = sum(1 for ok in outcome[:10] if ok)
    assert outcome[10] is True  # the lock was made
    assert (await core.store.audit_entries(TENANT, account_id, 0, 100))[1] == 40 + counted

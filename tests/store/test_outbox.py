"""The outbox and the single-use codes in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ticketbooth.config import Settings
from ticketbooth.core import Core, open_core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import PURPOSE_RESET, NewAccount
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import at_rest, new_hex
from ticketbooth.mail.store import LAST_ERROR_MAX

TENANT = 100
LEASE = timedelta(minutes=2)
MAX = 5


async def queue(core: Core, n: int, kind: str = "password-reset") -> list[int]:
    return [await core.store.enqueue_mail(TENANT, kind, f"sealed-{i}".encode(), core.clock.now()) for i in range(n)]


async def row(core: Core, message_id: int) -> dict[str, object]:
    async with core.store.engine.connect() as conn:
        found = (await conn.execute(select(t.outbox).where(t.outbox.c.id == message_id))).one()
    return dict(found._mapping)


async def claim(core: Core, worker: str, limit: int = 10) -> list[int]:
    now = core.clock.now()
    return [m.id for m in await core.store.claim_mail(worker, now, now + LEASE, limit, MAX)]


# -- the outbox ---------------------------------------------------------------------------------------

async def test_a_message_exists_only_if_its_transaction_commits(core: Core) -> None:
    with pytest.raises(RuntimeError):
        async with core.store.transaction() as tx:
            await tx.enqueue_mail(TENANT, "password-reset", b"sealed", core.clock.now())
            raise RuntimeError("the change failed")
    assert await claim(core, "w1") == []
    async with core.store.transaction() as tx:
        message_id = await tx.enqueue_mail(TENANT, "password-reset", b"sealed", core.clock.now())
    assert await claim(core, "w1") == [message_id]


async def test_claim_takes_due_messages_oldest_first_and_counts_the_attempt(core: Core, clock: ManualClock) -> None:
    ids = await queue(core, 3)
    clock.advance(timedelta(seconds=1))
    later = await queue(core, 1)
    now = clock.now()
    claimed = await core.store.claim_mail("w1", now, now + LEASE, 2, MAX)
    assert [m.id for m in claimed] == ids[:2]
    assert [m.message for m in claimed] == [b"sealed-0", b"sealed-1"]
    assert all(m.attempts == 1 and m.tenant_id == TENANT and m.kind == "password-reset" for m in claimed)
    r = await row(core, ids[0])
    assert r["claimed_by"] == "w1" and r["claimed_until"] == now + LEASE and r["attempts"] == 1
    # another sender gets what is left, never what is claimed
    assert await claim(core, "w2") == [ids[2], *later]
    assert await claim(core, "w3") == []


async def test_a_claim_whose_lease_ran_out_is_taken_over(core: Core, clock: ManualClock) -> None:
    [message_id] = await queue(core, 1)
    assert await claim(core, "dead") == [message_id]
    clock.advance(LEASE - timedelta(seconds=1))
    assert await claim(core, "w2") == []
    clock.advance(timedelta(seconds=2))
    assert await claim(core, "w2") == [message_id]
    assert (await row(core, message_id))["attempts"] == 2
    # the first sender's late bookkeeping changes nothing
    assert not await core.store.mark_mail_sent(message_id, "dead", clock.now())
    assert not await core.store.mark_mail_failed(message_id, "dead", "late", clock.now(), None)
    assert await core.store.mark_mail_sent(message_id, "w2", clock.now())


async def test_mark_sent_drops_the_body_and_the_message_is_done(core: Core, clock: ManualClock) -> None:
    [message_id] = await queue(core, 1)
    await claim(core, "w1")
    assert await core.store.mark_mail_sent(message_id, "w1", clock.now())
    r = await row(core, message_id)
    assert r["message"] is None and r["sent_at"] == clock.now() and r["claimed_by"] is None
    clock.advance(timedelta(days=1))
    assert await claim(core, "w1") == []
    assert not await core.store.mark_mail_sent(message_id, "w1", clock.now())


async def test_mark_failed_schedules_a_retry_or_gives_up(core: Core, clock: ManualClock) -> None:
    first, second = await queue(core, 2)
    await claim(core, "w1")
    retry_at = clock.now() + timedelta(minutes=1)
    assert await core.store.mark_mail_failed(first, "w1", "451 " + "x" * 1000, clock.now(), retry_at)
    assert await core.store.mark_mail_failed(second, "w1", "550 no such user", clock.now(), None)
    r1, r2 = await row(core, first), await row(core, second)
    assert r1["next_attempt_at"] == retry_at and r1["failed_at"] is None and r1["claimed_by"] is None
    assert len(str(r1["last_error"])) == LAST_ERROR_MAX
    assert r2["failed_at"] == clock.now() and r2["last_error"] == "550 no such user"
    assert await claim(core, "w1") == []  # not due yet, and given up
    clock.advance(timedelta(minutes=1))
    assert await claim(core, "w1") == [first]


async def test_no_claim_after_the_last_attempt(core: Core, clock: ManualClock) -> None:
    [message_id] = await queue(core, 1)
    for _ in range(MAX):
        assert await claim(core, "w1") == [message_id]
        await core.store.mark_mail_failed(message_id, "w1", "451", clock.now(), clock.now())
    assert await claim(core, "w1") == []


async def test_release_gives_claims_back_at_once(core: Core) -> None:
    ids = await queue(core, 3)
    assert await claim(core, "w1") == ids
    assert await core.store.release_mail("w1", [ids[0]]) == 1
    assert await claim(core, "w2") == [ids[0]]
    assert await core.store.release_mail("w1") == 2
    assert await claim(core, "w2") == ids[1:]



# -- one recipient's messages go in the order they were queued ------------------------------------------

async def queue_to(core: Core, recipient: str | None, n: int = 1) -> list[int]:
    return [await core.store.enqueue_mail(TENANT, "password-reset", b"sealed", core.clock.now(), recipient)
            for _ in range(n)]


async def test_a_recipients_later_message_waits_until_the_earlier_one_is_sent(core: Core, clock: ManualClock) -> None:
    first, second = await queue_to(core, "key-ann", 2)
    [other] = await queue_to(core, "key-bob")
    # one claim never holds two of one recipient's messages (a batch is sent concurrently), and another
    # sender cannot take the later one while the earlier one is out
    assert await claim(core, "w1") == [first, other]
    assert await claim(core, "w2") == []
    assert await core.store.mark_mail_sent(first, "w1", clock.now())
    assert await claim(core, "w2") == [second]


async def test_a_recipients_messages_wait_behind_a_retry_and_go_on_once_it_is_given_up(
        core: Core, clock: ManualClock) -> None:
    first, second = await queue_to(core, "key-ann", 2)
    assert await claim(core, "w1") == [first]
    assert await core.store.mark_mail_failed(first, "w1", "451 later", clock.now(), clock.now() + timedelta(minutes=1))
    assert await claim(core, "w1") == []  # the earlier message is waiting for its retry: so is the later one
    clock.advance(timedelta(minutes=1))
    assert await claim(core, "w1") == [first]
    assert await core.store.mark_mail_failed(first, "w1", "550 no such user", clock.now(), None)
    assert await claim(core, "w1") == [second]


async def test_messages_without_a_recipient_key_are_not_ordered(core: Core) -> None:
    ids = await queue_to(core, None, 3)
    assert await claim(core, "w1") == ids


async def test_concurrent_senders_never_hold_two_messages_of_one_recipient(core: Core) -> None:
    mine = [m for i in range(6) for m in await queue_to(core, f"key-{i % 3}")]
    claims = await asyncio.gather(*(claim(core, f"w{i}") for i in range(4)))
    taken = [m for batch in claims for m in batch]
    assert sorted(taken) == mine[:3]  # each recipient's first message, once, whoever took it

async def test_purge_keeps_recent_rows_and_gives_up_abandoned_ones(core: Core, clock: ManualClock) -> None:
    sent, failed, waiting, abandoned = await queue(core, 4)
    await claim(core, "w1")
    await core.store.mark_mail_sent(sent, "w1", clock.now())
    await core.store.mark_mail_failed(failed, "w1", "550", clock.now(), None)
    await core.store.release_mail("w1", [waiting])
    async with core.store.engine.begin() as conn:  # every attempt spent by senders that died mid-way
        await conn.execute(update(t.outbox).where(t.outbox.c.id == abandoned).values(attempts=MAX))
    clock.advance(LEASE + timedelta(seconds=1))
    keep = clock.now() - timedelta(days=7)
    assert await core.store.purge_mail(clock.now(), keep, MAX) == 0
    assert (await row(core, abandoned))["failed_at"] == clock.now()
    clock.advance(timedelta(days=7, seconds=2))
    assert await core.store.purge_mail(clock.now(), clock.now() - timedelta(days=7), MAX) == 3
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(t.outbox.c.id))).scalars().all() == [waiting]


async def test_concurrent_senders_claim_disjoint_batches(settings: Settings, clock: ManualClock, core: Core) -> None:
    ids = await queue(core, 60)
    others = [await open_core(settings, clock) for _ in range(2)]
    try:
        cores = [core, *others]

        async def drain(c: Core, worker: str) -> list[int]:
            got: list[int] = []
            while batch := await claim(c, worker, limit=3):
                got += batch
            return got

        results = await asyncio.gather(*(drain(c, f"w{i}") for i, c in enumerate(cores) for _ in range(2)))
    finally:
        for c in others:
            await c.close()
    claimed = [i for r in results for i in r]
    assert sorted(claimed) == ids  # every message once, none twice
    assert sum(1 for r in results if r) >= 2  # the work was actually shared


# -- codes --------------------------------------------------------------------------------------------

@pytest.fixture
async def account_id(core: Core, clock: ManualClock) -> AsyncIterator[int]:
    await core.store.create_tenant(TENANT, "Test tenant", TenantSettings(), clock.now())
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    yield await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(), email="a@example.com",
        email_key="a@example.com", username=None, username_key=None, password_hash="$argon2id$old"), clock.now())


async def test_customer_set_by_code(core: Core, clock: ManualClock, account_id: int) -> None:
    outlet = await core.store.ensure_customer_set(TENANT, "outlet", clock.now())
    assert await core.store.customer_set_id_by_code(TENANT, "outlet") == outlet
    assert await core.store.customer_set_id_by_code(TENANT, "OUTLET") == outlet
    assert await core.store.customer_set_id_by_code(TENANT, "nope") is None
    assert await core.store.customer_set_id_by_code(TENANT, "out\x00let") is None
    assert await core.store.customer_set_id_by_code(999, "outlet") is None


async def test_a_new_code_replaces_the_older_ones(core: Core, clock: ManualClock, account_id: int) -> None:
    now, later = clock.now(), clock.now() + timedelta(hours=72)
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("one"), now, later)
    await core.store.issue_code(account_id, "other", at_rest("other"), now, later)
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("two"), now, later)
    assert await core.store.live_code(at_rest("one"), PURPOSE_RESET, now, MAX) is None
    assert await core.store.live_code(at_rest("two"), PURPOSE_RESET, now, MAX) == account_id
    assert await core.store.live_code(at_rest("other"), "other", now, MAX) == account_id
    assert await core.store.live_code(at_rest("other"), PURPOSE_RESET, now, MAX) is None


async def test_a_code_expires(core: Core, clock: ManualClock, account_id: int) -> None:
    now = clock.now()
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("c"), now, now + timedelta(hours=72))
    assert await core.store.live_code(at_rest("c"), PURPOSE_RESET, now + timedelta(hours=72, seconds=-1), MAX)
    assert await core.store.live_code(at_rest("c"), PURPOSE_RESET, now + timedelta(hours=72), MAX) is None
    assert not await core.store.reset_password(account_id, at_rest("c"), "$new", now + timedelta(hours=72), "x", MAX)


async def test_failed_attempts_void_a_code(core: Core, clock: ManualClock, account_id: int) -> None:
    now = clock.now()
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("c"), now, now + timedelta(hours=1))
    for n in range(1, MAX + 1):
        assert await core.store.live_code(at_rest("c"), PURPOSE_RESET, now, MAX) == account_id
        assert await core.store.record_failed_code_attempt(at_rest("c")) == n
    assert await core.store.live_code(at_rest("c"), PURPOSE_RESET, now, MAX) is None
    assert not await core.store.reset_password(account_id, at_rest("c"), "$new", now, "x", MAX)
    assert await core.store.record_failed_code_attempt(at_rest("unknown")) == 0


async def test_reset_password_spends_the_code_once_and_clears_the_login_state(
        core: Core, clock: ManualClock, account_id: int) -> None:
    now = clock.now()
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(
            is_locked=True, locked_at=now, failed_login_count=7, first_failed_login_at=now,
            password_change_required=True, has_external_password=True))
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("c"), now, now + timedelta(hours=1))
    clock.advance(timedelta(minutes=5))
    assert not await core.store.reset_password(account_id + 1, at_rest("c"), "$new", clock.now(), "x", MAX)
    results = await asyncio.gather(*(core.store.reset_password(account_id, at_rest("c"), f"$new{i}", clock.now(),
                                                               "storefront.app", MAX) for i in range(4)))
    assert sorted(results) == [False, False, False, True]
    account = await core.store.get_account(account_id)
    assert account is not None
    assert (account.is_locked, account.locked_at, account.failed_login_count, account.first_failed_login_at) == \
        (False, None, 0, None)
    assert not account.password_change_required and not account.has_external_password
    assert account.password_changed_at == clock.now() and account.updated_by == "storefront.app"
    found = await core.store.find_login(account.customer_set_id, "a@example.com")
    assert found is not None and found[1] == f"$new{results.index(True)}"
    assert await core.store.live_code(at_rest("c"), PURPOSE_RESET, clock.now(), MAX) is None


async def test_purge_codes(core: Core, clock: ManualClock, account_id: int) -> None:
    now = clock.now()
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("old"), now, now + timedelta(hours=1))
    await core.store.issue_code(account_id, "other", at_rest("new"), now, now + timedelta(hours=5))
    assert await core.store.purge_codes(now + timedelta(hours=2)) == 1
    assert await core.store.live_code(at_rest("new"), "other", now, MAX) == account_id


async def test_a_reset_for_nobody_leaves_nothing_behind(core: Core, clock: ManualClock, account_id: int) -> None:
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest("c"), clock.now(), clock.now() + timedelta(hours=1))
    await core.store.issue_no_code(b"sealed", clock.now())
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(t.outbox.c.id))).all() == []
    assert await core.store.live_code(at_rest("c"), PURPOSE_RESET, clock.now(), MAX) == account_id

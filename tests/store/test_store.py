"""The store's atomic operations, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.db.store import Store
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.models import NewAccount, TicketRecord, TokenFamily
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import at_rest, new_hex

TENANT = 100


@pytest.fixture
async def sets(core: Core, clock: ManualClock) -> tuple[int, int]:
    """Tenant 100 with its default customer set and a second one, "outlet": (default id, outlet id)."""
    await core.store.create_tenant(TENANT, "Test tenant", TenantSettings(), clock.now())
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    outlet = await core.store.ensure_customer_set(TENANT, "outlet", clock.now())
    assert outlet != tenant.default_customer_set_id
    return tenant.default_customer_set_id, outlet


def new_account(customer_set_id: int, email: str | None = None, username: str | None = None) -> NewAccount:
    return NewAccount(
        tenant_id=TENANT, customer_set_id=customer_set_id, user_id=new_hex(), email=email,
        email_key=email.lower() if email else None, username=username,
        username_key=username.lower() if username else None, password_hash="$argon2id$stand-in",
    )


def family_and_ticket(now: datetime, account_id: int | None = None) -> tuple[TokenFamily, TicketRecord]:
    family = TokenFamily(
        id=new_hex(), tenant_id=TENANT, site_id=200, customer_set_id=1, application_id=1, client_id="storefront.app",
        user_id=new_hex(), account_id=account_id, is_anonymous=account_id is None, previous_anonymous_user_id=None,
        created_at=now, expires_at=now + timedelta(days=30), access_ttl_seconds=900, refresh_ttl_seconds=30 * 86400,
    )
    return family, ticket_of(family, 0, now)


def ticket_of(family: TokenFamily, generation: int, now: datetime) -> TicketRecord:
    return TicketRecord(
        refresh_hash=at_rest(new_hex()), access_hash=at_rest(new_hex(32)), family_id=family.id,
        generation=generation, jti=new_hex(), issued_at=now, access_expires_at=now + timedelta(minutes=15),
        refresh_expires_at=family.expires_at,
    )


async def count(store: Store, table: t.Table, *where: object) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


# -- rotate --------------------------------------------------------------------------------------

async def test_rotate_succeeds_exactly_once_under_50_concurrent_calls(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    family, first = family_and_ticket(now)
    await core.store.insert_family(family, first)
    successors = [ticket_of(family, 1, now) for _ in range(50)]

    results = await asyncio.gather(*(core.store.rotate(first.refresh_hash, s, now, None) for s in successors))

    assert results.count(True) == 1
    assert results.count(False) == 49
    assert await count(core.store, t.tickets, t.tickets.c.family_id == family.id) == 2
    winner = successors[results.index(True)]
    found = await core.store.ticket_by_refresh(winner.refresh_hash)
    assert found is not None and found[0] == winner
    used = await core.store.ticket_by_refresh(first.refresh_hash)
    assert used is not None and used[0].used_at == now


async def test_a_used_ticket_does_not_rotate_again(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    family, first = family_and_ticket(now)
    await core.store.insert_family(family, first)
    second = ticket_of(family, 1, now)
    assert await core.store.rotate(first.refresh_hash, second, now, None) is True
    clock.advance(timedelta(minutes=1))
    assert await core.store.rotate(first.refresh_hash, ticket_of(family, 1, clock.now()), clock.now(), None) is False
    assert await core.store.ticket_by_refresh(first.refresh_hash) is not None
    # the successor itself rotates once in turn
    assert await core.store.rotate(second.refresh_hash, ticket_of(family, 2, clock.now()), clock.now(), None) is True


async def test_rotate_of_an_unknown_ticket_is_false_and_adds_nothing(core: Core, clock: ManualClock) -> None:
    family, _ = family_and_ticket(clock.now())
    orphan = ticket_of(family, 1, clock.now())
    assert await core.store.rotate(at_rest("no-such-token"), orphan, clock.now(), None) is False
    assert await core.store.ticket_by_refresh(orphan.refresh_hash) is None


async def test_rotate_extends_the_family_only_when_asked(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    family, first = family_and_ticket(now)
    await core.store.insert_family(family, first)
    second = ticket_of(family, 1, now)
    await core.store.rotate(first.refresh_hash, second, now, None)
    found = await core.store.ticket_by_refresh(second.refresh_hash)
    assert found is not None and found[1].expires_at == family.expires_at

    later = now + timedelta(days=40)
    await core.store.rotate(second.refresh_hash, ticket_of(family, 2, now), now, later)
    found = await core.store.ticket_by_refresh(second.refresh_hash)
    assert found is not None and found[1].expires_at == later


async def test_revoke_family_happens_once(core: Core, clock: ManualClock) -> None:
    family, first = family_and_ticket(clock.now())
    await core.store.insert_family(family, first)
    results = await asyncio.gather(*(core.store.revoke_family(family.id, clock.now(), "logout") for _ in range(10)))
    assert results.count(True) == 1
    assert await core.store.family_revoke_reason(family.id) == "logout"
    found = await core.store.ticket_by_access(first.access_hash)
    assert found is not None and found[1].revoked_at == clock.now()


# -- accounts ------------------------------------------------------------------------------------

async def test_an_email_is_unique_within_a_customer_set(core: Core, clock: ManualClock, sets: tuple[int, int]) -> None:
    default, _ = sets
    await core.store.insert_account(new_account(default, email="ada@example.test"), clock.now())
    with pytest.raises(Conflict):
        await core.store.insert_account(new_account(default, email="ADA@example.test"), clock.now())
    assert await count(core.store, t.accounts) == 1


async def test_a_username_is_unique_within_a_customer_set(core: Core, clock: ManualClock, sets: tuple[int, int]) -> None:
    default, _ = sets
    await core.store.insert_account(new_account(default, username="ada"), clock.now())
    with pytest.raises(Conflict):
        await core.store.insert_account(new_account(default, username="Ada"), clock.now())


async def test_the_same_email_in_another_customer_set_is_fine(core: Core, clock: ManualClock,
                                                              sets: tuple[int, int]) -> None:
    default, outlet = sets
    first = await core.store.insert_account(new_account(default, email="ada@example.test", username="ada"), clock.now())
    second = await core.store.insert_account(new_account(outlet, email="ada@example.test", username="ada"), clock.now())
    assert first != second
    a, b = await core.store.get_account(first), await core.store.get_account(second)
    assert a is not None and b is not None
    assert (a.customer_set_code, b.customer_set_code) == ("default", "outlet")


async def test_accounts_without_email_or_username_do_not_conflict(core: Core, clock: ManualClock,
                                                                  sets: tuple[int, int]) -> None:
    default, _ = sets
    await core.store.insert_account(new_account(default), clock.now())
    await core.store.insert_account(new_account(default), clock.now())
    assert await count(core.store, t.accounts) == 2


async def test_emails_and_usernames_share_one_login_namespace(core: Core, clock: ManualClock,
                                                               sets: tuple[int, int]) -> None:
    default, outlet = sets
    first = await core.store.insert_account(new_account(default, email="shared@example.test", username="aaa"),
                                            clock.now())
    with pytest.raises(Conflict):  # someone else's email as a username
        await core.store.insert_account(
            new_account(default, email="other@example.test", username="shared@example.test"), clock.now())
    with pytest.raises(Conflict):  # someone else's username as an email
        await core.store.insert_account(new_account(default, email="aaa", username="bbb"), clock.now())
    assert await count(core.store, t.accounts) == 1
    assert await count(core.store, t.login_names) == 2
    # another customer set is another namespace
    await core.store.insert_account(
        new_account(outlet, email="other@example.test", username="shared@example.test"), clock.now())

    found = await core.store.find_login(default, "shared@example.test")
    assert found is not None and found[0].id == first and found[1] == "$argon2id$stand-in"
    by_username = await core.store.find_login(default, "aaa")
    assert by_username is not None and by_username[0].id == first


async def test_racing_registrations_of_one_name_as_email_and_as_username_let_one_win(
        core: Core, clock: ManualClock, sets: tuple[int, int]) -> None:
    default, _ = sets
    attempts = [new_account(default, email="race@example.test", username=f"user{i}") if i % 2 else
                new_account(default, email=f"u{i}@example.test", username="race@example.test") for i in range(20)]
    results = await asyncio.gather(*(core.store.insert_account(a, clock.now()) for a in attempts),
                                   return_exceptions=True)
    assert sum(isinstance(r, int) for r in results) == 1
    assert all(isinstance(r, int | Conflict) for r in results)


async def test_find_login_by_email_and_within_the_customer_set_only(core: Core, clock: ManualClock,
                                                                    sets: tuple[int, int]) -> None:
    default, outlet = sets
    account_id = await core.store.insert_account(new_account(default, email="ada@example.test"), clock.now())
    found = await core.store.find_login(default, "ada@example.test")
    assert found is not None and found[0].id == account_id
    assert await core.store.find_login(outlet, "ada@example.test") is None
    assert await core.store.find_login(default, "nobody@example.test") is None
    # PostgreSQL text cannot hold NUL: such a key is nobody's, not a database error
    assert await core.store.find_login(default, "ada@example.test\x00") is None


# -- application refresh tokens ------------------------------------------------------------------

async def _app(core: Core, clock: ManualClock) -> int:
    app = await core.store.save_application("storefront.app", TENANT, "Storefront", "$argon2id$stand-in", [], True,
                                            clock.now())
    return app.id


async def test_an_app_refresh_token_is_consumed_once(core: Core, clock: ManualClock, sets: tuple[int, int]) -> None:
    app_id = await _app(core, clock)
    token_hash = at_rest(new_hex())
    await core.store.insert_app_refresh_token(token_hash, app_id, clock.now(), clock.now() + timedelta(days=30))
    assert await core.store.consume_app_refresh_token(token_hash, clock.now()) == "storefront.app"
    assert await core.store.consume_app_refresh_token(token_hash, clock.now()) is None
    assert await core.store.consume_app_refresh_token(at_rest("unknown"), clock.now()) is None


async def test_concurrent_consumers_of_one_app_refresh_token_get_it_once(core: Core, clock: ManualClock,
                                                                         sets: tuple[int, int]) -> None:
    app_id = await _app(core, clock)
    token_hash = at_rest(new_hex())
    await core.store.insert_app_refresh_token(token_hash, app_id, clock.now(), clock.now() + timedelta(days=30))
    results = await asyncio.gather(*(core.store.consume_app_refresh_token(token_hash, clock.now()) for _ in range(20)))
    assert results.count("storefront.app") == 1
    assert results.count(None) == 19


async def test_an_expired_app_refresh_token_is_not_consumed(core: Core, clock: ManualClock,
                                                            sets: tuple[int, int]) -> None:
    app_id = await _app(core, clock)
    token_hash = at_rest(new_hex())
    expires = clock.now() + timedelta(hours=1)
    await core.store.insert_app_refresh_token(token_hash, app_id, clock.now(), expires)
    assert await core.store.consume_app_refresh_token(token_hash, expires) is None
    assert await core.store.consume_app_refresh_token(token_hash, expires - timedelta(microseconds=1)) == "storefront.app"


# -- transactions --------------------------------------------------------------------------------

class Boom(Exception):
    pass


async def test_a_transaction_rolls_back_everything_on_an_exception(core: Core, clock: ManualClock,
                                                                   sets: tuple[int, int]) -> None:
    default, _ = sets
    family, first = family_and_ticket(clock.now())
    with pytest.raises(Boom):
        async with core.store.transaction() as tx:
            account_id = await tx.insert_account(new_account(default, email="ada@example.test"), clock.now())
            await tx.insert_family(replace(family, account_id=account_id, is_anonymous=False), first)
            assert await tx.get_account(account_id) is not None  # visible inside the transaction
            raise Boom
    assert await core.store.get_account(account_id) is None
    assert await core.store.ticket_by_refresh(first.refresh_hash) is None
    assert await count(core.store, t.accounts) == 0
    assert await count(core.store, t.token_families) == 0
    # the email is free again
    await core.store.insert_account(new_account(default, email="ada@example.test"), clock.now())


async def test_a_transaction_commits_everything_when_it_ends_normally(core: Core, clock: ManualClock,
                                                                      sets: tuple[int, int]) -> None:
    default, _ = sets
    family, first = family_and_ticket(clock.now())
    async with core.store.transaction() as tx:
        account_id = await tx.insert_account(new_account(default, email="ada@example.test"), clock.now())
        await tx.insert_family(replace(family, account_id=account_id, is_anonymous=False), first)
    assert await core.store.get_account(account_id) is not None
    found = await core.store.ticket_by_refresh(first.refresh_hash)
    assert found is not None and found[1].account_id == account_id


async def test_a_conflict_inside_a_transaction_rolls_it_back(core: Core, clock: ManualClock,
                                                             sets: tuple[int, int]) -> None:
    default, _ = sets
    await core.store.insert_account(new_account(default, email="taken@example.test"), clock.now())
    with pytest.raises(Conflict):
        async with core.store.transaction() as tx:
            await tx.insert_account(new_account(default, email="fresh@example.test"), clock.now())
            await tx.insert_account(new_account(default, email="taken@example.test"), clock.now())
    assert await core.store.find_login(default, "fresh@example.test") is None
    assert await count(core.store, t.accounts) == 1


# -- timestamps ----------------------------------------------------------------------------------

async def test_timestamps_come_back_as_aware_utc(core: Core, clock: ManualClock, sets: tuple[int, int]) -> None:
    default, _ = sets
    tokyo = timezone(timedelta(hours=9))
    created = datetime(2026, 11, 27, 21, 0, 0, 123456, tzinfo=tokyo)  # 12:00:00.123456 UTC
    account_id = await core.store.insert_account(new_account(default, email="ada@example.test"), created)
    account = await core.store.get_account(account_id)
    assert account is not None and account.created_at is not None
    for value in (account.created_at, account.updated_at, account.customer_since):
        assert value is not None
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        assert value == datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    assert account.created_at.tzinfo == UTC


async def test_ticket_records_roundtrip_exactly(core: Core, clock: ManualClock) -> None:
    clock.advance(timedelta(microseconds=654321))
    family, first = family_and_ticket(clock.now())
    await core.store.insert_family(family, first)
    found = await core.store.ticket_by_access(first.access_hash)
    assert found is not None
    record, stored_family = found
    assert record == first
    assert stored_family == family
    assert all(ts.tzinfo == UTC for ts in (record.issued_at, record.access_expires_at, stored_family.created_at))


async def test_naive_timestamps_are_refused(core: Core, sets: tuple[int, int]) -> None:
    default, _ = sets
    with pytest.raises(Exception, match="naive datetime"):
        await core.store.insert_account(new_account(default), datetime(2026, 11, 27, 12, 0, 0))
    assert await count(core.store, t.accounts) == 0

"""The one-statement account read (accounts/store/reads.py), on SQLite and PostgreSQL: it gives exactly
the Account the SQLAlchemy read (the account row, then `load_parts`) gives, with every kind of part,
inside and outside a transaction, on each way it runs; and it fails like the rest of the store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketbooth.accounts.store import reads as account_reads
from ticketbooth.accounts.store.parts import load_parts
from ticketbooth.core import Core
from ticketbooth.db.store import Store
from ticketbooth.domain.errors import ServiceUnavailable
from ticketbooth.domain.models import (
    Account,
    Address,
    AttributeSpec,
    ContactDetails,
    ContactType,
    NewAccount,
    Phones,
    Profile,
)
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

TENANT = 100


async def reference(store: Store, account_id: int) -> Account | None:
    """The account as the SQLAlchemy path reads it: the row, then its parts in four queries."""
    account = await store.get_account(account_id, with_parts=False)
    if account is not None:
        async with store.engine.connect() as conn:
            await load_parts(conn, [account])
    return account


def spec(code: str, value_type: str = "ShopperEntered", data_type: str = "String") -> AttributeSpec:
    return AttributeSpec(namespace="tenant", attribute_code=code, value_type=value_type, data_type=data_type,
                         input_type="TextBox")


@pytest.fixture
async def rich(core: Core, clock: ManualClock) -> int:
    """An account with every field set and several parts of each kind, stored in an order that is
    not the order they are listed in; times with microseconds."""
    clock.advance(timedelta(microseconds=123456))
    now = clock.now()
    store = core.store
    await store.create_tenant(TENANT, "Test tenant", TenantSettings(), now)
    tenant = await store.get_tenant(TENANT)
    assert tenant is not None
    profile = Profile(first_name="Ada", last_name="Lovelace", company_or_organization="Engines", tax_exempt=True,
                      tax_id="FR123", accepts_marketing=True, external_id="ext-1", locale_code="fr-FR",
                      account_type="B2C")
    account_id = await store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(), email="ada@example.test",
        email_key="ada@example.test", username="Ada", username_key="ada", password_hash="$argon2id$stand-in",
        profile=profile, created_by="storefront.app"), now)
    clock.advance(timedelta(seconds=1, microseconds=1))
    assert await store.record_failed_login(account_id, clock.now(), 1, clock.now() + timedelta(minutes=15))
    # parts: contacts (one with everything, one bare), notes, attributes whose FQN order is not their
    # id order (and upper case in a code), values of several JSON types, segments joined out of order
    full = ContactDetails(
        email="ada@example.test", first_name="Ada", middle_name_or_initial="B", last_name_or_surname="Lovelace",
        company_or_organization="Engines", fax_number="+33 1", label="Home",
        address=Address(address1="1 rue X", address2="Bât. B", city_or_town="Lyon", state_or_province="ARA",
                        postal_or_zip_code="69001", country_code="FR", address_type="Residential", is_validated=True),
        phone_numbers=Phones(home="+33 4", mobile="+33 6"),
        types=(ContactType("Billing", True), ContactType("Shipping", False)))
    await store.insert_contact(account_id, full, now, "storefront.app")
    await store.insert_contact(account_id, ContactDetails(), now, "admin.app")
    for text in ("first", "second: ünïcode ✓", "third"):
        clock.advance(timedelta(microseconds=7))
        await store.insert_note(account_id, text, clock.now(), "admin.app")
    for code, values in (("zeta", ["z"]), ("Alpha", [1, 2.5, True, None]), ("mid-1", [{"k": "v"}, "x"])):
        definition = await store.insert_definition(TENANT, spec(code), now, "admin.app")
        assert await store.insert_account_attribute(account_id, definition.id, values, now, "admin.app")
    segments = [await store.insert_segment(TENANT, code, f"Segment {code}", desc, now, "admin.app")
                for code, desc in (("A", None), ("B", "the second"), ("C", "the third"))]
    await store.add_segment_accounts(segments[2].id, [account_id], now)
    await store.add_segment_accounts(segments[0].id, [account_id], now)
    return account_id


async def test_it_reads_what_the_sqlalchemy_path_reads(core: Core, rich: int) -> None:
    fast = await core.store.get_account(rich)
    assert fast is not None
    assert fast == await reference(core.store, rich)
    # and the reference is what was stored (so the comparison above compares something)
    assert [c.details.first_name for c in fast.contacts] == ["Ada", None]
    assert fast.contacts[0].details.address is not None and fast.contacts[0].details.address.is_validated is True
    assert fast.contacts[1].details.types == ()
    assert [n.content for n in fast.notes] == ["first", "second: ünïcode ✓", "third"]
    assert [(a.fqn, a.values) for a in fast.attributes] == [
        ("tenant~Alpha", (1, 2.5, True, None)), ("tenant~mid-1", ({"k": "v"}, "x")), ("tenant~zeta", ("z",))]
    assert [s.code for s in fast.segments] == ["A", "C"]
    assert fast.is_locked and fast.lock_expires_at is not None and fast.failed_login_count == 1
    assert fast.created_at is not None and fast.created_at.microsecond == 123456
    assert fast.created_at.utcoffset() == timedelta(0)
    assert fast.profile.tax_exempt is True and fast.has_password is True and fast.customer_set_code == "default"


async def test_an_account_without_parts_and_an_unknown_account(core: Core, rich: int, clock: ManualClock) -> None:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    bare = await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(), email=None,
        email_key=None, username=None, username_key=None, password_hash=None), clock.now())
    found = await core.store.get_account(bare)
    assert found is not None and found == await reference(core.store, bare)
    assert (found.contacts, found.notes, found.attributes, found.segments, found.has_password) == ([], [], [], [], False)
    assert await core.store.get_account(bare + 1000) is None
    async with core.store.transaction() as tx:
        assert await tx.get_account(bare + 1000) is None


async def test_inside_a_transaction_it_sees_the_transactions_writes(core: Core, rich: int, clock: ManualClock) -> None:
    async with core.store.transaction() as tx:
        await tx.insert_note(rich, "written in the transaction", clock.now(), "admin.app")
        inside = await tx.get_account(rich)
        assert inside is not None
        assert [n.content for n in inside.notes][-1] == "written in the transaction"
    assert inside == await core.store.get_account(rich) == await reference(core.store, rich)


async def test_every_way_it_runs_gives_the_same_account(core: Core, rich: int) -> None:
    read = account_reads.account_read(core.store.dialect)
    pooled = await account_reads._fetch_rows(core.store.engine, read.sql, (rich,))
    expected = await reference(core.store, rich)
    assert len(pooled) == 1 and read.account(pooled[0]) == expected
    hot = core.store._hot  # SQLite's reader on the event loop, PostgreSQL's asyncpg pool
    assert hot is not None
    direct = await hot.rows(read.sql, (rich,))
    assert len(direct) == 1 and read.account(direct[0]) == expected


async def test_fill_parts_gives_a_logged_in_account_its_parts(core: Core, rich: int) -> None:
    found = await core.store.find_login(1, "ada")
    assert found is not None
    account, password_hash = found
    assert password_hash == "$argon2id$stand-in" and account.contacts == []
    assert await core.store.fill_parts(account) == await reference(core.store, rich)


async def test_after_the_engine_is_disposed_the_read_goes_through_the_pool(core: Core, rich: int) -> None:
    assert core.store._hot is not None
    await core.store.get_account(rich)
    await core.store.engine.dispose()  # closes the hot path's connections
    assert core.store._hot is None
    assert await core.store.get_account(rich) == await reference(core.store, rich)


async def test_an_unreachable_database_is_service_unavailable(core: Core, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file is always reachable")
    from ticketbooth.db.database import create_engine

    engine = create_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(ServiceUnavailable):
            await Store(engine).get_account(1)
    finally:
        await engine.dispose()


async def test_which_attribute_values_are_of_a_value_type(core: Core, rich: int, clock: ManualClock) -> None:
    admin_only = await core.store.insert_definition(TENANT, spec("risk", value_type="AdminEntered"), clock.now(), "a")
    assert await core.store.insert_account_attribute(rich, admin_only.id, ["high"], clock.now(), "a")
    shopper_entered = await core.store.definitions_with_value_type(TENANT, "ShopperEntered")
    assert len(shopper_entered) == 3
    assert await core.store.attribute_ids_of_type(rich, "ShopperEntered") == {d.id for d in shopper_entered}
    assert await core.store.attribute_ids_of_type(rich, "AdminEntered") == {admin_only.id}
    async with core.store.transaction() as tx:
        assert await tx.delete_account_attribute(rich, admin_only.id)
        assert await tx.attribute_ids_of_type(rich, "AdminEntered") == set()
    assert await core.store.attribute_ids_of_type(rich, "AdminEntered") == set()

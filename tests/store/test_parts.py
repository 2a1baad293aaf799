"""The store's account parts, on SQLite and PostgreSQL: loading them with accounts, the cascades
that remove them with their account, and lists compiled from Kibo filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select

from ticketbooth.accounts.store.parts import load_parts
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.db.store import Store
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.filters import FieldType, FilterField, ListQuery, parse_filter, parse_sort
from ticketbooth.domain.models import AttributeSpec, ContactDetails, ContactType, NewAccount
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

TENANT = 100
SEGMENT_FIELDS = {name: FilterField(column, kind) for name, column, kind in (
    ("id", "id", FieldType.INTEGER), ("code", "code", FieldType.TEXT), ("description", "description", FieldType.TEXT),
    ("createdate", "created_at", FieldType.DATE),
)}
PART_TABLES = (t.contacts, t.notes, t.account_attributes, t.segment_accounts)


async def _account(core: Core, set_id: int) -> int:
    return await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=set_id, user_id=new_hex(), email=None, email_key=None, username=None,
        username_key=None, password_hash=None), core.clock.now())


@pytest.fixture
async def accounts(core: Core, clock: ManualClock) -> tuple[int, int]:
    """Two accounts of tenant 100, each with a contact, a note, an attribute value and a segment."""
    await core.store.create_tenant(TENANT, "Test tenant", TenantSettings(), clock.now())
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    now = clock.now()
    spec = AttributeSpec(namespace="tenant", attribute_code="Color", value_type="ShopperEntered", data_type="String",
                         input_type="TextBox")
    definition = await core.store.insert_definition(TENANT, spec, now, "test")
    segment = await core.store.insert_segment(TENANT, "VIP", "Very important", None, now, "test")
    ids = []
    for name in ("first", "second"):
        account_id = await _account(core, tenant.default_customer_set_id)
        await core.store.insert_contact(account_id, ContactDetails(first_name=name, types=(ContactType("Billing", True),)),
                                        now, "test")
        await core.store.insert_note(account_id, f"note of {name}", now, "test")
        assert await core.store.insert_account_attribute(account_id, definition.id, [name], now, "test")
        await core.store.add_segment_accounts(segment.id, [account_id], now)
        ids.append(account_id)
    return ids[0], ids[1]


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def _rows(store: Store, table: t.Table, account_id: int) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(
            select(func.count()).select_from(table).where(table.c.account_id == account_id))).scalar_one())


async def test_get_account_loads_every_part(core: Core, accounts: tuple[int, int]) -> None:
    first, _ = accounts
    account = await core.store.get_account(first)
    assert account is not None
    assert [c.details.first_name for c in account.contacts] == ["first"]
    assert account.contacts[0].details.types == (ContactType("Billing", True),)
    assert [n.content for n in account.notes] == ["note of first"]
    assert [(a.fqn, a.values) for a in account.attributes] == [("tenant~Color", ("first",))]
    assert [(s.code, s.name) for s in account.segments] == [("VIP", "Very important")]
    alone = await core.store.get_account(first, with_parts=False)
    assert alone is not None and (alone.contacts, alone.notes, alone.attributes, alone.segments) == ([], [], [], [])


async def test_load_parts_takes_four_queries_for_any_number_of_accounts(core: Core, accounts: tuple[int, int]) -> None:
    found = [await core.store.get_account(i, with_parts=False) for i in accounts]
    loaded = [a for a in found if a is not None]
    with counting(core.store) as statements:
        async with core.store.engine.connect() as conn:
            await load_parts(conn, loaded)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 4
    assert [[n.content for n in a.notes] for a in loaded] == [["note of first"], ["note of second"]]
    assert [[c.details.first_name for c in a.contacts] for a in loaded] == [["first"], ["second"]]
    assert all(len(a.segments) == 1 and len(a.attributes) == 1 for a in loaded)


async def test_deleting_an_account_removes_its_parts(core: Core, accounts: tuple[int, int]) -> None:
    first, second = accounts
    for table in PART_TABLES:
        assert await _rows(core.store, table, first) == 1
    async with core.store.engine.begin() as conn:
        await conn.execute(delete(t.login_names).where(t.login_names.c.account_id == first))
        await conn.execute(delete(t.accounts).where(t.accounts.c.id == first))
    for table in PART_TABLES:
        assert await _rows(core.store, table, first) == 0, table.name
        assert await _rows(core.store, table, second) == 1, table.name  # the other account keeps its own


async def test_deleting_a_definition_or_segment_removes_the_values_and_memberships(
        core: Core, accounts: tuple[int, int]) -> None:
    first, _ = accounts
    async with core.store.engine.begin() as conn:
        await conn.execute(delete(t.attribute_definitions))
        await conn.execute(delete(t.segments))
    assert await _rows(core.store, t.account_attributes, first) == 0
    assert await _rows(core.store, t.segment_accounts, first) == 0


async def test_writes_that_must_happen_once(core: Core, accounts: tuple[int, int], clock: ManualClock) -> None:
    first, _ = accounts
    now = clock.now()
    definition = await core.store.get_definition(TENANT, "tenant~color")
    assert definition is not None
    assert await core.store.insert_account_attribute(first, definition.id, ["again"], now, "test") is False
    with pytest.raises(Conflict):
        await core.store.insert_definition(TENANT, definition.spec, now, "test")
    with pytest.raises(Conflict):
        await core.store.insert_segment(TENANT, "VIP", "Again", None, now, "test")
    segment = (await core.store.segments_by_code(TENANT, ["vip"]))["vip"]
    await core.store.add_segment_accounts(segment.id, [first, first], now)
    assert await _rows(core.store, t.segment_accounts, first) == 1
    assert await core.store.lock_account(first) is True
    assert await core.store.lock_account(987654) is False
    # a conflict inside a transaction leaves the transaction usable up to its end (savepoint)
    async with core.store.transaction() as tx:
        with pytest.raises(Conflict):
            await tx.insert_segment(TENANT, "VIP", "Again", None, now, "test")
        await tx.insert_segment(TENANT, "gold", "Gold", None, now, "test")
    assert "gold" in await core.store.segments_by_code(TENANT, ["GOLD"])


async def test_filters_and_sorting_compile_for_both_databases(core: Core, clock: ManualClock) -> None:
    await core.store.create_tenant(TENANT, "Test tenant", TenantSettings(), clock.now())
    for code, description in (("b", "Second"), ("a", None), ("c", "Third")):
        await core.store.insert_segment(TENANT, code, code.upper(), description, clock.now(), "test")

    async def codes(filter_: str | None, sort: str | None = None, offset: int = 0, limit: int = 20) -> list[str]:
        query = ListQuery(where=parse_filter(filter_, SEGMENT_FIELDS), sort=parse_sort(sort, SEGMENT_FIELDS),
                          offset=offset, limit=limit)
        return [s.code for s in (await core.store.page_segments(TENANT, query)).items]

    assert await codes(None, "code desc") == ["c", "b", "a"]
    assert await codes(None, "description asc") == ["a", "b", "c"]  # a missing value first
    assert await codes(None, "description desc") == ["c", "b", "a"]  # and last when descending
    assert await codes("code eq 'B'") == ["b"]
    assert await codes("description ne 'second'") == ["a", "c"]  # a missing value is "not equal"
    assert await codes("description eq null") == ["a"]
    assert await codes("code in ['a', 'C']", "code asc") == ["a", "c"]
    assert await codes("description cont 'ir' or code sw 'A'", "code") == ["a", "c"]
    assert await codes(f"id gt {2**40}") == []
    assert await codes(f"id lt {2**40}", "id") == ["b", "a", "c"]
    assert await codes(f"id in [1, {2**62}]") == ["b"]
    assert await codes("createdate ge '2026-11-27'", "code", offset=1, limit=1) == ["b"]
    assert await codes("code cont '%'") == []  # wildcards are escaped
    # fields the list lacks and free text on a list without it are the caller's mistakes, not empty pages
    with pytest.raises(ValueError, match="not a field of this list"):
        await core.store.page_segments(TENANT, ListQuery(where=parse_filter("fqn eq 'x'", {"fqn": FilterField(
            "fqn", FieldType.TEXT)})))
    with pytest.raises(ValueError, match="no free-text search"):
        await core.store.page_segments(TENANT, ListQuery(words=("a",)))


def test_every_field_the_api_offers_is_a_column_of_its_list() -> None:
    """A filter or sortBy field the api accepts but the store lacks would be a 500."""
    from ticketbooth.accounts.routes import accounts as accounts_api
    from ticketbooth.accounts.routes import customer_definitions as definitions_api
    from ticketbooth.accounts.routes import parts as parts_api
    from ticketbooth.accounts.store import accounts as account_store
    from ticketbooth.accounts.store import parts as store

    pairs = [
        (accounts_api.ACCOUNT_FIELDS, account_store._LIST_FIELDS),
        (parts_api.CONTACT_FIELDS, store._CONTACT_FIELDS), (parts_api.NOTE_FIELDS, store._NOTE_FIELDS),
        (parts_api.ATTRIBUTE_FIELDS, store._ACCOUNT_ATTRIBUTE_FIELDS), (parts_api.SEGMENT_FIELDS, store._SEGMENT_FIELDS),
        (definitions_api.DEFINITION_FIELDS, store._DEFINITION_FIELDS),
        (definitions_api.SEGMENT_FIELDS, store._SEGMENT_FIELDS),
        (definitions_api.CUSTOMER_SET_FIELDS, store._CUSTOMER_SET_FIELDS),
    ]
    for offered, columns in pairs:
        assert {f.name for f in offered.values()} <= set(columns)

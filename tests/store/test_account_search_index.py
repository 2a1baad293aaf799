"""The trigram index of the accounts list's free-text search (migration 0009_console_search), on SQLite
(FTS5) and PostgreSQL (pg_trgm): the accounts found through it are exactly those the plain comparison
finds, after inserts, renames, new logins and deletes, for words of every kind; and the database does
use it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from ticketbooth.accounts.store import accounts as account_store
from ticketbooth.accounts.store.filtering import page
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.filters import ListQuery, parse_words
from ticketbooth.domain.models import NewAccount, Profile
from ticketbooth.domain.policies import TenantSettings, login_key
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

TENANT = 100
PEOPLE = [
    ("nina@example.com", "nina", "Nina", "Neu", "ext-1"),
    ("otto@example.com", None, "Otto", "O'Brien", "EXT-2"),
    ("anna@example.org", "anna_100", "Anna", "100%_off", None),
    (None, None, None, "Null", None),
    ("gross@example.de", "Straße", "Émile", 'Quote"Man', "ÄÖÜ-7"),
    ("b.rot@example.com", "b_rot", "Bernd", "Rot", "xyz"),
]
WORDS = ["nina", "NINA", "example", "EXAMPLE.COM", "ext", "ext-", "b_rot", "rot", "'brien", "o'b", "100%", "%_o",
         "_", "%", "ne", "ab", "straße", "STRASSE", "strasse", "émile", "ÉMILE", "mile", 'e"m', '"', "äöü", "ÄÖÜ-7",
         "null", "nobody", "@example.", "o.c", "x", "yz", "xyz"]


async def _seed(core: Core, clock: ManualClock) -> tuple[int, list[int]]:
    store = core.store
    await store.create_tenant(TENANT, "Test tenant", TenantSettings(), clock.now())
    tenant = await store.get_tenant(TENANT)
    assert tenant is not None
    ids = []
    for email, username, first, last, external in PEOPLE:
        ids.append(await store.insert_account(NewAccount(
            tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(), email=email,
            email_key=login_key(email) if email else None, username=username,
            username_key=login_key(username) if username else None, password_hash=None,
            profile=Profile(first_name=first, last_name=last, external_id=external), created_by="test"), clock.now()))
    return tenant.default_customer_set_id, ids


async def _found(core: Core, customer_set_id: int, word: str) -> list[int]:
    accounts, total = await core.store.list_accounts(TENANT, customer_set_id, ListQuery(words=parse_words(word), limit=200))
    assert total == len(accounts)
    return [a.id for a in accounts]


async def _reference(core: Core, customer_set_id: int, word: str) -> list[int]:
    """The same list without the index: every account of the set compared."""
    stmt = account_store._account_select().where(t.accounts.c.customer_set_id == customer_set_id)
    async with core.store.engine.connect() as conn:
        rows, _ = await page(conn, stmt, account_store._LIST_FIELDS, ListQuery(words=parse_words(word), limit=200),
                             t.accounts.c.id, searched=account_store._SEARCHED)
    return [row.id for row in rows]


async def _same_for_every_word(core: Core, customer_set_id: int) -> dict[str, list[int]]:
    seen = {}
    for word in WORDS:
        expected = await _reference(core, customer_set_id, word)
        assert await _found(core, customer_set_id, word) == expected, word
        seen[word] = expected
    return seen


async def test_the_index_finds_what_the_comparison_finds(core: Core, clock: ManualClock) -> None:
    customer_set_id, ids = await _seed(core, clock)
    seen = await _same_for_every_word(core, customer_set_id)
    # the comparisons above compare something: words that match, across fields and cases
    assert seen["nina"] == [ids[0]] and seen["EXAMPLE.COM"] == [ids[0], ids[1], ids[5]]
    assert seen["strasse"] == [ids[4]] and seen["'brien"] == [ids[1]] and seen['e"m'] == [ids[4]]
    assert seen["nobody"] == []


async def test_the_index_follows_changes_logins_and_deletes(core: Core, clock: ManualClock) -> None:
    customer_set_id, ids = await _seed(core, clock)
    store = core.store
    async with store.transaction() as tx:
        assert await tx.update_account(ids[1], {"last_name": "Obrien", "email": "otto@elsewhere.net",
                                                "email_key": "otto@elsewhere.net"}, login_names=True, now=clock.now(),
                                       by="test")
        assert await tx.set_login(ids[3], "nul@example.net", "nul@example.net", "Nulluser", "nulluser", "$h", clock.now(),
                                  "test")
        assert await tx.delete_account(ids[0])
    assert await _found(core, customer_set_id, "obrien") == [ids[1]]
    assert await _found(core, customer_set_id, "o'brien") == []
    assert await _found(core, customer_set_id, "elsewhere") == [ids[1]]
    assert await _found(core, customer_set_id, "nulluser") == [ids[3]]
    assert await _found(core, customer_set_id, "nina") == []
    await _same_for_every_word(core, customer_set_id)


async def test_the_database_uses_the_index(core: Core, clock: ManualClock) -> None:
    await _seed(core, clock)
    stmt = select(t.accounts.c.id).where(*account_store._search_candidates(core.store.engine.dialect.name, ("thompson",)))
    dialect = core.store.engine.dialect
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    async with core.store.engine.connect() as conn:
        if dialect.name == "sqlite":
            plan = " ".join(str(row) for row in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all())
            assert "VIRTUAL TABLE INDEX" in plan and t.ACCOUNT_SEARCH_TABLE in plan, plan
        else:
            await conn.execute(text("SET LOCAL enable_seqscan = off"))  # six rows: a scan would be cheaper
            plan = " ".join(str(row[0]) for row in (await conn.exec_driver_sql(f"EXPLAIN {sql}")).all())
            assert t.ACCOUNT_SEARCH_INDEX in plan, plan


def test_short_words_get_no_index_condition() -> None:
    assert account_store._search_candidates("sqlite", ("ab", "x")) == []
    assert len(account_store._search_candidates("postgresql", ("abc", "de"))) == 1


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_word_is_bound_never_spliced(dialect: str) -> None:
    (condition,) = account_store._search_candidates(dialect, ("x'); DROP TABLE accounts; --",))
    compiled: Any = condition.compile()
    assert "DROP TABLE" not in str(compiled)


async def test_a_filter_on_a_name_uses_its_index(core: Core, clock: ManualClock) -> None:
    from ticketbooth.accounts.routes.accounts import ACCOUNT_FIELDS
    from ticketbooth.accounts.store.filtering import condition
    from ticketbooth.domain.filters import parse_filter

    customer_set_id, ids = await _seed(core, clock)
    dialect = core.store.engine.dialect
    for raw, index, found in (("lastName eq 'rot'", "ix_accounts_last_name_lower", [ids[5]]),
                              ("firstName eq 'OTTO'", "ix_accounts_first_name_lower", [ids[1]])):
        where = parse_filter(raw, ACCOUNT_FIELDS)
        assert where is not None
        stmt = select(t.accounts.c.id).where(t.accounts.c.customer_set_id == customer_set_id,
                                             condition(where, account_store._LIST_FIELDS))
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        async with core.store.engine.connect() as conn:
            if dialect.name == "postgresql":
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(row) for row in (await conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}" if dialect.name == "sqlite" else f"EXPLAIN {sql}")).all())
            assert index in plan, plan
            assert [row[0] for row in (await conn.exec_driver_sql(sql)).all()] == found


async def test_common_words_and_several_words_find_the_same(core: Core, clock: ManualClock,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite only the rarest word's candidates are read, none when every word is common: the answers stay
    the same (here "common" is two accounts, so the six people have common and rare words)."""
    customer_set_id, ids = await _seed(core, clock)
    monkeypatch.setattr(account_store, "_COMMON", 2)
    await _same_for_every_word(core, customer_set_id)
    for words in ("example nina", "nina example", "example com", "rot b_rot example", "example zzz"):
        assert await _found(core, customer_set_id, words) == await _reference(core, customer_set_id, words), words
    assert await _found(core, customer_set_id, "example nina") == [ids[0]]


async def test_a_count_limit_counts_no_further(core: Core, clock: ManualClock) -> None:
    customer_set_id, ids = await _seed(core, clock)
    accounts, total = await core.store.list_accounts(TENANT, customer_set_id, ListQuery(
        words=("example",), limit=2, count_limit=3))
    assert ([a.id for a in accounts], total) == (ids[:2], 3)  # five hold "example"
    accounts, total = await core.store.list_accounts(TENANT, customer_set_id, ListQuery(
        words=("example",), limit=2, offset=2, count_limit=10))
    assert ([a.id for a in accounts], total) == ([ids[2], ids[4]], 5)

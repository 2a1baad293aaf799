"""The raw-driver hot path of the ticket statements (db/hotpath.py), on SQLite and PostgreSQL:
it stores and reads exactly what the SQLAlchemy path does, commits before it answers, groups
concurrent writes without letting one failing write take the others down, and steps aside inside
transactions."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.store.test_store import count, family_and_ticket, ticket_of
from ticketbooth.core import Core
from ticketbooth.db import hotpath
from ticketbooth.db import tables as t
from ticketbooth.db.database import create_engine, migrate
from ticketbooth.db.hotpath import CHECKPOINT_EVERY, PostgresHotPath, SqliteHotPath
from ticketbooth.db.store import Store
from ticketbooth.infra.clock import ManualClock

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # group commit and WAL are SQLite's


def _size(path: str) -> int:
    return os.path.getsize(path)


def _sqlite_file(core: Core) -> str | None:
    url = core.store.engine.url
    return url.database if url.get_backend_name() == "sqlite" else None


async def test_the_store_runs_the_ticket_statements_on_the_hot_path(core: Core) -> None:
    hot = core.store._hot
    assert isinstance(hot, SqliteHotPath if _sqlite_file(core) else PostgresHotPath)
    async with core.store.transaction() as tx:
        assert tx._hot is None  # a transaction's statements share its connection


async def test_what_the_hot_path_stores_the_sqlalchemy_path_reads_and_back(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    family, first = family_and_ticket(now, account_id=None)
    family = replace(family, client_address="203.0.113.9", user_agent="Mozilla/5.0 (X11)", previous_anonymous_user_id=None)
    await core.store.insert_family(family, first)  # hot
    async with core.store.transaction() as tx:  # SQLAlchemy, on the transaction's connection
        assert await tx.ticket_by_refresh(first.refresh_hash) == (first, family)
        assert await tx.ticket_by_access(first.access_hash) == (first, family)
        other, other_first = family_and_ticket(now, account_id=None)
        await tx.insert_family(other, other_first)
    found = await core.store.ticket_by_access(other_first.access_hash)  # hot
    assert found == (other_first, other)
    assert found[0].issued_at.tzinfo is not None and found[1].is_anonymous is True
    assert await core.store.ticket_by_refresh("0" * 64) is None


async def test_rotate_on_the_hot_path_extends_the_family_only_when_asked(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    family, first = family_and_ticket(now)
    await core.store.insert_family(family, first)
    later = now + timedelta(minutes=20)
    second = ticket_of(family, 1, later)
    assert await core.store.rotate(first.refresh_hash, second, later, None) is True
    found = await core.store.ticket_by_refresh(second.refresh_hash)
    assert found is not None and found[0] == second and found[1].expires_at == family.expires_at
    third = ticket_of(family, 2, later)
    assert await core.store.rotate(second.refresh_hash, third, later, later + timedelta(days=1)) is True
    found = await core.store.ticket_by_refresh(third.refresh_hash)
    assert found is not None and found[1].expires_at == later + timedelta(days=1)
    used = await core.store.ticket_by_refresh(second.refresh_hash)
    assert used is not None and used[0].used_at == later
    # a rotation that loses changes nothing, not even the family's expiry
    assert await core.store.rotate(second.refresh_hash, ticket_of(family, 2, later), later,
                                   later + timedelta(days=9)) is False
    found = await core.store.ticket_by_refresh(third.refresh_hash)
    assert found is not None and found[1].expires_at == later + timedelta(days=1)
    assert await count(core.store, t.tickets, t.tickets.c.family_id == family.id) == 3


async def test_an_answered_write_is_committed(core: Core, clock: ManualClock) -> None:
    """Seen from a connection of another engine the moment the call returns."""
    families = [family_and_ticket(clock.now()) for _ in range(60)]
    await asyncio.gather(*(core.store.insert_family(f, r) for f, r in families))
    other = create_engine(core.settings.database_url, 1)
    try:
        seen = await count(Store(other), t.tickets, t.tickets.c.refresh_hash.in_([r.refresh_hash for _, r in families]))
    finally:
        await other.dispose()
    assert seen == 60


async def test_concurrent_new_families_are_committed_in_groups(core: Core, clock: ManualClock) -> None:
    hot = core.store._hot
    assert isinstance(hot, SqliteHotPath | PostgresHotPath)
    families = [family_and_ticket(clock.now()) for _ in range(200)]
    await asyncio.gather(*(core.store.insert_family(f, r) for f, r in families))
    assert hot.writes_committed == 200
    assert hot.groups_committed < 200  # writes that arrived during a commit went in the next group together
    path = _sqlite_file(core)
    if path is not None:
        with sqlite3.connect(path) as raw:  # plain sqlite3, nothing of ours in between
            assert raw.execute("SELECT count(*) FROM tickets").fetchone()[0] == 200
    for f, r in families:
        assert await core.store.ticket_by_access(r.access_hash) == (r, f)


async def test_a_failing_write_fails_alone_and_leaves_nothing_behind(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    taken_family, taken = family_and_ticket(now)
    await core.store.insert_family(taken_family, taken)
    good = [family_and_ticket(now) for _ in range(20)]
    clash_family, clash = family_and_ticket(now)
    clash = replace(clash, refresh_hash=taken.refresh_hash)  # its ticket collides with a stored one

    results = await asyncio.gather(
        *(core.store.insert_family(f, r) for f, r in good[:10]),
        core.store.insert_family(clash_family, clash),
        *(core.store.insert_family(f, r) for f, r in good[10:]),
        return_exceptions=True)

    assert isinstance(results[10], IntegrityError)
    assert [r for i, r in enumerate(results) if i != 10] == [None] * 20
    for f, r in good:
        assert await core.store.ticket_by_refresh(r.refresh_hash) == (r, f)
    # the clashing write's family was rolled back with its ticket
    assert await count(core.store, t.token_families, t.token_families.c.id == clash_family.id) == 0
    # and so it is when it comes alone
    with pytest.raises(IntegrityError):
        await core.store.insert_family(clash_family, clash)
    assert await count(core.store, t.token_families, t.token_families.c.id == clash_family.id) == 0


async def test_concurrent_rotations_each_get_their_own_answer(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    chains = [family_and_ticket(now) for _ in range(20)]
    for f, r in chains:
        await core.store.insert_family(f, r)
    later = now + timedelta(minutes=20)
    extend_to = later + timedelta(days=2)
    calls = []
    for n, (f, r) in enumerate(chains):  # three rotations of each first ticket at once: one wins
        calls += [(r.refresh_hash, ticket_of(f, 1, later), extend_to if n % 2 else None) for _ in range(3)]
    results = await asyncio.gather(*(core.store.rotate(old, s, later, e) for old, s, e in calls))

    for n, (f, r) in enumerate(chains):
        answers = results[3 * n:3 * n + 3]
        assert answers == [True, False, False]  # in one group the first caller wins, as if they ran in turn
        winner = calls[3 * n][1]
        found = await core.store.ticket_by_refresh(winner.refresh_hash)
        assert found is not None and found[0] == winner
        assert found[1].expires_at == (extend_to if n % 2 else f.expires_at)
        assert await count(core.store, t.tickets, t.tickets.c.family_id == f.id) == 2
        used = await core.store.ticket_by_refresh(r.refresh_hash)
        assert used is not None and used[0].used_at == later


async def test_a_rotation_that_clashes_fails_alone(core: Core, clock: ManualClock) -> None:
    now = clock.now()
    chains = [family_and_ticket(now) for _ in range(6)]
    for f, r in chains:
        await core.store.insert_family(f, r)
    taken = chains[0][1]
    clash = replace(ticket_of(chains[3][0], 1, now), refresh_hash=taken.refresh_hash)  # a stored ticket's hash
    successors = [clash if n == 3 else ticket_of(f, 1, now) for n, (f, _) in enumerate(chains)]

    results = await asyncio.gather(*(core.store.rotate(r.refresh_hash, s, now, None)
                                     for (_, r), s in zip(chains, successors, strict=True)), return_exceptions=True)

    assert isinstance(results[3], IntegrityError)
    assert [r for n, r in enumerate(results) if n != 3] == [True] * 5
    unchanged = await core.store.ticket_by_refresh(chains[3][1].refresh_hash)
    assert unchanged is not None and unchanged[0].used_at is None  # rolled back: it may rotate again
    with pytest.raises(IntegrityError):  # alone too
        await core.store.rotate(chains[3][1].refresh_hash, clash, now, None)
    unchanged = await core.store.ticket_by_refresh(chains[3][1].refresh_hash)
    assert unchanged is not None and unchanged[0].used_at is None
    assert await core.store.rotate(chains[3][1].refresh_hash, ticket_of(chains[3][0], 1, now), now, None) is True


async def test_a_transaction_that_fails_keeps_its_ticket_statements_out(core: Core, clock: ManualClock) -> None:
    family, first = family_and_ticket(clock.now())
    with pytest.raises(RuntimeError):
        async with core.store.transaction() as tx:
            await tx.insert_family(family, first)
            assert await tx.ticket_by_refresh(first.refresh_hash) == (first, family)
            raise RuntimeError("roll back")
    assert await core.store.ticket_by_refresh(first.refresh_hash) is None


async def test_a_postgresql_connection_goes_back_to_the_pool_without_a_reset_round_trip(
        core: Core, clock: ManualClock) -> None:
    if _sqlite_file(core):
        pytest.skip("asyncpg's pool is PostgreSQL's")
    # asyncpg's default pool reset sends RESET ALL & co. after every statement (a second round trip);
    # the hot path's connections hold no session state, so the last statement a backend ran is ours
    family, first = family_and_ticket(clock.now(), account_id=None)
    await core.store.insert_family(family, first)
    for _ in range(3):
        assert await core.store.ticket_by_refresh(first.refresh_hash) == (first, family)
    async with core.store.engine.connect() as conn:
        queries = (await conn.exec_driver_sql(
            "SELECT query FROM pg_stat_activity WHERE application_name = 'ticketbooth' AND datname = current_database()"
        )).scalars().all()
    assert queries and all("RESET ALL" not in q and "pg_advisory_unlock_all" not in q for q in queries), queries
    assert any("refresh_hash" in q for q in queries), queries


@SQLITE_ONLY
async def test_sqlite_writes_of_one_loop_turn_are_one_commit_on_the_loop(core: Core, clock: ManualClock,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    hot = core.store._hot
    assert isinstance(hot, SqliteHotPath)
    # a write goes alone when none went alone in the last ALONE_AFTER_SECONDS (2 ms): on a loaded machine
    # the first commit can take longer than that, and the second write would rightly go alone too; the
    # grouping is what is tested here, so the window is made wider than any commit
    monkeypatch.setattr(hotpath, "ALONE_AFTER_SECONDS", 3600.0)
    families = [family_and_ticket(clock.now()) for _ in range(50)]
    groups = hot.groups_committed
    await asyncio.gather(*(core.store.insert_family(f, r) for f, r in families))
    # the first, with no write before it, alone at once; the others, asked in the same turn of the
    # loop, together at the start of the next
    assert hot.groups_committed == groups + 2
    assert hot._writer is None  # the writer thread was never needed: it never opened its connection


@SQLITE_ONLY
async def test_sqlite_writes_wait_their_turn_behind_a_transaction(core: Core, clock: ManualClock) -> None:
    """A transaction of the SQLAlchemy path holds the write lock across awaits: the hot writes asked
    meanwhile wait for it (on the writer thread, the loop goes on) and are committed after it."""
    inside_family, inside = family_and_ticket(clock.now())
    waiting = [family_and_ticket(clock.now()) for _ in range(10)]
    async with core.store.transaction() as tx:
        await tx.insert_family(inside_family, inside)
        writes = [asyncio.create_task(core.store.insert_family(f, r)) for f, r in waiting]
        await asyncio.sleep(0.1)
        assert not any(w.done() for w in writes)
    await asyncio.wait_for(asyncio.gather(*writes), 10)
    for f, r in [(inside_family, inside), *waiting]:
        assert await core.store.ticket_by_refresh(r.refresh_hash) == (r, f)


@SQLITE_ONLY
async def test_sqlite_writes_wait_for_a_lock_another_process_holds(core: Core, clock: ManualClock) -> None:
    """Another process's write transaction: the loop does not wait on SQLite's lock (it would stall
    every request); the writes go to the writer thread, which waits, and commit once it is released."""
    path = _sqlite_file(core)
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        other.execute("BEGIN IMMEDIATE")
        families = [family_and_ticket(clock.now()) for _ in range(5)]
        writes = [asyncio.create_task(core.store.insert_family(f, r)) for f, r in families]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in writes)
        assert ticks >= 10  # the loop kept turning meanwhile
        other.execute("COMMIT")
        await asyncio.wait_for(asyncio.gather(*writes), 15)
    finally:
        ticker.cancel()
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    for f, r in families:
        assert await core.store.ticket_by_refresh(r.refresh_hash) == (r, f)
    # and with the lock free again, writes are committed on the loop once more
    groups = core.store._hot.groups_committed  # type: ignore[union-attr]
    await asyncio.gather(*(core.store.insert_family(f, r) for f, r in [family_and_ticket(clock.now())]))
    assert core.store._hot.groups_committed == groups + 1  # type: ignore[union-attr]


@SQLITE_ONLY
async def test_sqlite_checkpoints_the_wal_off_the_commit_path(core: Core, clock: ManualClock) -> None:
    path = _sqlite_file(core)
    assert path is not None
    hot = core.store._hot
    assert isinstance(hot, SqliteHotPath)
    size_before = _size(path)
    for _ in range(3):
        families = [family_and_ticket(clock.now()) for _ in range(CHECKPOINT_EVERY)]
        await asyncio.gather(*(core.store.insert_family(f, r) for f, r in families))
    for _ in range(600):  # the checkpoint runs on its own thread: wait for it (up to a minute)
        if hot.checkpoints:
            break
        await asyncio.sleep(0.1)
    assert hot.checkpoints >= 1
    # the writer itself never checkpoints, so only the checkpoint thread can have grown the file
    assert _size(path) > size_before


async def test_after_dispose_the_store_works_on_sqlalchemy(core: Core, clock: ManualClock) -> None:
    engine = create_engine(core.settings.database_url, 2)
    try:
        await migrate(engine)
        store = Store(engine)
        first_family, first = family_and_ticket(clock.now())
        await store.insert_family(first_family, first)
        assert store._hot is not None
        await engine.dispose()
        assert store._hot is None
        family, ticket = family_and_ticket(clock.now())
        await store.insert_family(family, ticket)
        assert await store.ticket_by_refresh(ticket.refresh_hash) == (ticket, family)
        assert await store.ticket_by_access(first.access_hash) == (first, first_family)
    finally:
        await engine.dispose()


async def test_an_in_memory_sqlite_database_has_no_hot_path() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")  # another connection: another database
    try:
        assert Store(engine)._hot is None
    finally:
        await engine.dispose()

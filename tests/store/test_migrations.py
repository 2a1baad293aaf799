"""Migrations produce exactly `store.tables.metadata`, are idempotent, and the engine is set up
as documented (async drivers, SQLite in WAL mode)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ticketbooth.db import tables
from ticketbooth.db.database import alembic_config, async_url, create_engine, migrate


def _described(name: str | None, type_: str, parent_names: Any) -> bool:
    """Not the account search's trigram index (migration 0009_console_search: FTS5 tables on SQLite, an
    expression index on PostgreSQL), which no Table describes."""
    if type_ == "table" and name is not None and tables.is_search_index_table(name):
        return False
    return not (type_ == "index" and name in tables.ACCOUNT_EXPRESSION_INDEXES)


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                     "include_name": _described})
    with warnings.catch_warnings():  # SQLite's reflection skips the expression indexes of 0009_console_search
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        return list(compare_metadata(context, tables.metadata))


def _version(conn: Connection) -> list[str]:
    return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def _table_names(conn: Connection) -> set[str]:
    return {name for name in inspect(conn).get_table_names() if not tables.is_search_index_table(name)}


async def test_migrated_schema_matches_the_tables_exactly(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            names = await conn.run_sync(_table_names)
    finally:
        await engine.dispose()
    assert diff == []
    assert names == {t.name for t in tables.metadata.sorted_tables} | {"alembic_version"}


async def test_the_comparison_does_see_differences(database_url: str) -> None:
    """A guard for the test above: a schema that lacks a table is reported."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            await conn.execute(text("DROP TABLE server_secrets"))
            diff = await conn.run_sync(_diff)
            await conn.rollback()
    finally:
        await engine.dispose()
    assert any(d[0] == "add_table" and d[1].name == "server_secrets" for d in diff), diff


async def test_migrate_is_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO server_secrets (name, value) VALUES ('kept', :v)"), {"v": b"x"})
            await conn.commit()
        await migrate(engine)
        await migrate(engine)
        async with engine.connect() as conn:
            version = await conn.run_sync(_version)
            diff = await conn.run_sync(_diff)
            kept = (await conn.execute(text("SELECT value FROM server_secrets WHERE name = 'kept'"))).scalar()
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert version == [head]
    assert diff == []
    assert bytes(kept) == b"x"


async def test_migrate_from_separate_engines_is_idempotent(database_url: str) -> None:
    for _ in range(2):
        engine = create_engine(database_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


def test_there_is_a_single_migration_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


# -- URLs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("plain, driver, database", [
    ("sqlite:///var/ticketbooth.db", "sqlite+aiosqlite", "var/ticketbooth.db"),
    ("sqlite:////abs/path.db", "sqlite+aiosqlite", "/abs/path.db"),
    ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite", "x.db"),
    ("postgresql://user:pw@db.example:5433/tb", "postgresql+asyncpg", "tb"),
    ("postgres://user:pw@db.example:5433/tb", "postgresql+asyncpg", "tb"),
    ("postgresql+asyncpg://user@db/tb", "postgresql+asyncpg", "tb"),
])
def test_async_url_picks_the_async_driver(plain: str, driver: str, database: str) -> None:
    url = async_url(plain)
    assert url.drivername == driver
    assert url.database == database


def test_async_url_keeps_credentials_host_and_port() -> None:
    url = async_url("postgres://user:s3cret@db.example:5433/tb?sslmode=require")
    assert (url.username, url.password, url.host, url.port) == ("user", "s3cret", "db.example", 5433)
    assert url.query == {"sslmode": "require"}


@pytest.mark.parametrize("plain", [
    "mysql://user@host/db", "oracle://user@host/db", "sqlite+pysqlite:///x.db", "postgresql+psycopg2://u@h/db",
    "mssql+pyodbc://u@h/db",
])
def test_async_url_refuses_other_schemes(plain: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme"):
        async_url(plain)


# -- SQLite --------------------------------------------------------------------------------------

async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy_timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    finally:
        await engine.dispose()
    assert str(mode).lower() == "wal"
    assert foreign_keys == 1
    assert busy_timeout > 0


async def test_sqlite_creates_the_database_directory(tmp_path: Any) -> None:
    path = tmp_path / "nested" / "dir" / "tb.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    assert path.exists()


async def test_database_errors_never_carry_the_statement_parameters(database_url: str) -> None:
    """A failing statement's error (which may be logged) names the statement, not its values: they can
    be emails, token hashes or password hashes."""
    engine = create_engine(database_url)
    secret = "$argon2id$v=19$secret-hash-value"
    try:
        await migrate(engine)
        with pytest.raises(Exception) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO no_such_table (x) VALUES (:x)"), {"x": secret})
        assert "no_such_table" in str(caught.value)
        assert secret not in str(caught.value)
    finally:
        await engine.dispose()


async def test_0004_recomputes_login_keys_and_keeps_a_clashing_name(database_url: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Keys made by the old rule (NFKC, trim, casefold) are recomputed with the new one (NFKC again after
    folding); an ASCII name is left alone, and a key another account already holds stays as it was."""
    import unicodedata

    from alembic import command

    from ticketbooth.domain.policies import login_key

    def old_key(value: str) -> str:
        return unicodedata.normalize("NFKC", value).strip().casefold()

    accented = "ß\u0301nina@example.com"  # folds to "ss" + the accent: NFKC makes "sś"
    clash_first, clash_second = "ß\u0301ann@example.com", "s\u015bann@example.com"  # one name under the new rule
    assert old_key(accented) != login_key(accented) and old_key(clash_first) != old_key(clash_second)
    assert login_key(clash_first) == login_key(clash_second) == old_key(clash_second)

    def at_0003(conn: Connection) -> None:
        # the PostgreSQL test database may already be at head (it is emptied between tests, not dropped):
        # there, this also runs 0004's downgrade
        command.upgrade(alembic_config(conn), "head")
        command.downgrade(alembic_config(conn), "0003")

    def to_head(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), "head")

    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(at_0003)
            await conn.execute(text("INSERT INTO tenants (id, name, settings, created_at) "
                                    "VALUES (1, 't', '{}', CURRENT_TIMESTAMP)"))
            await conn.execute(text("INSERT INTO customer_sets (id, tenant_id, code, name, is_default, created_at) "
                                    "VALUES (1, 1, 'default', 'Default', true, CURRENT_TIMESTAMP)"))
            for account_id, email in ((1, accented), (2, clash_second), (3, clash_first), (4, "Plain@Example.com")):
                await conn.execute(text(
                    "INSERT INTO accounts (id, tenant_id, customer_set_id, user_id, email, email_key, username, "
                    "username_key, has_external_password, migration_required, tax_exempt, accepts_marketing, "
                    "is_active, is_locked, created_at, updated_at) VALUES (:id, 1, 1, :user, :email, :key, :email, "
                    ":key, false, false, false, false, true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"id": account_id, "user": f"{account_id:032x}", "email": email, "key": old_key(email)})
                await conn.execute(text("INSERT INTO login_names (customer_set_id, name_key, account_id) "
                                        "VALUES (1, :key, :id)"), {"key": old_key(email), "id": account_id})
        with caplog.at_level("WARNING", logger="alembic.runtime.migration"):
            async with engine.begin() as conn:
                await conn.run_sync(to_head)
        async with engine.connect() as conn:
            keys = {r[0]: (r[1], r[2]) for r in await conn.execute(
                text("SELECT id, email_key, username_key FROM accounts"))}
            names = sorted(tuple(r) for r in await conn.execute(text("SELECT name_key, account_id FROM login_names")))
    finally:
        await engine.dispose()
    assert keys[1] == (login_key(accented),) * 2  # recomputed
    assert keys[2] == (login_key(clash_second),) * 2  # unchanged: already the new key
    assert keys[3] == (old_key(clash_first),) * 2  # its new key is account 2's: kept, and reported
    assert keys[4] == ("plain@example.com",) * 2
    assert names == sorted([(login_key(accented), 1), (login_key(clash_second), 2), (old_key(clash_first), 3),
                            ("plain@example.com", 4)])
    assert "account 3 keeps its old email_key: the recomputed key belongs to account 2" in caplog.text


async def test_0007_seeds_kibos_built_in_roles_and_numbers_a_merchants_roles_from_1001(database_url: str) -> None:
    """The built-in roles keep Kibo's ids 1-3 on both databases; the first role a merchant adds gets 1001, so a
    merchant's role can never be taken for a built-in one."""
    from datetime import UTC, datetime

    from ticketbooth.b2b.rules import BUILT_IN_ROLES, FIRST_MERCHANT_ROLE

    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            seeded = (await conn.execute(text(
                "SELECT id, name, is_system, tenant_id FROM b2b_roles ORDER BY id"))).all()
            now = datetime.now(UTC)
            new_id = (await conn.execute(
                tables.b2b_roles.insert().values(tenant_id=1, name="Buyer", is_system=False, created_at=now,
                                                 updated_at=now).returning(tables.b2b_roles.c.id))).scalar_one()
            await conn.rollback()
    finally:
        await engine.dispose()
    assert [(r[0], r[1], bool(r[2]), r[3]) for r in seeded] == [(role.id, role.name, True, None) for role in BUILT_IN_ROLES]
    assert new_id == FIRST_MERCHANT_ROLE

"""Migrations produce exactly `store.tables.metadata`, are idempotent, and the engine is set up
as documented (async drivers, SQLite in WAL mode)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ticketbooth.store import tables
from ticketbooth.store.database import alembic_config, async_url, create_engine, migrate


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, tables.metadata))


def _version(conn: Connection) -> list[str]:
    return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


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

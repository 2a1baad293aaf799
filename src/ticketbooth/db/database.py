"""Engines and migrations. Takes plain database URLs and picks the async driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ticketbooth.infra.reachability import CONNECT_TIMEOUT_SECONDS, POOL_TIMEOUT_SECONDS

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def async_url(plain: str) -> URL:
    """`sqlite:///x.db` -> sqlite+aiosqlite, `postgresql://` or `postgres://` -> postgresql+asyncpg.
    A URL that already names a driver is kept."""
    if plain.startswith("postgres://"):
        plain = "postgresql://" + plain[len("postgres://") :]
    url = make_url(plain)
    if url.drivername == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if url.drivername == "postgresql":
        return url.set(drivername="postgresql+asyncpg")
    if url.drivername in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        return url
    raise ValueError(f"unsupported database URL scheme {url.drivername!r}: use sqlite:/// or postgresql://")


def create_engine(plain_url: str, pool_size: int = 10, *, connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
                  pool_timeout: float = POOL_TIMEOUT_SECONDS) -> AsyncEngine:
    """The engine (the store that owns it adds the raw-driver hot path: db/base.py).

    PostgreSQL fails fast when it cannot be reached (infra/reachability.py): opening a connection
    may take `connect_timeout` seconds, waiting for a pooled one `pool_timeout`; then the request is
    answered 503. Connections the server dropped (a restart) need no ping per checkout: the first
    statement on one fails as a disconnect, SQLAlchemy then discards every connection the pool
    opened before it, and the next checkouts connect anew."""
    url = async_url(plain_url)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, pool_size)
    else:
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800, pool_timeout=pool_timeout,
            hide_parameters=True,
            connect_args={"server_settings": {"application_name": "ticketbooth"}, "timeout": connect_timeout},
        )
    return engine


def _sqlite_engine(url: URL, pool_size: int) -> AsyncEngine:
    database = url.database or ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer. synchronous=NORMAL in WAL survives a process
        # crash (SIGKILL) without losing a committed transaction; only an OS crash or power loss
        # can drop the last commits. busy_timeout lets writers from other processes wait their turn.
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=15000",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Write transactions take the write lock up front: a deferred transaction that reads and
        # then writes can fail with SQLITE_BUSY instead of waiting.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        # Several processes or machines may start at once: one migrates, the others wait.
        connection.execute(text("SELECT pg_advisory_xact_lock(7412290001)"))
    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration. Idempotent; safe to run from several processes."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(sqlite_immediate=True)
        async with conn.begin():
            await conn.run_sync(_upgrade)

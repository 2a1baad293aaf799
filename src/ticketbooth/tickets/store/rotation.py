"""Refresh-token rotation in storage: one implementation for SQLite, one for PostgreSQL.

What a rotation does in the database, on both: mark the presented ticket used, only if it is unused;
and only then add its successor and, when asked, set the family's expiry; all of it atomically, so of
any number of rotations of one ticket exactly one wins (True) and every other changes nothing (False).
A successor that clashes with a stored ticket rolls its rotation back (IntegrityError): the old ticket
stays unused. When a rotation is a reuse or a replay, and what a replay gets, is the service's rule
(tickets/rules.py), not the store's.

- SQLite (`SqliteRotation`): three statements on whatever connection runs them: the hot path's
  group commit (db/hotpath.py; each rotation of a group in its own savepoint) or, where the store
  has no hot path (in-memory database, disposed engine, inside a transaction), the DB-API connection
  under a SQLAlchemy transaction.
- PostgreSQL (`PostgresRotation`): ONE statement (data-modifying CTEs) for any number of rotations,
  given as arrays: the hot path's group of concurrent rotations, or a single one. Of several rotations
  of one ticket in one statement the first wins, as if they had run in turn. It runs on the hot path's
  asyncpg pool or on the asyncpg connection under a SQLAlchemy transaction.

Both write the values through the columns' own type processors (tickets/store/rows.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketbooth.db import tables as t
from ticketbooth.domain.models import TicketRecord
from ticketbooth.tickets.store.rows import TICKET_COLUMNS, Codec, names, pg_typed


@dataclass(frozen=True, slots=True)
class Rotation:
    """One rotation asked of the store: mark the ticket of `old_refresh_hash` used at `now` and add
    `successor`; when `family_expires_at` is given, the family's expiry becomes it."""

    old_refresh_hash: str
    successor: TicketRecord
    now: datetime
    family_expires_at: datetime | None


class DBAPIConnection(Protocol):
    """A DB-API connection: the hot path's sqlite3 connection, or SQLAlchemy's pooled one."""

    def cursor(self) -> Any: ...


class SqliteRotation:
    """The SQLite rotation, in the transaction of the connection it is given."""

    def __init__(self, dialect: Dialect) -> None:
        self._codec = Codec(dialect)
        marks = ", ".join("?" for _ in TICKET_COLUMNS)
        self._mark_used = "UPDATE tickets SET used_at = ? WHERE refresh_hash = ? AND used_at IS NULL"
        self._add = f"INSERT INTO tickets ({names(TICKET_COLUMNS)}) VALUES ({marks})"  # noqa: S608 (column names only)
        self._extend = "UPDATE token_families SET expires_at = ? WHERE id = ?"

    def op(self, rotation: Rotation) -> Callable[[DBAPIConnection], bool]:
        """The rotation as a function of a connection in a transaction (the values encoded now):
        True when it won. A clashing successor raises sqlite3.IntegrityError; the caller rolls back."""
        when, old = self._codec.time(rotation.now), rotation.old_refresh_hash
        successor = self._codec.ticket(rotation.successor)
        expires = None if rotation.family_expires_at is None else self._codec.time(rotation.family_expires_at)
        family_id = rotation.successor.family_id

        def run(conn: DBAPIConnection) -> bool:
            cursor = conn.cursor()
            try:
                cursor.execute(self._mark_used, (when, old))
                if cursor.rowcount != 1:
                    return False
                cursor.execute(self._add, successor)
                if expires is not None:
                    cursor.execute(self._extend, (expires, family_id))
                return True
            finally:
                cursor.close()

        return run

    async def on(self, conn: AsyncConnection, rotation: Rotation) -> bool:
        """Run it on the DB-API connection under `conn`, in `conn`'s transaction, in a savepoint of
        its own: a rotation that fails changes nothing even when that transaction goes on (as
        PostgreSQL's one statement)."""
        op = self.op(rotation)

        def alone(sync: Any) -> bool:
            dbapi = sync.connection
            cursor = dbapi.cursor()
            try:
                cursor.execute("SAVEPOINT rotation")
                try:
                    won = op(dbapi)
                except BaseException:
                    cursor.execute("ROLLBACK TO rotation")
                    raise
                finally:
                    cursor.execute("RELEASE rotation")
                return won
            finally:
                cursor.close()

        try:
            return bool(await conn.run_sync(alone))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError("rotation", None, exc) from exc


Encoded = tuple[Any, str, Any, list[Any]]
"""A rotation's values as the driver takes them: now, old refresh hash, family expiry, successor."""


class PostgresRotation:
    """The PostgreSQL rotation: one statement for a list of rotations."""

    def __init__(self, dialect: Dialect) -> None:
        self._codec = Codec(dialect)
        # arrays of (position, now, old hash, family expiry, successor columns), built once from the
        # table definitions only: no value is ever spliced in (S608 is a false alarm here)
        time_type = t.tickets.c.used_at.type.compile(dialect=dialect)
        hash_type = t.tickets.c.refresh_hash.type.compile(dialect=dialect)
        succ = [f"s_{c.name}" for c in TICKET_COLUMNS]
        arrays = ", ".join([f"$1::integer[], $2::{time_type}[], $3::{hash_type}[], $4::{time_type}[]",
                            *pg_typed(TICKET_COLUMNS, 5, True, dialect)])
        steps = [
            f"input AS (SELECT * FROM unnest({arrays}) AS i(pos, now, old, expires, {', '.join(succ)}))",  # noqa: S608
            "winners AS (SELECT DISTINCT ON (old) pos, now, old FROM input ORDER BY old, pos)",
            "used AS (UPDATE tickets AS k SET used_at = w.now FROM winners AS w WHERE k.refresh_hash = w.old "
            "AND k.used_at IS NULL RETURNING w.pos, k.family_id)",
            f"added AS (INSERT INTO tickets ({names(TICKET_COLUMNS)}) "  # noqa: S608
            f"SELECT {', '.join('i.' + n for n in succ)} FROM input AS i JOIN used AS u ON u.pos = i.pos)",
            "longest AS (SELECT u.family_id, max(i.expires) AS expires FROM input AS i JOIN used AS u "
            "ON u.pos = i.pos WHERE i.expires IS NOT NULL GROUP BY u.family_id)",
            "extended AS (UPDATE token_families AS f SET expires_at = longest.expires FROM longest "
            "WHERE f.id = longest.family_id)",
        ]
        self.sql = f"WITH {', '.join(steps)} SELECT pos FROM used"  # noqa: S608

    def encode(self, rotation: Rotation) -> Encoded:
        return (self._codec.time(rotation.now), rotation.old_refresh_hash,
                self._codec.time(rotation.family_expires_at), self._codec.ticket(rotation.successor))

    async def run(self, fetch: Callable[..., Awaitable[Sequence[Sequence[Any]]]], items: list[Encoded]) -> list[bool]:
        """Rotate `items` with `fetch(sql, *args)` (an asyncpg pool's or connection's): whether each won."""
        successors = [list(column) for column in zip(*(s for *_, s in items), strict=True)]
        rows = await fetch(self.sql, list(range(len(items))), [i[0] for i in items], [i[1] for i in items],
                           [i[2] for i in items], *successors)
        won = {row[0] for row in rows}
        return [pos in won for pos in range(len(items))]

    async def on(self, conn: AsyncConnection, rotation: Rotation) -> bool:
        """Run it on the asyncpg connection under `conn`."""
        import asyncpg

        raw = await conn.get_raw_connection()
        try:
            (won,) = await self.run(raw.driver_connection.fetch, [self.encode(rotation)])  # type: ignore[union-attr]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError("rotation", None, exc) from exc
        return won


StorageRotation = SqliteRotation | PostgresRotation


def rotation_for(dialect: Dialect) -> StorageRotation:
    """The rotation of `dialect`'s database."""
    return PostgresRotation(dialect) if dialect.name == "postgresql" else SqliteRotation(dialect)

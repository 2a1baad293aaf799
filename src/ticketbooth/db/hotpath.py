"""The ticket hot paths (anonymous ticket, refresh, opaque token check) on the raw database driver.

`Store.insert_family`, `rotate`, `ticket_by_access` and `ticket_by_refresh` are most of the traffic
(see issue 5). Through SQLAlchemy's async adapter each costs several hand-offs per statement (pool,
greenlet, BEGIN, each statement, COMMIT); here they cost one:

- SQLite: writes commit on the event loop itself. A write with no other write lately commits at
  once, by itself; the writes asked during a busy turn of the loop are committed together at the
  start of the next turn, one `BEGIN IMMEDIATE ... COMMIT` for the group (each write in its own
  savepoint, so one failing write fails alone). With WAL and synchronous=NORMAL (as
  everywhere else) a commit appends to the WAL without an fsync, so a group costs the loop less than
  the thread hand-offs it replaces, and a request waits one turn of the loop for its write instead of
  several (a busy loop's turn is long: under a login flood each hand-off cost tens of ms). A caller is
  answered only after the commit of its group: nothing answered is lost. The loop never waits on
  SQLite's lock: when the store's in-process write lock is taken (a SQLAlchemy transaction is open)
  or another process holds the database's lock (busy_timeout 0 on the loop's connection), the group
  goes to ONE writer thread with its own connection, which waits for the lock (the in-process one
  first) and commits the groups that queue up meanwhile in the same way. Reads (one row by a unique
  hash) also run on the loop, on a read-only connection: in WAL mode a reader never waits for a
  writer. Should a read ever get SQLITE_BUSY (WAL recovery), it falls back to the SQLAlchemy path.
- PostgreSQL: a small asyncpg pool with the driver's prepared-statement cache; a new family with its
  first ticket, and any number of rotations, are each ONE statement with data-modifying CTEs, so one
  round trip and atomic without BEGIN/COMMIT hops. Writes are grouped like SQLite's: the ones that
  arrive while a group is written go in the next group, one statement for all (`INSERT ... SELECT
  FROM unnest(arrays)`; one commit and one WAL flush instead of one each); should it fail on a unique
  key, each is written alone so only the clashing one fails.

A rotation is the database's one rotation (tickets/store/rotation.py), which the store also runs on a
SQLAlchemy connection where it has no hot path. Values go through the columns' own SQLAlchemy type
processors (tickets/store/rows.py), so rows are stored and read exactly as the SQLAlchemy path stores
and reads them. An in-memory SQLite database has no hot path (another connection would see another
database); the store then uses SQLAlchemy for everything.

Each hot path belongs to the store that owns its engine (`open_hot_path`, called by db/base.py),
with that store's SQLite write lock and rotation: nothing here is kept per process.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Table, Update, bindparam, event, insert, literal_column, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from ticketbooth.db import tables as t
from ticketbooth.domain.errors import ServiceUnavailable
from ticketbooth.domain.models import TicketRecord, TokenFamily
from ticketbooth.infra.reachability import (
    CONNECT_TIMEOUT_SECONDS,
    UNAVAILABLE_MESSAGE,
    database_unreachable,
    unavailable,
)
from ticketbooth.tickets.store.rotation import Encoded, PostgresRotation, Rotation, SqliteRotation, StorageRotation
from ticketbooth.tickets.store.rows import FAMILY_COLUMNS, TICKET_COLUMNS, Codec, names, pg_typed, select_sql

T = TypeVar("T")

_INSERT_EVENT = insert(t.events).values({c.name: bindparam(c.name, type_=c.type) for c in t.events.c if not c.primary_key})
"""A row of the event log (events/), written with a login's new family (its bind names: the columns')."""


async def _nothing_to_reset(connection: Any) -> None:
    """The asyncpg pool's reset for the hot path's connections (see `_acquire_pool`)."""

_UNAVAILABLE = UNAVAILABLE_MESSAGE

ALONE_AFTER_SECONDS = 0.002
"""A SQLite hot write with no other write queued or committed alone in the last this many seconds is
committed at once, by itself; the others wait for the next turn of the loop to be committed together."""

CHECKPOINT_EVERY = 500
"""Hot SQLite writes between two WAL checkpoints (SQLite's own default is every 1000 pages)."""


class HotPath(Protocol):
    """What the Store runs on the raw driver. `None` from a read means "not found"."""

    async def insert_family(self, family: TokenFamily, first: TicketRecord,
                            event: dict[str, Any] | None = None) -> None:
        """The family and its first ticket, and with them `event` (a row of the event log: a login's), as
        one write."""
        ...

    async def ticket_where(self, column: str, token_hash: str) -> tuple[TicketRecord, TokenFamily] | None: ...

    @property
    def closed(self) -> bool:
        """Closed with its engine (`engine.dispose()`): the store then runs everything on SQLAlchemy."""
        ...

    async def rotate(self, rotation: Rotation) -> bool:
        """The database's one rotation (tickets/store/rotation.py), on the raw driver: True when it won."""
        ...

    async def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows of a read-only `sql` in the driver's paramstyle, values as the driver gives them."""
        ...

    async def change_and_record(self, write: ChangeAndRecord, change: dict[str, Any],
                                record: dict[str, Any]) -> bool:
        """Run `write`'s UPDATE with the values `change`, and only when it changed a row add the row
        `record`, atomically; True when it changed a row."""
        ...


class Prepared:
    """A SQLAlchemy Core statement compiled once for a driver: its SQL in the driver's paramstyle,
    `params(values)` turning a dict of values into the driver's positional parameters, and (for a
    SELECT) `mappings(rows)` turning the driver's rows into dicts by column name, all through the
    columns' own type processors, as SQLAlchemy itself would send and read them. `prepared()` keeps
    one per statement and dialect."""

    def __init__(self, stmt: ClauseElement, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._compiled = compiled
        names = list(compiled.positiontup or ())
        self._binds = [(name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                       for name in names]
        selected = getattr(stmt, "selected_columns", ())
        self._results = [(c.name, c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in selected]

    def params(self, values: dict[str, Any]) -> tuple[Any, ...]:
        every = self._compiled.construct_params(values)
        assert every is not None
        return tuple(every[name] if proc is None else proc(every[name]) for name, proc in self._binds)

    def mappings(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        return [{name: value if proc is None else proc(value)
                 for (name, proc), value in zip(self._results, row, strict=True)} for row in rows]


_PREPARED: dict[tuple[ClauseElement, str, str], Prepared] = {}


def prepared(stmt: ClauseElement, dialect: Dialect) -> Prepared:
    """`stmt` compiled for `dialect`'s driver (once; keep `stmt` at module level)."""
    key = (stmt, dialect.name, dialect.driver)
    found = _PREPARED.get(key)
    if found is None:
        found = _PREPARED[key] = Prepared(stmt, dialect)
    return found


class ChangeAndRecord:
    """An UPDATE, and the row added to `table` only when the UPDATE changed a row (a login and its
    audit entry). The hot paths run it as ONE write: on SQLite two statements in one op of the
    group writer, on PostgreSQL one statement (the UPDATE as a data-modifying CTE), so it costs no
    transaction of its own and never holds the write lock across event-loop hops."""

    def __init__(self, change: Update, table: Table) -> None:
        added = {c.name: bindparam(f"record_{c.name}", type_=c.type) for c in table.c if not c.primary_key}
        # SQLite: the UPDATE, then the INSERT; PostgreSQL: both in one statement, which returns a
        # row when the UPDATE changed one
        self._apart = (change, insert(table).values(added))
        changed = change.returning(literal_column("1")).cte("changed")
        self._together: ClauseElement = insert(table).from_select(
            list(added), select(*added.values()).select_from(changed)).returning(literal_column("1"))

    def statements(self, dialect: Dialect) -> tuple[Prepared, ...]:
        if dialect.name == "postgresql":
            return (prepared(self._together, dialect),)
        return tuple(prepared(stmt, dialect) for stmt in self._apart)

    def values(self, change: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        """The bind values of both statements."""
        return {**change, **{f"record_{name}": value for name, value in record.items()}}


class _Busy(Exception):
    """BEGIN IMMEDIATE found the database locked (by another connection; the cause says how)."""


class ReadFallback(Exception):
    """The hot read could not run now (SQLite busy): use the SQLAlchemy path."""


# -- SQLite ---------------------------------------------------------------------------------------

class SqliteHotPath:
    """Group commits on the event loop (or, when the database is locked, on a writer thread) and an
    event-loop reader, on one SQLite database file."""

    def __init__(self, path: str, dialect: Dialect, write_lock: asyncio.Lock, rotation: SqliteRotation) -> None:
        self._path = path
        self._dialect = dialect
        self._codec = Codec(dialect)
        self._write_lock = write_lock
        self._rotation = rotation
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._flushing = False
        self._last_alone = float("-inf")  # loop time of the last write committed by itself
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ticketbooth-sqlite-writer")
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="ticketbooth-sqlite-checkpoint")
        self._checkpointing: Any = None  # the running checkpoint's future
        self._since_checkpoint = 0
        self.groups_committed = 0
        """Groups and writes committed so far (writes / groups: how much group commit saves)."""
        self.writes_committed = 0
        self.checkpoints = 0
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._closed = False
        fam_marks, ticket_marks = ", ".join("?" for _ in FAMILY_COLUMNS), ", ".join("?" for _ in TICKET_COLUMNS)
        self._insert_family = f"INSERT INTO token_families ({names(FAMILY_COLUMNS)}) VALUES ({fam_marks})"  # noqa: S608
        self._insert_ticket = f"INSERT INTO tickets ({names(TICKET_COLUMNS)}) VALUES ({ticket_marks})"  # noqa: S608
        self._selects = {col: select_sql(col, "?") for col in ("access_hash", "refresh_hash")}

    @property
    def closed(self) -> bool:
        return self._closed

    def _connect(self, *, read_only: bool, busy_timeout: int = 15000) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, cached_statements=64)
        # the same settings as the engine's connections (db/database.py); the reader never waits
        pragmas = ["PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
                   "PRAGMA busy_timeout=0" if read_only else f"PRAGMA busy_timeout={busy_timeout}"]
        if read_only:
            pragmas.append("PRAGMA query_only=ON")
        else:
            pragmas.insert(0, "PRAGMA journal_mode=WAL")  # as the engine's connections set it (kept in the file)
            # The writer's commits never checkpoint (that would stall every request of the group
            # behind the copy and its fsync): `_checkpoint` does it on a thread of its own.
            pragmas.append("PRAGMA wal_autocheckpoint=0")
        for pragma in pragmas:
            conn.execute(pragma)
        return conn

    # -- reads, on the event loop --------------------------------------------------------------

    async def ticket_where(self, column: str, token_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        rows = await self.rows(self._selects[column], (token_hash,))
        return self._codec.row(rows[0]) if rows else None

    async def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._closed:
            raise ReadFallback
        try:
            if self._reader is None:
                self._reader = self._connect(read_only=True)
            # fetchall, not fetchone: stepping to the end resets the statement, which ends the
            # implicit read transaction (an open one would hold back WAL checkpoints)
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise ReadFallback from exc

    # -- writes, grouped on the writer thread ----------------------------------------------------

    async def insert_family(self, family: TokenFamily, first: TicketRecord,
                            event: dict[str, Any] | None = None) -> None:
        fam, ticket = self._codec.family(family), self._codec.ticket(first)
        add = None
        if event is not None:
            statement = prepared(_INSERT_EVENT, self._dialect)
            add = (statement.sql, statement.params(event))

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(self._insert_family, fam)
            conn.execute(self._insert_ticket, ticket)
            if add is not None:
                conn.execute(*add)

        await self._write(op)

    async def rotate(self, rotation: Rotation) -> bool:
        """SQLite's one rotation (tickets/store/rotation.py) as one write of the group commit."""
        return bool(await self._write(self._rotation.op(rotation)))

    async def change_and_record(self, write: ChangeAndRecord, change: dict[str, Any],
                                record: dict[str, Any]) -> bool:
        update, add = write.statements(self._dialect)
        values = write.values(change, record)
        changed, added = (update.sql, update.params(values)), (add.sql, add.params(values))

        def op(conn: sqlite3.Connection) -> bool:
            if conn.execute(*changed).rowcount != 1:
                return False
            conn.execute(*added)
            return True

        return bool(await self._write(op))

    async def _write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise ServiceUnavailable(_UNAVAILABLE)
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._pending and now - self._last_alone > ALONE_AFTER_SECONDS:
            self._last_alone = now
            try:
                return self._alone(op)
            except _Busy:
                pass
        done: asyncio.Future[T] = loop.create_future()
        self._pending.append((op, done))
        if self._drainer is None or self._drainer.done():
            self._schedule_flush(loop)
        return await done

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Have `_flush` run at the start of the loop's next turn (once, however many ask)."""
        if not self._flushing:
            self._flushing = True
            loop.call_soon(self._flush)

    def _loop_must_not_write(self) -> bool:
        """Whether a write on the loop would have to wait: a SQLAlchemy transaction of this process
        holds the write lock, or the writer thread is committing (or waiting for a lock)."""
        return self._write_lock.locked() or (self._drainer is not None and not self._drainer.done())

    def _alone(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Commit `op` by itself, now, on the loop; _Busy when the database is locked."""
        if self._loop_must_not_write():
            raise _Busy
        try:
            (result,) = self._commit([op], self._inline_connection())
        except _Busy:
            raise
        except Exception as exc:  # as `_flush` answers a failed group
            error = _unavailable(exc)
            if error is exc:
                raise
            raise error from exc
        self._committed(1)
        if isinstance(result, BaseException):
            raise result
        return cast(T, result)

    def _flush(self) -> None:
        """Commit the writes asked during the last turn of the loop, on the loop; when the database is
        locked, hand them to the writer thread."""
        self._flushing = False
        if not self._pending or self._closed or self._loop_must_not_write():
            return self._hand_to_drainer()
        group, self._pending = self._pending, []
        try:
            results = self._commit([op for op, _ in group], self._inline_connection())
        except _Busy:
            self._pending = group + self._pending
            return self._hand_to_drainer()
        except Exception as exc:
            error = _unavailable(exc)
            for _, done in group:
                _settle(done, error)
            return None
        self._settled(group, results)
        return None

    def _inline_connection(self) -> sqlite3.Connection:
        """The loop's write connection: it never waits for SQLite's lock (busy_timeout 0)."""
        if self._inline is None:
            self._inline = self._connect(read_only=False, busy_timeout=0)
        return self._inline

    def _hand_to_drainer(self) -> None:
        """Have the writer thread commit what is queued (`_drain`), unless it already does."""
        if self._pending and (self._drainer is None or self._drainer.done()):
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    def _settled(self, group: list[tuple[Any, asyncio.Future[Any]]], results: list[Any]) -> None:
        """Answer the callers of a committed group (a write's exception is its answer)."""
        for (_, done), result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                _settle(done, result)
            else:
                _settle(done, None, result)
        self._committed(len(group))

    def _committed(self, writes: int) -> None:
        """Count a committed group of `writes`, and start a checkpoint when one is due."""
        self.groups_committed += 1
        self.writes_committed += writes
        self._since_checkpoint += writes
        if self._since_checkpoint >= CHECKPOINT_EVERY and (
                self._checkpointing is None or self._checkpointing.done()) and not self._closed:
            self._since_checkpoint = 0
            self._checkpointing = self._checkpointer.submit(self._checkpoint)

    async def _drain(self) -> None:
        """On the writer thread, after the in-process write lock: commit the queued writes as one
        group. The writes asked meanwhile wait for it (see `_write`), then go to `_flush`: back on
        the loop once the lock is free."""
        loop = asyncio.get_running_loop()
        group, self._pending = self._pending, []
        if self._closed:  # disposed meanwhile: the engine's SQLAlchemy path is all that is left
            for _, done in group:
                _settle(done, ServiceUnavailable(_UNAVAILABLE))
            return
        try:
            async with self._write_lock:
                results = await loop.run_in_executor(self._thread, self._commit_on_thread, [op for op, _ in group])
        except BaseException as exc:
            error = _unavailable(exc)
            for _, done in group:
                _settle(done, error)
            if isinstance(exc, asyncio.CancelledError):
                for _, done in self._pending:
                    _settle(done, ServiceUnavailable(_UNAVAILABLE))
                self._pending = []
                raise
        else:
            self._settled(group, results)
        if self._pending:
            self._schedule_flush(loop)

    def _commit_on_thread(self, ops: list[Callable[[sqlite3.Connection], Any]]) -> list[Any]:
        """`_commit` on the writer thread's connection, which waits for a lock held elsewhere."""
        if self._writer is None:
            self._writer = self._connect(read_only=False)
        return self._commit(ops, self._writer)

    def _commit(self, ops: list[Callable[[sqlite3.Connection], Any]], conn: sqlite3.Connection) -> list[Any]:
        """Run `ops` in one transaction, each in its own savepoint when there
        are several; an op's exception is its result, and rolls back only that op."""
        results: list[Any] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _Busy from exc
        try:
            if len(ops) == 1:  # alone: no savepoint, the transaction is the op's
                try:
                    results.append(ops[0](conn))
                except sqlite3.IntegrityError as exc:
                    conn.execute("ROLLBACK")
                    return [_integrity(exc)]
            else:
                for op in ops:
                    conn.execute("SAVEPOINT hot")
                    try:
                        results.append(op(conn))
                    except sqlite3.IntegrityError as exc:
                        conn.execute("ROLLBACK TO hot")
                        results.append(_integrity(exc))
                    conn.execute("RELEASE hot")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return results

    def _checkpoint(self) -> None:
        """On the checkpoint thread: copy the WAL's committed pages into the database (PASSIVE:
        it waits for no one, and the writer goes on committing meanwhile)."""
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error:
            pass  # busy or failing now: the next one tries again, and SQLite checks it on open
        finally:
            conn.close()

    def close(self) -> None:
        """Close both connections (on the engine's dispose; nothing may be writing then)."""
        self._closed = True
        self._checkpointer.shutdown(wait=True)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        writer, self._writer = self._writer, None
        if writer is not None:
            self._thread.submit(writer.close).result()
        self._thread.shutdown(wait=True)


def _integrity(exc: sqlite3.IntegrityError) -> IntegrityError:
    return IntegrityError("hot path write", None, exc)


def _unavailable(exc: BaseException) -> BaseException:
    """What the callers of a failed group get: ServiceUnavailable when the database cannot be
    reached (infra/reachability.py) or the group was cancelled, else the error itself (a bug)."""
    if isinstance(exc, _Busy) and exc.__cause__ is not None:
        exc = exc.__cause__  # locked for longer than the busy timeout
    if isinstance(exc, asyncio.CancelledError) or database_unreachable(exc):
        return unavailable(exc)
    return exc


# -- PostgreSQL -----------------------------------------------------------------------------------

class _RolledBack(Exception):
    """PostgreSQL rolled the statement back to break a deadlock (or a serialization failure): two
    groups in two processes locked the same tickets in different orders. Each write then runs alone."""


def _unavailable_if_rolled_back(exc: BaseException) -> BaseException:
    if isinstance(exc, _RolledBack):
        error = ServiceUnavailable(_UNAVAILABLE)
        error.__cause__ = exc
        return error
    return exc


class _Groups:
    """Writes that arrive while a group is being written wait, and go together in the next group:
    `many(items)` writes a group (one statement), `alone(item)` one write. When a group fails on a
    unique key (the whole statement rolled back), each of its writes runs alone, so only the
    clashing one fails. Every caller is answered after the commit of its write."""

    def __init__(self, many: Callable[[list[Any]], Any], alone: Callable[[Any], Any]) -> None:
        self._many, self._alone = many, alone
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.groups = 0
        self.writes = 0

    async def write(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self._pending.append((item, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                if len(group) == 1:
                    results = [await self._alone(group[0][0])]
                else:
                    results = await self._many([item for item, _ in group])
            except (IntegrityError, _RolledBack) as exc:
                if len(group) == 1:
                    _settle(group[0][1], _unavailable_if_rolled_back(exc))
                else:
                    await asyncio.gather(*(self._one(item, done) for item, done in group))
                continue
            except BaseException as exc:
                for _, done in group:
                    _settle(done, exc if isinstance(exc, Exception) else ServiceUnavailable(_UNAVAILABLE))
                if not isinstance(exc, Exception):
                    raise
                continue
            self.groups += 1
            self.writes += len(group)
            for (_, done), result in zip(group, results, strict=True):
                _settle(done, None, result)

    async def _one(self, item: Any, done: asyncio.Future[Any]) -> None:
        try:
            result = await self._alone(item)
        except Exception as exc:
            _settle(done, _unavailable_if_rolled_back(exc))
        else:
            self.groups += 1
            self.writes += 1
            _settle(done, None, result)


class PostgresHotPath:
    """A small asyncpg pool; each hot operation is one statement, so one round trip, and the
    writes of concurrent requests are written in groups, one statement per group."""

    def __init__(self, dsn: str, dialect: Dialect, rotation: PostgresRotation, pool_size: int,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._dialect = dialect
        self._codec = Codec(dialect)
        self._rotation = rotation
        self._pool_size = pool_size
        self._pool: Any = None
        self._opening: asyncio.Lock | None = None
        self._closed = False
        # Every statement below is built once, from the table definitions only: no value is ever
        # spliced in (S608 is a false alarm here).
        nf = len(FAMILY_COLUMNS)
        fam_marks = ", ".join(f"${i + 1}" for i in range(nf))
        ticket_marks = ", ".join(f"${nf + i + 1}" for i, _ in enumerate(TICKET_COLUMNS))
        new_family = f"INSERT INTO token_families ({names(FAMILY_COLUMNS)}) VALUES ({fam_marks})"  # noqa: S608
        new_ticket = f"INSERT INTO tickets ({names(TICKET_COLUMNS)}) VALUES ({ticket_marks})"  # noqa: S608
        self._insert_family = f"WITH f AS ({new_family}) {new_ticket}"
        # with a login's event: one more data-modifying CTE, the event's parameters numbered after the ticket's
        event_insert = prepared(_INSERT_EVENT, dialect)
        offset = nf + len(TICKET_COLUMNS)
        numbered = re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", event_insert.sql)
        self._insert_family_event = f"WITH f AS ({new_family}), k AS ({new_ticket}) {numbered}"

        # many new families: one array per column
        families = f"INSERT INTO token_families ({names(FAMILY_COLUMNS)}) " \
                   f"SELECT * FROM unnest({', '.join(pg_typed(FAMILY_COLUMNS, 1, True, dialect))})"  # noqa: S608
        tickets = f"INSERT INTO tickets ({names(TICKET_COLUMNS)}) " \
                  f"SELECT * FROM unnest({', '.join(pg_typed(TICKET_COLUMNS, nf + 1, True, dialect))})"  # noqa: S608
        self._insert_families = f"WITH f AS ({families}) {tickets}"

        self._selects = {col: select_sql(col, "$1") for col in ("access_hash", "refresh_hash")}
        self._new_families = _Groups(self._many_families, self._one_family)
        self._rotations_group = _Groups(self._many_rotations, self._one_rotation)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def groups_committed(self) -> int:
        """Groups and writes committed so far (writes / groups: how much grouping saves)."""
        return self._new_families.groups + self._rotations_group.groups

    @property
    def writes_committed(self) -> int:
        return self._new_families.writes + self._rotations_group.writes

    async def _acquire_pool(self) -> Any:
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise ServiceUnavailable(_UNAVAILABLE)
        import asyncpg

        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                # min_size=0: the pool opens no connection itself, so creating it cannot fail or
                # wait while the database is down, and no background task retries (and logs) a
                # connection floor then; every connection is opened by a request, within
                # `connect_timeout`. A connection the server closed (a restart) is replaced on its
                # next acquire.
                # reset=: asyncpg's default reset sends `RESET ALL; CLOSE ALL; UNLISTEN *; SELECT
                # pg_advisory_unlock_all()` when a connection goes back to the pool, one more round trip
                # per statement. These connections run single statements and change no session state
                # (no SET, cursor, LISTEN or advisory lock), so there is nothing to reset; asyncpg still
                # rolls back a transaction left open.
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=0, max_size=self._pool_size, max_inactive_connection_lifetime=1800,
                    server_settings={"application_name": "ticketbooth"}, timeout=self._connect_timeout,
                    reset=_nothing_to_reset)
        return self._pool

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        import asyncpg

        try:
            pool = await self._acquire_pool()
            return await getattr(pool, method)(sql, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(sql, None, exc) from exc
        except asyncpg.TransactionRollbackError as exc:
            raise _RolledBack(str(exc)) from exc
        except Exception as exc:
            if database_unreachable(exc):
                raise unavailable(exc) from exc
            raise

    # -- new families --------------------------------------------------------------------------

    async def insert_family(self, family: TokenFamily, first: TicketRecord,
                            event: dict[str, Any] | None = None) -> None:
        if event is None:
            await self._new_families.write((self._codec.family(family), self._codec.ticket(first)))
            return
        params = prepared(_INSERT_EVENT, self._dialect).params(event)
        await self._run("execute", self._insert_family_event, *self._codec.family(family), *self._codec.ticket(first),
                        *params)

    async def _one_family(self, item: tuple[list[Any], list[Any]]) -> None:
        await self._run("execute", self._insert_family, *item[0], *item[1])

    async def _many_families(self, items: list[tuple[list[Any], list[Any]]]) -> list[None]:
        families = [list(column) for column in zip(*(f for f, _ in items), strict=True)]
        tickets = [list(column) for column in zip(*(k for _, k in items), strict=True)]
        await self._run("execute", self._insert_families, *families, *tickets)
        return [None] * len(items)

    # -- rotations -----------------------------------------------------------------------------

    async def rotate(self, rotation: Rotation) -> bool:
        """PostgreSQL's one rotation (tickets/store/rotation.py): the rotations asked meanwhile go together,
        one statement for the group."""
        return bool(await self._rotations_group.write(self._rotation.encode(rotation)))

    async def _one_rotation(self, item: Encoded) -> bool:
        (won,) = await self._many_rotations([item])
        return won

    async def _many_rotations(self, items: list[Encoded]) -> list[bool]:
        return await self._rotation.run(lambda sql, *args: self._run("fetch", sql, *args), items)

    async def change_and_record(self, write: ChangeAndRecord, change: dict[str, Any],
                                record: dict[str, Any]) -> bool:
        (both,) = write.statements(self._dialect)
        try:
            return await self._run("fetchval", both.sql, *both.params(write.values(change, record))) is not None
        except _RolledBack as exc:
            raise _unavailable_if_rolled_back(exc) from exc

    # -- reads -----------------------------------------------------------------------------------

    async def ticket_where(self, column: str, token_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        row = await self._run("fetchrow", self._selects[column], token_hash)
        return None if row is None else self._codec.row(tuple(row))

    async def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return [tuple(record) for record in await self._run("fetch", sql, *params)]

    def close(self) -> None:
        """Close the pool (on the engine's dispose, which SQLAlchemy runs in a greenlet)."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            from sqlalchemy.util import await_

            await_(pool.close())
        except Exception:
            pool.terminate()


def _settle(done: asyncio.Future[Any], error: BaseException | None, result: Any = None) -> None:
    if done.done():
        return  # its caller went away
    if error is None:
        done.set_result(result)
    else:
        done.set_exception(error)


# -- the store's own ---------------------------------------------------------------------------

def open_hot_path(engine: AsyncEngine, write_lock: asyncio.Lock, rotation: StorageRotation, pool_size: int,
                  connect_timeout: float = CONNECT_TIMEOUT_SECONDS) -> HotPath | None:
    """The hot path of the store that owns `engine` (db/base.py), or None where there can be none
    (an in-memory SQLite database: another connection would see another database). Its connections are
    opened on first use and closed by `engine.dispose()`. `write_lock` is the store's in-process SQLite
    write lock, `rotation` the store's rotation of its database."""
    url = engine.url
    hot: SqliteHotPath | PostgresHotPath | None = None
    if url.get_backend_name() == "sqlite" and isinstance(rotation, SqliteRotation):
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:") and not url.query:
            hot = SqliteHotPath(database, engine.dialect, write_lock, rotation)
    elif url.get_backend_name() == "postgresql" and isinstance(rotation, PostgresRotation):
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        hot = PostgresHotPath(dsn, engine.dialect, rotation, pool_size, connect_timeout)
    if hot is not None:
        closing = hot

        @event.listens_for(engine.sync_engine, "engine_disposed")
        def _dispose(_engine: Engine) -> None:
            closing.close()
    return hot

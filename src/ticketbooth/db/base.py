"""The connection and transaction handling every part of the store shares."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketbooth.db.hotpath import HotPath, open_hot_path
from ticketbooth.domain.errors import ServiceUnavailable
from ticketbooth.infra.reachability import CONNECT_TIMEOUT_SECONDS, database_unreachable, unavailable
from ticketbooth.tickets.store.rotation import StorageRotation, rotation_for


class StoreBase:
    def __init__(self, engine: AsyncEngine, *, pool_size: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        """The store of `engine`, owning what goes with it: the SQLite write lock, the rotation of its
        database (tickets/store/rotation.py) and the raw-driver hot path (db/hotpath.py; its asyncpg pool
        holds up to `pool_size` connections, by default as many as the engine's pool)."""
        self.engine = engine
        self._conn: AsyncConnection | None = None
        self._after_commit: list[Callable[[], None]] | None = None  # inside a transaction: run once it commits
        self._is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; queueing writers of this process here avoids them
        # spinning on the database lock. Writers in other processes still wait via busy_timeout.
        # One lock per store, shared with its hot path's SQLite writes and its transactions.
        self._write_lock = asyncio.Lock()
        self._rotation: StorageRotation = rotation_for(engine.dialect)
        size = pool_size if pool_size is not None else int(getattr(engine.pool, "size", lambda: 10)())
        self._hot_path = open_hot_path(engine, self._write_lock, self._rotation, size, connect_timeout)

    @property
    def _hot(self) -> HotPath | None:
        """The raw-driver path for the ticket hot paths, or None inside a transaction (whose
        statements must share its connection), where the store has none, and once its engine is
        disposed (the SQLAlchemy path then opens new connections)."""
        hot = self._hot_path
        return None if self._conn is not None or hot is None or hot.closed else hot

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)

    # -- transactions -----------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Self]:
        """A Store whose methods share one write transaction. Inside it, call the methods of the
        Store it yields, never of the outer one: on SQLite the outer Store would wait for the
        write lock this transaction holds."""
        if self._conn is not None:
            yield self
            return
        after: list[Callable[[], None]] = []
        async with self._begin(write=True) as conn:
            inside = copy.copy(self)  # the same engine, lock, rotation and hot path (stepped aside)
            inside._conn = conn
            inside._after_commit = after
            yield inside
        for done in after:  # committed
            done()

    def _on_commit(self, done: Callable[[], None]) -> None:
        """Call `done` once what this store wrote is committed: at once outside a transaction (call it after
        the write), when the transaction commits inside one (never, when it rolls back)."""
        if self._after_commit is None:
            done()
        else:
            self._after_commit.append(done)

    @asynccontextmanager
    async def _begin(self, write: bool) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        lock = self._write_lock if (write and self._is_sqlite) else None
        try:
            if lock is not None:
                await lock.acquire()
            try:
                async with self.engine.connect() as conn:
                    if write and self._is_sqlite:
                        conn = await conn.execution_options(sqlite_immediate=True)
                    async with conn.begin():
                        yield conn
            finally:
                if lock is not None:
                    lock.release()
        except ServiceUnavailable:
            raise
        except Exception as exc:  # a lost database is a 503; anything else stays what it is
            if database_unreachable(exc):
                raise unavailable(exc) from exc
            raise


"""The connection and transaction handling every part of the store shares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketbooth.db.hotpath import HotPath, hot_path, write_lock
from ticketbooth.domain.errors import ServiceUnavailable
from ticketbooth.infra.reachability import database_unreachable, unavailable


class StoreBase:
    def __init__(self, engine: AsyncEngine, _conn: AsyncConnection | None = None,
                 _write_lock: asyncio.Lock | None = None) -> None:
        self.engine = engine
        self._conn = _conn
        self._is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; queueing writers of this process here avoids them
        # spinning on the database lock. Writers in other processes still wait via busy_timeout.
        # One lock per engine, shared with the hot path's SQLite writes (db/hotpath.py).
        self._write_lock = _write_lock or write_lock(engine)

    @property
    def _hot(self) -> HotPath | None:
        """The raw-driver path for the ticket hot paths, or None inside a transaction (whose
        statements must share its connection) and where the engine has none."""
        return None if self._conn is not None else hot_path(self.engine)

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
        async with self._begin(write=True) as conn:
            yield type(self)(self.engine, conn, self._write_lock)

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


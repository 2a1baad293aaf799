"""Which failures mean "the database cannot be reached right now" (a 503 with Retry-After), as opposed
to everything else (a constraint, a bug: its proper 4xx, or a logged 500).

One classifier for the paths to the database: the raw hot path (db/hotpath.py), the one-statement
account read (accounts/store/reads.py), and, as the last line, the API's exception handlers
(kibo/errors.py) for whatever escapes the store (a pool checkout timing out, a connect refused with a
PostgreSQL error). SQLAlchemy transactions (db/base.py `_begin`) map their failures with it first.
It sits in infra, below both the store and the API, because it only reads driver exceptions: the
API's handlers use it without importing the store.

It is narrow on purpose. Reachable-database errors stay what they are: an integrity violation, a
syntax error, a missing table, an asyncpg misuse ("another operation is in progress") are never
called unreachable. What is: the socket failing (refused, reset, timed out, name not resolved), the
server shutting down or refusing connections (asyncpg's PostgresConnectionError; class 57, operator
intervention: shutdown, cannot connect now, statement cancelled; too many connections), a connection
or pool found closed, SQLAlchemy's pool checkout timing out or a connection it invalidated as a
disconnect, and SQLite being locked past its busy timeout or unable to open or write its file.
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy import exc as sa

from ticketbooth.domain.errors import ServiceUnavailable

UNAVAILABLE_MESSAGE = "Service Unavailable: the database cannot be reached"

CONNECT_TIMEOUT_SECONDS = 5.0
"""How long opening a PostgreSQL connection may take (SQLAlchemy's pool and the hot path's asyncpg
pool) before the request is answered 503: a host that drops packets must not hold requests for
asyncpg's default minute or the TCP timeouts."""
POOL_TIMEOUT_SECONDS = 5.0
"""How long a request waits for a free connection of SQLAlchemy's PostgreSQL pool (its default: 30 s)
before it is answered 503."""

_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database",
                       "disk i/o error", "database or disk is full", "readonly database")
_CLOSED = ("connection is closed", "pool is closed", "pool is closing", "no active connection")
_MAX_DEPTH = 8


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps: SQLAlchemy's `.orig`, the driver's `__cause__`) means the
    database cannot be reached now. The outermost verdict wins: an IntegrityError is never
    unreachable, whatever it wraps."""
    current: BaseException | None = exc
    for _ in range(_MAX_DEPTH):
        if current is None:
            return False
        verdict = _verdict(current)
        if verdict is not None:
            return verdict
        inner = getattr(current, "orig", None)
        current = inner if isinstance(inner, BaseException) and inner is not current else current.__cause__
    return False


def unavailable(cause: BaseException) -> ServiceUnavailable:
    """The ServiceUnavailable to raise for `cause` (kept as its `__cause__` for the logs)."""
    error = ServiceUnavailable(UNAVAILABLE_MESSAGE)
    error.__cause__ = cause
    return error


def _verdict(exc: BaseException) -> bool | None:
    """True or False when `exc` itself decides; None to look at what it wraps."""
    if isinstance(exc, ServiceUnavailable):
        return True
    if isinstance(exc, (sa.IntegrityError, sqlite3.IntegrityError)):
        return False
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.TimeoutError):  # the pool had no connection to give within pool_timeout
        return True
    if isinstance(exc, sa.SQLAlchemyError):
        return None  # decided by the driver error it wraps (.orig / __cause__)
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    if isinstance(exc, OSError):
        # asyncio's connect to several addresses fails with a plain OSError("Multiple exceptions: ...")
        return str(exc).startswith("Multiple exceptions") or None
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    if isinstance(exc, sqlite3.Error):
        return False
    if isinstance(exc, ValueError):  # aiosqlite, on a connection it has closed
        return "no active connection" in str(exc).lower() or None
    if type(exc).__module__.startswith("asyncpg"):
        return _asyncpg_verdict(exc)
    return None


def _asyncpg_verdict(exc: BaseException) -> bool | None:
    import asyncpg

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return False
    if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
                        asyncpg.TooManyConnectionsError)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return any(text in str(exc).lower() for text in _CLOSED)
    if isinstance(exc, asyncpg.PostgresError):
        return False
    return None

"""One account with all its parts in ONE statement, run on the raw driver connection.

`Store.get_account` is on the path of every current-account read and every refresh of a registered
shopper (issue 5). Through SQLAlchemy's async adapter, the account and its four parts cost five
statements plus BEGIN and ROLLBACK, each a hand-off to the driver (on SQLite, to aiosqlite's thread,
about 0.4 ms of CPU apiece). Here the parts come back as JSON arrays from correlated subqueries of the
account's own row, so the whole read is one statement and one hand-off:

- SQLite: `json_group_array(json_object(...))`; PostgreSQL: `json_agg(json_build_object(...) ORDER BY ...)`.
- Outside a transaction the statement runs on the engine's hot path (db/hotpath.py: on SQLite its
  read-only connection on the event loop, on PostgreSQL its asyncpg pool with prepared statements),
  else on a pooled connection's driver: no SQLAlchemy connection, BEGIN or result processing. Inside
  a transaction it runs on the transaction's own connection (`exec_driver_sql`), so it sees that
  transaction's writes.
- Values are decoded by the columns' types in `store.tables`: timestamps to aware UTC datetimes
  (SQLite keeps text; PostgreSQL's JSON gives ISO text with an offset), booleans to bool, JSON
  columns to Python values. The Account is equal to what the SQLAlchemy read (`load_parts`) gives,
  and the statement is built from the table definitions, so a new column cannot be forgotten.
- Order: contacts, notes and segments by id, attributes by FQN, as `load_parts` orders them. On
  PostgreSQL the aggregate orders them (in the database's collation, as `load_parts`); SQLite 3.40
  has no ORDER BY inside an aggregate, so there they are sorted after decoding (Python's string order
  is SQLite's BINARY collation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Column
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from ticketbooth.accounts.store.parts import _account_attribute_of, _contact_of, _note_of, _segment_ref_of
from ticketbooth.db import tables as t
from ticketbooth.db.hotpath import HotPath, ReadFallback
from ticketbooth.db.tables import UtcDateTime
from ticketbooth.domain.models import Account, Profile
from ticketbooth.infra.reachability import database_unreachable, unavailable

PROFILE_FIELDS = tuple(f.name for f in dataclasses.fields(Profile))
ACCOUNT_FIELDS = (
    "id", "tenant_id", "customer_set_id", "user_id", "email", "username", "is_active", "is_locked",
    "has_external_password", "migration_required", "last_2fa_at", "last_login_at", "created_at", "created_by",
    "updated_at", "updated_by", "password_changed_at", "password_change_required", "locked_at",
    "failed_login_count", "first_failed_login_at", "lock_expires_at", "locked_by_admin",
)


def account_of(m: Mapping[str, Any]) -> Account:
    """An Account (without parts) from a row of the account columns, `has_password` and `customer_set_code`."""
    return Account(
        **{name: m[name] for name in ACCOUNT_FIELDS},
        profile=Profile(**{name: m[name] for name in PROFILE_FIELDS}),
        customer_set_code=m["customer_set_code"], has_password=bool(m["has_password"]),
        customer_since=m["created_at"],
    )


# -- decoding by column type -------------------------------------------------------------------------

def utc(value: Any) -> datetime | None:
    """A stored timestamp (a datetime, SQLite's text, or ISO text from JSON) as an aware UTC datetime,
    as `tables.UtcDateTime` reads it."""
    if value is None:
        return None
    parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _json(value: Any) -> Any:
    """A JSON column read straight from the driver: text on SQLite; on PostgreSQL decoded already by
    the codec SQLAlchemy installs on its connections (text if a connection has none)."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


Decoder = Callable[[Any], Any] | None


def _decoder(column: Column[Any], *, in_json: bool) -> Decoder:
    """How a value of `column` comes back: at the top of the row (`in_json` False) or inside a JSON
    aggregate (where JSON columns are nested JSON already)."""
    if isinstance(column.type, UtcDateTime):
        return utc
    if isinstance(column.type, Boolean):
        return _boolean
    if isinstance(column.type, JSON):
        return None if in_json else _json
    return None


# -- the statement -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Part:
    """One kind of part: its fields (JSON key, SQL expression, column for the type), where its rows
    come from, their order, and how a decoded mapping becomes a domain object."""

    name: str
    fields: tuple[tuple[str, str, Column[Any]], ...]
    source: str
    where: str
    order: str
    sort_key: Callable[[Mapping[str, Any]], Any]
    build: Callable[[Mapping[str, Any]], Any]


def _fields(alias: str, table: Any) -> tuple[tuple[str, str, Column[Any]], ...]:
    return tuple((c.name, f"{alias}.{c.name}", c) for c in table.c)


def _fqn(m: Mapping[str, Any]) -> str:
    return str(m["fqn"])


def _id(m: Mapping[str, Any]) -> int:
    return int(m["id"])


_PARTS = (
    _Part("contacts", _fields("p", t.contacts), "contacts AS p", "p.account_id = a.id", "p.id", _id, _contact_of),
    _Part("notes", _fields("p", t.notes), "notes AS p", "p.account_id = a.id", "p.id", _id, _note_of),
    _Part("attributes",
          (*_fields("p", t.account_attributes), ("definition", "d.definition", t.attribute_definitions.c.definition),
           ("fqn", "d.fqn", t.attribute_definitions.c.fqn)),
          "account_attributes AS p JOIN attribute_definitions AS d ON d.id = p.definition_id",
          "p.account_id = a.id", "d.fqn", _fqn, _account_attribute_of),
    _Part("segments", _fields("p", t.segments), "segment_accounts AS m JOIN segments AS p ON p.id = m.segment_id",
          "m.account_id = a.id", "p.id", _id, _segment_ref_of),
)
_ACCOUNT_COLUMNS: tuple[Column[Any], ...] = tuple(t.accounts.c[name] for name in (*ACCOUNT_FIELDS, *PROFILE_FIELDS))


class AccountRead:
    """The one-statement read of an account and its parts for one dialect ("sqlite" or "postgresql")."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        sqlite = dialect == "sqlite"
        self._sort_parts = sqlite

        def part_sql(part: _Part) -> str:
            pairs = ", ".join(
                f"'{key}', {f'json({expr})' if sqlite and isinstance(col.type, JSON) else expr}"
                for key, expr, col in part.fields)
            if sqlite:
                agg = f"json_group_array(json_object({pairs}))"
            else:
                agg = f"json_agg(json_build_object({pairs}) ORDER BY {part.order})"
            return f"(SELECT {agg} FROM {part.source} WHERE {part.where}) AS {part.name}"  # noqa: S608

        # Built once from the table definitions only: no value is ever spliced in (S608 is a false alarm).
        columns = ", ".join(f"a.{c.name}" for c in _ACCOUNT_COLUMNS)
        parts = ", ".join(part_sql(p) for p in _PARTS)
        mark = "?" if sqlite else "$1"
        self.sql = (
            f"SELECT {columns}, a.password_hash IS NOT NULL AS has_password, cs.code AS customer_set_code, "  # noqa: S608
            f"{parts} FROM accounts AS a JOIN customer_sets AS cs ON cs.id = a.customer_set_id WHERE a.id = {mark}"
        )
        self._row_names = [c.name for c in _ACCOUNT_COLUMNS] + ["has_password", "customer_set_code"]
        self._row_decoders = [_decoder(c, in_json=False) for c in _ACCOUNT_COLUMNS] + [_boolean, None]
        self._part_decoders = [[(key, _decoder(col, in_json=True)) for key, _, col in p.fields] for p in _PARTS]

    def account(self, row: Sequence[Any]) -> Account:
        """The Account from one row of `sql`."""
        n = len(self._row_names)
        m = {name: (dec(v) if dec is not None and v is not None else v)
             for name, dec, v in zip(self._row_names, self._row_decoders, row[:n], strict=True)}
        account = account_of(m)
        contacts, notes, attributes, segments = (
            self._part(part, decoders, raw) for part, decoders, raw in zip(_PARTS, self._part_decoders, row[n:], strict=True))
        account.contacts, account.notes, account.attributes, account.segments = contacts, notes, attributes, segments
        return account

    def _part(self, part: _Part, decoders: list[tuple[str, Decoder]], raw: Any) -> list[Any]:
        items = _json(raw) if raw is not None else None  # PostgreSQL: NULL when there are none
        if not items:
            return []
        decoded = [{key: (dec(item[key]) if dec is not None and item[key] is not None else item[key])
                    for key, dec in decoders} for item in items]
        if self._sort_parts:
            decoded.sort(key=part.sort_key)
        return [part.build(m) for m in decoded]


@cache
def account_read(dialect: str) -> AccountRead:
    return AccountRead(dialect)


# -- running it ----------------------------------------------------------------------------------------

async def read_account(engine: AsyncEngine, conn: AsyncConnection | None, hot: HotPath | None,
                       account_id: int) -> Account | None:
    """The account `account_id` with its parts (see `fetch`)."""
    read = account_read(engine.dialect.name)
    rows = await fetch(engine, conn, hot, read.sql, (account_id,))
    return read.account(rows[0]) if rows else None


_SHOPPER_ENTERED = {
    "sqlite": "SELECT p.definition_id FROM account_attributes AS p JOIN attribute_definitions AS d "
              "ON d.id = p.definition_id WHERE p.account_id = ? AND json_extract(d.definition, '$.value_type') = ?",
    "postgresql": "SELECT p.definition_id FROM account_attributes AS p JOIN attribute_definitions AS d "
                  "ON d.id = p.definition_id WHERE p.account_id = $1 AND d.definition ->> 'value_type' = $2",
}


async def attribute_ids_of_type(engine: AsyncEngine, conn: AsyncConnection | None, hot: HotPath | None,
                                account_id: int, value_type: str) -> set[int]:
    """The definition ids of the account's attribute values whose definition has `value_type`."""
    rows = await fetch(engine, conn, hot, _SHOPPER_ENTERED[engine.dialect.name], (account_id, value_type))
    return {int(row[0]) for row in rows}


async def fetch(engine: AsyncEngine, conn: AsyncConnection | None, hot: HotPath | None, sql: str,
                params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The rows of `sql` (in the driver's paramstyle, values as the driver gives them): on `conn` (a
    transaction's connection) when given, else on the store's hot path `hot` (db/hotpath.py: SQLite's
    read-only connection on the event loop, PostgreSQL's asyncpg pool), else on the driver of a
    pooled connection."""
    if conn is not None:
        return [tuple(row) for row in await conn.exec_driver_sql(sql, params)]
    if hot is not None:
        try:
            return await hot.rows(sql, params)
        except ReadFallback:
            pass  # SQLite busy (rare in WAL mode: recovery): a pooled connection waits its turn instead
    return await _fetch_rows(engine, sql, params)


async def _fetch_rows(engine: AsyncEngine, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The rows of `sql` on the driver of a pooled connection. A connection that fails is
    discarded, not returned to the pool; failures to reach the database are ServiceUnavailable."""
    try:
        pooled = await engine.raw_connection()
    except Exception as exc:
        if database_unreachable(exc):
            raise unavailable(exc) from exc
        raise
    failed: BaseException | None = None
    try:
        driver: Any = pooled.driver_connection
        if engine.dialect.name == "sqlite":
            return [tuple(row) for row in await driver.execute_fetchall(sql, params)]
        return [tuple(record) for record in await driver.fetch(sql, *params)]
    except BaseException as exc:
        failed = exc
        if database_unreachable(exc):
            raise unavailable(exc) from exc
        raise
    finally:
        if failed is not None:
            await greenlet_spawn(pooled.invalidate, failed)
        await greenlet_spawn(pooled.close)

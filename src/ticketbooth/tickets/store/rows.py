"""Ticket and family rows on the raw drivers: the columns the hot paths and the rotation write and
read, in one order, and their values turned to and from what the driver takes, through the columns'
own SQLAlchemy type processors (so a row is stored and read exactly as the SQLAlchemy path stores and
reads it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.engine import Dialect

from ticketbooth.db import tables as t
from ticketbooth.domain.models import TicketRecord, TokenFamily

FAMILY_COLUMNS: list[Column[Any]] = [c for c in t.token_families.c if c.name != "revoke_reason"]
"""The family columns a TokenFamily has (revoke_reason is read on its own)."""
TICKET_COLUMNS: list[Column[Any]] = list(t.tickets.c)


class Codec:
    """Turns domain records into driver values and rows back into records, with the columns' own
    SQLAlchemy type processors for `dialect` (compiled once)."""

    def __init__(self, dialect: Dialect) -> None:
        def binds(cols: Sequence[Column[Any]]) -> list[tuple[str, Callable[[Any], Any] | None]]:
            return [(c.name, c.type.bind_processor(dialect)) for c in cols]

        def results(cols: Sequence[Column[Any]]) -> list[Callable[[Any], Any] | None]:
            return [c.type.result_processor(dialect, None) for c in cols]

        self.family_binds, self.ticket_binds = binds(FAMILY_COLUMNS), binds(TICKET_COLUMNS)
        self.time_bind = t.tickets.c.used_at.type.bind_processor(dialect)
        self._results = results(TICKET_COLUMNS) + results(FAMILY_COLUMNS)
        self._ticket_names = [c.name for c in TICKET_COLUMNS]
        self._family_names = [c.name for c in FAMILY_COLUMNS]

    @staticmethod
    def _values(obj: Any, binds: list[tuple[str, Callable[[Any], Any] | None]]) -> list[Any]:
        out = []
        for name, proc in binds:
            value = getattr(obj, name)
            out.append(proc(value) if proc is not None else value)
        return out

    def family(self, family: TokenFamily) -> list[Any]:
        return self._values(family, self.family_binds)

    def ticket(self, ticket: TicketRecord) -> list[Any]:
        return self._values(ticket, self.ticket_binds)

    def time(self, value: datetime | None) -> Any:
        return self.time_bind(value) if self.time_bind is not None else value

    def row(self, row: Sequence[Any]) -> tuple[TicketRecord, TokenFamily]:
        values = [proc(v) if proc is not None else v for proc, v in zip(self._results, row, strict=True)]
        n = len(self._ticket_names)
        ticket = TicketRecord(**dict(zip(self._ticket_names, values[:n], strict=True)))
        family = TokenFamily(**dict(zip(self._family_names, values[n:], strict=True)))
        return ticket, family


def select_sql(column: str, placeholder: str) -> str:
    names = ", ".join([f"k.{c.name}" for c in TICKET_COLUMNS] + [f"f.{c.name}" for c in FAMILY_COLUMNS])
    joined = "tickets AS k JOIN token_families AS f ON k.family_id = f.id"
    return f"SELECT {names} FROM {joined} WHERE k.{column} = {placeholder}"  # noqa: S608


def names(cols: Sequence[Column[Any]]) -> str:
    return ", ".join(c.name for c in cols)


def pg_typed(cols: Sequence[Column[Any]], first: int, array: bool, dialect: Dialect) -> list[str]:
    """PostgreSQL parameters `$first`, ... cast to the columns' types (arrays of them when `array`): a
    SELECT list or unnest() gives PostgreSQL no column to infer a parameter's type from."""
    return [f"${first + i}::{c.type.compile(dialect=dialect)}{'[]' if array else ''}" for i, c in enumerate(cols)]

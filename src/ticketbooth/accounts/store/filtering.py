"""Lists in SQL: Kibo's filter, sortBy and free-text words (parsed by `domain.filters`) compiled for
any list, and one page of a list with the number of rows that match in all. Values are bound
parameters, never SQL text.

A list names the fields it may be filtered and sorted by (`FilterField.name`, the domain's names)
and how each is stored (`ListField`). The comparison rules are the same for every list:

- text compares case-insensitively: through `lower()` on both sides (on SQLite, and on a PostgreSQL
  database with the C locale, `lower()` folds ASCII letters only), or through a stored case-folded
  copy of the value (`Folded`, e.g. an account's login keys), the same on both databases;
- `sw` and `cont` match a prefix or a part of the text, LIKE wildcards in the value taken literally;
- `ne` counts a missing value as different (SQL alone would leave those rows out);
- integers are bound as BIGINT, so a number past an INTEGER column's range is simply unequal;
- missing values sort first when ascending and last when descending, on both databases.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Select, Table, and_, false, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ticketbooth.domain.filters import Comparison, FieldType, Junction, ListQuery, Node, SortKey


@dataclass(frozen=True, slots=True)
class Folded:
    """Text compared through a stored case-folded copy instead of `lower()`."""

    column: ColumnElement[Any]
    whole: Callable[[str], str]
    """A whole value in the stored form (eq, ne, gt, ge, lt, le, in)."""
    fragment: Callable[[str], str]
    """A prefix or part of a value in the stored form (sw, cont): not trimmed, a fragment may end
    with a space."""


@dataclass(frozen=True, slots=True)
class ListField:
    """How a list stores one field: its column (null tests; comparisons of all but text), and for
    text a case-folded copy to compare with, when it has one."""

    column: ColumnElement[Any]
    folded: Folded | None = None


FieldMap = Mapping[str, ListField]
"""The fields a list may be filtered, sorted and searched by (`FilterField.name`) -> how they are stored."""


def columns(table: Table, *names: str) -> dict[str, ListField]:
    """Fields stored as the columns of `table` of the same names."""
    return {name: ListField(table.c[name]) for name in names}


def _field(fields: FieldMap, name: str) -> ListField:
    field = fields.get(name)
    if field is None:  # the api offers only fields the list has
        raise ValueError(f"not a field of this list: {name}")
    return field


_RELATIONS: Mapping[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}


def _compared(field: ListField, kind: FieldType) -> ColumnElement[Any]:
    """The expression a value is compared with (and sorted by)."""
    if kind is not FieldType.TEXT:
        return field.column
    return field.folded.column if field.folded is not None else func.lower(field.column)


def _operand(field: ListField, kind: FieldType, value: Any, op: str) -> Any:
    if kind is FieldType.INTEGER:
        return literal(value, BigInteger())
    if kind is not FieldType.TEXT:
        return value
    if field.folded is None:
        return value.lower()
    return field.folded.fragment(value) if op in ("sw", "cont") else field.folded.whole(value)


def _comparison(c: Comparison, fields: FieldMap) -> ColumnElement[bool]:
    field = _field(fields, c.field)
    compared = _compared(field, c.type)
    if c.op == "in":
        assert isinstance(c.value, tuple) and c.value
        return compared.in_([_operand(field, c.type, v, "in") for v in c.value])
    value = c.value
    assert not isinstance(value, tuple)
    if value is None:
        return field.column.is_(None) if c.op == "eq" else field.column.is_not(None)
    operand = _operand(field, c.type, value, c.op)
    if c.op == "sw":
        return compared.startswith(operand, autoescape=True)
    if c.op == "cont":
        return compared.contains(operand, autoescape=True)
    relation = _RELATIONS.get(c.op)
    if relation is None:
        raise ValueError(f"unknown filter operator {c.op}")
    result = cast(ColumnElement[bool], relation(compared, operand))
    if c.op == "ne" and getattr(field.column, "nullable", True):
        return or_(field.column.is_(None), result)
    return result


def condition(node: Node, fields: FieldMap) -> ColumnElement[bool]:
    """The filter `node` over `fields` as a SQL condition."""
    if isinstance(node, Comparison):
        return _comparison(node, fields)
    terms = [condition(term, fields) for term in node.terms]
    if not terms:
        return true() if node.op == "and" else false()
    return and_(*terms) if node.op == "and" else or_(*terms)


def word_conditions(words: Iterable[str], fields: FieldMap, searched: Sequence[str]) -> list[ColumnElement[bool]]:
    """One condition per free-text word: the word is part of one of the `searched` text fields."""
    if not searched:
        raise ValueError("this list has no free-text search")
    return [condition(Junction("or", tuple(Comparison(name, FieldType.TEXT, "cont", word) for name in searched)), fields)
            for word in words]


def order(key: SortKey, fields: FieldMap) -> Any:
    compared = _compared(_field(fields, key.field), key.type)
    return compared.desc().nulls_last() if key.descending else compared.asc().nulls_first()


async def page(conn: AsyncConnection, stmt: Select[Any], fields: FieldMap, query: ListQuery,
               tiebreak: ColumnElement[Any], searched: Sequence[str] = ()) -> tuple[list[Any], int]:
    """The rows of `stmt` on the page `query` asks for (its filter, its words in the `searched`
    fields, its sort, then `tiebreak` ascending), and how many rows match in all (at most
    `query.count_limit` when set)."""
    if query.where is not None:
        stmt = stmt.where(condition(query.where, fields))
    if query.words:
        stmt = stmt.where(*word_conditions(query.words, fields, searched))
    counted = stmt if query.count_limit is None else stmt.limit(query.count_limit)
    total = int((await conn.execute(select(func.count()).select_from(counted.subquery()))).scalar_one())
    ordered = stmt.order_by(*(order(key, fields) for key in query.sort), tiebreak.asc())
    rows = (await conn.execute(ordered.offset(query.offset).limit(query.limit))).all()
    return list(rows), total

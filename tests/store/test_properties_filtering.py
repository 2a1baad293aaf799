"""Filters as SQL (accounts/store/filtering.py), on SQLite and PostgreSQL: for generated filter trees whose
values are drawn from hostile text (quotes, backslashes, LIKE wildcards, SQL fragments), the rows
the database selects are the rows a plain Python evaluation of the documented rules selects. A
value spliced into the SQL text instead of bound would break the statement or change the rows.

Text is compared on ASCII here: SQLite's lower() folds ASCII only, and the text ordering of a
PostgreSQL database follows its collation, so `gt`/`lt` on text are left to the example tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Boolean, Column, MetaData, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.hypothesis_profiles import examples
from ticketbooth.accounts.store.filtering import columns, condition
from ticketbooth.db.database import create_engine
from ticketbooth.domain.filters import INT_MAX, INT_MIN, Comparison, FieldType, Junction, Node

HOSTILE = ["O'Brien", "50%", "a_b", "back\\slash", "'; drop table rows; --", "x' or '1'='1", "%", "_", "\\", "",
           " padded ", "MiXeD", "mixed", "new\nline", "tab\there", "é is not ascii"]
ASCII_TEXT = st.sampled_from(HOSTILE) | st.text(st.sampled_from("aAbB%_'\\ -;"), max_size=6)
INTEGERS = st.sampled_from([INT_MIN, -1, 0, 1, 7, INT_MAX]) | st.integers(INT_MIN, INT_MAX)


@pytest.fixture
async def scratch(database_url: str) -> AsyncIterator[tuple[AsyncEngine, Table, list[dict[str, Any]]]]:
    """A table of its own holding every hostile value, NULLs, and integer and boolean extremes."""
    table = Table(f"prop_filter_{secrets.token_hex(4)}", MetaData(), Column("id", BigInteger, primary_key=True),
                  Column("name", Text), Column("n", BigInteger), Column("flag", Boolean))
    rows: list[dict[str, Any]] = [
        {"id": i + 1, "name": name if i % 7 else None, "n": [INT_MIN, -1, 0, 1, 7, INT_MAX, None][i % 7],
         "flag": [True, False, None][i % 3]}
        for i, name in enumerate([*HOSTILE, *(h.upper() for h in HOSTILE if h.isascii())])
    ]
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
        await conn.execute(insert(table), rows)
    try:
        yield engine, table, rows
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.drop)
        await engine.dispose()


FIELD_TYPES = {"name": FieldType.TEXT, "n": FieldType.INTEGER, "flag": FieldType.BOOLEAN}
VALUES = {FieldType.TEXT: ASCII_TEXT, FieldType.INTEGER: INTEGERS, FieldType.BOOLEAN: st.booleans()}
OPERATORS = {FieldType.TEXT: ["eq", "ne", "sw", "cont", "in"], FieldType.INTEGER: ["eq", "ne", "gt", "ge", "lt", "le", "in"],
             FieldType.BOOLEAN: ["eq", "ne", "in"]}


@st.composite
def comparison(draw: st.DrawFn) -> Comparison:
    name = draw(st.sampled_from(sorted(FIELD_TYPES)))
    kind = FIELD_TYPES[name]
    op = draw(st.sampled_from(OPERATORS[kind]))
    if op == "in":
        return Comparison(name, kind, "in", tuple(draw(st.lists(VALUES[kind], min_size=1, max_size=4))))
    value = None if op in ("eq", "ne") and draw(st.integers(0, 5)) == 0 else draw(VALUES[kind])
    return Comparison(name, kind, op, value)  # type: ignore[arg-type]


NODES: st.SearchStrategy[Node] = st.recursive(
    comparison(), lambda inner: st.builds(Junction, st.sampled_from(["and", "or"]), st.lists(inner, min_size=1,
                                                                                             max_size=3).map(tuple)),
    max_leaves=6,
)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def matches(node: Node, row: dict[str, Any]) -> bool:
    """The documented rules, in Python: text case-insensitive, LIKE wildcards literal, `ne` true for a missing value."""
    if isinstance(node, Junction):
        results = [matches(term, row) for term in node.terms]
        return all(results) if node.op == "and" else any(results)
    have, want = _norm(row[node.field]), node.value
    if want is None:
        return (have is None) == (node.op == "eq")
    if node.op == "ne":
        return have is None or have != _norm(want)
    if have is None:
        return False
    if node.op == "in":
        assert isinstance(want, tuple)
        return have in {_norm(v) for v in want}
    want = _norm(want)
    return {"eq": have == want, "sw": str(have).startswith(str(want)), "cont": str(want) in str(have),
            "gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[node.op]


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(node=NODES)
@example(node=Comparison("name", FieldType.TEXT, "cont", "%"))
@example(node=Comparison("name", FieldType.TEXT, "sw", "\\"))
@example(node=Comparison("name", FieldType.TEXT, "eq", "x' or '1'='1"))
@example(node=Comparison("n", FieldType.INTEGER, "ge", INT_MAX))
@example(node=Comparison("flag", FieldType.BOOLEAN, "ne", True))
async def test_the_database_selects_the_rows_the_rules_select(
        scratch: tuple[AsyncEngine, Table, list[dict[str, Any]]], node: Node) -> None:
    engine, table, rows = scratch
    fields = columns(table, "name", "n", "flag")
    async with engine.connect() as conn:
        found = set((await conn.execute(select(table.c.id).where(condition(node, fields)))).scalars())
    assert found == {row["id"] for row in rows if matches(node, row)}, node

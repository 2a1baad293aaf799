"""Properties of Kibo's filter, sortBy and q syntax (domain/filters.py): a rendered filter tree
parses back to that tree (quotes, backslashes and any Unicode in values survive); any other text
is a tree or a 400 naming the parameter, never another error. That the trees become SQL with bound
values only, and select the rows a reference evaluation selects, is tests/store/test_properties_filtering.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.unit.properties_support import answer_or_400
from tests.unit.test_filters import FIELDS
from ticketbooth.domain.filters import (
    INT_MAX,
    INT_MIN,
    MAX_IN_VALUES,
    Comparison,
    FieldType,
    Junction,
    Node,
    parse_filter,
    parse_sort,
    parse_words,
)

# any character a value may hold: all but control characters (tab and line breaks allowed) and surrogates
VALUE_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r'\\"), max_size=12)
DATES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    FieldType.TEXT: VALUE_TEXT, FieldType.INTEGER: st.integers(INT_MIN, INT_MAX), FieldType.BOOLEAN: st.booleans(),
    FieldType.DATE: DATES,
}
OPERATORS: dict[FieldType, list[str]] = {
    FieldType.TEXT: ["eq", "ne", "gt", "ge", "lt", "le", "sw", "cont", "in"],
    FieldType.INTEGER: ["eq", "ne", "gt", "ge", "lt", "le", "in"], FieldType.DATE: ["eq", "ne", "gt", "ge", "lt", "le", "in"],
    FieldType.BOOLEAN: ["eq", "ne", "in"],
}


@st.composite
def comparisons(draw: st.DrawFn, fields: dict[str, Any] = FIELDS) -> tuple[Comparison, str]:
    """A comparison and one way of writing it."""
    name = draw(st.sampled_from(sorted(fields)))
    field = fields[name]
    op = draw(st.sampled_from(OPERATORS[field.type]))
    shown_op = draw(st.sampled_from([op, op.upper()]))
    if op == "in":
        values = draw(st.lists(VALUES[field.type], min_size=1, max_size=4))
        text = f"{name} {shown_op} [{', '.join(render_value(v) for v in values)}]"
        return Comparison(field.name, field.type, "in", tuple(values)), text
    value = None if op in ("eq", "ne") and draw(st.integers(0, 9)) == 0 else draw(VALUES[field.type])
    return Comparison(field.name, field.type, op, value), f"{name} {shown_op} {render_value(value)}"  # type: ignore[arg-type]


def render_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> tuple[Node, str]:
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return draw(comparisons())
    op = draw(st.sampled_from(["and", "or"]))
    parts = [draw(trees(depth + 1)) for _ in range(draw(st.integers(2, 3)))]
    text = f" {draw(st.sampled_from([op, op.upper()]))} ".join(f"({t})" for _, t in parts)
    return Junction(op, tuple(n for n, _ in parts)), text  # type: ignore[arg-type]


def flattened(node: Node) -> Node:
    """The tree as the parser builds it: a junction's terms of the same operator merged into it."""
    if isinstance(node, Comparison):
        return node
    terms: list[Node] = []
    for term in map(flattened, node.terms):
        terms.extend(term.terms if isinstance(term, Junction) and term.op == node.op else [term])
    return Junction(node.op, tuple(terms))


@given(trees())
@example((Comparison("first_name", FieldType.TEXT, "eq", "O'Brien \\ '' \\'"), "firstName eq 'O''Brien \\\\ '''' \\\\'''"))
def test_a_rendered_filter_parses_back_to_its_tree(case: tuple[Node, str]) -> None:
    node, text = case
    assert parse_filter(text, FIELDS) == flattened(node)


TOKENS = st.sampled_from([
    *FIELDS, "eq", "ne", "gt", "sw", "cont", "in", "and", "or", "AND", "null", "true", "1", "-5", "2026-11-27",
    "'x'", "'it''s'", "'\\'", "'", "(", ")", "[", "]", ",", " ", "9" * 30, "1.5", "\u00e9", "\x00", "\ud800",
])


@given(st.text(max_size=300) | st.lists(TOKENS, max_size=40).map(" ".join) | st.lists(TOKENS, max_size=60).map("".join))
@example("(" * 17 + "id eq 1" + ")" * 17)
@example(" or ".join(["id eq 1"] * 101))
@example("id in [" + ",".join(["1"] * (MAX_IN_VALUES + 1)) + "]")
@example("id eq " + "9" * 1990)
@example("firstName eq '" + "\\" * 1990)
def test_any_text_is_a_filter_or_a_400(text: str) -> None:
    node = answer_or_400("filter", parse_filter, text, FIELDS)
    assert node is None or isinstance(node, Comparison | Junction)


@given(st.text(max_size=120) | st.lists(st.sampled_from([*FIELDS, "asc", "DESC", ",", " ", "x"]), max_size=30).map("".join))
def test_any_sort_is_keys_or_a_400(text: str) -> None:
    keys = answer_or_400("sortBy", parse_sort, text, FIELDS) or ()
    assert all(key.field in {f.name for f in FIELDS.values()} for key in keys)


@given(st.text(max_size=250))
def test_any_search_is_words_or_a_400(text: str) -> None:
    words = answer_or_400("q", parse_words, text)
    assert words is None or list(words) == text.split()

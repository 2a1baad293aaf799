"""Properties of `responseFields` (kibo/response_fields.py): the selection a rendered selection parses
to is that selection, whatever the spacing and case; any other text is a selection or a 400, never
another error (no depth of nesting reaches Python's recursion limit); applying a selection keeps a
part of the value, and applying it twice changes nothing more; a comma list selects the union of
what its items select."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.unit.properties_support import answer_or_400
from ticketbooth.kibo.response_fields import MAX_DEPTH, MAX_LENGTH, Selection, apply, parse

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$-"
NAME = st.text(NAME_CHARS, min_size=1, max_size=8)
# a small vocabulary, so selections and values share names
WORD = st.sampled_from(["id", "userId", "accessToken", "customerAccount", "contacts", "email", "items", "a", "B"])

SELECTIONS: st.SearchStrategy[Selection] = st.recursive(
    st.dictionaries(WORD.map(str.lower), st.none(), min_size=1, max_size=4),
    lambda inner: st.dictionaries(WORD.map(str.lower), st.none() | inner, min_size=1, max_size=4),
    max_leaves=12,
)
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAVES | st.dictionaries(WORD, JSON_LEAVES, max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORD, inner, max_size=5),
    max_leaves=25,
)


def render(selection: Selection, draw_space: st.DrawFn | None = None) -> str:
    parts = []
    for name, child in selection.items():
        gap = draw_space(st.sampled_from(["", " ", "  "])) if draw_space else ""
        shown = draw_space(st.sampled_from([name, name.upper(), name.title()])) if draw_space else name
        parts.append(f"{gap}{shown}{gap}" if child is None else f"{gap}{shown}({render(child, draw_space)}){gap}")
    return ",".join(parts)


@st.composite
def rendered(draw: st.DrawFn) -> tuple[Selection, str]:
    selection = draw(SELECTIONS)
    return selection, render(selection, draw)


def depth(selection: Selection | None) -> int:
    return 0 if not selection else 1 + max(depth(child) for child in selection.values())


@given(rendered())
def test_a_rendered_selection_parses_back_to_itself(case: tuple[Selection, str]) -> None:
    selection, text = case
    if depth(selection) > MAX_DEPTH + 1:
        return
    assert parse(text) == selection


@given(st.text(max_size=200) | st.text("(),abc ", max_size=200))
@example("a(" * 2000)
@example("a(" * 40 + ")" * 40)
@example("(" * 5000)
@example("x" * (MAX_LENGTH + 1))
@example("a,,b,(")
@example("a(b))")
@example("\x00")
def test_any_text_is_a_selection_or_a_400(text: str) -> None:
    selection = answer_or_400("responseFields", parse, text)
    assert selection is None or (isinstance(selection, dict) and depth(selection) <= MAX_DEPTH + 1)


@given(VALUES, SELECTIONS)
def test_applying_keeps_a_part_and_is_idempotent(value: Any, selection: Selection) -> None:
    kept = apply(value, selection)
    assert apply(kept, selection) == kept
    assert is_part(kept, value)
    assert apply(value, None) is value


def is_part(kept: Any, value: Any) -> bool:
    """`kept` is `value` with some object keys (at any depth) left out."""
    if isinstance(value, dict):
        return isinstance(kept, dict) and all(k in value and is_part(v, value[k]) for k, v in kept.items())
    if isinstance(value, list):
        return isinstance(kept, list) and len(kept) == len(value) and all(map(is_part, kept, value))
    return bool(kept == value)


@given(VALUES, SELECTIONS, SELECTIONS)
@example({"a": {"id": 1, "email": 2}}, {"a": {"id": None}}, {"a": {"email": None}})
@example({"a": {"b": {"id": 1, "email": 2}}}, {"a": {"b": {"id": None}}}, {"a": {"b": {"email": None}}})
def test_a_comma_list_selects_the_union_of_its_items(value: Any, first: Selection, second: Selection) -> None:
    both = parse(f"{render(first)},{render(second)}")
    assert apply(value, both) == union(apply(value, first), apply(value, second))


def union(a: Any, b: Any) -> Any:
    """Two parts of one value put together."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: union(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return [union(x, y) for x, y in zip(a, b, strict=True)]
    return a


@given(VALUES, SELECTIONS)
def test_names_compare_case_insensitively(value: Any, selection: Selection) -> None:
    upper = parse(render(selection).upper())
    assert apply(value, upper) == apply(value, selection)

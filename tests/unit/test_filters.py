"""Kibo's filter, sortBy and q syntax (domain/filters.py): what parses into which tree, and that every
malformed, oversized or hostile input is a 400 naming the parameter, quickly."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.filters import (
    MAX_COMPARISONS,
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_IN_VALUES,
    Comparison,
    FieldType,
    FilterField,
    Junction,
    Node,
    SortKey,
    parse_date,
    parse_filter,
    parse_sort,
    parse_words,
)

FIELDS = {name.lower(): field for name, field in {
    "id": FilterField("id", FieldType.INTEGER),
    "firstName": FilterField("first_name", FieldType.TEXT),
    "lastName": FilterField("last_name", FieldType.TEXT),
    "emailAddress": FilterField("email", FieldType.TEXT),
    "isActive": FilterField("is_active", FieldType.BOOLEAN),
    "auditInfo.createDate": FilterField("created_at", FieldType.DATE),
}.items()}
TXT, INT, BOOL, DATE = FieldType.TEXT, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.DATE


def parse(raw: str) -> Node | None:
    return parse_filter(raw, FIELDS)


def refused(raw: str, parameter: str = "filter") -> InvalidParameter:
    with pytest.raises(InvalidParameter) as info:
        parse_filter(raw, FIELDS)
    assert info.value.name == parameter
    assert info.value.message.startswith(f"Missing or invalid parameter: {parameter} ")
    return info.value


# -- what parses -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("id eq 5", Comparison("id", INT, "eq", 5)),
    ("ID EQ 5", Comparison("id", INT, "eq", 5)),
    ("id ne -3", Comparison("id", INT, "ne", -3)),
    ("id gt '7'", Comparison("id", INT, "gt", 7)),
    ("id ge 1", Comparison("id", INT, "ge", 1)),
    ("id lt 9223372036854775807", Comparison("id", INT, "lt", 2**63 - 1)),
    ("id le 0", Comparison("id", INT, "le", 0)),
    ("firstName eq 'Nina'", Comparison("first_name", TXT, "eq", "Nina")),
    ("firstname eq Nina", Comparison("first_name", TXT, "eq", "Nina")),  # Kibo accepts bare words
    ("firstName eq 123", Comparison("first_name", TXT, "eq", "123")),  # a number is text on a text field
    ("firstName eq true", Comparison("first_name", TXT, "eq", "true")),
    ("firstName eq 'null'", Comparison("first_name", TXT, "eq", "null")),
    ("firstName eq null", Comparison("first_name", TXT, "eq", None)),
    ("firstName ne NULL", Comparison("first_name", TXT, "ne", None)),
    ("firstName sw 'Ni'", Comparison("first_name", TXT, "sw", "Ni")),
    ("firstName cont 'in'", Comparison("first_name", TXT, "cont", "in")),
    ("firstName eq ''", Comparison("first_name", TXT, "eq", "")),
    ("lastName eq 'O''Brien'", Comparison("last_name", TXT, "eq", "O'Brien")),
    ("lastName eq 'O\\'Brien'", Comparison("last_name", TXT, "eq", "O'Brien")),
    ("lastName eq 'back\\\\slash'", Comparison("last_name", TXT, "eq", "back\\slash")),
    ("lastName eq 'keeps \\n as is'", Comparison("last_name", TXT, "eq", "keeps \\n as is")),
    ("lastName eq 'a and b or (c)'", Comparison("last_name", TXT, "eq", "a and b or (c)")),
    ("lastName eq '100%_off'", Comparison("last_name", TXT, "eq", "100%_off")),
    ("lastName eq 'Zoë 🎉'", Comparison("last_name", TXT, "eq", "Zoë 🎉")),
    ("isActive eq true", Comparison("is_active", BOOL, "eq", True)),
    ("isActive eq FALSE", Comparison("is_active", BOOL, "eq", False)),
    ("isActive ne 'true'", Comparison("is_active", BOOL, "ne", True)),
    ("auditInfo.createDate gt 2026-11-27", Comparison("created_at", DATE, "gt", datetime(2026, 11, 27, tzinfo=UTC))),
    ("auditinfo.createdate lt 2015-01-01T12:00:00z",
     Comparison("created_at", DATE, "lt", datetime(2015, 1, 1, 12, tzinfo=UTC))),
    ("auditInfo.createDate ge '2026-11-27T13:30:00.250+01:00'",
     Comparison("created_at", DATE, "ge", datetime(2026, 11, 27, 12, 30, 0, 250000, tzinfo=UTC))),
    ("id in [1,2, 3]", Comparison("id", INT, "in", (1, 2, 3))),
    ("id IN [ 4 ]", Comparison("id", INT, "in", (4,))),
    ("lastName in ['a', b,'c,d']", Comparison("last_name", TXT, "in", ("a", "b", "c,d"))),
    ("  id   eq\t5  ", Comparison("id", INT, "eq", 5)),
    ("(id eq 5)", Comparison("id", INT, "eq", 5)),
    ("((((id eq 5))))", Comparison("id", INT, "eq", 5)),
])
def test_single_comparisons(raw: str, expected: Node) -> None:
    assert parse(raw) == expected


def test_empty_filter_is_none() -> None:
    assert parse_filter(None, FIELDS) is None
    assert parse_filter("", FIELDS) is None
    assert parse_filter("   ", FIELDS) is None


A = Comparison("id", INT, "eq", 1)
B2 = Comparison("id", INT, "eq", 2)
C = Comparison("id", INT, "eq", 3)


@pytest.mark.parametrize(("raw", "expected"), [
    ("id eq 1 and id eq 2", Junction("and", (A, B2))),
    ("id eq 1 AND id eq 2 And id eq 3", Junction("and", (A, B2, C))),
    ("id eq 1 or id eq 2 or id eq 3", Junction("or", (A, B2, C))),
    # and binds tighter than or, on either side
    ("id eq 1 or id eq 2 and id eq 3", Junction("or", (A, Junction("and", (B2, C))))),
    ("id eq 1 and id eq 2 or id eq 3", Junction("or", (Junction("and", (A, B2)), C))),
    # parentheses change that
    ("(id eq 1 or id eq 2) and id eq 3", Junction("and", (Junction("or", (A, B2)), C))),
    ("id eq 1 and (id eq 2 or id eq 3)", Junction("and", (A, Junction("or", (B2, C))))),
    # nested junctions of the same operator are flattened
    ("id eq 1 and (id eq 2 and id eq 3)", Junction("and", (A, B2, C))),
    ("(id eq 1 or (id eq 2)) or id eq 3", Junction("or", (A, B2, C))),
    ("(id eq 1)and(id eq 2)", Junction("and", (A, B2))),
])
def test_precedence_and_parentheses(raw: str, expected: Node) -> None:
    assert parse(raw) == expected


def test_keywords_inside_strings_and_as_values_are_values() -> None:
    assert parse("firstName eq and") == Comparison("first_name", TXT, "eq", "and")
    assert parse("firstName eq 'or' or lastName eq 'and'") == Junction("or", (
        Comparison("first_name", TXT, "eq", "or"), Comparison("last_name", TXT, "eq", "and")))


def test_depth_limit() -> None:
    inner = "id eq 1"
    ok = "(" * MAX_DEPTH + inner + ")" * MAX_DEPTH
    assert parse(ok) == A
    too_deep = "(" * (MAX_DEPTH + 1) + inner + ")" * (MAX_DEPTH + 1)
    assert "deeper" in refused(too_deep).message


def test_comparison_and_list_limits() -> None:
    many = " and ".join(["id eq 1"] * MAX_COMPARISONS)
    node = parse(many)
    assert isinstance(node, Junction) and len(node.terms) == MAX_COMPARISONS
    refused(many + " and id eq 1")
    values = ",".join(["1"] * MAX_IN_VALUES)
    node = parse(f"id in [{values}]")
    assert isinstance(node, Comparison) and isinstance(node.value, tuple) and len(node.value) == MAX_IN_VALUES
    refused(f"id in [{values},1]")


def test_length_limit() -> None:
    padding = " " * (MAX_FILTER_LENGTH - len("id eq 1"))
    assert parse("id eq 1" + padding) == A
    assert "longer" in refused("id eq 1" + padding + " ").message


# -- what is refused -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "id", "id eq", "eq 5", "id 5", "id equals 5", "id eq 5 6", "id eq 5 and", "id eq 5 or", "and id eq 5",
    "id eq 5 and or id eq 6", "(id eq 5", "id eq 5)", "()", "(", ")", "id eq (5)", "id eq [5]", "id eq ,",
    "nosuchfield eq 1", "'firstName' eq 'x'", "firstName eq 'unterminated", "firstName eq 'it''s", "firstName eq '\\'",
    "id in 5", "id in []", "id in [1,]", "id in [1 2]", "id in [1", "id in [,1]", "id in [null]", "id in (1,2)",
    # type mismatches
    "id eq abc", "id eq 1.5", "id eq 9223372036854775808", "id eq -9223372036854775809", "id eq true", "id eq ''",
    "isActive eq 1", "isActive eq yes", "auditInfo.createDate gt yesterday", "auditInfo.createDate eq 2026-13-01",
    "auditInfo.createDate eq 5",
    # operators that do not fit the field
    "id sw 1", "id cont 1", "isActive gt true", "isActive sw t", "auditInfo.createDate cont 2026",
    "firstName gt null", "firstName sw null", "firstName cont NULL",
    # control characters
    "firstName eq 'a\x00b'", "firstName eq a\x00b", "firstName\x00 eq a", "firstName eq '\x1b[31m'",
    "firstName eq '\ud800'",
])
def test_malformed_filters_are_400(raw: str) -> None:
    refused(raw)


def test_error_message_says_where() -> None:
    assert "position 9" in refused("id eq 1 x").message
    assert "unknown field 'nope'" in refused("nope eq 1").message
    assert "id (integer)" in refused("id eq 'x'").message


def test_hostile_inputs_are_refused_quickly() -> None:
    """Long runs of what a naive parser chokes on: each is answered (refused or parsed) in
    milliseconds, never with a RecursionError."""
    n = MAX_FILTER_LENGTH
    hostile = [
        "(" * n, ")" * n, "[" * n, "'" * n, "'" * (n - 1), "\\" * n, "a" * n, "id eq " + "9" * (n - 6),
        "id in [" + "1," * ((n - 8) // 2), " and" * (n // 4), "id eq 1 " + "and " * ((n - 8) // 4),
        "firstName eq '" + "''" * ((n - 15) // 2) + "'", "(id eq 1 and " * (n // 14), "x" * (n + 1),
        "a eq b " * (n // 7), "id eq 1 or " * (n // 11),
    ]
    for raw in hostile:
        started = time.perf_counter()
        try:
            parse(raw)
        except InvalidParameter as exc:
            assert exc.name == "filter"
        assert time.perf_counter() - started < 0.5, raw[:40]


def test_random_inputs_never_raise_anything_but_invalid_parameter() -> None:
    alphabet = ["id", "firstName", "isActive", "auditInfo.createDate", "eq", "ne", "gt", "sw", "cont", "in", "and",
                "or", "(", ")", "[", "]", ",", "'", "''", "\\'", "null", "true", "5", "-1", "2026-01-01", " ", "x",
                "\x00", "é", "%", "_"]
    rng = random.Random(1234)
    for _ in range(3000):
        raw = "".join(rng.choice(alphabet) + rng.choice(["", " "]) for _ in range(rng.randint(1, 30)))
        try:
            parse(raw)
        except InvalidParameter as exc:
            assert exc.name == "filter"


# -- dates ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ("2026-11-27T05:31:56.123Z", datetime(2026, 11, 27, 5, 31, 56, 123000, tzinfo=UTC)),
    ("2026-11-27t05:31:56z", datetime(2026, 11, 27, 5, 31, 56, tzinfo=UTC)),
    ("2026-11-27T05:31:56", datetime(2026, 11, 27, 5, 31, 56, tzinfo=UTC)),
    ("2026-11-27T07:31:56+02:00", datetime(2026, 11, 27, 5, 31, 56, tzinfo=UTC)),
    ("2026-02-30", None), ("27.11.2026", None), ("2026", None), ("x" * 50, None),
    ("\uff12\uff10\uff12\uff16-\uff11\uff11-\uff12\uff17", None),  # fullwidth digits
    ("0001-01-01T00:00:00+01:00", None),
])
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


# -- sortBy and q -----------------------------------------------------------------------------------------

def test_sort() -> None:
    assert parse_sort(None, FIELDS) == ()
    assert parse_sort(" ", FIELDS) == ()
    assert parse_sort("lastName asc,id desc", FIELDS) == (SortKey("last_name", TXT), SortKey("id", INT, descending=True))
    assert parse_sort("LASTNAME DESC", FIELDS) == (SortKey("last_name", TXT, descending=True),)
    assert parse_sort("id", FIELDS) == (SortKey("id", INT),)
    assert parse_sort("auditInfo.createDate desc, ", FIELDS) == (SortKey("created_at", DATE, descending=True),)


@pytest.mark.parametrize("raw", [
    "nope", "id up", "id asc desc", "id asc id", "id\x00", "id," * 11, "x" * 501, "lastName asc;drop table accounts",
])
def test_bad_sort_is_400(raw: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_sort(raw, FIELDS)
    assert info.value.name == "sortBy"


def test_words() -> None:
    assert parse_words(None) == ()
    assert parse_words("  ") == ()
    assert parse_words(" nina  NEU ") == ("nina", "NEU")
    for raw in ("x" * 201, "a " * 11, "bad\x00word"):
        with pytest.raises(InvalidParameter) as info:
            parse_words(raw)
        assert info.value.name == "q"

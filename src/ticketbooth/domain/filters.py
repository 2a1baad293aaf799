"""Kibo's list syntax: `filter`, `sortBy` and the free-text `q`, parsed into a small tree. Pure: the
store compiles the tree into SQL (bound parameters only).

filter grammar (keywords and operators case-insensitive; `and` binds tighter than `or`):

    expr       := conjunction ('or' conjunction)*
    conjunction:= factor ('and' factor)*
    factor     := '(' expr ')' | FIELD OP value | FIELD 'in' '[' value (',' value)* ']'
    OP         := eq | ne | gt | ge | lt | le | sw | cont
    value      := 'quoted string' ('' or \\' for a quote, \\\\ for a backslash)
                | bare word: a number, true, false, null, an ISO date, or any other word (a string)

Fields are named by the caller's vocabulary (a mapping of lower-cased names to `FilterField`), so
this module knows no resource. The input is read once, left to right, by hand (no regular
expressions); its length, the nesting of parentheses and the number of comparisons are bounded, so
no input can make the parser recurse deeply or take long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Literal, TypeAlias, cast

from ticketbooth.domain.errors import InvalidParameter

MAX_FILTER_LENGTH = 2000
MAX_DEPTH = 16
"""Parentheses nested deeper than this are refused."""
MAX_COMPARISONS = 100
MAX_IN_VALUES = 200
MAX_SORT_LENGTH = 500
MAX_SORT_KEYS = 10
MAX_Q_LENGTH = 200
MAX_Q_WORDS = 10
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_PUNCTUATION = "()[],"
_OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "sw", "cont", "in"})
_ORDERING = frozenset({"gt", "ge", "lt", "le"})


class FieldType(Enum):
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"


@dataclass(frozen=True, slots=True)
class FilterField:
    """A field a filter or sort may name: the name the store knows it by, and its type."""

    name: str
    type: FieldType


Value: TypeAlias = str | int | bool | datetime | None
Operator = Literal["eq", "ne", "gt", "ge", "lt", "le", "sw", "cont", "in"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """`field op value`. `value` is None for null, a tuple for `in`; text values are as given (the
    store decides how to compare case)."""

    field: str
    type: FieldType
    op: Operator
    value: Value | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Junction:
    """Terms joined by one operator; nested junctions of the same operator are flattened."""

    op: Literal["and", "or"]
    terms: tuple[Node, ...]


Node: TypeAlias = Comparison | Junction


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    type: FieldType
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of a filtered, sorted list: rows matching `where` and every word of `words`."""

    where: Node | None = None
    words: tuple[str, ...] = ()
    sort: tuple[SortKey, ...] = ()
    offset: int = 0
    limit: int = 20
    count_limit: int | None = None
    """Count the matching rows only up to this many (the total then says "at least"): a person paging a
    search needs to know there are more, not that 100,000 accounts hold "example"; counting them all
    costs a pass over every one. None: the exact total (the API's lists)."""


# -- errors and characters -------------------------------------------------------------------------

def _bad(parameter: str, detail: str, raw: str) -> InvalidParameter:
    return InvalidParameter(parameter, f"Missing or invalid parameter: {parameter} {detail}", raw[:100])


def _forbidden_char(c: str) -> bool:
    """Control characters (but whitespace) and lone surrogates: no stored value has them, and some
    databases refuse them as parameters."""
    code = ord(c)
    return (code < 32 and c not in "\t\n\r") or code == 0x7F or 0xD800 <= code <= 0xDFFF


# -- tokens ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["punct", "word", "string"]
    text: str
    pos: int


def _tokens(raw: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c.isspace():
            i += 1
        elif _forbidden_char(c):
            raise _bad("filter", f"has a control character at position {i + 1}", raw)
        elif c in _PUNCTUATION:
            out.append(_Token("punct", c, i))
            i += 1
        elif c == "'":
            start, i = i, i + 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise _bad("filter", f"has an unterminated string starting at position {start + 1}", raw)
                c = raw[i]
                if c == "'":
                    if i + 1 < n and raw[i + 1] == "'":
                        chars.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                if c == "\\" and i + 1 < n and raw[i + 1] in "'\\":
                    chars.append(raw[i + 1])
                    i += 2
                    continue
                if _forbidden_char(c):
                    raise _bad("filter", f"has a control character at position {i + 1}", raw)
                chars.append(c)
                i += 1
            out.append(_Token("string", "".join(chars), start))
        else:
            start = i
            while i < n and not raw[i].isspace() and raw[i] not in _PUNCTUATION and raw[i] != "'":
                if _forbidden_char(raw[i]):
                    raise _bad("filter", f"has a control character at position {i + 1}", raw)
                i += 1
            out.append(_Token("word", raw[start:i], start))
    return out


# -- values ------------------------------------------------------------------------------------------

def _is_number(text: str) -> bool:
    """`-?digits(.digits)?`, checked by hand."""
    body = text[1:] if text.startswith(("-", "+")) else text
    whole, dot, fraction = body.partition(".")
    return bool(whole) and whole.isascii() and whole.isdigit() and (
        not dot or (bool(fraction) and fraction.isascii() and fraction.isdigit()))


def parse_date(text: str) -> datetime | None:
    """An ISO-8601 date or date-time (`2026-11-27`, `2026-11-27T12:00:00Z`, with an offset or
    milliseconds) as aware UTC, or None. A date or time without a zone is UTC."""
    if not 8 <= len(text) <= 40 or not text.isascii():
        return None
    try:
        value = datetime.fromisoformat(text.upper())
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _value(token: _Token, field_name: str, field: FilterField, raw: str) -> Value:
    text, quoted = token.text, token.kind == "string"
    if not quoted and text.lower() == "null":
        return None
    kind = field.type
    if kind is FieldType.TEXT:
        return text
    if kind is FieldType.INTEGER:
        if _is_number(text) and "." not in text:
            number = int(text)
            if INT_MIN <= number <= INT_MAX:
                return number
    elif kind is FieldType.BOOLEAN:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
    elif kind is FieldType.DATE:
        date = parse_date(text)
        if date is not None:
            return date
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise _bad("filter", f"compares {field_name} ({kind.value}) with {shown!r} at position {token.pos + 1}", raw)


# -- the parser --------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, raw: str, fields: Mapping[str, FilterField]) -> None:
        self.raw = raw
        self.fields = fields
        self.tokens = _tokens(raw)
        self.i = 0
        self.comparisons = 0

    def fail(self, detail: str, token: _Token | None = None) -> InvalidParameter:
        where = f"at position {token.pos + 1}" if token else "at its end"
        return _bad("filter", f"{detail} {where}", self.raw)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail(f"ends early: {what} expected")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.expr(0)
        token = self.peek()
        if token is not None:
            raise self.fail(f"has an unexpected {token.text!r}", token)
        return node

    def expr(self, depth: int) -> Node:
        terms = [self.conjunction(depth)]
        while self.keyword("or"):
            terms.append(self.conjunction(depth))
        return _join("or", terms)

    def conjunction(self, depth: int) -> Node:
        factors = [self.factor(depth)]
        while self.keyword("and"):
            factors.append(self.factor(depth))
        return _join("and", factors)

    def factor(self, depth: int) -> Node:
        token = self.take("a comparison")
        if token.kind == "punct" and token.text == "(":
            if depth + 1 > MAX_DEPTH:
                raise self.fail(f"nests parentheses deeper than {MAX_DEPTH}", token)
            node = self.expr(depth + 1)
            close = self.take("')'")
            if close.text != ")" or close.kind != "punct":
                raise self.fail(f"has {close.text!r} where ')' was expected", close)
            return node
        if token.kind != "word":
            raise self.fail(f"has {token.text!r} where a field name was expected", token)
        field = self.fields.get(token.text.lower())
        if field is None:
            raise self.fail(f"names an unknown field {token.text[:40]!r}", token)
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.fail(f"has more than {MAX_COMPARISONS} comparisons", token)
        op_token = self.take("an operator")
        op = op_token.text.lower()
        if op_token.kind != "word" or op not in _OPERATORS:
            raise self.fail(f"has {op_token.text[:40]!r} where an operator (eq, ne, gt, ge, lt, le, sw, cont, in) "
                            "was expected", op_token)
        if op in ("sw", "cont") and field.type is not FieldType.TEXT:
            raise self.fail(f"uses {op} on {token.text}, which is not text", op_token)
        if op in _ORDERING and field.type is FieldType.BOOLEAN:
            raise self.fail(f"uses {op} on {token.text}, which is true or false", op_token)
        if op == "in":
            return Comparison(field.name, field.type, "in", self.values(token.text, field))
        value_token = self.take("a value")
        if value_token.kind == "punct":
            raise self.fail(f"has {value_token.text!r} where a value was expected", value_token)
        value = _value(value_token, token.text, field, self.raw)
        if value is None and op not in ("eq", "ne"):
            raise self.fail(f"uses {op} with null (only eq and ne may)", value_token)
        return Comparison(field.name, field.type, cast(Operator, op), value)

    def values(self, field_name: str, field: FilterField) -> tuple[Value, ...]:
        opening = self.take("'['")
        if opening.kind != "punct" or opening.text != "[":
            raise self.fail(f"has {opening.text[:40]!r} where '[' was expected after in", opening)
        out: list[Value] = []
        while True:
            token = self.take("a value")
            if token.kind == "punct":
                raise self.fail(f"has {token.text!r} where a value was expected", token)
            value = _value(token, field_name, field, self.raw)
            if value is None:
                raise self.fail("has null in a list (use eq null)", token)
            out.append(value)
            if len(out) > MAX_IN_VALUES:
                raise self.fail(f"lists more than {MAX_IN_VALUES} values", token)
            sep = self.take("',' or ']'")
            if sep.kind == "punct" and sep.text == "]":
                return tuple(out)
            if sep.kind != "punct" or sep.text != ",":
                raise self.fail(f"has {sep.text[:40]!r} where ',' or ']' was expected", sep)


def _join(op: Literal["and", "or"], nodes: list[Node]) -> Node:
    if len(nodes) == 1:
        return nodes[0]
    terms: list[Node] = []
    for node in nodes:
        if isinstance(node, Junction) and node.op == op:
            terms.extend(node.terms)
        else:
            terms.append(node)
    return Junction(op, tuple(terms))


def parse_filter(raw: str | None, fields: Mapping[str, FilterField]) -> Node | None:
    """The tree of a Kibo filter over `fields` (keys lower-cased), or None for an empty filter.
    InvalidParameter("filter") for anything malformed, too long or too deep."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_FILTER_LENGTH:
        raise _bad("filter", f"is longer than {MAX_FILTER_LENGTH} characters", raw)
    return _Parser(raw, fields).parse()


def parse_sort(raw: str | None, fields: Mapping[str, FilterField]) -> tuple[SortKey, ...]:
    """`lastName asc,id desc` (direction optional, ascending by default) over `fields`."""
    if raw is None or not raw.strip():
        return ()
    if len(raw) > MAX_SORT_LENGTH:
        raise _bad("sortBy", f"is longer than {MAX_SORT_LENGTH} characters", raw)
    if any(_forbidden_char(c) for c in raw):
        raise _bad("sortBy", "has a control character", raw)
    keys: list[SortKey] = []
    for item in raw.split(","):
        parts = item.split()
        if not parts:
            continue
        if len(parts) > 2:
            raise _bad("sortBy", f"has {item.strip()[:60]!r}: expected a field and asc or desc", raw)
        field = fields.get(parts[0].lower())
        if field is None:
            raise _bad("sortBy", f"names an unknown field {parts[0][:40]!r}", raw)
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise _bad("sortBy", f"has the direction {parts[1][:20]!r}: expected asc or desc", raw)
        keys.append(SortKey(field.name, field.type, descending=direction == "desc"))
        if len(keys) > MAX_SORT_KEYS:
            raise _bad("sortBy", f"has more than {MAX_SORT_KEYS} fields", raw)
    return tuple(keys)


def parse_words(raw: str | None) -> tuple[str, ...]:
    """The whitespace-separated words of a free-text search `q`; every word must match."""
    if raw is None or not raw.strip():
        return ()
    if len(raw) > MAX_Q_LENGTH:
        raise _bad("q", f"is longer than {MAX_Q_LENGTH} characters", raw)
    if any(_forbidden_char(c) for c in raw):
        raise _bad("q", "has a control character", raw)
    words = tuple(raw.split())
    if len(words) > MAX_Q_WORDS:
        raise _bad("q", f"has more than {MAX_Q_WORDS} words", raw)
    return words

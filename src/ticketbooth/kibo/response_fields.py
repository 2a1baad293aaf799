"""Kibo's `responseFields`: a comma list with nested parentheses that trims a response body.

`accessToken,customerAccount(id,emailAddress,contacts(email))` keeps those fields only; an empty
value keeps everything. Names compare case-insensitively; unknown names are ignored.
"""

from __future__ import annotations

from typing import Any

from ticketbooth.domain.errors import InvalidParameter

# name (lower-cased) -> None (the whole value) or a nested selection
Selection = dict[str, "Selection | None"]

MAX_DEPTH = 32
MAX_LENGTH = 4096


def _bad(detail: str, raw: str) -> InvalidParameter:
    return InvalidParameter("responseFields", f"Missing or invalid parameter: responseFields {detail}", raw)


def parse(raw: str | None) -> Selection | None:
    """The selection named by `raw`, or None for everything."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_LENGTH:
        raise _bad("is too long", raw[:100])
    text = raw
    pos = 0

    def skip_spaces() -> None:
        nonlocal pos
        while pos < len(text) and text[pos].isspace():
            pos += 1

    def name() -> str:
        nonlocal pos
        skip_spaces()
        start = pos
        while pos < len(text) and (text[pos].isalnum() or text[pos] in "_$-"):
            pos += 1
        found = text[start:pos].lower()
        skip_spaces()
        return found

    def fields(depth: int) -> Selection:
        nonlocal pos
        if depth > MAX_DEPTH:
            raise _bad("is nested too deeply", raw[:100])
        selection: Selection = {}
        while True:
            key = name()
            if pos < len(text) and text[pos] == "(":
                if not key:
                    raise _bad("has '(' without a field name before it", raw)
                pos += 1
                child = fields(depth + 1)
                if pos >= len(text) or text[pos] != ")":
                    raise _bad("has an unmatched '('", raw)
                pos += 1
                skip_spaces()
                selection[key] = _union(selection[key], child) if key in selection else child
            elif key:
                selection[key] = None
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            return selection

    selection = fields(0)
    if pos != len(text):
        raise _bad(f"has an unexpected {text[pos]!r} at position {pos}", raw)
    return selection or None


def _union(a: Selection | None, b: Selection | None) -> Selection | None:
    """What a name selects when it is listed twice (`a(b(c)),a(b(d))` is `a(b(c,d))`; None is the
    whole value). As deep as the selections, which the parser bounds."""
    if a is None or b is None:
        return None
    out = dict(a)
    for key, child in b.items():
        out[key] = _union(out[key], child) if key in out else child
    return out


def apply(value: Any, selection: Selection | None) -> Any:
    """`value` trimmed to `selection` (lists are trimmed item by item)."""
    if selection is None:
        return value
    if isinstance(value, list):
        return [apply(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        lowered = key.lower()
        if lowered in selection:
            out[key] = apply(item, selection[lowered])
    return out

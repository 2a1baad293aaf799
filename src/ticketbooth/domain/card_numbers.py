"""Finding full payment card numbers in text, so that no card field ever stores one.

A card record holds what Kibo's does (name on card, type, the last four digits, expiry, ...), never
the primary account number. Anything that looks like one is refused wherever a client sends it. What
"looks like one" means here:

- a *run*: digits, with spaces (any whitespace) or dashes allowed between them, as people write card
  numbers ("4111 1111 1111 1111", "4111-1111-1111-1111"); any other character ends the run. Digits of
  other scripts (fullwidth, Arabic-Indic, ...) count as the digits they stand for;
- a run of 12 to 19 digits that passes the Luhn check (ISO/IEC 7812 numbers are 12 to 19 digits long
  and end in a Luhn check digit); a run of more than 19 digits when any 12 to 19 consecutive digits of
  it pass the check (a card number with other digits around it).

Numbers (JSON integers or floats) are read as their decimal text. The functions are pure: no logging,
and the number found is never returned, only where it was.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence

MIN_DIGITS = 12
MAX_DIGITS = 19
_MAX_KEY_SHOWN = 50
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn (mod 10) check. An empty string does not."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_separator(ch: str) -> bool:
    return ch.isspace() or ch in _DASHES


def digit_runs(text: str) -> Iterator[str]:
    """The runs of digits in `text` (as ASCII digits), separators between digits dropped. A separator
    joins two digits only when nothing but separators stands between them."""
    run: list[str] = []
    for ch in text:
        if ch.isdecimal():
            run.append(str(unicodedata.decimal(ch)))
        elif run and not _is_separator(ch):
            yield "".join(run)
            run = []
    if run:
        yield "".join(run)


def run_is_card_number(digits: str) -> bool:
    """Whether one run of digits looks like a full card number (see the module docstring)."""
    n = len(digits)
    if n < MIN_DIGITS:
        return False
    if n <= MAX_DIGITS:
        return luhn_valid(digits)
    return any(luhn_valid(digits[start:start + size])
               for size in range(MIN_DIGITS, MAX_DIGITS + 1) for start in range(n - size + 1))


def has_card_number(text: str) -> bool:
    """Whether `text` holds anything that looks like a full card number."""
    return any(run_is_card_number(run) for run in digit_runs(text))


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or abs(value) == float("inf"):
            return None
        return f"{value:.0f}" if value.is_integer() and abs(value) < 1e21 else repr(value)
    return None


def card_number_at(value: object, name: str) -> str | None:
    """Where in `value` (a JSON value: text, number, list, object, nested) a card number is, as a path
    below `name` (`name`, `name.key`, `name[2]`), or None. Object keys are searched too (a key is shown
    by its position, never its text)."""
    text = _as_text(value)
    if text is not None:
        return name if has_card_number(text) else None
    if isinstance(value, Mapping):
        for i, (key, item) in enumerate(value.items()):
            if isinstance(key, str) and has_card_number(key):
                return f"{name}.<key {i}>"
            shown = f"{name}.{key[:_MAX_KEY_SHOWN]}" if isinstance(key, str) else f"{name}[{i}]"
            found = card_number_at(item, shown)
            if found is not None:
                return found
        return None
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        for i, item in enumerate(value):
            found = card_number_at(item, f"{name}[{i}]")
            if found is not None:
                return found
    return None

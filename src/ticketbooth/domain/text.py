"""The rules every free-text field a client sends must meet: a length limit, and no control
characters (PostgreSQL cannot store NUL; the others only ever come from fuzzers and attacks).
Multi-line fields (notes) may hold line breaks and tabs."""

from __future__ import annotations

import unicodedata

from ticketbooth.domain.errors import InvalidParameter

_LINE_BREAKS = frozenset("\n\r\t")


def _has_control(value: str, multiline: bool) -> bool:
    """Control characters (Unicode Cc), surrogates, and line or paragraph separators unless
    `multiline`. Format characters (Cf: zero-width joiners that some scripts need) are allowed."""
    for c in value:
        if c in _LINE_BREAKS:
            if not multiline:
                return True
            continue
        category = unicodedata.category(c)
        if category in ("Cc", "Cs") or (category in ("Zl", "Zp") and not multiline):
            return True
    return False


def clean_text(value: object, name: str, max_length: int, *, required: bool = False, multiline: bool = False,
               strip: bool = True) -> str | None:
    """`value` trimmed (when `strip`), or None when empty and not `required`. InvalidParameter naming
    `name` when it is missing but required, not a string, too long or holds control characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a string")
    text = value.strip() if strip else value
    if len(text) > max_length:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} may be at most {max_length} characters")
    if _has_control(text, multiline):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} holds control characters")
    return text

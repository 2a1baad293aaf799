"""The rules every free-text field a client sends must meet (a length limit, and no control
characters: PostgreSQL cannot store NUL; the others only ever come from fuzzers and attacks),
and what makes an email address or a username acceptable. Multi-line fields (notes) may hold
line breaks and tabs."""

from __future__ import annotations

import re
import unicodedata

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.policies import login_key, normalize_username

# Deliberately loose (RFC 5321 lengths, one @, no spaces): the mailbox is proven by mail, not regex.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254
MAX_USERNAME = 254
MAX_LOGIN_KEY = 320

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


# -- emails and usernames (login names) -------------------------------------------------------

def has_unstorable(text: str) -> bool:
    """Control characters and lone surrogates: no name or address has them, and PostgreSQL refuses NUL."""
    return any(ord(c) < 32 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def clean_email(value: str | None, *, required: bool, name: str = "emailAddress") -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
        return None
    email = value.strip()
    if (len(email) > MAX_EMAIL or not _EMAIL.match(email) or has_unstorable(email)
            or not email.isprintable() or len(login_key(email)) > MAX_LOGIN_KEY):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is not a valid email address", email[:100])
    return email


def clean_username(value: str | None, fallback: str | None, name: str = "userName") -> str:
    username = normalize_username(value) if value and value.strip() else fallback
    if not username:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
    if len(username) > MAX_USERNAME or len(login_key(username)) > MAX_LOGIN_KEY:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is longer than {MAX_USERNAME} characters")
    if any(c.isspace() or not c.isprintable() for c in username):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} has spaces or unprintable characters")
    return username


def required_text(name: str, value: str | None, limit: int) -> str:
    """`value` trimmed: a 400 naming `name` when it is missing, blank or longer than `limit` (the
    identifiers and codes a shopper types into a form)."""
    text = (value or "").strip()
    if not text:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
    if len(text) > limit:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is too long")
    return text

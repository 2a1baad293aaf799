"""Random tokens, their at-rest hashes, and keyed derivation of refresh successors."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_hex(nbytes: int = 16) -> str:
    """A fresh random token as lowercase hex (URL-safe, as Kibo's tokens are)."""
    return secrets.token_hex(nbytes)


def new_digits(count: int) -> str:
    """A fresh random code of `count` decimal digits, leading zeros kept (the codes mailed to shoppers)."""
    return f"{secrets.randbelow(10 ** count):0{count}d}"


def at_rest(token: str) -> str:
    """What is stored for a token: its SHA-256. Tokens carry >= 128 random bits, so no salt or
    slow hash is needed for them to be unguessable from the stored value."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def derive(secret: bytes, label: str, token: str, nbytes: int = 16) -> str:
    """A token derived from another with the server secret. Refresh successors are derived so a
    replay inside the grace window can be answered with the same successor without ever storing a
    plaintext token; without the secret, knowing `token` does not reveal what it derives to."""
    # NUL separates label and token: neither can contain it, so no two pairs give the same input.
    mac = hmac.new(secret, f"{label}\x00{token}".encode(), hashlib.sha256).hexdigest()
    return mac[: nbytes * 2]

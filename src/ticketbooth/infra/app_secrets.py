"""Application (client) secrets at rest: a keyed hash, checked in constant time on the event loop.

Shopper passwords are chosen by people and need a slow hash (Argon2, in the bounded pool of
`infra.hashing`). An application secret does not: it is a credential for a program, at least 16
characters (`ticketbooth app create` refuses shorter ones; the demo app's is 192 random bits), and
hashing it with Argon2 put every app authentication, which needs no credential to attempt, in the
pool that shopper logins wait for: a flood of bad secrets made logins answer 503 (issue 13, finding 6).

The stored form is `hmac-sha256$<64 hex>`: HMAC-SHA256 of the secret under a random 32-byte key
generated once and kept in the database (`server_secrets`, beside the applications), shared by every
process. Keyed rather than a plain SHA-256 because an operator may pick a guessable secret: a plain
hash in a leaked copy of the applications table (a backup of it, an export, a log of its rows) could
be tested offline at billions of guesses a second; the keyed one cannot be tested without the key as
well. Not derived from TICKETBOOTH_SECRET_KEY: application secrets live for years, and setting or
changing that setting (as a deployment does when it grows to several processes) would lock every
application out at once. Whoever holds a dump of the whole database holds the key too: only a
generated secret (as `secrets.token_urlsafe(32)`) is safe from guessing then, as with any fast hash.
Hashes made by Argon2 before this form existed are still accepted (`services.applications`), in
the pool, and are replaced by this form after their first successful use.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "hmac-sha256$"
_DUMMY = PREFIX + "0" * 64
"""Compared against when the client id is unknown, so that it costs the same work as a known one."""


def hash_secret(key: bytes, secret: str) -> str:
    """What is stored for `secret`."""
    return PREFIX + hmac.new(key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def is_keyed(stored: str) -> bool:
    """Whether `stored` is in this module's form (else an Argon2 hash of an earlier version)."""
    return stored.startswith(PREFIX)


def verify(key: bytes, stored: str | None, secret: str) -> bool:
    """Whether `secret` matches `stored` (None: no such application; checked against a dummy, so the
    answer takes the same time, and is False). The comparison takes the same time wherever the
    first difference is."""
    expected = (stored or _DUMMY).encode("ascii", "replace")
    return hmac.compare_digest(hash_secret(key, secret).encode("ascii"), expected) and stored is not None

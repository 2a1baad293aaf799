"""Password hashes made by other systems, for imported accounts: recognised, bounded, verified.

Accepted formats (anything else is refused at import):

- bcrypt: `$2a$`, `$2b$` or `$2y$`, cost 04..15, 22 salt and 31 hash characters. As every bcrypt,
  only the first 72 bytes of the password count.
- Django's PBKDF2: `pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>`.
- passlib's PBKDF2: `$pbkdf2-sha256$<rounds>$<salt>$<key>`, salt and key in passlib's "adapted"
  base64 (`.` for `+`, no padding).
- Argon2 PHC strings: `$argon2id$` or `$argon2i$`, version 19, any parameters within the caps
  (verified by argon2-cffi, like our own hashes).

The work factors are capped so that an imported hash cannot make one login cost seconds of CPU
(a denial of service): bcrypt cost <= 15, PBKDF2 iterations <= 2 000 000, Argon2 memory <= 1 GiB
with time cost <= 10 and at most 2 GiB worth of passes (memory x time), parallelism <= 16.

`check_importable` only parses (cheap, fine on the event loop). `verify` does the hash work and must
run in the hashing thread pool (`infra.hashing.PasswordHashing.verify` does that).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

import bcrypt
from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError

MAX_ENCODED_LENGTH = 500  # the width of accounts.password_hash
MIN_BCRYPT_COST, MAX_BCRYPT_COST = 4, 15
MAX_PBKDF2_ITERATIONS = 2_000_000
MAX_ARGON2_MEMORY_KIB = 1024 * 1024
MAX_ARGON2_TIME_COST = 10
MAX_ARGON2_PASSES_KIB = 2 * 1024 * 1024
MAX_ARGON2_PARALLELISM = 16
BCRYPT_MAX_PASSWORD_BYTES = 72
PBKDF2_KEY_BYTES = 32

BCRYPT = "bcrypt"
DJANGO_PBKDF2_SHA256 = "django-pbkdf2-sha256"
PASSLIB_PBKDF2_SHA256 = "passlib-pbkdf2-sha256"
ARGON2 = "argon2"

_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_DJANGO = re.compile(r"pbkdf2_sha256\$(\d{1,7})\$([!-#%-~]{1,128})\$([A-Za-z0-9+/]{43}=)")
_PASSLIB = re.compile(r"\$pbkdf2-sha256\$(\d{1,7})\$([./A-Za-z0-9]{0,171})\$([./A-Za-z0-9]{43})")
_ARGON2 = re.compile(r"\$argon2(id|i)\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{6,})")


class UnsupportedHash(ValueError):
    """The text is not a hash of an accepted format, or it asks for more work than allowed. The
    message says why, in words fit for a client."""


@dataclass(frozen=True, slots=True)
class _Pbkdf2:
    iterations: int
    salt: bytes
    key: bytes


def scheme_of(encoded: str) -> str | None:
    """The format `encoded` claims by its prefix (not checked further), or None."""
    if encoded.startswith("$argon2"):
        return ARGON2
    if encoded.startswith(("$2a$", "$2b$", "$2y$")):
        return BCRYPT
    if encoded.startswith("pbkdf2_sha256$"):
        return DJANGO_PBKDF2_SHA256
    if encoded.startswith("$pbkdf2-sha256$"):
        return PASSLIB_PBKDF2_SHA256
    return None


def check_importable(encoded: str) -> str:
    """`encoded` (trimmed) if it is a well-formed hash of an accepted format within the work caps;
    else UnsupportedHash saying why. Parses only: no hash work."""
    text = encoded.strip()
    if len(text) > MAX_ENCODED_LENGTH:
        raise UnsupportedHash(f"the hash is longer than {MAX_ENCODED_LENGTH} characters")
    scheme = scheme_of(text)
    if scheme == BCRYPT:
        _bcrypt_cost(text)
    elif scheme == DJANGO_PBKDF2_SHA256:
        _django(text)
    elif scheme == PASSLIB_PBKDF2_SHA256:
        _passlib(text)
    elif scheme == ARGON2:
        _argon2(text)
    else:
        raise UnsupportedHash("the hash format is not supported (bcrypt $2a$/$2b$/$2y$, Django pbkdf2_sha256, "
                              "passlib $pbkdf2-sha256$ or Argon2 $argon2id$/$argon2i$ are)")
    return text


def verify(encoded: str, password: str) -> bool:
    """Whether `password` matches a bcrypt or PBKDF2 hash (Argon2 is verified by argon2-cffi).
    False for anything malformed or over the caps. CPU-heavy: call it from the hashing pool."""
    try:
        scheme = scheme_of(encoded)
        if scheme == BCRYPT:
            _bcrypt_cost(encoded)
            return bool(bcrypt.checkpw(password.encode("utf-8")[:BCRYPT_MAX_PASSWORD_BYTES], encoded.encode("ascii")))
        if scheme == DJANGO_PBKDF2_SHA256:
            return _pbkdf2_matches(_django(encoded), password)
        if scheme == PASSLIB_PBKDF2_SHA256:
            return _pbkdf2_matches(_passlib(encoded), password)
    except (UnsupportedHash, ValueError):
        return False
    return False


# -- formats ------------------------------------------------------------------------------------

def _bcrypt_cost(text: str) -> int:
    match = _BCRYPT.fullmatch(text)
    if match is None:
        raise UnsupportedHash("the bcrypt hash is malformed")
    cost = int(match.group(1))
    if not MIN_BCRYPT_COST <= cost <= MAX_BCRYPT_COST:
        raise UnsupportedHash(f"the bcrypt cost must be between {MIN_BCRYPT_COST} and {MAX_BCRYPT_COST}")
    return cost


def _iterations(raw: str) -> int:
    iterations = int(raw)
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise UnsupportedHash(f"the PBKDF2 iterations must be between 1 and {MAX_PBKDF2_ITERATIONS}")
    return iterations


def _django(text: str) -> _Pbkdf2:
    match = _DJANGO.fullmatch(text)
    if match is None:
        raise UnsupportedHash("the Django pbkdf2_sha256 hash is malformed")
    iterations = _iterations(match.group(1))
    key = base64.b64decode(match.group(3), validate=True)
    return _Pbkdf2(iterations, match.group(2).encode("utf-8"), key)


def _ab64(text: str) -> bytes:
    """passlib's adapted base64: `.` instead of `+`, no padding."""
    try:
        return base64.b64decode(text.replace(".", "+") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise UnsupportedHash("the passlib pbkdf2-sha256 hash is malformed") from None


def _passlib(text: str) -> _Pbkdf2:
    match = _PASSLIB.fullmatch(text)
    if match is None or len(match.group(2)) % 4 == 1:
        raise UnsupportedHash("the passlib pbkdf2-sha256 hash is malformed")
    iterations = _iterations(match.group(1))
    key = _ab64(match.group(3))
    if len(key) != PBKDF2_KEY_BYTES:
        raise UnsupportedHash("the passlib pbkdf2-sha256 hash is malformed")
    return _Pbkdf2(iterations, _ab64(match.group(2)), key)


def _pbkdf2_matches(params: _Pbkdf2, password: str) -> bool:
    derived = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), params.salt, params.iterations, PBKDF2_KEY_BYTES)
    return hmac.compare_digest(derived, params.key)


def _argon2(text: str) -> None:
    match = _ARGON2.fullmatch(text)
    if match is None:
        raise UnsupportedHash("the Argon2 hash is malformed (expected $argon2id$ or $argon2i$, v=19, m, t and p)")
    try:
        params = extract_parameters(text)
    except (InvalidHashError, ValueError):
        raise UnsupportedHash("the Argon2 hash is malformed") from None
    if params.salt_len < 8 or params.hash_len < 4:
        raise UnsupportedHash("the Argon2 hash is malformed (salt or hash too short)")
    if not 1 <= params.parallelism <= MAX_ARGON2_PARALLELISM:
        raise UnsupportedHash(f"the Argon2 parallelism must be between 1 and {MAX_ARGON2_PARALLELISM}")
    if not 8 * params.parallelism <= params.memory_cost <= MAX_ARGON2_MEMORY_KIB:
        raise UnsupportedHash(f"the Argon2 memory must be between 8 KiB per lane and {MAX_ARGON2_MEMORY_KIB} KiB")
    if not 1 <= params.time_cost <= MAX_ARGON2_TIME_COST:
        raise UnsupportedHash(f"the Argon2 time cost must be between 1 and {MAX_ARGON2_TIME_COST}")
    if params.memory_cost * params.time_cost > MAX_ARGON2_PASSES_KIB:
        raise UnsupportedHash(f"the Argon2 memory times time cost may be at most {MAX_ARGON2_PASSES_KIB} KiB")

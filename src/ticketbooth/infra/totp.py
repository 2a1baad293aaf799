"""TOTP (RFC 6238) with pyotp, the secrets sealed at rest, and the QR code of an otpauth URI (segno).

A staff member's TOTP secret must be readable to check codes, so it cannot be hashed: it is kept
encrypted with AES-GCM under a key derived from the server secret (TICKETBOOTH_SECRET_KEY, or the one
kept in the database), so that a copy of the staff table alone does not give the codes away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DIGITS = 6
PERIOD = 30
_SEAL_PREFIX = "v1:"


def new_secret() -> str:
    """A fresh secret: 160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def valid_secret(secret: str) -> bool:
    try:
        return len(secret) == 32 and len(base64.b32decode(secret, casefold=False)) == 20
    except (ValueError, TypeError):
        return False


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=account, issuer_name=issuer)


def step_of(at: datetime) -> int:
    return int(at.timestamp()) // PERIOD


def matching_step(secret: str, code: str, at: datetime, window: int, after_step: int | None) -> int | None:
    """The time step (within `window` steps of `at`) whose code is `code`, if it is later than
    `after_step` (a code already used, or an earlier one, is refused: RFC 6238 section 5.2); else None.
    Compared in constant time."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    now = step_of(at)
    found = None
    for step in range(now - window, now + window + 1):
        if hmac.compare_digest(totp.at(step * PERIOD), code) and (after_step is None or step > after_step):
            found = step
    return found


def _key(server_secret: bytes) -> bytes:
    return hmac.new(server_secret, b"ticketbooth staff totp seal", hashlib.sha256).digest()


def seal(server_secret: bytes, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(server_secret)).encrypt(nonce, secret.encode("ascii"), b"totp")
    return _SEAL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(server_secret: bytes, sealed: str) -> str | None:
    """The secret, or None when it cannot be opened (the server secret changed: reset the second factor)."""
    if not sealed.startswith(_SEAL_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed[len(_SEAL_PREFIX):])
        return AESGCM(_key(server_secret)).decrypt(raw[:12], raw[12:], b"totp").decode("ascii")
    except Exception:  # any damage: the cipher's InvalidTag, bad base64, a short value
        return None


def qr_data_uri(text: str) -> str:
    """`text` as a QR code, an SVG in a data: URI (the console's CSP allows data: images only)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_recovery_code() -> str:
    """Ten characters (about 49 bits) shown as xxxxx-xxxxx, from an alphabet without look-alikes."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def recovery_hash(server_secret: bytes, staff_id: int, code: str) -> str:
    """What is stored for a recovery code: a keyed hash, bound to its staff member. Codes carry about 49
    random bits and a guess costs a sign-in attempt (rate limited, counted towards the lock)."""
    key = hmac.new(server_secret, b"ticketbooth staff recovery codes", hashlib.sha256).digest()
    return hmac.new(key, f"{staff_id}\x00{code}".encode(), hashlib.sha256).hexdigest()

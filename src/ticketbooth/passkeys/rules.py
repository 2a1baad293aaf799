"""The pure rules of passkeys: the records, the relying party of a site, what counts as a fresh login for
adding a passkey, a passkey's name, and the browser's credential JSON read back case-insensitively. No I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.policies import PasskeySettings

# Challenge purposes (passkey_challenges.purpose): stored names.
PURPOSE_REGISTER = "register"
PURPOSE_SIGN_IN = "sign-in"
"""A sign-in for any discoverable credential (usernameless, conditional UI)."""
PURPOSE_SIGN_IN_NAMED = "sign-in-named"
"""A sign-in for the account a username named (`account_id`; None when no account has it: it can never
succeed, and its options look like anyone's)."""
PURPOSE_STAFF_REGISTER = "staff-register"
PURPOSE_STAFF_SIGN_IN = "staff-sign-in"
SIGN_IN_PURPOSES = (PURPOSE_SIGN_IN, PURPOSE_SIGN_IN_NAMED)

MAX_NAME = 100
MAX_PASSKEYS = 20
"""Passkeys one account may hold."""
FRESH_METHODS = frozenset({"pwd", "otp", "hwk"})
"""The `amr` values of a login that may add a passkey soon after it: a password, a mailed code, a passkey."""
PASSKEY_AMR = ("hwk", "user", "mfa")
"""RFC 8176: proof of possession of a hardware-bound key, user presence/verification, two factors."""


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the passkeys are for: the relying party id (a domain), its display name, and the exact
    origins the browser's ceremony may come from."""

    rp_id: str
    rp_name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Passkey:
    """A shopper's passkey as stored. The public key is no secret, but is never shown (nor audited)."""

    id: int
    tenant_id: int
    customer_set_id: int
    account_id: int
    credential_id: str
    public_key: bytes
    sign_count: int
    name: str
    aaguid: str
    transports: tuple[str, ...]
    backup_eligible: bool
    backed_up: bool
    rp_id: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class PasskeyChallenge:
    """One ceremony waiting for the browser's answer (passkey_challenges)."""

    id: str
    purpose: str
    tenant_id: int
    site_id: int | None
    application_id: int | None
    account_id: int | None
    staff_id: int | None
    challenge: bytes
    rp_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def relying_party(settings: PasskeySettings, site_name: str) -> RelyingParty:
    return RelyingParty(settings.rp_id, settings.rp_name or site_name or settings.rp_id, tuple(settings.origins))


def user_handle(user_id: str) -> bytes:
    """The WebAuthn user handle of an account: its userId (32 hex characters; no personal data), which
    the authenticator returns with a discoverable credential's assertion."""
    return user_id.encode("ascii")


def fresh_login(amr: str | None, logged_in_at: datetime | None, now: datetime, minutes: int) -> bool:
    """Whether a session's login (its `amr` methods, and when it was) may add a passkey now: a password,
    code or passkey login no more than `minutes` ago. A session opened by a registration or an
    administrator (no method) never is."""
    methods = set((amr or "").split())
    return (bool(methods & FRESH_METHODS) and logged_in_at is not None
            and timedelta(0) <= now - logged_in_at <= timedelta(minutes=minutes))


def passkey_name(value: str | None, existing: Iterable[str]) -> str:
    """A passkey's name as given (trimmed, at most MAX_NAME characters, no control characters), or, when
    none is given, "Passkey", "Passkey 2", ... the first not taken on the account."""
    text = unicodedata.normalize("NFC", (value or "").strip())
    if text:
        if len(text) > MAX_NAME:
            raise InvalidParameter("name", f"Missing or invalid parameter: name is longer than {MAX_NAME} characters")
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
            raise InvalidParameter("name", "Missing or invalid parameter: name holds a control character")
        return text
    taken = set(existing)
    number = 1
    while (candidate := "Passkey" if number == 1 else f"Passkey {number}") in taken:
        number += 1
    return candidate


# The names of the browser's PublicKeyCredential JSON (credential.toJSON()), for reading it back from a
# body whose keys were lower-cased (kibo/context.py reads JSON names case-insensitively).
_CREDENTIAL_NAMES = {name.lower(): name for name in (
    "id", "rawId", "type", "response", "authenticatorAttachment", "clientExtensionResults",
    "clientDataJSON", "attestationObject", "authenticatorData", "transports", "publicKeyAlgorithm", "publicKey",
    "signature", "userHandle", "credProps", "rk", "largeBlob", "prf",
)}


def credential_json(value: Any) -> dict[str, Any]:
    """The browser's credential JSON with its names as the WebAuthn spec writes them, whatever their case
    in the request (values untouched). InvalidParameter when it is not an object."""
    if not isinstance(value, Mapping):
        raise InvalidParameter("credential", "Missing or invalid parameter: credential must be the object "
                                             "credential.toJSON() gives")
    renamed: dict[str, Any] = _renamed(value, 0)
    return renamed


def _renamed(value: Any, depth: int) -> Any:
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {_CREDENTIAL_NAMES.get(str(k).lower(), str(k)): _renamed(v, depth + 1) for k, v in value.items()}
    return value

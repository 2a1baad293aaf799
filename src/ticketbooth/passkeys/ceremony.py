"""The WebAuthn ceremonies over py_webauthn, shared by shoppers' passkeys (passkeys/) and staff members'
(staff/): options for the browser, and the checks of its answer. No database, no HTTP, no clock: the
caller keeps the challenge (single use, expiring) and the credential records.

Every check the library makes, and the ones it leaves to us (a user handle that names the user; a sign
counter that must grow, told apart from the other refusals because it means a cloned authenticator),
ends in one error, `PasskeyRefused`, whose `reason` is a fixed word safe for an audit entry.

Passkeys here are always discoverable credentials (resident key required) with user verification
required: a passkey sign-in is a second factor in itself (possession and the user's PIN or biometric).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ticketbooth.domain.errors import PasskeyRefused
from ticketbooth.passkeys.rules import RelyingParty

__all__ = ["RelyingParty", "authentication_options", "read_assertion", "registration_options",
           "verify_authentication", "verify_registration"]

CHALLENGE_BYTES = 32
MAX_CREDENTIAL_JSON = 64 * 1024
"""The largest credential (its JSON) a ceremony reads: an attestation with certificates is a few KB."""

# Reasons (PasskeyRefused.reason): fixed words, what an audit entry says.
MALFORMED = "malformed"
CEREMONY = "ceremony"           # wrong type, origin, relying party, challenge, or no user presence
USER_VERIFICATION = "user-verification"
SIGNATURE = "signature"
COUNTER = "counter"             # the sign counter did not grow: a cloned authenticator
USER_HANDLE = "user-handle"     # the assertion names another user than the credential's


@dataclass(frozen=True, slots=True)
class Options:
    """Options for the browser (PublicKeyCredential*OptionsJSON, as a dict) and the challenge they carry
    (to keep server side)."""

    options: dict[str, Any]
    challenge: bytes


@dataclass(frozen=True, slots=True)
class NewCredential:
    """A verified registration: what to keep of the new credential."""

    credential_id: str
    """base64url, as the browser names it (`id`)."""
    public_key: bytes
    """COSE_Key bytes."""
    sign_count: int
    aaguid: str
    transports: tuple[str, ...]
    backup_eligible: bool
    backed_up: bool


@dataclass(frozen=True, slots=True)
class Assertion:
    """What a sign-in's answer claims before it is verified: which credential, and the user handle the
    authenticator returned (None when it gave none)."""

    credential_id: str
    user_handle: bytes | None


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    credential_id: str
    new_sign_count: int
    backup_eligible: bool
    backed_up: bool


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_BYTES)


def _options_dict(options: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def _descriptors(credential_ids: Sequence[str]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in credential_ids]


def registration_options(rp: RelyingParty, *, user_handle: bytes, user_name: str, display_name: str,
                         exclude: Sequence[str] = (), timeout_ms: int = 300_000) -> Options:
    """Options for `navigator.credentials.create`: a discoverable credential with user verification,
    not one of `exclude` (the user's credential ids, so one authenticator is not registered twice)."""
    challenge = new_challenge()
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.rp_name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=timeout_ms,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(exclude),
    )
    return Options(_options_dict(options), challenge)


def authentication_options(rp: RelyingParty, *, allow: Sequence[str] = (), timeout_ms: int = 300_000) -> Options:
    """Options for `navigator.credentials.get`; with no `allow`, any discoverable credential of this
    relying party (usernameless sign-in, conditional UI)."""
    challenge = new_challenge()
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        challenge=challenge,
        timeout=timeout_ms,
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Options(_options_dict(options), challenge)


_NOT_JSON = "Missing or invalid parameter: credential must be the object credential.toJSON() gives"


def _checked(credential: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The browser's `credential.toJSON()` checked for shape (before any cryptography)."""
    if not isinstance(credential, Mapping):
        raise PasskeyRefused(MALFORMED, _NOT_JSON)
    response = credential.get("response")
    needed = ("clientDataJSON", "attestationObject") if kind == "create" else (
        "clientDataJSON", "authenticatorData", "signature")
    if (not isinstance(credential.get("id"), str) or not isinstance(credential.get("rawId"), str)
            or not isinstance(response, Mapping)
            or not all(isinstance(response.get(k), str) for k in needed)):
        raise PasskeyRefused(MALFORMED, _NOT_JSON)
    if len(json.dumps(credential, default=str)) > MAX_CREDENTIAL_JSON:
        raise PasskeyRefused(MALFORMED, "Missing or invalid parameter: credential is too large")
    if credential.get("rawId") != credential.get("id"):
        raise PasskeyRefused(MALFORMED, "Missing or invalid parameter: credential's id and rawId differ")
    try:
        base64url_to_bytes(credential["id"])
    except (ValueError, TypeError) as exc:
        raise PasskeyRefused(MALFORMED, "Missing or invalid parameter: credential's id is not base64url") from exc
    return dict(credential)


def _reason(exc: WebAuthnException) -> str:
    text = str(exc).lower()
    if "user verification" in text or "not verified" in text:
        return USER_VERIFICATION
    if "signature" in text:
        return SIGNATURE
    if "malformed" in text:
        return MALFORMED
    return CEREMONY


def verify_registration(rp: RelyingParty, credential: Mapping[str, Any], challenge: bytes) -> NewCredential:
    """The browser's answer to `registration_options` checked: type, challenge, origin (one of the
    relying party's), relying party id, user presence and verification, the attestation (format "none"
    and the formats py_webauthn verifies). Raises `PasskeyRefused`."""
    data = _checked(credential, "create")
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            require_user_presence=True,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise PasskeyRefused(_reason(exc)) from exc
    except Exception as exc:  # the library's parsers raise what they meet (CBOR, keys): the data is bad
        raise PasskeyRefused(MALFORMED) from exc
    if bytes_to_base64url(verified.credential_id) != data["id"]:  # the JSON names another credential than it made
        raise PasskeyRefused(MALFORMED, "Missing or invalid parameter: credential's id is not the one its "
                                        "attestation made")
    response = data["response"]
    transports = response.get("transports") if isinstance(response, Mapping) else None
    known = {t.value for t in AuthenticatorTransport}
    kept = tuple(t for t in transports if isinstance(t, str) and t in known)[:8] if isinstance(
        transports, list) else ()
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=kept,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
    )


def read_assertion(credential: Mapping[str, Any]) -> Assertion:
    """Which credential a sign-in's answer names, and its user handle: the shape checked, nothing
    verified yet (the caller finds the credential's record, then calls `verify_authentication`)."""
    data = _checked(credential, "get")
    handle = data["response"].get("userHandle")
    if handle is not None and not isinstance(handle, str):
        raise PasskeyRefused(MALFORMED, "Missing or invalid parameter: credential's userHandle is not base64url")
    try:
        user_handle = base64url_to_bytes(handle) if handle else None
    except (ValueError, TypeError) as exc:
        raise PasskeyRefused(MALFORMED, "Missing or invalid parameter: credential's userHandle is not base64url") from exc
    return Assertion(data["id"], user_handle)


def verify_authentication(rp: RelyingParty, credential: Mapping[str, Any], challenge: bytes, *,
                          public_key: bytes, sign_count: int, user_handle: bytes | None = None) -> VerifiedAssertion:
    """The browser's answer to `authentication_options` checked against the stored credential
    (`public_key`, `sign_count`): type, challenge, origin, relying party id, user presence and
    verification, the signature over authenticatorData || SHA-256(clientDataJSON), the user handle
    (when the authenticator gave one, it must be `user_handle`), and the sign counter: when either the
    stored or the new count is not zero, the new one must be greater (else reason COUNTER: the
    credential was cloned, or the answer replayed). Raises `PasskeyRefused`."""
    data = _checked(credential, "get")
    assertion = read_assertion(data)
    if user_handle is not None and assertion.user_handle is not None and assertion.user_handle != user_handle:
        raise PasskeyRefused(USER_HANDLE)
    try:
        # The counter is compared below, so that a clone is told apart from the other refusals: the
        # library is given 0, which makes it accept any count.
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise PasskeyRefused(_reason(exc)) from exc
    except Exception as exc:  # the library's parsers raise what they meet (CBOR, keys): the data is bad
        raise PasskeyRefused(MALFORMED) from exc
    if (verified.new_sign_count or sign_count) and verified.new_sign_count <= sign_count:
        raise PasskeyRefused(COUNTER)
    return VerifiedAssertion(
        credential_id=assertion.credential_id,
        new_sign_count=verified.new_sign_count,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
    )

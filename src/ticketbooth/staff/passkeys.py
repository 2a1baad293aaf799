"""Staff passkeys: a signed-in staff member adds passkeys for the console (after a recent
re-authentication), names, lists and removes them; the console's sign-in accepts one instead of password
and code (usernameless: the browser offers the passkeys it holds for the console).

The WebAuthn ceremony is the shoppers' (passkeys/ceremony.py); the relying party is the console's own:
`TICKETBOOTH_CONSOLE_ORIGIN` (its host is the rp id). Empty: staff passkeys are off (`PasskeysOff`, a
Conflict the pages show as a sentence). User verification is required at registration and at each
sign-in, so a passkey stands for password and code together (it is phishing resistant: bound to the
console's origin).

A passkey sign-in spends what a password sign-in spends and obeys the same rules (staff/service.py):
the address's LOGIN bucket, the staff member's failure bucket and this address's failure allowance, the
staff lock, a disabled or invited staff member refused, one refusal for every reason. A bad assertion and
a sign counter that did not grow (a cloned authenticator) count as failed sign-ins, and are also audited
as `staff.passkey.refused` with the ceremony's reason. A staff member's own passkey also renews their
session's proof (`reauthenticate`, instead of password and code). Challenges (table passkey_challenges,
purposes CHALLENGE_*) are single use, short-lived, and tied to the tenant (and, for a registration or a
re-authentication, the staff member).

Audit (tenant-level, actor staff:<email>): `staff.passkey.registered|renamed|removed|used|refused`;
detail names the passkey by id and name, never its credential id, public key or challenge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, Forbidden, InvalidParameter, NotFound, PasskeyRefused
from ticketbooth.infra.tokens import at_rest
from ticketbooth.login import limits, lockout
from ticketbooth.passkeys import ceremony
from ticketbooth.staff import rules
from ticketbooth.staff import service as staff_service
from ticketbooth.staff.persistence import StaffPersistence
from ticketbooth.staff.rules import Staff, StaffCredential, StaffPasskey, StaffSession

RP_NAME = "Ticketbooth console"
OFF = ("Staff passkeys are off: the operator sets TICKETBOOTH_CONSOLE_ORIGIN to the console's address "
       "(https://host[:port]) to turn them on.")
MAX_CREDENTIAL_JSON = ceremony.MAX_CREDENTIAL_JSON
"""A browser's credential.toJSON() is a few hundred bytes to a few kilobytes; more is refused unread."""


class PasskeysOff(Conflict):
    def __init__(self) -> None:
        super().__init__(OFF)


def _store(core: Core) -> StaffPersistence:
    return core.store


def enabled(core: Core) -> bool:
    return bool(core.settings.console_origin)


def relying_party(core: Core) -> ceremony.RelyingParty:
    """The console's relying party; PasskeysOff when TICKETBOOTH_CONSOLE_ORIGIN is empty."""
    origin = core.settings.console_origin
    if not origin:
        raise PasskeysOff()
    return ceremony.RelyingParty(rp_id=urlsplit(origin).hostname or "", rp_name=RP_NAME, origins=(origin,))


def user_handle(core: Core, staff: Staff) -> bytes:
    """The WebAuthn user handle of a staff member: stable, opaque (no email, no id in clear)."""
    return hmac.new(core.refresh_secret, f"staff-passkey-user:{staff.id}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Ceremony:
    """What the browser needs to run a ceremony: the stored challenge's id (posted back) and the options
    (PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON) as JSON text."""

    challenge_id: str
    options: str


def _credential(raw: str) -> dict[str, Any] | None:
    """The browser's credential.toJSON(), posted as text; None when it is not a JSON object of sane size."""
    if not raw or len(raw) > MAX_CREDENTIAL_JSON:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _challenge_id(raw: str | None) -> str:
    return (raw or "")[:64]


async def _new_challenge(core: Core, caller: Caller, purpose: str, staff: Staff | None, challenge: bytes,
                         rp: ceremony.RelyingParty) -> str:
    challenge_id = secrets.token_urlsafe(16)
    now = core.clock.now()
    await _store(core).add_staff_challenge(challenge_id, purpose, caller.tenant.id, staff.id if staff else None,
                                           challenge, rp.rp_id, now, now + rules.CHALLENGE_LIFETIME)
    return challenge_id


# -- a staff member's own passkeys -----------------------------------------------------------------------

async def passkeys_of(core: Core, staff: Staff) -> list[StaffPasskey]:
    return await _store(core).staff_passkeys(staff.id)


def _require_fresh(core: Core, session: StaffSession) -> None:
    if not staff_service.recently_authenticated(core, session):
        raise Forbidden("Adding a passkey needs your password and code again first.")


async def registration_options(core: Core, caller: Caller, session: StaffSession, staff: Staff) -> Ceremony:
    """Start adding a passkey: needs a recent re-authentication (the console asks first); the options
    exclude the staff member's passkeys (an authenticator holds one per console)."""
    rp = relying_party(core)
    _require_fresh(core, session)
    held = await passkeys_of(core, staff)
    if len(held) >= rules.MAX_PASSKEYS:
        raise Conflict(f"You hold {rules.MAX_PASSKEYS} passkeys, the most there may be: remove one first.")
    made = ceremony.registration_options(rp, user_handle=user_handle(core, staff), user_name=staff.email,
                                         display_name=staff.email, exclude=[p.credential_id for p in held])
    return Ceremony(await _new_challenge(core, caller, rules.CHALLENGE_REGISTER, staff, made.challenge, rp),
                    json.dumps(made.options))


async def register(core: Core, caller: Caller, session: StaffSession, staff: Staff, challenge_id: str | None,
                   credential_json: str, name: str | None) -> StaffPasskey:
    """Finish adding a passkey: the challenge (this staff member's, live, unused) and the browser's
    attestation, verified by the ceremony (origin, rp id, user verification). InvalidParameter
    ("credential") when it does not verify; nothing is stored then."""
    rp = relying_party(core)
    _require_fresh(core, session)
    now = core.clock.now()
    taken = await _store(core).take_staff_challenge(_challenge_id(challenge_id), rules.CHALLENGE_REGISTER,
                                                    staff.tenant_id, staff.id, now)
    if taken is None:
        raise InvalidParameter("challenge", "This passkey request has expired or was used: start again.")
    credential = _credential(credential_json)
    if credential is None:
        raise InvalidParameter("credential", "The browser sent no passkey: try again.")
    try:
        made = ceremony.verify_registration(rp, credential, taken[0])
    except PasskeyRefused as exc:
        raise InvalidParameter("credential", "The passkey could not be verified: try again, or use another "
                                             "authenticator.") from exc
    count = len(await passkeys_of(core, staff))
    label = rules.passkey_name(name, f"Passkey {count + 1}")
    async with _store(core).transaction() as tx:
        added = await tx.insert_staff_passkey(
            staff.id, made.credential_id, made.public_key, made.sign_count, label, made.aaguid,
            list(made.transports), made.backup_eligible, made.backed_up, rp.rp_id, now, rules.MAX_PASSKEYS)
        if added is None:
            raise Conflict(f"You hold {rules.MAX_PASSKEYS} passkeys, the most there may be: remove one first.")
        await audit.record(core, audit.Event.STAFF_PASSKEY_REGISTERED, caller=caller, actor=staff.actor, detail={
            "staff": staff.email, "passkey": added.id, "name": added.name, "backedUp": added.backed_up}, store=tx)
    return added


async def _own(core: Core, staff: Staff, passkey_id: int) -> StaffPasskey:
    for passkey in await passkeys_of(core, staff):
        if passkey.id == passkey_id:
            return passkey
    raise NotFound("no such passkey")


async def rename(core: Core, caller: Caller, staff: Staff, passkey_id: int, name: str | None) -> StaffPasskey:
    passkey = await _own(core, staff, passkey_id)
    label = rules.passkey_name(name, passkey.name)
    async with _store(core).transaction() as tx:
        await tx.rename_staff_passkey(staff.id, passkey.id, label)
        await audit.record(core, audit.Event.STAFF_PASSKEY_RENAMED, caller=caller, actor=staff.actor, detail={
            "staff": staff.email, "passkey": passkey.id, "name": label}, store=tx)
    return await _own(core, staff, passkey_id)


async def remove(core: Core, caller: Caller | None, staff: Staff, passkey_id: int, *, by: str | None = None) -> None:
    """Remove one passkey of `staff` (NotFound for another's or none); `by`: who, default the staff member."""
    passkey = await _own(core, staff, passkey_id)
    async with _store(core).transaction() as tx:
        if not await tx.delete_staff_passkey(staff.id, passkey.id):
            raise NotFound("no such passkey")
        await audit.record(core, audit.Event.STAFF_PASSKEY_REMOVED, caller=caller, tenant_id=staff.tenant_id,
                           actor=by or staff.actor, detail={"staff": staff.email, "passkey": passkey.id,
                                                            "name": passkey.name}, store=tx)


async def remove_all(core: Core, email: str, *, by: str = "cli", caller: Caller | None = None,
                     tenant_id: int | None = None) -> int:
    """The operator's command: every passkey of the staff member goes (a lost security key); password and
    code stay. How many were removed."""
    staff = await staff_service.find(core, email, tenant_id)
    async with _store(core).transaction() as tx:
        removed = await tx.delete_staff_passkeys(staff.id)
        await audit.record(core, audit.Event.STAFF_PASSKEY_REMOVED, caller=caller, tenant_id=staff.tenant_id,
                           actor=by, detail={"staff": staff.email, "removed": removed}, store=tx)
    return removed


# -- sign-in with a passkey --------------------------------------------------------------------------------

async def sign_in_options(core: Core, caller: Caller) -> Ceremony:
    """Start a usernameless sign-in: no credential named (the browser offers the console's passkeys it
    holds). Spends the address's LOGIN bucket, as the password step does."""
    rp = relying_party(core)
    await limits.check(core, caller, limits.Limit.LOGIN)
    made = ceremony.authentication_options(rp, allow=[])
    return Ceremony(await _new_challenge(core, caller, rules.CHALLENGE_SIGN_IN, None, made.challenge, rp),
                    json.dumps(made.options))


async def _verified(core: Core, caller: Caller, purpose: str, challenge_id: str | None, credential_json: str,
                    expected: Staff | None, step: str) -> tuple[Staff, StaffCredential]:
    """The staff member and passkey a ceremony's answer proves (for a re-authentication: `expected`'s
    own passkey, against a challenge made for them). Every refusal is recorded as a sign-in's
    (staff/service.py `record_refusal`: limits, the per-address allowance, the failure count) and raised
    as InvalidCredentials."""
    rp = relying_party(core)
    await limits.check(core, caller, limits.Limit.LOGIN)
    now = core.clock.now()
    credential = _credential(credential_json)
    try:
        credential_id = ceremony.read_assertion(credential).credential_id if credential else ""
    except PasskeyRefused:
        credential_id = ""
    found = await _store(core).staff_credential(credential_id) if credential_id else None
    stored, staff = found if found else (None, None)
    if staff is not None and (staff.tenant_id != caller.tenant.id or (expected and staff.id != expected.id)):
        stored, staff = None, None
    staff = staff or expected
    subject = f"staff:{staff.id}" if staff else f"staff-passkey:{at_rest(credential_id)[:32]}"
    await limits.check_account_left(core, caller, limits.Limit.LOGIN, subject)
    blocked = await lockout.address_blocked(core, caller, subject)
    taken = await _store(core).take_staff_challenge(_challenge_id(challenge_id), purpose, caller.tenant.id,
                                                    expected.id if expected else None, now)
    reason: str | None = None
    if staff is None or stored is None or credential is None:
        reason = staff_service.UNKNOWN
    elif taken is None:
        reason = "challenge"
    elif staff.status == rules.STATUS_INVITED:
        reason = staff_service.NOT_ENROLLED
    elif blocked:
        reason = staff_service.ADDRESS_BLOCKED
    elif staff.locked(now):
        reason = staff_service.LOCKED
    why = ""  # the ceremony's reason (a fixed word) when the assertion is refused
    if reason is None and stored is not None and staff is not None and taken is not None and credential:
        try:
            if stored.rp_id != rp.rp_id or taken[1] != rp.rp_id:
                raise PasskeyRefused(ceremony.CEREMONY)  # made for another console address
            verified = ceremony.verify_authentication(rp, credential, taken[0], public_key=stored.public_key,
                                                      sign_count=stored.sign_count,
                                                      user_handle=user_handle(core, staff))
        except PasskeyRefused as exc:
            why = exc.reason
            reason = staff_service.PASSKEY_COUNTER if exc.reason == ceremony.COUNTER else staff_service.BAD_PASSKEY
        else:
            if staff.status != rules.STATUS_ACTIVE:
                reason = staff_service.DISABLED
            elif not await _store(core).use_staff_passkey(stored.passkey.id, stored.sign_count,
                                                          verified.new_sign_count, verified.backed_up, now):
                why, reason = ceremony.COUNTER, staff_service.PASSKEY_COUNTER  # another use moved the counter
    if reason is not None:
        if why and staff and stored:
            await audit.record(core, audit.Event.STAFF_PASSKEY_REFUSED, caller=caller, actor=staff.actor, detail={
                "staff": staff.email, "passkey": stored.passkey.id, "reason": why})
        raise await staff_service.record_refusal(core, caller, subject, staff, reason, now, step=step)
    assert staff is not None and stored is not None
    return staff, stored


async def sign_in(core: Core, caller: Caller, challenge_id: str | None, credential_json: str) -> staff_service.SignedIn:
    """A complete console sign-in with a passkey (it stands for password and code): a signed-in
    session. InvalidCredentials for every refusal, recorded as a password sign-in's are."""
    staff, stored = await _verified(core, caller, rules.CHALLENGE_SIGN_IN, challenge_id, credential_json, None,
                                    "passkey")
    now = core.clock.now()
    token = secrets.token_urlsafe(32)
    async with _store(core).transaction() as tx:
        session = await tx.open_staff_session(staff.id, at_rest(token), rules.STAGE_SIGNED_IN, now, now,
                                              caller.client_address, caller.user_agent)
        await tx.record_staff_sign_in(staff.id, now)
        await audit.record(core, audit.Event.STAFF_PASSKEY_USED, caller=caller, actor=staff.actor, detail={
            "staff": staff.email, "passkey": stored.passkey.id, "name": stored.passkey.name}, store=tx)
        await audit.record(core, audit.Event.STAFF_SIGNED_IN, caller=caller, actor=staff.actor,
                           detail={"staff": staff.email, "method": "passkey", "session": session.id}, store=tx)
    signed = await _store(core).get_staff(staff.id)
    assert signed is not None
    return staff_service.SignedIn(signed, session, token)


# -- re-authentication with a passkey ------------------------------------------------------------------------

async def reauthentication_options(core: Core, caller: Caller, staff: Staff) -> Ceremony:
    """Start proving it is them again with one of their passkeys (instead of password and code)."""
    rp = relying_party(core)
    await limits.check(core, caller, limits.Limit.LOGIN)
    held = await passkeys_of(core, staff)
    if not held:
        raise Conflict("You have no passkey: confirm with your password and code.")
    made = ceremony.authentication_options(rp, allow=[p.credential_id for p in held])
    return Ceremony(await _new_challenge(core, caller, rules.CHALLENGE_REAUTH, staff, made.challenge, rp),
                    json.dumps(made.options))


async def reauthenticate(core: Core, caller: Caller, session: StaffSession, staff: Staff, challenge_id: str | None,
                         credential_json: str) -> None:
    """The session's proof renewed by one of the staff member's own passkeys (console
    `require_recent_auth`); refusals as a sign-in's (InvalidCredentials)."""
    _, stored = await _verified(core, caller, rules.CHALLENGE_REAUTH, challenge_id, credential_json, staff,
                                "reauthentication")
    now = core.clock.now()
    async with _store(core).transaction() as tx:
        await tx.reauthenticate_staff_session(session.id, now)
        await tx.record_staff_sign_in(staff.id, now)
        await audit.record(core, audit.Event.STAFF_PASSKEY_USED, caller=caller, actor=staff.actor, detail={
            "staff": staff.email, "passkey": stored.passkey.id, "name": stored.passkey.name}, store=tx)
        await audit.record(core, audit.Event.STAFF_REAUTHENTICATED, caller=caller, actor=staff.actor,
                           detail={"staff": staff.email, "method": "passkey", "session": session.id}, store=tx)

"""The staff flows: creating staff and their enrolment link, enrolment (password, TOTP, recovery codes),
sign-in (password, then a TOTP or recovery code), console sessions (timeouts, revocation,
re-authentication), and the operator's commands (list, disable, reset the second factor).

Sign-in spends what a shopper's password login spends and obeys the same rules (login/lockout.py,
login/limits.py, the tenant's lockout policy and rate limits): the address's LOGIN bucket, the staff
member's failure bucket and this address's failure allowance, one Argon2id hash whether the email is
known or not (a dummy hash for unknown emails), and the same refusal for every reason. A wrong second
factor counts as a failed sign-in too, so guessing codes locks the staff member like guessing passwords.

Every event goes to the audit trail as a tenant-level entry (no account id), `actor` staff:<email>
(docs/architecture.md, "Staff and the console").
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, InvalidCredentials, InvalidParameter, NotFound
from ticketbooth.domain.models import NO_ACCOUNT, AuditEntry
from ticketbooth.domain.policies import lock_expiry
from ticketbooth.domain.text import clean_email
from ticketbooth.infra import totp
from ticketbooth.infra.tokens import at_rest
from ticketbooth.login import limits, lockout
from ticketbooth.login.passwords import password_problems, strength_problems
from ticketbooth.staff import rules
from ticketbooth.staff.persistence import StaffPersistence
from ticketbooth.staff.rules import Role, Staff, StaffSession

ENROLMENT_PATH = "/console/enrol/"
ISSUER = "Ticketbooth"


def _store(core: Core) -> StaffPersistence:
    return core.store


def refused() -> InvalidCredentials:
    return InvalidCredentials("The email, password or code is incorrect")


def _email(value: str | None) -> str:
    email = clean_email(value, required=True, name="email")
    assert email is not None
    if len(email) > 190:
        raise InvalidParameter("email", "email is too long for a staff member (at most 190 characters)")
    return email.lower()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def enrolment_link(core: Core, token: str) -> str:
    return f"{core.settings.effective_issuer}{ENROLMENT_PATH}{token}"


# -- creating staff (CLI, and console-ops's staff page) --------------------------------------------------

@dataclass(frozen=True, slots=True)
class Invitation:
    staff: Staff
    link: str
    """The single-use enrolment link: shown once, to whoever created the staff member."""
    expires_at: datetime


async def console_tenant(core: Core, tenant_id: int | None = None) -> int:
    """The tenant the console serves: `tenant_id`, else TICKETBOOTH_CONSOLE_TENANT_ID, else the tenant with
    the lowest id. InvalidParameter when there is none."""
    wanted = tenant_id or core.settings.console_tenant_id or await _store(core).lowest_tenant_id()
    if not wanted or await core.directory.tenant(wanted) is None:
        raise InvalidParameter("tenant-id", "no such tenant: create one first (ticketbooth tenant create)")
    return wanted


async def create(core: Core, email: str, role: str, *, tenant_id: int | None = None, by: str = "cli",
                 caller: Caller | None = None) -> Invitation:
    """A new staff member (status invited) and their enrolment link, valid for
    `console_enrolment_hours`. Conflict when the email is taken."""
    clean = _email(email)
    parsed = rules.parse_role(role)
    if parsed is None:
        raise InvalidParameter("role", f"role must be one of {', '.join(r.value for r in rules.ROLES)}")
    tenant = caller.tenant.id if caller else await console_tenant(core, tenant_id)
    token, now = _new_token(), core.clock.now()
    expires = now + timedelta(hours=core.settings.console_enrolment_hours)
    async with _store(core).transaction() as tx:
        staff = await tx.insert_staff(tenant, clean, parsed.value, at_rest(token), expires, now, by)
        await audit.record(core, audit.Event.STAFF_CREATED, caller=caller, tenant_id=tenant, actor=by,
                           detail={"staff": staff.email, "role": staff.role.value}, store=tx)
    return Invitation(staff, enrolment_link(core, token), expires)


async def list_staff(core: Core, tenant_id: int, start: int = 0, size: int = 50) -> tuple[list[Staff], int]:
    return await _store(core).list_staff(tenant_id, max(0, start), max(1, min(size, 200)))


async def find(core: Core, email: str, tenant_id: int | None = None) -> Staff:
    staff = await _store(core).get_staff_by_email(_email(email))
    if staff is None or (tenant_id is not None and staff.tenant_id != tenant_id):
        raise NotFound("no staff member with that email")
    return staff


async def set_enabled(core: Core, email: str, enabled: bool, *, by: str = "cli", caller: Caller | None = None,
                      tenant_id: int | None = None) -> Staff:
    """Disable (every session ends; sign-in is refused) or enable a staff member."""
    staff = await find(core, email, tenant_id)
    if staff.status == rules.STATUS_INVITED:
        raise Conflict("the staff member has not enrolled yet")
    status = rules.STATUS_ACTIVE if enabled else rules.STATUS_DISABLED
    async with _store(core).transaction() as tx:
        await tx.set_staff_status(staff.id, status)
        ended = 0 if enabled else await tx.end_staff_sessions(staff.id, core.clock.now(), rules.ENDED_BY_DISABLED)
        await audit.record(core, audit.Event.STAFF_ENABLED if enabled else audit.Event.STAFF_DISABLED, caller=caller,
                           tenant_id=staff.tenant_id, actor=by, detail={"staff": staff.email, "sessionsEnded": ended},
                           store=tx)
    return await find(core, email)


async def reset_second_factor(core: Core, email: str, *, by: str = "cli", caller: Caller | None = None,
                              tenant_id: int | None = None) -> Invitation:
    """A lost phone: the staff member's password, TOTP secret, recovery codes and passkeys (the phone
    may hold one) are dropped, every session ends, and a new enrolment link is made (they enrol again
    from the start)."""
    staff = await find(core, email, tenant_id)
    token, now = _new_token(), core.clock.now()
    expires = now + timedelta(hours=core.settings.console_enrolment_hours)
    async with _store(core).transaction() as tx:
        await tx.restart_enrolment(staff.id, at_rest(token), expires)
        ended = await tx.end_staff_sessions(staff.id, now, rules.ENDED_BY_RESET_2FA)
        passkeys = await tx.delete_staff_passkeys(staff.id)
        await audit.record(core, audit.Event.STAFF_SECOND_FACTOR_RESET, caller=caller, tenant_id=staff.tenant_id,
                           actor=by, detail={"staff": staff.email, "sessionsEnded": ended, "passkeysRemoved": passkeys},
                           store=tx)
    return Invitation(await find(core, email), enrolment_link(core, token), expires)


# -- enrolment -------------------------------------------------------------------------------------------

async def enrolment(core: Core, token: str) -> Staff | None:
    """The staff member a live, unused enrolment link belongs to."""
    if not token or len(token) > 100:
        return None
    return await _store(core).find_enrolment(at_rest(token), core.clock.now())


@dataclass(frozen=True, slots=True)
class SignedIn:
    staff: Staff
    session: StaffSession
    token: str
    """The session cookie's value (only its hash is stored)."""
    recovery_codes: Sequence[str] = ()
    """Shown once, at enrolment."""


async def enrol(core: Core, caller: Caller, token: str, password: str, confirm: str, secret: str,
                code: str) -> SignedIn:
    """Complete an enrolment: the password (the tenant's shopper password policy), the TOTP secret the
    page showed, proven by a code of it; the link is used up, recovery codes are made, and a console
    session opens. InvalidParameter naming the field at fault; NotFound for a dead link."""
    staff = await enrolment(core, token)
    if staff is None:
        raise NotFound("This enrolment link is not valid any more: ask an administrator for a new one")
    await limits.check(core, caller, limits.Limit.CODE_VERIFY, f"staff:{staff.id}")
    policy = caller.tenant.settings.password
    if password != confirm:
        raise InvalidParameter("confirm", "The two passwords differ")
    problems = password_problems(password, policy) or await strength_problems(password, policy, [staff.email])
    if problems:
        raise InvalidParameter("password", "The password " + "; ".join(problems))
    if not totp.valid_secret(secret):
        raise InvalidParameter("secret", "The authenticator secret is damaged: reload the page")
    now = core.clock.now()
    step = totp.matching_step(secret, rules.clean_code(code), now, rules.TOTP_WINDOW_STEPS, None)
    if step is None:
        raise InvalidParameter("code", "That code is not the current one of this secret: check the authenticator "
                                        "app's clock, and type the code it shows now")
    codes = [totp.new_recovery_code() for _ in range(rules.RECOVERY_CODES)]
    hashes = [totp.recovery_hash(core.refresh_secret, staff.id, rules.recovery_code_key(c)) for c in codes]
    password_hash = await core.hashing.hash(password)
    session_token = _new_token()
    async with _store(core).transaction() as tx:
        if not await tx.complete_enrolment(staff.id, at_rest(token), password_hash, totp.seal(core.refresh_secret, secret),
                                           step, hashes, now):
            raise NotFound("This enrolment link is not valid any more: ask an administrator for a new one")
        session = await tx.open_staff_session(staff.id, at_rest(session_token), rules.STAGE_SIGNED_IN, now, now,
                                              caller.client_address, caller.user_agent)
        await audit.record(core, audit.Event.STAFF_ENROLLED, caller=caller, actor=staff.actor,
                           detail={"staff": staff.email, "method": "totp"}, store=tx)
    enrolled = await _store(core).get_staff(staff.id)
    assert enrolled is not None
    return SignedIn(enrolled, session, session_token, codes)


def new_enrolment_secret(staff: Staff) -> tuple[str, str]:
    """A fresh TOTP secret for the enrolment page and its otpauth URI."""
    secret = totp.new_secret()
    return secret, totp.provisioning_uri(secret, staff.email, ISSUER)


# -- sign-in -------------------------------------------------------------------------------------------

UNKNOWN = "unknown"
NOT_ENROLLED = "not-enrolled"
ADDRESS_BLOCKED = lockout.ADDRESS_BLOCKED
LOCKED = lockout.LOCKED
BAD_PASSWORD = lockout.BAD_PASSWORD
DISABLED = "disabled"
BAD_CODE = "bad-code"
CODE_REUSED = "code-reused"
BAD_PASSKEY = "bad-passkey"
"""A passkey sign-in whose assertion does not verify (signature, origin, user verification...)."""
PASSKEY_COUNTER = "passkey-counter"
"""A passkey whose sign counter did not grow: a cloned authenticator, or a replayed assertion."""
COUNTED = (BAD_PASSWORD, BAD_CODE, CODE_REUSED, BAD_PASSKEY, PASSKEY_COUNTER)
"""The refusals that count as a failed sign-in of the staff member (towards their lock)."""


async def sign_in(core: Core, caller: Caller, email: str | None, password: str | None) -> SignedIn:
    """The first step: the password. A pending session (the second factor awaited) on success;
    InvalidCredentials for every refusal, after the same work whether the email is known or not."""
    core.hashing.admit()
    await limits.check(core, caller, limits.Limit.LOGIN)
    try:
        key_email = _email(email)
    except InvalidParameter:
        key_email = ""
    found = await _store(core).find_staff_login(caller.tenant.id, key_email) if key_email else None
    staff = found.staff if found else None
    subject = f"staff:{staff.id}" if staff else f"staff-name:{key_email}"
    await limits.check_account_left(core, caller, limits.Limit.LOGIN, subject)
    blocked = await lockout.address_blocked(core, caller, subject)
    ok = await core.hashing.verify(found.password_hash if found else None, password or "")
    now = core.clock.now()
    reason = _refusal(found.staff if found else None, found.password_hash if found else None, ok, blocked, now)
    if reason is not None:
        raise await record_refusal(core, caller, subject, staff, reason, now)
    assert staff is not None
    token = _new_token()
    session = await _store(core).open_staff_session(staff.id, at_rest(token), rules.STAGE_PENDING, now, now,
                                                    caller.client_address, caller.user_agent)
    return SignedIn(staff, session, token)


def _refusal(staff: Staff | None, password_hash: str | None, ok: bool, blocked: bool, now: datetime) -> str | None:
    if staff is None:
        return UNKNOWN
    if password_hash is None or staff.status == rules.STATUS_INVITED:
        return NOT_ENROLLED
    if blocked:
        return ADDRESS_BLOCKED
    if staff.locked(now):
        return LOCKED
    if not ok:
        return BAD_PASSWORD
    if staff.status != rules.STATUS_ACTIVE:
        return DISABLED
    return None


async def record_refusal(core: Core, caller: Caller, subject: str, staff: Staff | None, reason: str,
                  now: datetime, *, step: str = "password") -> InvalidCredentials:
    """Record a refused sign-in step and return the error to raise (lockout.refuse's rules, on staff)."""
    spent = await lockout.spend_address_failure(core, caller, subject)
    if reason in COUNTED and not spent:
        reason = ADDRESS_BLOCKED
    if spent:
        await limits.spend_account(core, caller, limits.Limit.LOGIN, subject)
    counted = staff is not None and reason in COUNTED
    policy = caller.tenant.settings.lockout
    expires = lock_expiry(policy, now)
    async with _store(core).transaction() as tx:
        locked = await tx.record_staff_failure(staff.id if counted and staff else NO_ACCOUNT, now,
                                               policy.max_failed_logins, expires)
        detail: dict[str, object] = {"reason": reason, "step": step}
        if staff is not None:
            detail["staff"] = staff.email
        await audit.record(core, audit.Event.STAFF_SIGN_IN_FAILED, caller=caller,
                           actor=staff.actor if staff else None, detail=detail, store=tx)
        if locked and staff is not None:
            await audit.record(core, audit.Event.STAFF_LOCKED, caller=caller, actor=staff.actor, detail={
                "staff": staff.email, "failures": policy.max_failed_logins,
                "until": expires.isoformat() if expires else None}, store=tx)
            await tx.end_staff_sessions(staff.id, now, rules.ENDED_BY_REVOKED)
    return refused()


async def second_factor(core: Core, caller: Caller, pending: StaffSession, staff: Staff, code: str | None) -> SignedIn:
    """The second step: a TOTP code (each time step once) or an unused recovery code. The pending
    session ends and a signed-in one opens under a new token."""
    now = core.clock.now()
    subject = f"staff:{staff.id}"
    await limits.check(core, caller, limits.Limit.CODE_VERIFY, subject)
    await limits.check_account_left(core, caller, limits.Limit.LOGIN, subject)
    if pending.stage != rules.STAGE_PENDING or await lockout.address_blocked(core, caller, subject):
        raise await record_refusal(core, caller, subject, staff, ADDRESS_BLOCKED, now, step="code")
    found = await _store(core).find_staff_login(staff.tenant_id, staff.email)
    if found is None or found.staff.status != rules.STATUS_ACTIVE or found.staff.locked(now):
        raise await record_refusal(core, caller, subject, staff, LOCKED if found and found.staff.locked(now) else DISABLED,
                            now, step="code")
    typed = rules.clean_code(code)
    method = await _check_code(core, found, typed, now)
    if method in (BAD_CODE, CODE_REUSED):
        raise await record_refusal(core, caller, subject, staff, method, now, step="code")
    token = _new_token()
    async with _store(core).transaction() as tx:
        await tx.end_staff_session(pending.id, now, rules.ENDED_BY_NEXT_STAGE)
        session = await tx.open_staff_session(staff.id, at_rest(token), rules.STAGE_SIGNED_IN, now, now,
                                              caller.client_address, caller.user_agent)
        await tx.record_staff_sign_in(staff.id, now)
        if method == "recovery-code":
            await audit.record(core, audit.Event.STAFF_RECOVERY_CODE_USED, caller=caller, actor=staff.actor,
                               detail={"staff": staff.email, "left": max(0, found.staff.recovery_codes_left - 1)},
                               store=tx)
        await audit.record(core, audit.Event.STAFF_SIGNED_IN, caller=caller, actor=staff.actor,
                           detail={"staff": staff.email, "method": method, "session": session.id}, store=tx)
    signed = await _store(core).get_staff(staff.id)
    assert signed is not None
    return SignedIn(signed, session, token)


async def _check_code(core: Core, login: rules.StaffLogin, typed: str, now: datetime) -> str:
    """"totp" or "recovery-code" when `typed` is a good code (and is now used up); else BAD_CODE or
    CODE_REUSED."""
    staff = login.staff
    if rules.is_totp_code(typed):
        secret = totp.unseal(core.refresh_secret, login.totp_secret or "")
        if secret is None:
            return BAD_CODE
        step = totp.matching_step(secret, typed, now, rules.TOTP_WINDOW_STEPS, None)
        if step is None:
            return BAD_CODE
        if login.totp_last_step is not None and step <= login.totp_last_step:
            return CODE_REUSED
        return "totp" if await _store(core).use_totp_step(staff.id, step) else CODE_REUSED
    if rules.is_recovery_code(typed):
        hashed = totp.recovery_hash(core.refresh_secret, staff.id, rules.recovery_code_key(typed))
        return "recovery-code" if await _store(core).use_recovery_code(staff.id, hashed, now) else BAD_CODE
    return BAD_CODE


# -- sessions ------------------------------------------------------------------------------------------

def _idle(core: Core) -> timedelta:
    return timedelta(seconds=core.settings.console_idle_seconds)


def _absolute(core: Core) -> timedelta:
    return timedelta(seconds=core.settings.console_absolute_seconds)


async def session_of(core: Core, token: str | None) -> tuple[StaffSession, Staff] | None:
    """The live session a cookie names, with its staff member (active, not locked); its last use is
    brought forward (at most every few seconds). None for anything else."""
    if not token or len(token) > 100:
        return None
    found = await _store(core).staff_session_by_token(at_rest(token))
    if found is None:
        return None
    session, staff = found
    now = core.clock.now()
    if not rules.session_live(session, now, _idle(core), _absolute(core)):
        return None
    if staff.status != rules.STATUS_ACTIVE or staff.locked(now):
        return None
    if session.stage == rules.STAGE_SIGNED_IN and now - session.last_seen_at > min(timedelta(seconds=30), _idle(core) / 4):
        await _store(core).touch_staff_session(session.id, now)
    return session, staff


async def sign_out(core: Core, caller: Caller, session: StaffSession, staff: Staff) -> None:
    async with _store(core).transaction() as tx:
        if await tx.end_staff_session(session.id, core.clock.now(), rules.ENDED_BY_SIGN_OUT):
            await audit.record(core, audit.Event.STAFF_SIGNED_OUT, caller=caller, actor=staff.actor,
                               detail={"staff": staff.email, "session": session.id}, store=tx)


def recently_authenticated(core: Core, session: StaffSession) -> bool:
    return rules.recently_authenticated(session, core.clock.now(),
                                        timedelta(seconds=core.settings.console_reauth_seconds))


async def reauthenticate(core: Core, caller: Caller, session: StaffSession, staff: Staff, password: str | None,
                         code: str | None) -> None:
    """Prove password and second factor again, for the most sensitive actions (console
    `require_recent_auth`): the same limits and failure counting as a sign-in."""
    now = core.clock.now()
    subject = f"staff:{staff.id}"
    core.hashing.admit()
    await limits.check(core, caller, limits.Limit.LOGIN)
    await limits.check_account_left(core, caller, limits.Limit.LOGIN, subject)
    blocked = await lockout.address_blocked(core, caller, subject)
    found = await _store(core).find_staff_login(staff.tenant_id, staff.email)
    ok = await core.hashing.verify(found.password_hash if found else None, password or "")
    reason = _refusal(found.staff if found else None, found.password_hash if found else None, ok, blocked, now)
    if reason is not None or found is None:
        raise await record_refusal(core, caller, subject, staff, reason or UNKNOWN, now, step="reauthentication")
    method = await _check_code(core, found, rules.clean_code(code), now)
    if method in (BAD_CODE, CODE_REUSED):
        raise await record_refusal(core, caller, subject, staff, method, now, step="reauthentication")
    async with _store(core).transaction() as tx:
        await tx.reauthenticate_staff_session(session.id, now)
        await tx.record_staff_sign_in(staff.id, now)
        await audit.record(core, audit.Event.STAFF_REAUTHENTICATED, caller=caller, actor=staff.actor,
                           detail={"staff": staff.email, "method": method, "session": session.id}, store=tx)


async def sessions_of(core: Core, staff: Staff, *, live_only: bool = True) -> list[StaffSession]:
    """A staff member's sessions, newest first (live only: signed in, not ended, not timed out)."""
    now = core.clock.now()
    since = now - _idle(core) if live_only else None
    found = await _store(core).staff_sessions(staff.id, since)
    if live_only:
        found = [s for s in found if s.stage == rules.STAGE_SIGNED_IN
                 and rules.session_live(s, now, _idle(core), _absolute(core))]
    return found


async def revoke_sessions(core: Core, staff: Staff, *, by: str = "cli", caller: Caller | None = None) -> int:
    """End every session of `staff`; how many were live."""
    async with _store(core).transaction() as tx:
        ended = await tx.end_staff_sessions(staff.id, core.clock.now(), rules.ENDED_BY_REVOKED)
        await audit.record(core, audit.Event.STAFF_SESSIONS_REVOKED, caller=caller, tenant_id=staff.tenant_id,
                           actor=by, detail={"staff": staff.email, "sessionsEnded": ended}, store=tx)
    return ended


async def revoke_session(core: Core, tenant_id: int, session_id: int, *, by: str = "cli",
                         caller: Caller | None = None) -> bool:
    """End one staff session (of a staff member of `tenant_id`); NotFound for another tenant's or none."""
    session = await get_session(core, session_id)
    staff = await _store(core).get_staff(session.staff_id) if session else None
    if session is None or staff is None or staff.tenant_id != tenant_id:
        raise NotFound("no such staff session")
    async with _store(core).transaction() as tx:
        ended = await tx.end_staff_session(session_id, core.clock.now(), rules.ENDED_BY_REVOKED)
        if ended:
            await audit.record(core, audit.Event.STAFF_SESSIONS_REVOKED, caller=caller, tenant_id=tenant_id, actor=by,
                               detail={"staff": staff.email, "session": session_id, "sessionsEnded": 1}, store=tx)
    return ended


__all__ = ["Invitation", "Role", "SignedIn", "create", "enrol", "list_staff", "revoke_session", "revoke_sessions",
           "second_factor", "sessions_of", "sign_in", "sign_out"]


async def trail(core: Core, tenant_id: int, *, staff: Staff | None = None, start: int = 0,
                size: int = 50) -> tuple[list[AuditEntry], int]:
    """The staff trail: the tenant's `staff.*` audit entries (sign-ins, failures, enrolments, revocations),
    newest first; with `staff`, only those naming that staff member as actor."""
    return await _store(core).staff_trail(tenant_id, staff.actor if staff else None, max(0, start),
                                          max(1, min(size, 200)))


async def get_session(core: Core, session_id: int) -> StaffSession | None:
    if not 0 < session_id < 2**63:
        return None
    return await _store(core).get_staff_session(session_id)


async def get_staff(core: Core, staff_id: int) -> Staff | None:
    return await _store(core).get_staff(staff_id)

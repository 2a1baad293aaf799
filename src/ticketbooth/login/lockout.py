"""Lockout: what a password attempt does with its outcome, so that guessing cannot get through, cannot
lock a shopper out from one address, and cannot tell whether an account exists.

Every password attempt goes through `verify_password`: a login (`POST /authtickets`) and a
Change-Password that proves the old password alike, so neither is a guessing oracle beside the other.

- Per account: the `max_failed_logins`-th consecutive failure locks the account for `lock_minutes`
  (0: until unlocked), in one conditional UPDATE (`Store.record_failed_login`): however many wrong
  passwords arrive at once the account is locked once, and the owner gets one email (queued in the
  same transaction) saying how to get back in. The lock stops new logins only: the owner's sessions
  go on (ending them is the owner's or an administrator's decision, and an administrator's lock does
  end them), so failing passwords on purpose cannot throw a shopper out.
- Per (client address, account): a token bucket in the shared rate limiter (Redis when configured,
  so every process sees the same count), keyed on the account whichever of its login names (or
  spellings of one) is tried, and whether it is named by a login name or, in Change-Password, by its
  id; an unknown name or id gets a bucket of its own just like it. After
  `max_failed_logins_per_address` failures that address's password attempts on that account are
  refused -- even with the right password -- and no longer count against the account, while other
  addresses go on as before. So one address alone cannot lock a shopper out while that allowance is
  below `max_failed_logins`; many addresses can (that is what the lock is for: it stops guessing
  spread over addresses), and the owner then still gets in with a mailed code or a password reset.
  The bucket is taken AFTER the hash and only a successful take counts against the account, so
  parallel requests cannot count more failures than the allowance. The account's rate-limit bucket
  (`limits.Limit.LOGIN`, per account, keyed alike) is spent by the same failures only, so one
  address cannot empty it either.
- Every refusal -- unknown user, wrong password, locked or inactive account, blocked address -- is
  the same INVALID_CREDENTIALS after the same work: one password hash, one limiter take, one failed-
  login UPDATE (on no row when nothing is counted) and one audit entry, in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidCredentials
from ticketbooth.domain.models import MAIL_ACCOUNT_LOCKED, NO_ACCOUNT, Account
from ticketbooth.domain.policies import lock_expiry, lock_in_force
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events
from ticketbooth.login import limits
from ticketbooth.mail import service as mail

# Why a password login was refused, as written in the audit entry (never shown to the caller).
UNKNOWN = "unknown"
NO_LOGIN = "no-login"
ADDRESS_BLOCKED = "address-blocked"
LOCKED = "locked"
BAD_PASSWORD = "bad-password"
INACTIVE = "inactive"
OTHER_ACCOUNT = "other-account"
CHANGED_MEANWHILE = "changed-meanwhile"

# Which flow a password attempt came through, as written in the audit entry (None: a login).
VIA_CHANGE_PASSWORD = "change-password"
VIA_LOGIN_NAME_CHANGE = "login-name-change"

Refused = Callable[[], InvalidCredentials]
Lookup = Callable[[], Awaitable[tuple[Account, str | None] | None]]


def refused() -> InvalidCredentials:
    return InvalidCredentials("Invalid Credentials: the username or password is incorrect")


def subject(account: Account | None, unknown: str) -> str:
    """What an attempt's limits are counted on: the account once it is known, whichever name (or id)
    named it; else `unknown` (such as "name:" and the login key), so that an unknown name gets a
    bucket just like a known one."""
    return f"account:{account.id}" if account is not None else unknown


def _address_key(core: Core, caller: Caller, subject: str) -> str:
    """The limiter key of (tenant, customer set, subject, client address): a keyed hash, so that
    neither the name nor the address ends up in Redis."""
    secret = hmac.new(core.refresh_secret, b"ticketbooth lockout keys", hashlib.sha256).digest()
    value = f"{caller.site.customer_set_id}\x00{subject}\x00{limits.address_key(caller.client_address)}"
    digest = hmac.new(secret, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
    return f"{caller.tenant.id}:lockout:address:{digest}"


def _bucket(caller: Caller) -> tuple[int, float]:
    policy = caller.tenant.settings.lockout
    capacity = policy.max_failed_logins_per_address
    return capacity, capacity / (policy.address_window_minutes * 60.0)


async def address_blocked(core: Core, caller: Caller, subject: str) -> bool:
    """Whether this address has used up its failed logins on this subject (asked before the hash; the
    same call whether the account exists or not)."""
    capacity, per_second = _bucket(caller)
    return await core.limiter.peek(_address_key(core, caller, subject), capacity, per_second) > 0


async def spend_address_failure(core: Core, caller: Caller, subject: str) -> bool:
    """Count one failure of this address on this subject; False when it had none left (then the failure
    must not count against the subject either). Staff sign-in (staff/service.py) uses the same allowance."""
    capacity, per_second = _bucket(caller)
    return await core.limiter.take(_address_key(core, caller, subject), capacity, per_second) == 0


@dataclass(frozen=True, slots=True)
class Proven:
    """A password attempt that passed: the account, its stored hash, what the attempt's limits were
    counted on, and when it was checked."""

    account: Account
    stored_hash: str
    subject: str
    at: datetime


async def verify_password(core: Core, caller: Caller, password: str, lookup: Lookup, unknown: str, *,
                          wanted_account_id: int | None = None, via: str | None = None,
                          error: Refused = refused) -> Proven:
    """Check one password attempt against the account `lookup` finds, spending what a login spends:
    the hashing pool's admission, the address's LOGIN bucket, then (on the account, or `unknown`
    when there is none) the LOGIN failure bucket and this address's failure allowance, and the hash.
    Every refusal is `error()` after the same work, recorded by `refuse` (`via` names the flow in
    the audit entry); the right password on a usable account returns what the caller goes on with."""
    core.hashing.admit()  # under a flood the excess is refused before any limiter or database work
    # every attempt counts per address; per account only failures do (see `refuse`), so the owner's
    # own logins never use the account's bucket up, and one address cannot empty it either
    await limits.check(core, caller, limits.Limit.LOGIN)
    found = await lookup()
    account, stored_hash = found if found else (None, None)
    key = subject(account, unknown)
    await limits.check_account_left(core, caller, limits.Limit.LOGIN, key)
    blocked = await address_blocked(core, caller, key)
    ok = await core.hashing.verify(stored_hash, password)
    now = core.clock.now()
    reason = refusal(account, stored_hash, ok, blocked, wanted_account_id, now)
    if reason is not None:
        raise await refuse(core, caller, key, account, reason, now, via=via, error=error)
    assert account is not None and stored_hash is not None
    return Proven(account, stored_hash, key, now)


def refusal(account: Account | None, stored_hash: str | None, password_ok: bool, blocked: bool,
            wanted_account_id: int | None, now: datetime) -> str | None:
    """Why a login must be refused (None: it may go on)."""
    if account is None:
        return UNKNOWN
    if stored_hash is None:
        return NO_LOGIN
    if blocked:
        return ADDRESS_BLOCKED
    if lock_in_force(account.is_locked, account.lock_expires_at, now):
        return LOCKED
    if not password_ok:
        return BAD_PASSWORD
    if not account.is_active:
        return INACTIVE
    if wanted_account_id is not None and wanted_account_id != account.id:
        return OTHER_ACCOUNT
    return None


async def refuse(core: Core, caller: Caller, subject: str, account: Account | None, reason: str,
                 now: datetime, *, via: str | None = None, error: Refused = refused) -> InvalidCredentials:
    """Record a refused password attempt and return the error to raise. A wrong password counts
    against the account (and may lock it) only when this address still had a failure to spend. A
    lock made here leaves the account's sessions alone."""
    spent = await spend_address_failure(core, caller, subject)
    if reason == BAD_PASSWORD and not spent:
        reason = ADDRESS_BLOCKED  # another request from this address used up its last failure meanwhile
    if spent:  # the account's rate-limit bucket counts failures, and only those an address may spend
        await limits.spend_account(core, caller, limits.Limit.LOGIN, subject)
    counted = account is not None and reason == BAD_PASSWORD
    policy = caller.tenant.settings.lockout
    expires = lock_expiry(policy, now)
    detail = {"reason": reason} if via is None else {"reason": reason, "via": via}
    async with core.store.transaction() as tx:
        locked, failures = await tx.record_failed_login_count(account.id if counted and account else NO_ACCOUNT, now,
                                                              policy.max_failed_logins, expires)
        await audit.record(core, audit.Event.LOGIN_FAILED, caller=caller, account_id=account.id if account else None,
                           detail=detail, store=tx)
        if account is not None and failures and failures == policy.failed_logins_event:
            await events.publish(core, tx, topics.LOGIN_FAILED, entity_id=account.id, caller=caller)
        if locked and account is not None:
            await audit.record(core, audit.Event.ACCOUNT_LOCKED, caller=caller, account_id=account.id, detail={
                "by": "failed-logins", "failures": policy.max_failed_logins,
                "until": expires.isoformat() if expires else None,
            }, store=tx)
            if account.email:
                await mail.enqueue(core, tx, caller.tenant, MAIL_ACCOUNT_LOCKED, account.email,
                                   account.profile.locale_code, _lock_mail_values(caller, account, expires))
    if locked:
        core.mail.wake()
    return error()


def _lock_mail_values(caller: Caller, account: Account, expires: datetime | None) -> dict[str, object]:
    return {
        "first_name": account.profile.first_name, "user_name": account.username or account.email or "",
        "failures": caller.tenant.settings.lockout.max_failed_logins,
        "otp_login": bool(caller.site.settings.otp_login),
        "unlock_at": expires.strftime("%Y-%m-%d %H:%M UTC") if expires else None,
    }


async def succeeded(core: Core, caller: Caller, account: Account, now: datetime) -> bool:
    """Record a login whose password was right: the failed-login count starts again, and the audit
    entry is written with it (one write of the store's hot path). False when a lock was made (or the
    account disabled) while the password was being checked: then the login is refused after all."""
    event = audit.Event.LOGIN_SUCCEEDED
    entry = audit.entry(core, event, caller=caller, account_id=account.id, detail={"method": "password"},
                        user_id=account.user_id)
    if not await core.store.record_successful_login(account.id, now, audit_entry=entry):
        return False
    audit.recorded(core, event)
    return True

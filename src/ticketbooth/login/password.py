"""Logging in with a password: the password check (through `lockout`), the second factor a site may
ask (`challenges`), and then the ticket of a new token family (`tickets`).

The flow sits above the three modules it joins, so none of them imports another back.
"""

from __future__ import annotations

from ticketbooth.b2b import login as b2b_login
from ticketbooth.b2b.login import is_b2b_user
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, PasswordChangeRequired
from ticketbooth.domain.models import IssuedTicket, Shopper
from ticketbooth.domain.policies import login_key
from ticketbooth.login import challenges, lockout
from ticketbooth.tickets import service as tickets


async def login(
    core: Core, caller: Caller, identifier: str | None, password: str | None, *, account_id: int | None = None,
    requested: tickets.RequestedLifetimes | None = None, previous: Shopper | None = None,
    fingerprint: str | None = None, region: str | None = None,
) -> IssuedTicket:
    """A ticket for a registered shopper who proves their password. Every refusal (unknown user,
    wrong password, inactive or locked account, other account id) is the same error after the same
    hash work, so answers do not tell whether an account exists.

    A wrong password for an existing account counts as a failed login (see loginState); a right one
    resets the count; the failures lock the account when they reach `LockoutPolicy.max_failed_logins`
    (see `services.lockout`, whose `verify_password` every password attempt goes through: it also
    refuses an address that used up its failures on this account, and writes the audit entries).
    A right password on an account that must change it is refused with PasswordChangeRequired (only
    then: a wrong one stays InvalidCredentials). A B2B user's login is for one of their B2B accounts
    (`account_id`, else the first by priority: b2b/login.py); when there is none they may use, the
    refusal is a wrong password's, after the same work. The first login of an imported account verifies
    the other system's hash and stores an Argon2id hash instead."""
    if not identifier:
        raise InvalidParameter("username", "Missing or invalid parameter: username or email address is required")
    if not password:
        raise InvalidParameter("password", "Missing or invalid parameter: password is required")
    access_ttl, refresh_ttl = tickets.lifetimes_for(caller, False, requested)
    key = login_key(identifier)
    proven = await lockout.verify_password(
        core, caller, password, lambda: core.store.find_login(caller.site.customer_set_id, key), f"name:{key}",
        wanted_account_id=account_id)
    account, stored_hash, now = proven.account, proven.stored_hash, proven.at
    scope = None
    if is_b2b_user(account):  # a B2B user's login is for one of their accounts (no query for anyone else)
        scope = await b2b_login.scope_for_login(core, account, account_id)
        if scope is None:
            raise await lockout.refuse(core, caller, proven.subject, account, lockout.B2B_UNAVAILABLE, now)
    if account.password_change_required:
        raise PasswordChangeRequired(
            "Password Change Required: the password must be changed (Change-Password) before logging in")
    if (account.has_external_password or core.hashing.needs_rehash(stored_hash)) and \
            await core.store.upgrade_password_hash(account.id, stored_hash, await core.hashing.hash(password)):
        account.has_external_password = False
    if not await lockout.succeeded(core, caller, account, now):  # locked while the hash was checked
        raise await lockout.refuse(core, caller, proven.subject, account, lockout.LOCKED, now)
    account.last_login_at = now
    account.is_locked, account.lock_expires_at = False, None  # a lock that had run out ended here
    account.failed_login_count, account.first_failed_login_at = 0, None
    previous_anonymous = previous.user_id if previous and previous.is_anonymous else None
    pending = await challenges.begin_two_factor(
        core, caller, account, fingerprint=fingerprint, region=region, access_ttl=access_ttl, refresh_ttl=refresh_ttl,
        previous_anonymous=previous_anonymous, b2b_account_id=scope.account.id if scope else None)
    if pending is not None:  # the site asks a second factor: a code is mailed, the ticket waits for it
        return pending
    if scope is None:
        await core.store.fill_parts(account)  # only now: a refusal must not cost more for a known account
    return await tickets.open_family(
        core, core.store, caller, user_id=account.user_id, account=account,
        previous_anonymous=previous_anonymous, access_ttl=access_ttl, refresh_ttl=refresh_ttl,
        proof=tickets.LoginProof.password(caller), b2b=scope,
    )

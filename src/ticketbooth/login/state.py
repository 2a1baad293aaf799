"""Login management of accounts: the login state, locking, requiring a password change, and
changing passwords (one by its shopper or an administrator, many at once by an administrator).

Who may do what:
- login state by account id: the account's own shopper or a customer:admin application;
- login state by email or username, lock, password-change-required, bulk password changes: a
  customer:admin application only (looking accounts up by name would otherwise enumerate them);
- Change-Password: the account's own shopper (with the old password), a customer:admin application
  (the old password may be left out), or any application without a registered shopper's ticket
  that proves the old password, so that a shopper whose login is refused because a password change
  is required can still change it. Proving the old password is a password attempt like a login's
  (`lockout.verify_password`): the same rate limits, failure allowance per address, failed-login
  count, lock and audit entry, so Change-Password is no way around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ticketbooth.accounts.access import account_for, actor, is_admin, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidParameter,
    NotFound,
    TicketboothError,
)
from ticketbooth.domain.models import REVOKED_BY_LOCK, REVOKED_BY_PASSWORD_CHANGE, Account, LoginState, Shopper
from ticketbooth.domain.policies import lock_in_force, login_key, remaining_login_attempts
from ticketbooth.login import lockout
from ticketbooth.login.passwords import checked_new_password, require_strength
from ticketbooth.login.persistence import LoginPersistence

MAX_PASSWORD_CHANGES = 100


# -- login state -----------------------------------------------------------------------------------

def state_of(account: Account, caller: Caller) -> LoginState:
    return LoginState(
        password_change_required=account.password_change_required, password_changed_at=account.password_changed_at,
        is_locked=account.is_locked, locked_at=account.locked_at, failed_login_count=account.failed_login_count,
        remaining_login_attempts=remaining_login_attempts(caller.tenant.settings.lockout, account.failed_login_count),
        first_failed_login_at=account.first_failed_login_at, last_login_at=account.last_login_at,
        created_at=account.created_at, updated_at=account.updated_at,
    )


async def login_state(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> LoginState:
    account = await account_for(core, caller, shopper, account_id, with_parts=False)
    return state_of(account, caller)


async def login_state_by_name(core: Core, caller: Caller, name: Literal["email", "username"], value: str | None,
                              customer_set_code: str | None = None) -> LoginState:
    """The login state of the account with this email address (or username) in the site's customer
    set, or in the tenant's customer set `customer_set_code`."""
    require_admin(caller, "reading the login state of an account by name")
    parameter = "emailAddress" if name == "email" else "userName"
    if value is None or not value.strip():
        raise InvalidParameter(parameter, f"Missing or invalid parameter: {parameter} is required")
    customer_set_id = caller.site.customer_set_id
    if customer_set_code and customer_set_code.strip():
        found_set = await core.store.customer_set_id_by_code(caller.tenant.id, customer_set_code.strip())
        if found_set is None:
            raise NotFound(f"Item not found: customer set {customer_set_code.strip()} does not exist")
        customer_set_id = found_set
    account_id = await core.store.account_id_by_name(customer_set_id, name, login_key(value))
    account = await core.store.get_account(account_id, with_parts=False) if account_id is not None else None
    if account is None:
        raise NotFound(f"Item not found: no account has the {parameter} given")
    return state_of(account.settle_lock(core.clock.now()), caller)


# -- lock and password-change-required ----------------------------------------------------------------

async def set_login_locked(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, locked: bool) -> None:
    """Lock the account's login (every session of it ends at once) or unlock it (the failed-login
    count starts again). A locked account's logins answer INVALID_CREDENTIALS."""
    require_admin(caller, "locking or unlocking an account")
    account = await account_for(core, caller, shopper, account_id, owner_may=False, with_parts=False)
    now = core.clock.now()
    async with core.store.transaction() as tx:
        await tx.set_locked(account.id, locked, now, actor(caller, shopper))
        if locked:
            await tx.revoke_account_families(account.id, now, REVOKED_BY_LOCK)
        await audit.record(core, audit.Event.ACCOUNT_LOCKED if locked else audit.Event.ACCOUNT_UNLOCKED, caller=caller,
                           account_id=account.id, actor=caller.app.client_id, detail={"by": "admin"}, store=tx)


async def set_password_change_required(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                                       required: bool) -> None:
    """While set, a login with the right password is refused with PASSWORD_CHANGE_REQUIRED until the
    password is changed. Sessions already open go on."""
    require_admin(caller, "requiring a password change")
    account = await account_for(core, caller, shopper, account_id, owner_may=False, with_parts=False)
    async with core.store.transaction() as tx:
        await tx.set_password_change_required(account.id, required, core.clock.now(), actor(caller, shopper))
        await audit.record(core, audit.Event.PASSWORD_CHANGE_REQUIRED, caller=caller, account_id=account.id,
                           actor=caller.app.client_id, detail={"required": required}, store=tx)


# -- changing passwords ----------------------------------------------------------------------------

def _refused() -> InvalidCredentials:
    return InvalidCredentials("Invalid Credentials: the account or the old password is incorrect")


async def change_password(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                          old_password: str | None, new_password: str | None, *, unlock: bool = False) -> None:
    """Give the account a new password (see the module's docstring for who may). The new password
    passes the tenant's policy and differs from the old. Afterwards the password-change-required
    flag is cleared, and every session of the account ends but the caller's own."""
    admin = is_admin(caller)
    registered = shopper is not None and not shopper.is_anonymous
    own = registered and shopper is not None and shopper.account_id == account_id
    if own and shopper is not None and shopper.user_account_id is not None:
        account_id = shopper.user_account_id  # a B2B user's ticket names the B2B account: the login is their own row
    if registered and not own and not admin:
        raise Forbidden("Forbidden: a shopper may change only their own password")
    if unlock and not admin:
        raise Forbidden("Forbidden: unlocking an account needs an application with the customer:admin behavior")
    new = checked_new_password(new_password, caller.tenant.settings.password)
    old = old_password or None
    if old is None and not admin:
        raise InvalidParameter("oldPassword", "Missing or invalid parameter: oldPassword is required")

    proven: lockout.Proven | None = None
    if admin:
        account = await account_for(core, caller, shopper, account_id, with_parts=False)
        stored = await core.store.stored_login(account.id)
        if stored is None or stored.password_hash is None:
            raise Conflict("Validation conflict: the account has no login yet; create one with Create-Login")
        if old is not None and not await core.hashing.verify(stored.password_hash, old):
            raise _refused()
        target, current_hash = stored.account_id, stored.password_hash
        was_locked = lock_in_force(stored.is_locked, stored.lock_expires_at, core.clock.now())
    else:
        # Unknown, foreign, inactive or locked accounts and wrong old passwords: one answer, after the
        # same work, limits and counting as a password login (so this is no guessing oracle either)
        assert old is not None
        proven = await lockout.verify_password(
            core, caller, old, lambda: _login_in_set(core, caller, account_id), f"id:{account_id}",
            via=lockout.VIA_CHANGE_PASSWORD, error=_refused)
        target, current_hash, was_locked = proven.account.id, proven.stored_hash, False
    await require_strength(core, new, caller.tenant.settings.password, target)

    if old is not None:
        if new == old:
            raise InvalidParameter("newPassword", "Missing or invalid parameter: newPassword must differ from the old password")
    elif await core.hashing.verify(current_hash, new):
        raise InvalidParameter("newPassword", "Missing or invalid parameter: newPassword must differ from the old password")

    new_hash = await core.hashing.hash(new)
    now = core.clock.now()
    async with core.store.transaction() as tx:
        # without an administrator, a lock made while the old password was being checked wins
        changed = await tx.change_password_hash(target, current_hash, new_hash, now, actor(caller, shopper),
                                                unlock=unlock, unless_locked=proven is not None)
        if changed:
            await _changed(core, caller, shopper, tx, target, now, own=own, admin=admin, unlocked=unlock and was_locked)
    if changed:
        return
    if proven is not None:  # locked, or the password changed, meanwhile: the old password no longer opens it
        raise await lockout.refuse(core, caller, proven.subject, proven.account, lockout.CHANGED_MEANWHILE, now,
                                   via=lockout.VIA_CHANGE_PASSWORD, error=_refused)
    raise Conflict("Validation conflict: the password was changed by another request meanwhile; try again")


async def _changed(core: Core, caller: Caller, shopper: Shopper | None, tx: LoginPersistence, target: int, now: datetime, *,
                   own: bool, admin: bool, unlocked: bool) -> None:
    """What follows a password change, in its transaction `tx`: every session of the account ends but
    the caller's own, and the audit entries."""
    await tx.revoke_account_families(target, now, REVOKED_BY_PASSWORD_CHANGE,
                                     keep_family_id=shopper.family_id if own and shopper else None)
    by_admin = admin and not own
    await audit.record(core, audit.Event.PASSWORD_CHANGED, caller=caller, account_id=target,
                       actor=caller.app.client_id if by_admin else None,
                       detail={"by": "admin" if by_admin else "shopper"}, store=tx)
    if unlocked:
        await audit.record(core, audit.Event.ACCOUNT_UNLOCKED, caller=caller, account_id=target,
                           actor=caller.app.client_id, detail={"by": "password-change"}, store=tx)


async def _login_in_set(core: Core, caller: Caller, account_id: int) -> tuple[Account, str | None] | None:
    """The account `account_id` with its password hash, if it belongs to the caller's tenant and the
    site's customer set (else none, as for an unknown id)."""
    found = await core.store.find_login_by_id(account_id)
    if found is None or found[0].tenant_id != caller.tenant.id or found[0].customer_set_id != caller.site.customer_set_id:
        return None
    return found


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """One item of a bulk password change. `problem` is set when the item could not even be read
    (it then fails alone with that message)."""

    account_id: int | None
    new_password: str | None = None
    old_password: str | None = None
    unlock: bool = False
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class PasswordChangeResult:
    account_id: int | None
    succeeded: bool
    error_message: str | None = None


async def change_passwords(core: Core, caller: Caller, shopper: Shopper | None,
                           items: Sequence[PasswordChange]) -> list[PasswordChangeResult]:
    """Change the passwords of many accounts (customer:admin only), each on its own: an item that
    fails says why in its result and does not stop the others. At most MAX_PASSWORD_CHANGES items."""
    require_admin(caller, "changing passwords in bulk")
    if len(items) > MAX_PASSWORD_CHANGES:
        raise InvalidParameter("items", f"Missing or invalid parameter: items may hold at most {MAX_PASSWORD_CHANGES} "
                               "password changes")
    results: list[PasswordChangeResult] = []
    for item in items:
        if item.problem is not None or item.account_id is None:
            results.append(PasswordChangeResult(item.account_id, False, item.problem or "accountId is required"))
            continue
        try:
            await change_password(core, caller, shopper, item.account_id, item.old_password, item.new_password,
                                  unlock=item.unlock)
        except TicketboothError as exc:
            results.append(PasswordChangeResult(item.account_id, False, exc.message))
        else:
            results.append(PasswordChangeResult(item.account_id, True))
    return results

"""Forgotten passwords: a shopper asks for a reset (Reset-Password), gets a single-use code by mail,
and sets a new password with it (Update-Forgotten-Password).

Neither step tells whether an account exists: a reset for an unknown address answers the same,
after the same round trips, and sends nothing; a wrong, spent or expired code and an unknown user
get one and the same error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ticketbooth.accounts.access import actor
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import (
    MAIL_PASSWORD_CHANGED,
    MAIL_PASSWORD_RESET,
    PURPOSE_RESET,
    REVOKED_BY_PASSWORD_RESET,
    Account,
    Tenant,
)
from ticketbooth.domain.policies import lock_in_force, login_key, reset_link
from ticketbooth.domain.text import required_text
from ticketbooth.infra.tokens import at_rest, new_hex
from ticketbooth.login import limits, ways_in
from ticketbooth.login.passwords import password_problems, require_strength
from ticketbooth.mail import service as mail

CODE_BYTES = 16  # 128 bits, as 32 lowercase hex characters: URL-safe and easy to copy
MAX_IDENTIFIER = 320
MAX_CODE = 128
NOBODY = "nobody@invalid"


def _invalid_code() -> InvalidParameter:
    return InvalidParameter("confirmationCode", "Missing or invalid parameter: confirmationCode is invalid or has expired")


def _login_name(account: Account) -> str:
    return account.username or account.email or ""


def _reset_values(tenant: Tenant, account: Account | None, code: str) -> dict[str, Any]:
    user_name = _login_name(account) if account else ""
    return {
        "code": code, "user_name": user_name,
        "first_name": account.profile.first_name if account else None,
        "reset_url": reset_link(tenant.settings.mail.reset_url, {"code": code, "userName": user_name}),
        "expires_hours": tenant.settings.codes.reset_code_hours,
    }


async def request_reset(core: Core, caller: Caller, email: str | None, username: str | None,
                        customer_set_code: str | None = None, *, by: str | None = None) -> None:
    """Mail a reset code to the account that logs in with `email` (or else `username`) in the site's
    customer set, or the tenant's customer set `customer_set_code`. Only an active account with an email
    address and a way to sign in gets one: a password, or, for an account a provider's sign-in made, a linked
    identity or a passkey (its first password then; a provider that goes away strands nobody). Every other
    request does the same work and sends nothing.
    `by` names who asked for it in the audit entry when it is not the shopper (a console staff member)."""
    identifier = required_text("emailAddress", email if (email or "").strip() else username, MAX_IDENTIFIER)
    await limits.check(core, caller, limits.Limit.PASSWORD_RESET, account_key=login_key(identifier))
    customer_set_id = caller.site.customer_set_id
    if customer_set_code and customer_set_code.strip():
        found_set = await core.store.customer_set_id_by_code(caller.tenant.id, customer_set_code.strip())
        if found_set is None:
            raise InvalidParameter("customerSetCode", "Missing or invalid parameter: customerSetCode is not a customer "
                                   "set of this tenant", customer_set_code[:50])
        customer_set_id = found_set
    found = await core.store.find_login(customer_set_id, login_key(identifier))
    account = found[0] if found and found[0].is_active and found[0].email else None
    if account is not None and found is not None and found[1] is None and not await ways_in.count(core, account):
        account = None  # no login at all (an account an administrator added): nothing to reset

    tenant, now, code = caller.tenant, core.clock.now(), new_hex(CODE_BYTES)
    values = _reset_values(tenant, account, code)
    locale = account.profile.locale_code if account else None
    if account is None or not account.email:
        # the same rendering, sealing and write transaction as below, for nobody
        rendered = mail.render(core, tenant, MAIL_PASSWORD_RESET, NOBODY, locale, values)
        async with core.store.transaction() as tx:
            await tx.issue_no_code(core.mail.seal(tenant.id, MAIL_PASSWORD_RESET, rendered), now)
            await audit.record(core, audit.Event.PASSWORD_RESET_REQUESTED, caller=caller, account_id=None, actor=by,
                               detail={"sent": False}, store=tx)
        return
    expires = now + timedelta(hours=tenant.settings.codes.reset_code_hours)
    async with core.store.transaction() as tx:
        await tx.issue_code(account.id, PURPOSE_RESET, at_rest(code), now, expires)
        await mail.enqueue(core, tx, tenant, MAIL_PASSWORD_RESET, account.email, locale, values)
        await audit.record(core, audit.Event.PASSWORD_RESET_REQUESTED, caller=caller, account_id=account.id, actor=by,
                           detail={"sent": True}, store=tx)
    core.mail.wake()


async def confirm_reset(core: Core, caller: Caller, username: str | None, code: str | None,
                        new_password: str | None) -> None:
    """Set a new password with a reset code. The code must be live and belong to the account that
    logs in with `username` (its username or email) in the caller's site's customer set: a code
    presented at a site of another customer set, even of the same tenant, counts as a wrong use of
    it, as for a wrong user. A password that fails
    the tenant's policy is refused first, and the code stays usable. On success, in one transaction:
    the code is spent, the password replaced, a lock reached by failed passwords lifted (an
    administrator's lock stays until an administrator lifts it), every token family of the account
    revoked, and a notice mailed to the account's address."""
    user = required_text("userName", username, MAX_IDENTIFIER)
    await limits.check(core, caller, limits.Limit.PASSWORD_RESET, account_key=login_key(user))
    given_code = (code or "").strip().lower()
    if not given_code:
        raise InvalidParameter("confirmationCode", "Missing or invalid parameter: confirmationCode is required")
    if not new_password:
        raise InvalidParameter("newPassword", "Missing or invalid parameter: newPassword is required")
    tenant = caller.tenant
    problems = password_problems(new_password, tenant.settings.password)
    if problems:
        raise InvalidParameter("newPassword", "Missing or invalid parameter: newPassword " + "; ".join(problems))
    if len(given_code) > MAX_CODE:
        raise _invalid_code()

    code_hash, now, max_failed = at_rest(given_code), core.clock.now(), tenant.settings.codes.reset_max_failed_attempts
    account_id = await core.store.live_code(code_hash, PURPOSE_RESET, now, max_failed)
    account = await core.store.get_account(account_id, with_parts=False) if account_id is not None else None
    if account is None:
        raise _invalid_code()
    names = {login_key(n) for n in (account.email, account.username) if n}
    elsewhere = account.tenant_id != tenant.id or account.customer_set_id != caller.site.customer_set_id
    if elsewhere or not account.is_active or login_key(user) not in names:
        await core.store.record_failed_code_attempt(code_hash)
        raise _invalid_code()
    await require_strength(core, new_password, tenant.settings.password, account.id)

    new_hash = await core.hashing.hash(new_password)
    async with core.store.transaction() as tx:
        if not await tx.reset_password(account.id, code_hash, new_hash, now, actor(caller, None), max_failed):
            raise _invalid_code()  # spent by a concurrent request a moment ago
        await tx.revoke_account_families(account.id, now, REVOKED_BY_PASSWORD_RESET)
        await audit.record(core, audit.Event.PASSWORD_RESET, caller=caller, account_id=account.id, store=tx)
        if lock_in_force(account.is_locked, account.lock_expires_at, now) and not account.locked_by_admin:
            await audit.record(core, audit.Event.ACCOUNT_UNLOCKED, caller=caller, account_id=account.id,
                               detail={"by": "password-reset"}, store=tx)
        if account.email:
            await mail.enqueue(core, tx, tenant, MAIL_PASSWORD_CHANGED, account.email, account.profile.locale_code,
                               {"user_name": _login_name(account), "first_name": account.profile.first_name})
    core.mail.wake()

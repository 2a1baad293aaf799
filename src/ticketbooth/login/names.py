"""Changing an account's login names (its email address and user name): what a shopper must prove, and
the notice the old address gets (issue 13, finding 3).

Whoever changes the email address can have the next password reset mailed to themselves, so a stolen
ticket alone must not do it. A shopper proves it is still them with the current password (`password` in
the update's body) or with a fresh login (within `fresh_login_seconds` of the update: a storefront asks
the shopper to log in again first). A password proof is a password attempt like a login's: the same
limits, failure allowance, failed-login count and lock. An application
with customer:admin needs neither: the merchant answers for its back office.

Whoever made the change, the old address is told, with how to undo it: a thief who changed it cannot
keep the owner from knowing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ticketbooth.accounts.access import is_admin
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, InvalidCredentials
from ticketbooth.domain.models import MAIL_LOGIN_CHANGED, Account, Shopper
from ticketbooth.domain.policies import logged_in_recently, login_key
from ticketbooth.login import lockout
from ticketbooth.mail import service as mail
from ticketbooth.mail.persistence import Outbox

EMAIL, USERNAME = "emailAddress", "userName"


def renamed(account: Account, email: str | None, username: str | None) -> list[str]:
    """Which login names an update changes (by their login key: a change of case alone is none), as
    Kibo names them; `email` / `username` are the new values, or the old ones when not given."""
    changed = []
    if _key(email) != _key(account.email):
        changed.append(EMAIL)
    if _key(username) != _key(account.username):
        changed.append(USERNAME)
    return changed


def _key(name: str | None) -> str | None:
    return login_key(name) if name else None


async def require_proof(core: Core, caller: Caller, shopper: Shopper | None, account: Account,
                        password: str | None) -> None:
    """Refuse a change of login names that the shopper has not proved: the current password when given
    (a wrong one is InvalidCredentials and spends the login limits), else a login within
    `fresh_login_seconds`. An admin application needs no proof."""
    if is_admin(caller):
        return
    if password:
        await _check_password(core, caller, account, password)
        return
    started = shopper.logged_in_at if shopper is not None else None
    if not logged_in_recently(started, core.clock.now(), core.settings.fresh_login_seconds):
        seconds = core.settings.fresh_login_seconds
        fresh = f" or a login within the last {seconds} seconds" if seconds else ""
        raise Forbidden("Forbidden: changing the email address or user name needs the current password (password in "
                        f"the body){fresh}")


async def _check_password(core: Core, caller: Caller, account: Account, password: str) -> None:
    """The account's current password, as a password attempt like a login's (`lockout.verify_password`):
    the same rate limits, failure allowance per address, failed-login count, lock and audit entry."""

    async def lookup() -> tuple[Account, str | None] | None:
        return await core.store.find_login_by_id(account.id)

    await lockout.verify_password(core, caller, password, lookup, f"id:{account.id}", wanted_account_id=account.id,
                                  via=lockout.VIA_LOGIN_NAME_CHANGE, error=_wrong_password)


def _wrong_password() -> InvalidCredentials:
    return InvalidCredentials("Invalid Credentials: the password is incorrect")


async def notify(core: Core, tx: Outbox, caller: Caller, account: Account, changed: Sequence[str]) -> bool:
    """Queue the notice to the account's old email address, on the update's transaction; False when the
    account had no address. Call `core.mail.wake()` once the transaction commits."""
    if not account.email:
        return False
    await mail.enqueue(core, tx, caller.tenant, MAIL_LOGIN_CHANGED, account.email, account.profile.locale_code, {
        "first_name": account.profile.first_name, "user_name": account.username or account.email,
        "email_changed": EMAIL in changed, "username_changed": USERNAME in changed,
    })
    return True

"""Who may read or change an account: the shopper who owns it, or an application with the
customer:admin behavior. Every account service asks here, so the rule is written once."""

from __future__ import annotations

from ticketbooth.audit import service as audit
from ticketbooth.audit.persistence import AuditTrail
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B_USER
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, NotFound
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN, Account, Shopper

AUDIT_NAME_MAX = 200
"""The longest name kept in audit info (`created_by`, `updated_by`) and in the audit trail's `actor`."""


def actor(caller: Caller, shopper: Shopper | None) -> str:
    """The name written into audit info and the audit trail: the shopper's userId when a registered
    shopper acts, else the application's client id. Under an impersonation ticket it names both, the
    acting application first (`csr.app as 3fa2...`): the change is the application's, on the
    shopper's behalf, and must not read as the shopper's own."""
    if shopper is not None and shopper.acting_client_id:
        suffix = f" as {shopper.user_id}"
        return shopper.acting_client_id[:AUDIT_NAME_MAX - len(suffix)] + suffix
    if shopper is not None and not shopper.is_anonymous:
        return shopper.user_id
    return caller.app.client_id


async def record_impersonated_change(core: Core, store: AuditTrail, caller: Caller, shopper: Shopper | None,
                                     account_id: int, part: str) -> None:
    """An audit trail entry for a change of the account's `part` (contacts, attributes) made under an
    impersonation ticket, naming the acting application and the shopper (`actor`). A shopper's changes
    of their own parts are no security event and are not recorded; an application acting as the
    shopper is one. Pass the change's transaction as `store`, so the entry commits with it."""
    if shopper is None or not shopper.acting_client_id:
        return
    await audit.record(core, audit.Event.ACCOUNT_UPDATED, caller=caller, account_id=account_id,
                       actor=actor(caller, shopper), detail={"fields": [part], "impersonation": True}, store=store)


def is_admin(caller: Caller) -> bool:
    return caller.app.has(BEHAVIOR_CUSTOMER_ADMIN)


def require_admin(caller: Caller, doing: str) -> None:
    """Forbidden unless the application has the customer:admin behavior. `doing` completes the
    message: "... needs an application with the customer:admin behavior"."""
    if not is_admin(caller):
        raise Forbidden(f"Forbidden: {doing} needs an application with the customer:admin behavior")


def owns(shopper: Shopper | None, account: Account) -> bool:
    """The shopper is the account's own: same account id AND user id. Account ids are never handed
    out twice (AUTOINCREMENT on SQLite, sequences on PostgreSQL), but a ticket JWT outlives a deleted
    account (it is checked without the database), so the user id is checked as well: an id that comes
    back all the same (a database restored from a backup, a sequence reset) still gives no one else's
    ticket this account."""
    return (shopper is not None and not shopper.is_anonymous and shopper.account_id == account.id
            and shopper.user_id == account.user_id)


def is_b2b_user(account: Account) -> bool:
    """A B2B user's own row (their login): no customer account, never served by the customer accounts API
    (it answers 404 for it, as for an account that does not exist); the B2B account API serves it."""
    return account.profile.account_type == ACCOUNT_TYPE_B2B_USER


def may_act_on(caller: Caller, shopper: Shopper | None, account_id: int) -> bool:
    """Whether the caller may ask about account `account_id` at all (before loading it): an admin
    application, or a shopper whose ticket names that account (`account_for` then checks `owns`)."""
    return is_admin(caller) or (shopper is not None and not shopper.is_anonymous and shopper.account_id == account_id)


async def account_for(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                      *, owner_may: bool = True, with_parts: bool = True, sensitive: bool = False) -> Account:
    """The account `account_id` of the caller's site's customer set, if the caller may act on it:
    an admin application always, the account's own shopper when `owner_may`. Forbidden before
    NotFound, so that a shopper cannot probe which account ids exist. A `sensitive` change (the
    account's login names, its password, its sessions) is not for an impersonation ticket: the
    application acting as the shopper must not be able to take the account over."""
    admin = is_admin(caller)
    if sensitive and not admin and shopper is not None and shopper.acting_client_id:
        raise Forbidden("Forbidden: an impersonation ticket may not change the account's login, password or "
                        "sessions")
    if not (admin or (owner_may and may_act_on(caller, shopper, account_id))):
        raise Forbidden("Forbidden: only the account's own shopper or an application with the customer:admin "
                        "behavior may do this")
    account = await core.store.get_account(account_id, with_parts=with_parts)
    if (account is None or account.tenant_id != caller.tenant.id or account.customer_set_id != caller.site.customer_set_id
            or not (admin or owns(shopper, account)) or is_b2b_user(account)):
        raise NotFound(f"Item not found: account {account_id} does not exist")
    return account.settle_lock(core.clock.now())  # a lock whose time has run out shows as none

"""Who may act on a B2B account (docs: notes/b2b.md "Access"; b2b-more and b2b-gql ask here too).

- An application with the customer:admin behavior (the merchant): everything.
- A B2B user's ticket: on the account the ticket is for, when their membership there is active, not
  removed, the account active and approved, and their behaviors there (the union of their roles', read
  from the database at each request, not from the ticket's `bv`) include what the operation needs (full
  access, 1014, counts as every behavior); on an account below it in the hierarchy (a child, a grandchild)
  only when they also hold 1010 (view child accounts). A ticket is for one account: a user of several
  acts on another by switching to it (refresh with accountId), not with this ticket.
- Nobody else: 403, before any 404, so that account ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketbooth.accounts import access as accounts_access
from ticketbooth.accounts.access import is_admin
from ticketbooth.b2b import rules
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, NotFound
from ticketbooth.domain.models import Account, B2BAccount, Shopper


@dataclass(frozen=True, slots=True)
class Access:
    """What the caller is to the account: the merchant (`admin`), or a B2B user with their behaviors in the
    account of their ticket (`behaviors`; every behavior for the merchant)."""

    admin: bool
    behaviors: frozenset[int]
    user_account_id: int | None = None
    ticket_account_id: int | None = None

    def holds(self, behavior: int) -> bool:
        return self.admin or rules.holds(self.behaviors, behavior)


MERCHANT = Access(True, rules.BEHAVIOR_IDS)


def _store(core: Core) -> B2BPersistence:
    return core.store


def forbidden(doing: str) -> Forbidden:
    return Forbidden(f"Forbidden: {doing} needs an application with the customer:admin behavior or a B2B user "
                     "of the account with the behavior it takes")


async def behaviors_in(core: Core, account_id: int, user_account_id: int) -> frozenset[int] | None:
    """The user's behaviors in the account; None unless their membership there is usable (active, not
    removed, the account active and approved)."""
    store = _store(core)
    membership = next((m for m in await store.memberships_of(user_account_id) if m.account_id == account_id), None)
    if membership is None or not rules.usable(membership):
        return None
    built_in, merchant = await store.role_grants(account_id, user_account_id)
    return rules.behaviors_of_roles(built_in, merchant)


async def is_below(core: Core, account_id: int, ancestor_id: int) -> bool:
    """Whether `account_id` is a descendant of `ancestor_id` (not itself)."""
    store = _store(core)
    current: int | None = account_id
    for _ in range(rules.MAX_DEPTH + 1):
        found = await store.b2b_parent_of(current) if current is not None else None
        if found is None or found[1] is None:
            return False
        current = found[1]
        if current == ancestor_id:
            return True
    return False


async def user_access(core: Core, shopper: Shopper | None) -> Access | None:
    """A B2B user's access in the account of their ticket (None for any other caller or an unusable membership)."""
    if shopper is None or shopper.is_anonymous or shopper.user_account_id is None or shopper.account_id is None:
        return None
    behaviors = await behaviors_in(core, shopper.account_id, shopper.user_account_id)
    if behaviors is None:
        return None
    return Access(False, behaviors, shopper.user_account_id, shopper.account_id)


async def require(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, needed: int | None,
                  doing: str, *, children: bool = True) -> Access:
    """The caller's access to B2B account `account_id` for an operation that needs behavior `needed` (None:
    any active user of the account); Forbidden otherwise. `children`: a user of an ancestor account may
    do it too, with 1010 (view child accounts) besides."""
    if is_admin(caller):
        return MERCHANT
    access = await user_access(core, shopper)
    if access is None or (needed is not None and not access.holds(needed)):
        raise forbidden(doing)
    if account_id == access.ticket_account_id:
        return access
    if children and access.holds(rules.VIEW_CHILD_ACCOUNTS) and access.ticket_account_id is not None \
            and await is_below(core, account_id, access.ticket_account_id):
        return access
    raise forbidden(doing)


async def account_for(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, needed: int | None,
                      doing: str, *, children: bool = True, with_users: bool = True) -> tuple[B2BAccount, Access]:
    """The B2B account `account_id` of the caller's customer set with the caller's access to it: 403 (from
    `require`) before 404."""
    access = await require(core, caller, shopper, account_id, needed, doing, children=children)
    found = await _store(core).get_b2b_account(account_id, with_users=with_users)
    if (found is None or found.account.tenant_id != caller.tenant.id
            or found.account.customer_set_id != caller.site.customer_set_id):
        raise NotFound(f"Item not found: B2B account {account_id} does not exist")
    return found, access


async def customer_account_for(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                               behavior: int | None, doing: str, *, owner_may: bool = True) -> Account:
    """A customer account the caller acts on through the customer accounts API (its parts, its purchase-order
    account): as accounts/access.py decides (its own shopper when `owner_may`, an admin application), and for a
    B2B user's ticket, the B2B account of that ticket when they hold `behavior` there (None: any active user).
    403 before 404 either way."""
    if shopper is not None and shopper.user_account_id is not None and not is_admin(caller):
        found, _ = await account_for(core, caller, shopper, account_id, behavior, doing, children=False,
                                     with_users=False)
        return found.account
    return await accounts_access.account_for(core, caller, shopper, account_id, owner_may=owner_may,
                                             with_parts=False)

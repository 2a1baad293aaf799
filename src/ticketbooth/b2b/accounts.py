"""B2B accounts: adding one (with its contacts, notes, attributes, segments and users), reading one,
listing them, and changing one. A B2B account is a customer account (account_type "B2B") that never logs
in itself: no password and no login names, so its email address is only an address.

Who may (b2b/access.py): the merchant everything; a B2B user reads the account of their ticket (and, with
1010, the accounts below it), changes it with 1000 (manage account information). A storefront application
without customer:admin may add an account (Kibo's "request a B2B account" form): it starts
PendingApproval whatever the body says, without a parent, price list or sales reps, and its users are
invited (the first one gets the Admin role when no roles are given), for the merchant to approve. A B2B
user who may view child accounts (1010) and manage account information (1000) may add one below the account of
their ticket (or below an account under it), as Kibo's B2B storefront's hierarchy page does: it too starts
PendingApproval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ticketbooth.accounts.access import actor, is_admin
from ticketbooth.accounts.parts.service import add_parts, check_parts
from ticketbooth.accounts.service import KEEP, AccountChanges, AccountDetails, check_profile_values
from ticketbooth.accounts.views import shopper_view
from ticketbooth.audit import service as audit
from ticketbooth.b2b import access as b2b_access
from ticketbooth.b2b import hierarchy as b2b_hierarchy
from ticketbooth.b2b import roles as b2b_roles
from ticketbooth.b2b import rules
from ticketbooth.b2b import users as b2b_users
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import REVOKED_BY_DEACTIVATION, B2BAccount, NewAccount, Profile, Shopper
from ticketbooth.domain.text import clean_email, clean_text
from ticketbooth.infra.tokens import new_hex
from ticketbooth.login import limits

MAX_USERS_AT_CREATION = 20
MAX_SALES_REPS = 50
MAX_PRICE_LIST = 100
MAX_ADMIN_USER_ID = 200


@dataclass(frozen=True, slots=True)
class B2BDetails:
    """What only a B2B account has, as a new account's body gives it."""

    approval_status: str | None = None
    parent_account_id: int | None = None
    price_list: str | None = None
    is_active: bool | None = None
    sales_reps: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class B2BChanges:
    """What an update of a B2B account asks for beyond the customer account's fields."""

    price_list: str | Any | None = KEEP


@dataclass(frozen=True, slots=True)
class NewB2BAccount:
    details: AccountDetails
    b2b: B2BDetails = field(default_factory=B2BDetails)
    users: Sequence[b2b_users.NewUser] = ()


def _store(core: Core) -> B2BPersistence:
    return core.store


def _approval(value: str | None, admin: bool) -> str:
    if not admin or value is None or not value.strip():
        return rules.PENDING_APPROVAL
    found = next((s for s in rules.APPROVAL_STATUSES if s.lower() == value.strip().lower()), None)
    if found is None:
        raise InvalidParameter("approvalStatus", "Missing or invalid parameter: approvalStatus must be one of "
                               f"{', '.join(sorted(rules.APPROVAL_STATUSES))}", value[:50])
    return found


def _price_list(value: str | None) -> str | None:
    return clean_text(value, "priceList", MAX_PRICE_LIST)


DOING_CHILD = "adding a child account there"


async def _within(store: B2BPersistence, top: int, account_id: int) -> bool:
    """Whether `account_id` is `top` or below it."""
    return account_id == top or top in await store.ancestors(account_id)


async def create_account(core: Core, caller: Caller, shopper: Shopper | None, new: NewB2BAccount) -> B2BAccount:
    """Add a B2B account with its parts and users, in one transaction (see the module docstring for who may
    and what a storefront's request starts as)."""
    admin = is_admin(caller)
    b2b = new.b2b
    below: int | None = None  # a B2B user's child account: the top of their part of the tree
    if not admin:
        for name, given in (("priceList", b2b.price_list), ("salesReps", list(b2b.sales_reps) or None)):
            if given:
                raise Forbidden(f"Forbidden: only an application with the customer:admin behavior may set {name}")
        if b2b.parent_account_id is not None:  # a child account, from the hierarchy page of Kibo's B2B storefront
            below = await b2b_hierarchy.may_manage_below(core, caller, shopper)
        await limits.check(core, caller, limits.Limit.REGISTRATION,
                           account_key=new.users[0].email if new.users and new.users[0].email else None)
    if len(new.users) > MAX_USERS_AT_CREATION:
        raise InvalidParameter("users", f"Missing or invalid parameter: at most {MAX_USERS_AT_CREATION} users may be "
                               "added with a new account")
    if len(b2b.sales_reps) > MAX_SALES_REPS:
        raise InvalidParameter("salesReps", f"Missing or invalid parameter: at most {MAX_SALES_REPS} sales reps")
    reps = [clean_text(r, f"salesReps[{i}].adminUserId", MAX_ADMIN_USER_ID, required=True) or ""
            for i, r in enumerate(b2b.sales_reps)]
    details = new.details
    check_parts(caller, details.parts)
    email = clean_email(details.email, required=False)
    profile = {**_profile_values(details), "account_type": rules.ACCOUNT_TYPE_B2B}
    check_profile_values(profile)
    approval = _approval(b2b.approval_status, admin)
    price_list = _price_list(b2b.price_list)
    prepared = [await b2b_users.prepare(core, caller, user, f"users[{i}].") for i, user in enumerate(new.users)]
    store = _store(core)
    parent = None
    if below is not None and b2b.parent_account_id is not None and not await _within(store, below,
                                                                                      b2b.parent_account_id):
        raise b2b_access.forbidden(DOING_CHILD)  # outside their part of the tree, or no account: the same answer
    if b2b.parent_account_id is not None:
        parent = await store.get_b2b_account(b2b.parent_account_id, with_users=False)
        if (parent is None or parent.account.tenant_id != caller.tenant.id
                or parent.account.customer_set_id != caller.site.customer_set_id):
            raise InvalidParameter("parentAccountId", f"Missing or invalid parameter: B2B account "
                                   f"{b2b.parent_account_id} does not exist", b2b.parent_account_id)
        if parent.depth + 1 > rules.MAX_DEPTH:
            raise InvalidParameter("parentAccountId", "Missing or invalid parameter: the hierarchy would be deeper "
                                   f"than {rules.MAX_DEPTH} levels below its top account", b2b.parent_account_id)
    now, by = core.clock.now(), actor(caller, shopper)
    invited = False
    async with store.transaction() as tx:
        account_id = await tx.insert_account(NewAccount(
            tenant_id=caller.tenant.id, customer_set_id=caller.site.customer_set_id, user_id=new_hex(16),
            email=email, email_key=None, username=None, username_key=None, password_hash=None,
            profile=Profile(**profile), is_active=b2b.is_active is not False, created_by=caller.app.client_id,
        ), now)
        await add_parts(core, tx, caller, account_id, details.parts, caller.app.client_id)
        root, depth = account_id, 0
        if parent is not None:
            # the parent's place, read under the tenant's hierarchy lock: no move can change it meanwhile
            await tx.lock_hierarchy(caller.tenant.id)
            if below is not None and not await _within(tx, below, parent.account.id):
                raise b2b_access.forbidden(DOING_CHILD)
            node = await tx.hierarchy_node(caller.tenant.id, caller.site.customer_set_id, parent.account.id)
            if node is None or node.depth + 1 > rules.MAX_DEPTH:
                raise InvalidParameter("parentAccountId", "Missing or invalid parameter: the hierarchy would be deeper "
                                       f"than {rules.MAX_DEPTH} levels below its top account", b2b.parent_account_id)
            root, depth = node.root_account_id, node.depth + 1
        await tx.insert_b2b_account(account_id, caller.tenant.id, parent.account.id if parent else None, root, depth,
                                    approval, price_list, now)
        if parent is not None:
            await b2b_roles.inherit_roles(tx, account_id, parent.account.id)
        await tx.add_sales_reps_at_creation(account_id, reps, now)
        await audit.record(core, audit.Event.B2B_ACCOUNT_CREATED, caller=caller, account_id=account_id,
                           actor=caller.app.client_id if admin else by,
                           detail={"approvalStatus": approval, "parentAccountId": parent.account.id if parent else None,
                                   "users": len(prepared)}, store=tx)
        for i, user in enumerate(prepared):
            roles = user.role_ids or ((rules.ADMIN_ROLE,) if not admin and i == 0 else ())
            added = await b2b_users.add_in(core, tx, caller, b2b_access.MERCHANT, account_id, user, roles, by,
                                           prefix=f"users[{i}].")
            invited = invited or added.invited
        created = await tx.get_b2b_account(account_id)
    if invited:
        core.mail.wake()
    assert created is not None
    return created if admin else await _shopper_view(core, created)


def _profile_values(details: AccountDetails) -> dict[str, Any]:
    return dataclasses.asdict(details.profile)


async def _shopper_view(core: Core, found: B2BAccount) -> B2BAccount:
    """The account as a B2B user (or a storefront) sees it: without the merchant's notes and attributes."""
    found.account = await shopper_view(core, found.account)
    return found


async def get_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> B2BAccount:
    """The B2B account, for the merchant or one of its users (or a user of an account above it, with 1010)."""
    found, access = await b2b_access.account_for(core, caller, shopper, account_id, None, "reading a B2B account")
    return found if access.admin else await _shopper_view(core, found)


async def list_accounts(core: Core, caller: Caller, shopper: Shopper | None, query: ListQuery) -> tuple[list[B2BAccount], int]:
    """A page of the customer set's B2B accounts: all of them for the merchant; for a B2B user the account of
    their ticket and, with 1010 (view child accounts), the accounts below it."""
    store = _store(core)
    if is_admin(caller):
        return await store.list_b2b_accounts(caller.tenant.id, caller.site.customer_set_id, query)
    access = await b2b_access.user_access(core, shopper)
    if access is None or access.ticket_account_id is None:
        raise b2b_access.forbidden("listing B2B accounts")
    only = [access.ticket_account_id]
    if access.holds(rules.VIEW_CHILD_ACCOUNTS):
        only = descendants_and_self(await _tree_of(core, access.ticket_account_id), access.ticket_account_id)
    found, total = await store.list_b2b_accounts(caller.tenant.id, caller.site.customer_set_id, query, only=only)
    return [await _shopper_view(core, b) for b in found], total


async def _tree_of(core: Core, account_id: int) -> list[tuple[int, int | None]]:
    found = await _store(core).b2b_parent_of(account_id)
    return [] if found is None else await _store(core).b2b_tree(found[2])


def descendants_and_self(tree: Sequence[tuple[int, int | None]], top: int) -> list[int]:
    """`top` and every account below it in `tree` ((account, parent) pairs of one hierarchy)."""
    children: dict[int, list[int]] = {}
    for account, parent in tree:
        if parent is not None:
            children.setdefault(parent, []).append(account)
    found, todo = [top], [top]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


async def update_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                         changes: AccountChanges, b2b: B2BChanges) -> B2BAccount:
    """Change a B2B account's profile and email (1000, manage account information, or the merchant); only the
    merchant changes whether it is active (inactivating it ends its users' sessions for it) and its price list.
    Its approval status, parent and users have operations of their own; its login names it has none."""
    if changes.id is not None and changes.id != account_id:
        raise InvalidParameter("id", f"Missing or invalid parameter: id {changes.id} is not the account {account_id}")
    found, access = await b2b_access.account_for(core, caller, shopper, account_id, rules.MANAGE_ACCOUNT_INFORMATION,
                                                 "changing a B2B account", with_users=False)
    account = found.account
    values: dict[str, Any] = {}
    b2b_values: dict[str, Any] = {}
    if changes.is_active is not KEEP and changes.is_active != account.is_active:
        if not access.admin:
            raise Forbidden("Forbidden: only an application with the customer:admin behavior may change isActive")
        values["is_active"] = changes.is_active
    if b2b.price_list is not KEEP and b2b.price_list != found.price_list:
        if not access.admin:
            raise Forbidden("Forbidden: only an application with the customer:admin behavior may change priceList")
        b2b_values["price_list"] = _price_list(b2b.price_list)
    if changes.email is not KEEP:
        values["email"] = clean_email(changes.email if isinstance(changes.email, str) else None, required=False)
    profile = {k: v for k, v in changes.profile.items() if k != "account_type"}
    check_profile_values(profile)
    values.update(profile)
    now = core.clock.now()
    async with _store(core).transaction() as tx:
        if values and not await tx.update_account(account.id, values, login_names=False, now=now,
                                                  by=actor(caller, shopper)):
            raise NotFound(f"Item not found: B2B account {account_id} does not exist")
        if b2b_values:
            await tx.update_b2b_account(account.id, b2b_values, now)
        if values.get("is_active") is False:
            await end_account_sessions(tx, account.id, now)
        if values or b2b_values:
            await audit.record(core, audit.Event.B2B_ACCOUNT_UPDATED, caller=caller, account_id=account.id,
                               actor=None if shopper is not None and not access.admin else caller.app.client_id,
                               detail={"fields": sorted([*values, *b2b_values])}, store=tx)
        updated = await tx.get_b2b_account(account.id)
    if updated is None:
        raise NotFound(f"Item not found: B2B account {account_id} does not exist")
    return updated if access.admin else await _shopper_view(core, updated)


async def end_account_sessions(tx: B2BPersistence, account_id: int, now: Any, reason: str = REVOKED_BY_DEACTIVATION) -> int:
    """End every live session for the B2B account (its users' tickets for it), in the caller's transaction
    `tx`: what inactivating the account does (b2b-more's status actions call it too). The number ended."""
    return await tx.revoke_account_families(account_id, now, reason)


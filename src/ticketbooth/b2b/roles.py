"""B2B roles a merchant defines (Kibo's createRoleAsync, updateRoleAsync, deleteRoleAsync, assignRoleToAccountAsync,
removeRoleFromAccountAsync, applyRoleToFutureChildrensAsync, getRoleByRoleIdAsync, getRolesByAccountIdAsync).

A merchant's role has a name unique in the tenant (built-in names included, compared case-insensitively) and
at least one of Kibo's B2B behaviors (1000-1014; any other id is refused). It is usable in the accounts it is
given to, or, given to none (created or replaced with no accountIds: Kibo's clients always send some), in every
B2B account of the tenant. Taking a role from its last account is refused (400): it would silently make the
role tenant-wide; the merchant replaces its accounts or deletes it instead. Built-in roles
(Admin, Purchaser, Non-Purchaser; ids 1-3) are usable in every account, readable by id, and never changed,
given, taken or deleted (400).

Taking a role from an account (or deleting it, or replacing its accounts) takes it from the users who had it
there; their tickets show the change at their next refresh, which recomputes behaviors. Apply-to-future-
children on an account's grant gives the role to every account created below it later (any depth):
`inherit_roles`, called by the creation of a child account. Only merchant applications (customer:admin)
create, change, give and delete roles; a B2B user who manages users (1001) lists the roles usable in the
account of their ticket (or, with 1010, of an account below it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ticketbooth.accounts.access import actor, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.b2b import access as b2b_access
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.b2b.rules import (
    MANAGE_USERS,
    MAX_ROLE_ACCOUNTS,
    MAX_ROLE_NAME,
    HierarchyNode,
    Role,
    is_built_in_role,
    unknown_behaviors,
)
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, InvalidParameter, NotFound
from ticketbooth.domain.models import Shopper
from ticketbooth.domain.text import clean_text


@dataclass(frozen=True, slots=True)
class RoleInput:
    """A role as a client sends it (Kibo's B2BRole: name, behaviors, accountIds)."""

    name: str | None
    behaviors: Sequence[int] | None
    account_ids: Sequence[int] | None


@dataclass(frozen=True, slots=True)
class _Checked:
    name: str
    behaviors: frozenset[int]
    account_ids: tuple[int, ...]


def _missing_role(role_id: int) -> NotFound:
    return NotFound(f"Item not found: role {role_id} does not exist")


def _missing_account(account_id: int) -> NotFound:
    return NotFound(f"Item not found: B2B account {account_id} does not exist")


def _built_in(role_id: int, doing: str) -> InvalidParameter:
    return InvalidParameter("roleId", f"Missing or invalid parameter: role {role_id} is a built-in role and cannot be "
                            f"{doing}", role_id)


async def _checked(tx: B2BPersistence, caller: Caller, given: RoleInput) -> _Checked:
    name = clean_text(given.name, "name", MAX_ROLE_NAME, required=True)
    assert name is not None
    behaviors = list(given.behaviors or ())
    if not behaviors:
        raise InvalidParameter("behaviors", "Missing or invalid parameter: behaviors needs at least one behavior id")
    unknown = unknown_behaviors(behaviors)
    if unknown:
        raise InvalidParameter("behaviors", "Missing or invalid parameter: behaviors holds ids that are not B2B "
                               f"behaviors: {', '.join(str(u) for u in unknown[:10])}", unknown[0])
    accounts = tuple(dict.fromkeys(given.account_ids or ()))
    if len(accounts) > MAX_ROLE_ACCOUNTS:
        raise InvalidParameter("accountIds", f"Missing or invalid parameter: a role is given to at most "
                               f"{MAX_ROLE_ACCOUNTS} accounts at once")
    found = await tx.b2b_account_ids(caller.tenant.id, accounts)
    missing = [a for a in accounts if a not in found]
    if missing:
        raise InvalidParameter("accountIds", "Missing or invalid parameter: accountIds names accounts that are not "
                               f"B2B accounts: {', '.join(str(m) for m in missing[:10])}", missing[0])
    return _Checked(name, frozenset(behaviors), accounts)


async def _merchant_role(tx: B2BPersistence, caller: Caller, role_id: int, doing: str) -> Role:
    role = await tx.get_role(caller.tenant.id, role_id)
    if role is None:
        raise _missing_role(role_id)
    if role.is_system or is_built_in_role(role_id):
        raise _built_in(role_id, doing)
    return role


async def _b2b_account(tx: B2BPersistence, caller: Caller, account_id: int, *, same_set: bool = False) -> HierarchyNode:
    node = await tx.hierarchy_node(caller.tenant.id, caller.site.customer_set_id if same_set else None, account_id)
    if node is None:
        raise _missing_account(account_id)
    return node


def require_merchant(caller: Caller, doing: str) -> None:
    """Forbidden unless a merchant application calls (checked before a body is read)."""
    require_admin(caller, doing)


async def account_roles(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> list[Role]:
    """The roles usable in the B2B account, for a merchant application or a user of the account who manages its
    users (1001)."""
    await b2b_access.require(core, caller, shopper, account_id, MANAGE_USERS, "listing the roles of a B2B account")
    await _b2b_account(core.store, caller, account_id, same_set=True)
    return await roles_usable_in(core.store, caller.tenant.id, account_id)


async def create_role(core: Core, caller: Caller, given: RoleInput) -> Role:
    require_admin(caller, "creating a B2B role")
    by = actor(caller, None)
    async with core.store.transaction() as tx:
        checked = await _checked(tx, caller, given)
        await tx.lock_role_names(caller.tenant.id)
        if await tx.role_name_taken(caller.tenant.id, checked.name):
            raise Conflict(f"Validation conflict: a role named {checked.name} exists already")
        role_id = await tx.insert_role(caller.tenant.id, checked.name, checked.behaviors, checked.account_ids,
                                       core.clock.now(), by)
        await audit.record(core, audit.Event.B2B_ROLE_CREATED, caller=caller, actor=by, store=tx, detail={
            "roleId": role_id, "behaviors": sorted(checked.behaviors), "accountIds": list(checked.account_ids)})
        role = await tx.get_role(caller.tenant.id, role_id)
    assert role is not None
    return role


async def get_role(core: Core, caller: Caller, role_id: int) -> Role:
    require_admin(caller, "reading a B2B role")
    role = await core.store.get_role(caller.tenant.id, role_id)
    if role is None:
        raise _missing_role(role_id)
    return role


async def update_role(core: Core, caller: Caller, role_id: int, given: RoleInput) -> Role:
    """Replace the role's name, behaviors and accounts (Kibo: a complete replacement of its accounts)."""
    require_admin(caller, "changing a B2B role")
    by = actor(caller, None)
    async with core.store.transaction() as tx:
        await _merchant_role(tx, caller, role_id, "changed")
        checked = await _checked(tx, caller, given)
        await tx.lock_role_names(caller.tenant.id)
        if await tx.role_name_taken(caller.tenant.id, checked.name, besides=role_id):
            raise Conflict(f"Validation conflict: a role named {checked.name} exists already")
        gone = await tx.update_role(role_id, checked.name, checked.behaviors, checked.account_ids, core.clock.now(), by)
        await audit.record(core, audit.Event.B2B_ROLE_UPDATED, caller=caller, actor=by, store=tx, detail={
            "roleId": role_id, "behaviors": sorted(checked.behaviors), "accountIds": list(checked.account_ids),
            "accountsRemoved": gone})
        role = await tx.get_role(caller.tenant.id, role_id)
    assert role is not None
    return role


async def delete_role(core: Core, caller: Caller, role_id: int) -> None:
    """Delete a merchant's role; every user who had it loses it (their behaviors change at their next refresh)."""
    require_admin(caller, "deleting a B2B role")
    async with core.store.transaction() as tx:
        await _merchant_role(tx, caller, role_id, "deleted")
        taken = await tx.delete_role(role_id)
        await audit.record(core, audit.Event.B2B_ROLE_DELETED, caller=caller, actor=actor(caller, None), store=tx,
                           detail={"roleId": role_id, "userRolesRemoved": taken})


async def give_role(core: Core, caller: Caller, role_id: int, account_id: int) -> None:
    """Give a merchant's role to a B2B account (giving it again changes nothing)."""
    require_admin(caller, "giving a B2B role to an account")
    by = actor(caller, None)
    async with core.store.transaction() as tx:
        await _merchant_role(tx, caller, role_id, "given to an account")
        await _b2b_account(tx, caller, account_id)
        if await tx.give_role_to_account(role_id, account_id, core.clock.now(), by):
            await audit.record(core, audit.Event.B2B_ROLE_GIVEN, caller=caller, account_id=account_id, actor=by,
                               store=tx, detail={"roleId": role_id})


async def take_role(core: Core, caller: Caller, role_id: int, account_id: int) -> None:
    """Take a merchant's role from a B2B account and from its users there."""
    require_admin(caller, "taking a B2B role from an account")
    by = actor(caller, None)
    async with core.store.transaction() as tx:
        await _merchant_role(tx, caller, role_id, "taken from an account")
        await _b2b_account(tx, caller, account_id)
        await tx.count_role_accounts(role_id)  # holds the role's row: its accounts are read as they stay
        role = await tx.get_role(caller.tenant.id, role_id)
        if role is None or account_id not in role.account_ids:
            raise NotFound(f"Item not found: account {account_id} does not have the role {role_id}")
        if role.account_ids == (account_id,):
            raise InvalidParameter("accountId", f"Missing or invalid parameter: account {account_id} is the last "
                                   f"account of role {role_id}; taking it would make the role usable in every account "
                                   "(replace its accounts or delete it instead)", account_id)
        taken = await tx.take_role_from_account(role_id, account_id, core.clock.now(), by)
        if taken is None:
            raise NotFound(f"Item not found: account {account_id} does not have the role {role_id}")
        await audit.record(core, audit.Event.B2B_ROLE_TAKEN, caller=caller, account_id=account_id, actor=by,
                           store=tx, detail={"roleId": role_id, "userRolesRemoved": taken})


async def set_inheritance(core: Core, caller: Caller, role_id: int, account_id: int, enabled: bool) -> None:
    """Whether accounts created below `account_id` from now on get the role (Kibo: existing child accounts
    are left as they are)."""
    require_admin(caller, "changing a B2B role's inheritance")
    async with core.store.transaction() as tx:
        await _merchant_role(tx, caller, role_id, "inherited")
        await _b2b_account(tx, caller, account_id)
        if not await tx.set_role_inheritance(role_id, account_id, enabled):
            raise NotFound(f"Item not found: account {account_id} does not have the role {role_id}")
        await audit.record(core, audit.Event.B2B_ROLE_INHERITANCE, caller=caller, account_id=account_id,
                           actor=actor(caller, None), store=tx, detail={"roleId": role_id, "enabled": enabled})


async def roles_usable_in(tx: B2BPersistence, tenant_id: int, account_id: int) -> list[Role]:
    """The roles usable in the B2B account: the built-in ones and the merchant's roles given to it (for the
    flows that give users roles, and GET /b2baccounts/{accountId}/roles)."""
    return await tx.roles_of_account(tenant_id, account_id)


async def inherit_roles(tx: B2BPersistence, account_id: int, parent_account_id: int) -> list[int]:
    """Give a new child account the roles its parent or any account above it gives with apply-to-future-children;
    call it in the transaction that creates the account, after its `b2b_accounts` row. The roles given."""
    above = await tx.ancestors(parent_account_id)
    role_ids = await tx.inherited_role_ids(above)
    if role_ids:
        await tx.give_roles_to_account(role_ids, account_id)
    return role_ids

"""The B2B account hierarchy: reading an account's tree (getB2BAccountHierarchy) and moving an account with its
subtree under another parent (changeParentAccount).

A move is one transaction under the tenant's hierarchy lock (b2b/store/hierarchy.py): the parent links are read
after the lock is held, so the check that the new parent is not the account itself or one of its descendants
sees every move committed before, and two opposite moves at once (A under B, B under A) end with one done and
the other refused. The moved account's whole subtree takes the new parent's top account and shifts its depth,
in the same transaction; a move that would take any account below MAX_DEPTH is refused. Moving leaves roles as
they are (apply-to-future-children only acts when an account is created).

Who may: a merchant application (customer:admin) moves accounts and reads any tree of its customer set; a B2B
user who may view child accounts (1010) reads the part of the tree below the account of their ticket, and with
manage account information (1000) besides, moves accounts within it (as Kibo's B2B storefront's hierarchy page
does): an account strictly below their ticket's, under their ticket's account or another account below it, so
that nothing ever leaves or enters the part of the tree that is theirs. Both places are checked under the lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketbooth.accounts.access import actor, is_admin
from ticketbooth.audit import service as audit
from ticketbooth.b2b import access as b2b_access
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.b2b.rules import (
    MANAGE_ACCOUNT_INFORMATION,
    VIEW_CHILD_ACCOUNTS,
    HierarchyNode,
    holds,
    may_move,
    subtree_height,
)
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, InvalidParameter, NotFound
from ticketbooth.domain.models import Shopper


@dataclass(frozen=True, slots=True)
class Tree:
    """An account's hierarchy: every account of its tree (top first, then by depth and id) and the nesting."""

    root: int
    nodes: list[HierarchyNode]

    def children(self) -> dict[int, list[int]]:
        below: dict[int, list[int]] = {}
        for n in self.nodes:
            if n.parent_account_id is not None:
                below.setdefault(n.parent_account_id, []).append(n.account_id)
        return below


def _missing(account_id: int) -> NotFound:
    return NotFound(f"Item not found: B2B account {account_id} does not exist")


async def node_of(store: B2BPersistence, caller: Caller, account_id: int) -> HierarchyNode:
    """The B2B account of the caller's customer set, or NotFound."""
    node = await store.hierarchy_node(caller.tenant.id, caller.site.customer_set_id, account_id)
    if node is None:
        raise _missing(account_id)
    return node


async def hierarchy(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> Tree:
    """The hierarchy around the account: for the merchant its whole tree, from its top account down (Kibo's
    getB2BAccountHierarchy); for a B2B user who may view child accounts (1010), the part below the account of
    their ticket (its parent and siblings are other companies' business)."""
    access = await b2b_access.require(core, caller, shopper, account_id, VIEW_CHILD_ACCOUNTS,
                                      "reading a B2B account hierarchy")
    node = await node_of(core.store, caller, account_id)
    nodes = await core.store.tree_of(node.root_account_id)
    if access.admin or access.ticket_account_id is None:
        return Tree(node.root_account_id, nodes)
    top = next((n for n in nodes if n.account_id == access.ticket_account_id), None)
    if top is None:  # the ticket's account left this tree meanwhile
        raise _missing(account_id)
    below = {n.account_id for n in await core.store.subtree(top)}
    return Tree(top.account_id, [n for n in nodes if n.account_id in below])


DOING_MOVE = "changing the parent of a B2B account"


async def may_manage_below(core: Core, caller: Caller, shopper: Shopper | None) -> int | None:
    """For the hierarchy's changes: None for the merchant; for a B2B user who may view child accounts (1010) and
    manage account information (1000), the account of their ticket, the top of what they may change;
    Forbidden for anyone else."""
    if is_admin(caller):
        return None
    access = await b2b_access.user_access(core, shopper)
    if access is None or access.ticket_account_id is None or not (
            holds(access.behaviors, VIEW_CHILD_ACCOUNTS) and holds(access.behaviors, MANAGE_ACCOUNT_INFORMATION)):
        raise b2b_access.forbidden(DOING_MOVE)
    return access.ticket_account_id


async def change_parent(core: Core, caller: Caller, account_id: int, parent_account_id: int,
                        shopper: Shopper | None = None) -> HierarchyNode:
    """Move the account, with every account below it, under `parent_account_id`; its new place."""
    top = await may_manage_below(core, caller, shopper)
    now = core.clock.now()
    async with core.store.transaction() as tx:
        await tx.lock_hierarchy(caller.tenant.id)
        if top is not None:  # a B2B user: both places inside their part of the tree, read under the lock
            inside = account_id != top and top in await tx.ancestors(account_id) and (
                parent_account_id == top or top in await tx.ancestors(parent_account_id))
            if not inside:
                raise b2b_access.forbidden(DOING_MOVE)
        moved = await node_of(tx, caller, account_id)
        parent = await node_of(tx, caller, parent_account_id)
        if moved.parent_account_id == parent.account_id:
            return moved
        members = await tx.subtree(moved)
        why = may_move(moved, await tx.ancestors(parent.account_id), parent, subtree_height(members, moved))
        if why is not None:
            raise InvalidParameter("parentAccountId", f"Missing or invalid parameter: {why}", parent_account_id)
        await tx.move_subtree(moved, [m.account_id for m in members], parent, now)
        await audit.record(core, audit.Event.B2B_PARENT_CHANGED, caller=caller, account_id=account_id,
                           actor=actor(caller, shopper), store=tx, detail={
                               "previousParentAccountId": moved.parent_account_id, "parentAccountId": parent.account_id,
                               "moved": len(members)})
        after = await tx.hierarchy_node(caller.tenant.id, None, account_id)
    assert after is not None
    return after


async def before_account_deleted(tx: B2BPersistence, tenant_id: int, account_id: int) -> None:
    """Refuse (409) deleting a B2B account that has child accounts: they would be left without a parent and with
    a top account that is gone. Call it in the deleting transaction (it takes the hierarchy lock, so no child
    is created or moved under the account meanwhile)."""
    await tx.lock_hierarchy(tenant_id)
    children = await tx.child_account_ids(account_id)
    if children:
        raise Conflict(f"Validation conflict: B2B account {account_id} has child accounts ({len(children)}); move "
                       "them to another parent or delete them first")

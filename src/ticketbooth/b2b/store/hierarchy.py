"""The B2B hierarchy: parent links, the top (root) and depth of each account, and moving a subtree.

Every change of a parent runs in one transaction that first takes the tenant's hierarchy lock
(`lock_hierarchy`): a PostgreSQL advisory lock per tenant, SQLite's one writer. Two moves can then never
interleave their reads and writes, so two opposite moves at once (A under B, B under A) cannot make a loop:
the second one reads the first one's result and is refused. Creating a child account under a parent takes
the same lock, so its root and depth are read from a parent that cannot move meanwhile.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B, MAX_DEPTH, HierarchyNode
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase

_HIERARCHY_LOCK_CLASS = 0x7B2B0002
"""PostgreSQL advisory lock class of a tenant's B2B hierarchy."""

_NODE = select(t.b2b_accounts.c.account_id, t.b2b_accounts.c.parent_account_id, t.b2b_accounts.c.root_account_id,
               t.b2b_accounts.c.depth)


def _node(row: object) -> HierarchyNode:
    return HierarchyNode(account_id=row.account_id, parent_account_id=row.parent_account_id,  # type: ignore[attr-defined]
                         root_account_id=row.root_account_id, depth=row.depth)  # type: ignore[attr-defined]


class HierarchyStore(StoreBase):
    async def lock_hierarchy(self, tenant_id: int) -> None:
        """Inside a transaction: hold the tenant's B2B hierarchy until it ends (see the module's docstring)."""
        async with self._begin(write=True) as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"),
                                   {"c": _HIERARCHY_LOCK_CLASS, "k": tenant_id})

    async def hierarchy_node(self, tenant_id: int, customer_set_id: int | None, account_id: int) -> HierarchyNode | None:
        """The B2B account's place in its hierarchy, if it is a B2B account of the tenant (and of the customer
        set, when given)."""
        where = [t.b2b_accounts.c.account_id == account_id, t.b2b_accounts.c.tenant_id == tenant_id,
                 t.accounts.c.account_type == ACCOUNT_TYPE_B2B]
        if customer_set_id is not None:
            where.append(t.accounts.c.customer_set_id == customer_set_id)
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_NODE.join_from(
                t.b2b_accounts, t.accounts, t.accounts.c.id == t.b2b_accounts.c.account_id).where(*where))).first()
        return None if row is None else _node(row)

    async def b2b_account_ids(self, tenant_id: int, account_ids: Collection[int]) -> set[int]:
        """Those of `account_ids` that are B2B accounts of the tenant."""
        if not account_ids:
            return set()
        async with self._begin(write=False) as conn:
            return set((await conn.execute(select(t.b2b_accounts.c.account_id).join_from(
                t.b2b_accounts, t.accounts, t.accounts.c.id == t.b2b_accounts.c.account_id).where(
                t.b2b_accounts.c.tenant_id == tenant_id, t.accounts.c.account_type == ACCOUNT_TYPE_B2B,
                t.b2b_accounts.c.account_id.in_(sorted(account_ids))))).scalars())

    async def child_account_ids(self, account_id: int) -> list[int]:
        """The accounts whose parent is `account_id`."""
        async with self._begin(write=False) as conn:
            return list((await conn.execute(select(t.b2b_accounts.c.account_id).where(
                t.b2b_accounts.c.parent_account_id == account_id).order_by(t.b2b_accounts.c.account_id))).scalars())

    async def ancestors(self, account_id: int) -> list[int]:
        """The account and every account above it, read from the parent links (nearest first). Stops at a
        repeat, so even a damaged hierarchy cannot loop it."""
        async with self._begin(write=False) as conn:
            return await _ancestors(conn, account_id)

    async def subtree(self, root: HierarchyNode) -> list[HierarchyNode]:
        """`root` and every account below it, from the parent links (breadth first)."""
        async with self._begin(write=False) as conn:
            return await _subtree(conn, root)

    async def tree_of(self, root_account_id: int) -> list[HierarchyNode]:
        """Every account whose top is `root_account_id`, by depth then id."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(_NODE.where(t.b2b_accounts.c.root_account_id == root_account_id).order_by(
                t.b2b_accounts.c.depth, t.b2b_accounts.c.account_id))).all()
        return [_node(r) for r in rows]

    async def move_subtree(self, moved: HierarchyNode, members: Collection[int], parent: HierarchyNode,
                           now: datetime) -> None:
        """Put `moved` under `parent`: its subtree (`members`, `moved` included) takes the parent's root and
        goes `parent.depth + 1 - moved.depth` levels down (or up). Call under `lock_hierarchy`."""
        delta = parent.depth + 1 - moved.depth
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.b2b_accounts).where(t.b2b_accounts.c.account_id == moved.account_id).values(
                parent_account_id=parent.account_id, updated_at=now))
            ids = sorted(members)
            for start in range(0, len(ids), 500):
                await conn.execute(update(t.b2b_accounts).where(
                    t.b2b_accounts.c.account_id.in_(ids[start:start + 500])).values(
                    root_account_id=parent.root_account_id, depth=t.b2b_accounts.c.depth + delta))


async def _ancestors(conn: AsyncConnection, account_id: int) -> list[int]:
    found: list[int] = []
    current: int | None = account_id
    while current is not None and current not in found and len(found) <= MAX_DEPTH + 2:
        found.append(current)
        current = (await conn.execute(select(t.b2b_accounts.c.parent_account_id).where(
            t.b2b_accounts.c.account_id == current))).scalar()
    return found


async def _subtree(conn: AsyncConnection, root: HierarchyNode) -> list[HierarchyNode]:
    found = {root.account_id: root}
    level = [root.account_id]
    while level:
        rows = (await conn.execute(_NODE.where(t.b2b_accounts.c.parent_account_id.in_(level)))).all()
        level = []
        for r in rows:
            if r.account_id not in found:
                found[r.account_id] = _node(r)
                level.append(r.account_id)
    return list(found.values())

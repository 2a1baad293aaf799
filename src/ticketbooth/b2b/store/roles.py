"""B2B roles: the built-in ones (ids 1-3, seeded; behaviors in code) and a merchant's (their behaviors and
the accounts they are given to, with apply-to-future-children), and taking roles away from users."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketbooth.b2b.rules import BUILT_IN_ROLE_BY_ID, Role
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase

_ROLE_LOCK_CLASS = 0x7B2B0001
"""PostgreSQL advisory lock class of a tenant's role names (one name per tenant)."""


class RoleStore(StoreBase):
    async def lock_role_names(self, tenant_id: int) -> None:
        """Inside a transaction: hold the tenant's role names until it ends, so two roles of one name cannot
        be created at once (PostgreSQL advisory lock; SQLite's one writer serializes anyway)."""
        async with self._begin(write=True) as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"),
                                   {"c": _ROLE_LOCK_CLASS, "k": tenant_id})

    async def role_name_taken(self, tenant_id: int, name: str, *, besides: int | None = None) -> bool:
        """Whether the tenant has a role named `name` (compared case-insensitively), built-in ones included,
        other than `besides`."""
        async with self._begin(write=False) as conn:
            where = [or_(t.b2b_roles.c.tenant_id == tenant_id, t.b2b_roles.c.tenant_id.is_(None)),
                     func.lower(t.b2b_roles.c.name) == name.lower()]
            if besides is not None:
                where.append(t.b2b_roles.c.id != besides)
            return (await conn.execute(select(t.b2b_roles.c.id).where(*where).limit(1))).first() is not None

    async def get_role(self, tenant_id: int, role_id: int) -> Role | None:
        """The role `role_id` if it is built-in or the tenant's."""
        async with self._begin(write=False) as conn:
            found = await _roles(conn, and_(t.b2b_roles.c.id == role_id, or_(
                t.b2b_roles.c.tenant_id == tenant_id, t.b2b_roles.c.tenant_id.is_(None))))
        return found[0] if found else None

    async def roles_of_account(self, tenant_id: int, account_id: int) -> list[Role]:
        """The roles usable in the account: the built-in ones, the tenant's tenant-wide roles (given to no account)
        and the tenant's roles given to it, by id."""
        given = select(t.b2b_role_accounts.c.role_id).where(t.b2b_role_accounts.c.account_id == account_id)
        scoped = select(t.b2b_role_accounts.c.role_id)
        async with self._begin(write=False) as conn:
            return await _roles(conn, or_(t.b2b_roles.c.tenant_id.is_(None), and_(
                t.b2b_roles.c.tenant_id == tenant_id,
                or_(t.b2b_roles.c.id.in_(given), t.b2b_roles.c.id.not_in(scoped)))))

    async def insert_role(self, tenant_id: int, name: str, behaviors: Collection[int], account_ids: Collection[int],
                          now: datetime, by: str) -> int:
        async with self._begin(write=True) as conn:
            role_id = int((await conn.execute(insert(t.b2b_roles).values(
                tenant_id=tenant_id, name=name, is_system=False, created_at=now, created_by=by, updated_at=now,
                updated_by=by).returning(t.b2b_roles.c.id))).scalar_one())
            await _set_behaviors(conn, role_id, behaviors)
            if account_ids:
                await conn.execute(insert(t.b2b_role_accounts), [
                    {"role_id": role_id, "account_id": a, "apply_to_future_children": False} for a in sorted(account_ids)])
            return role_id

    async def update_role(self, role_id: int, name: str, behaviors: Collection[int], account_ids: Collection[int],
                          now: datetime, by: str) -> list[int]:
        """Replace the role's name, behaviors and accounts (an account kept keeps its apply-to-future-children);
        the accounts it no longer has, whose users lost it there."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.b2b_roles).where(t.b2b_roles.c.id == role_id).values(
                name=name, updated_at=now, updated_by=by))
            await conn.execute(delete(t.b2b_role_behaviors).where(t.b2b_role_behaviors.c.role_id == role_id))
            await _set_behaviors(conn, role_id, behaviors)
            before = set((await conn.execute(select(t.b2b_role_accounts.c.account_id).where(
                t.b2b_role_accounts.c.role_id == role_id))).scalars())
            gone = sorted(before - set(account_ids))
            added = sorted(set(account_ids) - before)
            if gone:
                await conn.execute(delete(t.b2b_role_accounts).where(
                    t.b2b_role_accounts.c.role_id == role_id, t.b2b_role_accounts.c.account_id.in_(gone)))
                await conn.execute(delete(t.b2b_user_roles).where(
                    t.b2b_user_roles.c.role_id == role_id, t.b2b_user_roles.c.account_id.in_(gone)))
            if added:
                await conn.execute(insert(t.b2b_role_accounts), [
                    {"role_id": role_id, "account_id": a, "apply_to_future_children": False} for a in added])
            return gone

    async def delete_role(self, role_id: int) -> int:
        """Delete a merchant's role, taking it from every user who has it; how many user roles went."""
        async with self._begin(write=True) as conn:
            taken = (await conn.execute(delete(t.b2b_user_roles).where(t.b2b_user_roles.c.role_id == role_id))).rowcount
            await conn.execute(delete(t.b2b_role_accounts).where(t.b2b_role_accounts.c.role_id == role_id))
            await conn.execute(delete(t.b2b_role_behaviors).where(t.b2b_role_behaviors.c.role_id == role_id))
            await conn.execute(delete(t.b2b_roles).where(t.b2b_roles.c.id == role_id, t.b2b_roles.c.is_system.is_(False)))
            return int(taken or 0)

    async def give_role_to_account(self, role_id: int, account_id: int, now: datetime, by: str) -> bool:
        """Give the role to the account; False if it had it already."""
        async with self._begin(write=True) as conn:
            if await _has_row(conn, role_id, account_id):
                return False
            await conn.execute(insert(t.b2b_role_accounts).values(
                role_id=role_id, account_id=account_id, apply_to_future_children=False))
            await conn.execute(update(t.b2b_roles).where(t.b2b_roles.c.id == role_id).values(updated_at=now, updated_by=by))
            return True

    async def count_role_accounts(self, role_id: int) -> int:
        """How many accounts the role is given to; inside a transaction, its row is held until the end, so that
        two takings at once cannot both leave it (PostgreSQL row lock; SQLite's one writer serializes anyway)."""
        async with self._begin(write=True) as conn:
            await conn.execute(select(t.b2b_roles.c.id).where(t.b2b_roles.c.id == role_id).with_for_update())
            return int((await conn.execute(select(func.count()).select_from(t.b2b_role_accounts).where(
                t.b2b_role_accounts.c.role_id == role_id))).scalar_one())

    async def take_role_from_account(self, role_id: int, account_id: int, now: datetime, by: str) -> int | None:
        """Take the role from the account and from its users there: how many users lost it (None if the
        account did not have the role)."""
        async with self._begin(write=True) as conn:
            gone = (await conn.execute(delete(t.b2b_role_accounts).where(
                t.b2b_role_accounts.c.role_id == role_id, t.b2b_role_accounts.c.account_id == account_id))).rowcount
            if not gone:
                return None
            taken = (await conn.execute(delete(t.b2b_user_roles).where(
                t.b2b_user_roles.c.role_id == role_id, t.b2b_user_roles.c.account_id == account_id))).rowcount
            await conn.execute(update(t.b2b_roles).where(t.b2b_roles.c.id == role_id).values(updated_at=now, updated_by=by))
            return int(taken or 0)

    async def set_role_inheritance(self, role_id: int, account_id: int, enabled: bool) -> bool:
        """Set apply-to-future-children on the role's grant to the account; False if the account does not
        have the role."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.b2b_role_accounts).where(
                t.b2b_role_accounts.c.role_id == role_id, t.b2b_role_accounts.c.account_id == account_id,
            ).values(apply_to_future_children=enabled))
            return bool(res.rowcount)

    async def inherited_role_ids(self, account_ids: Collection[int]) -> list[int]:
        """The roles given with apply-to-future-children to any of `account_ids` (a new account's ancestors)."""
        if not account_ids:
            return []
        async with self._begin(write=False) as conn:
            return sorted(set((await conn.execute(select(t.b2b_role_accounts.c.role_id).where(
                t.b2b_role_accounts.c.account_id.in_(list(account_ids)),
                t.b2b_role_accounts.c.apply_to_future_children.is_(True)))).scalars()))

    async def give_roles_to_account(self, role_ids: Sequence[int], account_id: int) -> int:
        """Give each role to the account (those it has already stay as they are); how many were new."""
        async with self._begin(write=True) as conn:
            have = set((await conn.execute(select(t.b2b_role_accounts.c.role_id).where(
                t.b2b_role_accounts.c.account_id == account_id))).scalars())
            new = [r for r in dict.fromkeys(role_ids) if r not in have]
            if new:
                await conn.execute(insert(t.b2b_role_accounts), [
                    {"role_id": r, "account_id": account_id, "apply_to_future_children": False} for r in new])
            return len(new)


async def _has_row(conn: AsyncConnection, role_id: int, account_id: int) -> bool:
    return (await conn.execute(select(t.b2b_role_accounts.c.role_id).where(
        t.b2b_role_accounts.c.role_id == role_id, t.b2b_role_accounts.c.account_id == account_id))).first() is not None


async def _set_behaviors(conn: AsyncConnection, role_id: int, behaviors: Collection[int]) -> None:
    if behaviors:
        await conn.execute(insert(t.b2b_role_behaviors), [
            {"role_id": role_id, "behavior_id": b} for b in sorted(set(behaviors))])


async def _roles(conn: AsyncConnection, where: Any) -> list[Role]:
    rows = (await conn.execute(select(t.b2b_roles).where(where).order_by(t.b2b_roles.c.id))).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    behaviors: dict[int, set[int]] = {}
    for role_id, behavior_id in (await conn.execute(select(
            t.b2b_role_behaviors.c.role_id, t.b2b_role_behaviors.c.behavior_id).where(
            t.b2b_role_behaviors.c.role_id.in_(ids)))).all():
        behaviors.setdefault(role_id, set()).add(behavior_id)
    accounts: dict[int, list[int]] = {}
    for role_id, account_id in (await conn.execute(select(
            t.b2b_role_accounts.c.role_id, t.b2b_role_accounts.c.account_id).where(
            t.b2b_role_accounts.c.role_id.in_(ids)).order_by(t.b2b_role_accounts.c.account_id))).all():
        accounts.setdefault(role_id, []).append(account_id)
    found = []
    for r in rows:
        built_in = BUILT_IN_ROLE_BY_ID.get(r.id)
        found.append(Role(
            id=r.id, name=built_in.name if built_in else r.name, is_system=built_in is not None,
            behaviors=built_in.behaviors if built_in else frozenset(behaviors.get(r.id, ())),
            account_ids=() if built_in else tuple(accounts.get(r.id, ())),
            created_at=r.created_at, created_by=r.created_by, updated_at=r.updated_at, updated_by=r.updated_by))
    return found

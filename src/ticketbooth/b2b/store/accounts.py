"""B2B accounts in SQL: the `b2b_accounts` row beside the account's own, reading one account or a page of
them with their users (and those users' roles), and the row lock that serialises changes of one account's
administrators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketbooth.accounts.store.filtering import FieldMap, ListField, columns, page
from ticketbooth.accounts.store.parts import load_parts
from ticketbooth.accounts.store.reads import ACCOUNT_FIELDS, PROFILE_FIELDS, account_of, read_account
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Account, B2BAccount, B2BUser, UserRoleRef

_B = t.b2b_accounts.c
_UPDATABLE = frozenset({"price_list", "approval_status"})


def account_columns(table: Any = t.accounts) -> list[Any]:
    """The columns `reads.account_of` reads, of `table` (the accounts table or an alias of it)."""
    return [table.c[name] for name in (*ACCOUNT_FIELDS, *PROFILE_FIELDS)] + [
        table.c.password_hash.is_not(None).label("has_password")]


def _with_set(stmt: Any, table: Any = t.accounts) -> Any:
    return stmt.add_columns(t.customer_sets.c.code.label("customer_set_code")).join(
        t.customer_sets, t.customer_sets.c.id == table.c.customer_set_id)


_B2B_SELECT = _with_set(select(*account_columns(), _B.parent_account_id, _B.root_account_id, _B.depth,
                               _B.approval_status, _B.price_list)
                        .select_from(t.accounts).join(t.b2b_accounts, _B.account_id == t.accounts.c.id))


def _b2b(row: Any, account: Account) -> B2BAccount:
    return B2BAccount(account=account, parent_account_id=row.parent_account_id, root_account_id=row.root_account_id,
                      depth=row.depth, approval_status=row.approval_status, price_list=row.price_list)


async def load_users(conn: AsyncConnection, account_ids: Sequence[int], *, removed: bool = False) -> dict[int, list[B2BUser]]:
    """The users of each account (without removed ones unless `removed`), with their roles there: two
    queries whatever the number of accounts."""
    found: dict[int, list[B2BUser]] = {a: [] for a in account_ids}
    if not account_ids:
        return found
    u = t.b2b_users.c
    stmt = _with_set(select(*account_columns(), u.account_id.label("b2b_account_id"), u.is_active.label("m_active"),
                            u.is_removed, u.priority, u.created_at.label("m_created_at"))
                     .select_from(t.b2b_users).join(t.accounts, t.accounts.c.id == u.user_account_id)
                     ).where(u.account_id.in_(list(account_ids)))
    if not removed:
        stmt = stmt.where(u.is_removed.is_(False))
    rows = (await conn.execute(stmt.order_by(u.account_id, u.created_at, u.user_account_id))).all()
    by_key: dict[tuple[int, int], B2BUser] = {}
    for row in rows:
        user = member_of(row)
        found[user.account_id].append(user)
        by_key[(user.account_id, user.user.id)] = user
    if by_key:
        await load_roles(conn, by_key)
    return found


def member_of(row: Any) -> B2BUser:
    """A B2BUser from a row of the account columns and the membership's (`b2b_account_id`, `m_active`,
    `is_removed`, `priority`, `m_created_at`)."""
    m = row._mapping
    return B2BUser(account_id=m["b2b_account_id"], user=account_of(m), is_active=bool(m["m_active"]),
                   is_removed=bool(m["is_removed"]), priority=m["priority"], created_at=m["m_created_at"])


async def load_roles(conn: AsyncConnection, users: Mapping[tuple[int, int], B2BUser]) -> None:
    """Fill in the roles of `users` (keyed by account id and user row id), by role id."""
    r = t.b2b_user_roles.c
    account_ids = sorted({k[0] for k in users})
    user_ids = sorted({k[1] for k in users})
    rows = (await conn.execute(
        select(r.account_id, r.user_account_id, r.role_id, r.created_at, r.created_by, t.b2b_roles.c.name)
        .join_from(t.b2b_user_roles, t.b2b_roles, t.b2b_roles.c.id == r.role_id)
        .where(r.account_id.in_(account_ids), r.user_account_id.in_(user_ids)).order_by(r.role_id))).all()
    for row in rows:
        user = users.get((row.account_id, row.user_account_id))
        if user is not None:
            user.roles.append(UserRoleRef(row.role_id, row.name, row.created_at, row.created_by))


async def load_sales_reps(conn: AsyncConnection, accounts: Sequence[B2BAccount]) -> None:
    by_id = {a.account.id: a for a in accounts}
    if not by_id:
        return
    s = t.b2b_sales_reps.c
    rows = (await conn.execute(select(s.account_id, s.admin_user_id).where(s.account_id.in_(list(by_id)))
                               .order_by(s.account_id, s.admin_user_id))).all()
    for row in rows:
        by_id[row.account_id].sales_reps.append(row.admin_user_id)


class B2BAccountStore(StoreBase):
    async def insert_b2b_account(self, account_id: int, tenant_id: int, parent_account_id: int | None,
                                 root_account_id: int, depth: int, approval_status: str, price_list: str | None,
                                 now: datetime) -> None:
        """The B2B part of the account `account_id` (inserted just before, in the same transaction)."""
        async with self._begin(write=True) as conn:
            await conn.execute(insert(t.b2b_accounts).values(
                account_id=account_id, tenant_id=tenant_id, parent_account_id=parent_account_id,
                root_account_id=root_account_id, depth=depth, approval_status=approval_status, price_list=price_list,
                created_at=now, updated_at=now))

    async def get_b2b_account(self, account_id: int, *, with_users: bool = True) -> B2BAccount | None:
        """The B2B account with its parts, sales reps and (`with_users`) its users; None when `account_id`
        is no B2B account."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_B2B_SELECT.where(t.accounts.c.id == account_id))).first()
            if row is None:
                return None
            account = await read_account(self.engine, conn, None, account_id)
            if account is None:
                return None
            found = _b2b(row, account)
            await load_sales_reps(conn, [found])
            if with_users:
                found.users = (await load_users(conn, [account_id]))[account_id]
        return found

    async def list_b2b_accounts(self, tenant_id: int, customer_set_id: int, query: ListQuery,
                                only: Sequence[int] | None = None) -> tuple[list[B2BAccount], int]:
        """A page of the customer set's B2B accounts matching `query` (`only`: among these ids), with
        their parts, sales reps and users, and how many match in all."""
        stmt = _B2B_SELECT.where(t.accounts.c.tenant_id == tenant_id, t.accounts.c.customer_set_id == customer_set_id,
                                 t.accounts.c.account_type == ACCOUNT_TYPE_B2B)
        if only is not None:
            stmt = stmt.where(t.accounts.c.id.in_(list(only)))
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, stmt, _LIST_FIELDS, query, t.accounts.c.id, searched=_SEARCHED)
            found = [_b2b(row, account_of(row._mapping)) for row in rows]
            await load_parts(conn, [b.account for b in found])
            await load_sales_reps(conn, found)
            users = await load_users(conn, [b.account.id for b in found])
            for b in found:
                b.users = users[b.account.id]
        return found, total

    async def update_b2b_account(self, account_id: int, values: Mapping[str, Any], now: datetime) -> bool:
        """Change the B2B part's `values` (price_list, approval_status); False when there is none."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable B2B account columns: {sorted(unknown)}")
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.b2b_accounts).where(_B.account_id == account_id).values(
                **values, updated_at=now))
            return bool(res.rowcount == 1)

    async def lock_b2b_account(self, account_id: int) -> bool:
        """Take the B2B account's row lock for the rest of the transaction (PostgreSQL's FOR UPDATE; on
        SQLite the transaction holds the database's write lock already), so that changes of its users'
        roles and memberships happen one after the other; False when there is no such account."""
        async with self._begin(write=True) as conn:
            stmt = select(_B.account_id).where(_B.account_id == account_id)
            if not self._is_sqlite:
                stmt = stmt.with_for_update()
            return (await conn.execute(stmt)).first() is not None

    async def b2b_tree(self, root_account_id: int) -> list[tuple[int, int | None]]:
        """(account id, parent account id) of every account under the root (the root included)."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(_B.account_id, _B.parent_account_id).where(
                _B.root_account_id == root_account_id).order_by(_B.account_id))).all()
        return [(int(r.account_id), r.parent_account_id) for r in rows]

    async def inherit_roles(self, parent_account_id: int, child_account_id: int) -> int:
        """Give the new child account the merchant's roles its parent has with apply_to_future_children."""
        ra = t.b2b_role_accounts.c
        async with self._begin(write=True) as conn:
            roles = (await conn.execute(select(ra.role_id).where(
                ra.account_id == parent_account_id, ra.apply_to_future_children.is_(True)))).scalars().all()
            if roles:
                await conn.execute(insert(t.b2b_role_accounts), [
                    {"role_id": r, "account_id": child_account_id, "apply_to_future_children": True} for r in roles])
        return len(roles)

    async def add_sales_reps_at_creation(self, account_id: int, admin_user_ids: Sequence[str], now: datetime) -> None:
        if not admin_user_ids:
            return
        async with self._begin(write=True) as conn:
            await conn.execute(insert(t.b2b_sales_reps), [
                {"account_id": account_id, "admin_user_id": a, "created_at": now} for a in sorted(set(admin_user_ids))])

    async def b2b_parent_of(self, account_id: int) -> tuple[int, int | None, int] | None:
        """(tenant id, parent account id, root account id) of a B2B account; None when it is none."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(_B.tenant_id, _B.parent_account_id, _B.root_account_id).where(
                _B.account_id == account_id))).first()
        return None if row is None else (row.tenant_id, row.parent_account_id, row.root_account_id)


_LIST_FIELDS: FieldMap = {
    **columns(t.accounts, "id", "user_id", "first_name", "last_name", "company_or_organization", "tax_id",
              "external_id", "locale_code", "account_type", "is_active", "tax_exempt", "accepts_marketing",
              "created_at", "updated_at", "created_by", "updated_by"),
    "email": ListField(t.accounts.c.email),
    **columns(t.b2b_accounts, "parent_account_id", "root_account_id", "depth", "approval_status", "price_list"),
}
_SEARCHED = ("company_or_organization", "email", "external_id", "tax_id")
"""A free-text word matches a B2B account when it is part of one of these."""

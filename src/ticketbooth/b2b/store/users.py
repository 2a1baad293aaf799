"""B2B users in SQL: memberships (`b2b_users`), a user's roles in an account (`b2b_user_roles`) and what
they grant, the roles as the user-role flows read them, and the sessions of one membership."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.accounts.store.filtering import FieldMap, Folded, ListField, columns, page
from ticketbooth.accounts.store.reads import account_of
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B_USER, ADMIN_ROLE
from ticketbooth.b2b.store.accounts import account_columns, load_roles, member_of
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Account, B2BUser, Membership, Page, RoleInfo
from ticketbooth.domain.policies import fold_login, login_key

_U = t.b2b_users.c
_R = t.b2b_user_roles.c
_UPDATABLE = frozenset({"is_active", "is_removed", "priority"})

_MEMBER_SELECT = select(
    *account_columns(), t.customer_sets.c.code.label("customer_set_code"), _U.account_id.label("b2b_account_id"),
    _U.is_active.label("m_active"), _U.is_removed, _U.priority, _U.created_at.label("m_created_at"),
).select_from(t.b2b_users).join(t.accounts, t.accounts.c.id == _U.user_account_id).join(
    t.customer_sets, t.customer_sets.c.id == t.accounts.c.customer_set_id)


class B2BUserStore(StoreBase):
    async def user_row_by_user_id(self, tenant_id: int, customer_set_id: int, user_id: str) -> Account | None:
        """The B2B user (their own row) whose userId is `user_id` in the customer set."""
        if "\x00" in user_id:
            return None
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(*account_columns(), t.customer_sets.c.code.label("customer_set_code"))
                                      .join(t.customer_sets, t.customer_sets.c.id == t.accounts.c.customer_set_id)
                                      .where(t.accounts.c.user_id == user_id, t.accounts.c.tenant_id == tenant_id,
                                             t.accounts.c.customer_set_id == customer_set_id,
                                             t.accounts.c.account_type == ACCOUNT_TYPE_B2B_USER))).first()
        return None if row is None else account_of(dict(row._mapping))

    async def get_b2b_user(self, account_id: int, user_account_id: int) -> B2BUser | None:
        """The membership of the user in the account (removed ones too), with the user's roles there."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_MEMBER_SELECT.where(
                _U.account_id == account_id, _U.user_account_id == user_account_id))).first()
            if row is None:
                return None
            user = member_of(row)
            await load_roles(conn, {(account_id, user_account_id): user})
        return user

    async def page_b2b_users(self, account_id: int, query: ListQuery) -> Page[B2BUser]:
        """A page of the account's users (not removed ones), with their roles."""
        stmt = _MEMBER_SELECT.where(_U.account_id == account_id, _U.is_removed.is_(False))
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, stmt, _USER_FIELDS, query, t.accounts.c.id, searched=_SEARCHED)
            users = [member_of(row) for row in rows]
            await load_roles(conn, {(u.account_id, u.user.id): u for u in users})
        return Page(users, total, query.offset, query.limit)

    async def insert_membership(self, account_id: int, user_account_id: int, tenant_id: int, now: datetime,
                                by: str) -> bool:
        """Make the user a member of the account (a removed membership comes back, active, without its
        old roles); False when they are a member already."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.b2b_users).where(
                _U.account_id == account_id, _U.user_account_id == user_account_id, _U.is_removed.is_(True),
            ).values(is_removed=False, is_active=True, updated_at=now, updated_by=by))
            if res.rowcount == 1:
                await conn.execute(delete(t.b2b_user_roles).where(
                    _R.account_id == account_id, _R.user_account_id == user_account_id))
                return True
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(t.b2b_users).values(
                        account_id=account_id, user_account_id=user_account_id, tenant_id=tenant_id, priority=None,
                        is_active=True, is_removed=False, created_at=now, created_by=by, updated_at=now,
                        updated_by=by))
            except IntegrityError:
                return False
            return True

    async def update_membership(self, account_id: int, user_account_id: int, values: Mapping[str, Any],
                                now: datetime, by: str) -> bool:
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable membership columns: {sorted(unknown)}")
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.b2b_users).where(
                _U.account_id == account_id, _U.user_account_id == user_account_id,
            ).values(**values, updated_at=now, updated_by=by))
            return bool(res.rowcount == 1)

    async def role_grants(self, account_id: int, user_account_id: int) -> tuple[list[int], list[int]]:
        """(the built-in role ids, the behaviors of the merchant's roles) the user holds in the account:
        one query. `b2b.rules.behaviors_of_roles` makes their behaviors of them."""
        rb = t.b2b_role_behaviors.c
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(_R.role_id, t.b2b_roles.c.is_system, rb.behavior_id)
                .join_from(t.b2b_user_roles, t.b2b_roles, t.b2b_roles.c.id == _R.role_id)
                .outerjoin(t.b2b_role_behaviors, rb.role_id == _R.role_id)
                .where(_R.account_id == account_id, _R.user_account_id == user_account_id))).all()
        built_in = sorted({r.role_id for r in rows if r.is_system})
        merchant = sorted({r.behavior_id for r in rows if not r.is_system and r.behavior_id is not None})
        return built_in, merchant

    async def role_info(self, role_id: int) -> RoleInfo | None:
        """A role with its stored behaviors (none for a built-in one: those are in code) and the accounts it
        is given to."""
        if not -(2**31) <= role_id < 2**31:
            return None
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.b2b_roles).where(t.b2b_roles.c.id == role_id))).first()
            if row is None:
                return None
            behaviors = (await conn.execute(select(t.b2b_role_behaviors.c.behavior_id).where(
                t.b2b_role_behaviors.c.role_id == role_id))).scalars().all()
            accounts = (await conn.execute(select(t.b2b_role_accounts.c.account_id).where(
                t.b2b_role_accounts.c.role_id == role_id))).scalars().all()
        return RoleInfo(row.id, row.tenant_id, row.name, bool(row.is_system), frozenset(int(b) for b in behaviors),
                        frozenset(int(a) for a in accounts))

    async def add_user_role(self, account_id: int, user_account_id: int, role_id: int, now: datetime, by: str) -> bool:
        """Give the user the role in the account; False when they hold it already."""
        async with self._begin(write=True) as conn:
            held = (await conn.execute(select(_R.role_id).where(
                _R.account_id == account_id, _R.user_account_id == user_account_id, _R.role_id == role_id))).first()
            if held is not None:
                return False
            await conn.execute(insert(t.b2b_user_roles).values(
                account_id=account_id, user_account_id=user_account_id, role_id=role_id, created_at=now, created_by=by))
            return True

    async def remove_user_role(self, account_id: int, user_account_id: int, role_id: int) -> bool:
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(t.b2b_user_roles).where(
                _R.account_id == account_id, _R.user_account_id == user_account_id, _R.role_id == role_id))
            return bool(res.rowcount == 1)

    async def active_admins(self, account_id: int) -> set[int]:
        """The user rows holding the Admin role in the account whose membership is active and not removed
        and whose own row is active."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(_R.user_account_id)
                .join_from(t.b2b_user_roles, t.b2b_users, (_U.account_id == _R.account_id)
                           & (_U.user_account_id == _R.user_account_id))
                .join(t.accounts, t.accounts.c.id == _R.user_account_id)
                .where(_R.account_id == account_id, _R.role_id == ADMIN_ROLE, _U.is_active.is_(True),
                       _U.is_removed.is_(False), t.accounts.c.is_active.is_(True)))).scalars().all()
        return {int(r) for r in rows}

    async def users_with_role(self, account_id: int, role_id: int) -> list[B2BUser]:
        """The account's users (not removed) who hold the role there, with their roles."""
        stmt = _MEMBER_SELECT.join(t.b2b_user_roles, (_R.account_id == _U.account_id)
                                   & (_R.user_account_id == _U.user_account_id)).where(
            _U.account_id == account_id, _U.is_removed.is_(False), _R.role_id == role_id)
        async with self._begin(write=False) as conn:
            users = [member_of(row) for row in (await conn.execute(stmt.order_by(_U.created_at, _U.user_account_id))).all()]
            await load_roles(conn, {(u.account_id, u.user.id): u for u in users})
        return users

    async def memberships_of(self, user_account_id: int) -> list[Membership]:
        """Every membership of the user (removed ones too) with its account's state, in one query."""
        b = t.b2b_accounts.c
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(_U.account_id, _U.user_account_id, _U.priority, _U.is_active, _U.is_removed, _U.created_at,
                       t.accounts.c.is_active.label("account_is_active"), b.approval_status, b.parent_account_id)
                .join_from(t.b2b_users, t.accounts, t.accounts.c.id == _U.account_id)
                .join(t.b2b_accounts, b.account_id == _U.account_id)
                .where(_U.user_account_id == user_account_id).order_by(_U.account_id))).all()
        return [Membership(r.account_id, r.user_account_id, r.priority, bool(r.is_active), bool(r.is_removed),
                           r.created_at, bool(r.account_is_active), r.approval_status, r.parent_account_id)
                for r in rows]

    async def revoke_membership_families(self, account_id: int, user_account_id: int, now: datetime,
                                         reason: str) -> int:
        """End every live session of the user for the account; the number ended."""
        f = t.token_families.c
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.token_families).where(
                f.account_id == account_id, f.user_account_id == user_account_id, f.revoked_at.is_(None),
            ).values(revoked_at=now, revoke_reason=reason))
            return int(res.rowcount)

    async def count_memberships(self, account_id: int) -> int:
        async with self._begin(write=False) as conn:
            return int((await conn.execute(select(func.count()).select_from(t.b2b_users).where(
                _U.account_id == account_id, _U.is_removed.is_(False)))).scalar_one())


_USER_FIELDS: FieldMap = {
    **columns(t.accounts, "user_id", "first_name", "last_name", "locale_code", "is_locked", "accepts_marketing",
              "has_external_password", "created_at", "updated_at"),
    "email": ListField(t.accounts.c.email, Folded(t.accounts.c.email_key, login_key, fold_login)),
    "username": ListField(t.accounts.c.username, Folded(t.accounts.c.username_key, login_key, fold_login)),
    "is_active": ListField(_U.is_active),
    "is_removed": ListField(_U.is_removed),
    "priority": ListField(_U.priority),
}
_SEARCHED = ("email", "username", "first_name", "last_name")

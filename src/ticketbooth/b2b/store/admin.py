"""What a merchant does to B2B accounts besides their users and roles: approval status and activity, sales reps,
the contacts of every B2B account, and upgrading B2C accounts to B2B."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from ticketbooth.accounts.store.filtering import ListField, columns, page
from ticketbooth.accounts.store.parts import _contact_of
from ticketbooth.b2b.rules import (
    ACCOUNT_TYPE_B2B,
    ACCOUNT_TYPE_B2B_USER,
    ADMIN_ROLE,
    B2BStatus,
    ExtendedContact,
    Recipient,
    UpgradeCandidate,
)
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Page

_CONTACT_FIELDS: dict[str, ListField] = {
    **columns(t.contacts, "id", "email", "first_name", "middle_name_or_initial", "last_name_or_surname",
              "company_or_organization", "label", "fax_number", "created_at", "created_by", "updated_at", "updated_by"),
    "account_id": ListField(t.contacts.c.account_id),
    "account_name": ListField(t.accounts.c.company_or_organization),
}
_SEARCHED = ("email", "first_name", "last_name_or_surname", "company_or_organization", "account_name")
"""The fields `q`'s words are looked for in."""
_B2B_CONTACTS = select(t.contacts, t.accounts.c.company_or_organization.label("account_name")).join_from(
    t.contacts, t.accounts, t.accounts.c.id == t.contacts.c.account_id)

_MOVED_TO_USER = ("email", "email_key", "username", "username_key", "password_hash", "password_changed_at",
                  "has_external_password", "migration_required", "first_name", "last_name", "locale_code",
                  "accepts_marketing", "is_locked", "locked_at", "lock_expires_at", "locked_by_admin",
                  "password_change_required", "failed_login_count", "first_failed_login_at", "last_2fa_at",
                  "last_login_at")
"""The login columns an upgraded shopper's row hands to their new B2B user row."""


class B2BAdminStore(StoreBase):
    # -- status ---------------------------------------------------------------------------------

    async def b2b_status(self, account_id: int, *, lock: bool = False) -> B2BStatus | None:
        """The B2B account's status (inside a transaction with `lock`: its row held until the end)."""
        stmt = select(t.accounts.c.id, t.accounts.c.tenant_id, t.accounts.c.customer_set_id,
                      t.b2b_accounts.c.approval_status, t.accounts.c.is_active, t.accounts.c.email,
                      t.accounts.c.first_name, t.accounts.c.company_or_organization, t.accounts.c.locale_code).join_from(
            t.accounts, t.b2b_accounts, t.b2b_accounts.c.account_id == t.accounts.c.id).where(
            t.accounts.c.id == account_id, t.accounts.c.account_type == ACCOUNT_TYPE_B2B)
        async with self._begin(write=lock) as conn:
            row = (await conn.execute(stmt.with_for_update(of=t.accounts) if lock else stmt)).first()
        if row is None:
            return None
        return B2BStatus(account_id=row.id, tenant_id=row.tenant_id, customer_set_id=row.customer_set_id,
                         approval_status=row.approval_status, is_active=row.is_active, email=row.email,
                         first_name=row.first_name, company=row.company_or_organization, locale_code=row.locale_code)

    async def set_b2b_status(self, account_id: int, approval_status: str, is_active: bool, now: datetime, by: str) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.b2b_accounts).where(t.b2b_accounts.c.account_id == account_id).values(
                approval_status=approval_status, updated_at=now))
            await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(
                is_active=is_active, updated_at=now, updated_by=by))

    async def b2b_admin_recipients(self, account_id: int) -> list[Recipient]:
        """The active Admins of the B2B account with an email, oldest membership first."""
        user = t.accounts.alias("b2b_user")
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(user.c.email, user.c.first_name, user.c.locale_code).select_from(
                t.b2b_users.join(user, user.c.id == t.b2b_users.c.user_account_id).join(
                    t.b2b_user_roles, (t.b2b_user_roles.c.account_id == t.b2b_users.c.account_id)
                    & (t.b2b_user_roles.c.user_account_id == t.b2b_users.c.user_account_id))).where(
                t.b2b_users.c.account_id == account_id, t.b2b_users.c.is_active.is_(True),
                t.b2b_users.c.is_removed.is_(False), t.b2b_user_roles.c.role_id == ADMIN_ROLE,
                user.c.email.is_not(None)).order_by(t.b2b_users.c.created_at, user.c.id))).all()
        return [Recipient(r.email, r.first_name, r.locale_code) for r in rows]

    # -- sales reps -----------------------------------------------------------------------------

    async def sales_reps_of(self, account_id: int) -> list[str]:
        async with self._begin(write=False) as conn:
            return list((await conn.execute(select(t.b2b_sales_reps.c.admin_user_id).where(
                t.b2b_sales_reps.c.account_id == account_id).order_by(
                t.b2b_sales_reps.c.created_at, t.b2b_sales_reps.c.admin_user_id))).scalars())

    async def add_sales_reps(self, account_id: int, admin_user_ids: Sequence[str], now: datetime) -> list[str]:
        """Assign the sales reps (those assigned already stay as they are); the ones that were new."""
        async with self._begin(write=True) as conn:
            have = set((await conn.execute(select(t.b2b_sales_reps.c.admin_user_id).where(
                t.b2b_sales_reps.c.account_id == account_id))).scalars())
            new = [u for u in dict.fromkeys(admin_user_ids) if u not in have]
            if new:
                await conn.execute(insert(t.b2b_sales_reps), [
                    {"account_id": account_id, "admin_user_id": u, "created_at": now} for u in new])
            return new

    async def remove_sales_reps(self, account_id: int, admin_user_ids: Collection[str] | None = None) -> list[str]:
        """Unassign the sales reps named (all with None); the ones that were assigned."""
        where = [t.b2b_sales_reps.c.account_id == account_id]
        if admin_user_ids is not None:
            if not admin_user_ids:
                return []
            where.append(t.b2b_sales_reps.c.admin_user_id.in_(sorted(admin_user_ids)))
        async with self._begin(write=True) as conn:
            gone = sorted((await conn.execute(select(t.b2b_sales_reps.c.admin_user_id).where(*where))).scalars())
            if gone:
                await conn.execute(delete(t.b2b_sales_reps).where(*where))
            return gone

    async def accounts_of_sales_rep(self, tenant_id: int, customer_set_id: int, admin_user_id: str) -> list[int]:
        async with self._begin(write=False) as conn:
            return list((await conn.execute(select(t.b2b_sales_reps.c.account_id).join_from(
                t.b2b_sales_reps, t.accounts, t.accounts.c.id == t.b2b_sales_reps.c.account_id).where(
                t.b2b_sales_reps.c.admin_user_id == admin_user_id, t.accounts.c.tenant_id == tenant_id,
                t.accounts.c.customer_set_id == customer_set_id).order_by(t.b2b_sales_reps.c.account_id))).scalars())

    # -- contacts of B2B accounts ---------------------------------------------------------------

    async def page_b2b_contacts(self, tenant_id: int, customer_set_id: int, query: ListQuery) -> Page[ExtendedContact]:
        stmt = _B2B_CONTACTS.where(t.accounts.c.tenant_id == tenant_id, t.accounts.c.customer_set_id == customer_set_id,
                                   t.accounts.c.account_type == ACCOUNT_TYPE_B2B)
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, stmt, _CONTACT_FIELDS, query, t.contacts.c.id, _SEARCHED)
        return Page([ExtendedContact(_contact_of(r._mapping), r.account_name) for r in rows], total, query.offset,
                    query.limit)

    # -- upgrading B2C accounts -----------------------------------------------------------------

    async def upgrade_candidates(self, account_ids: Collection[int]) -> dict[int, UpgradeCandidate]:
        if not account_ids:
            return {}
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(
                t.accounts.c.id, t.accounts.c.tenant_id, t.accounts.c.customer_set_id, t.accounts.c.account_type,
                t.accounts.c.password_hash, t.accounts.c.email_key, t.accounts.c.username_key,
                t.b2b_accounts.c.account_id.label("b2b_id")).join_from(
                t.accounts, t.b2b_accounts, t.b2b_accounts.c.account_id == t.accounts.c.id, isouter=True).where(
                t.accounts.c.id.in_(sorted(account_ids))))).all()
        return {r.id: UpgradeCandidate(
            account_id=r.id, tenant_id=r.tenant_id, customer_set_id=r.customer_set_id, account_type=r.account_type,
            is_b2b=r.b2b_id is not None or r.account_type in (ACCOUNT_TYPE_B2B, ACCOUNT_TYPE_B2B_USER),
            has_login=bool(r.password_hash or r.email_key or r.username_key)) for r in rows}

    async def upgrade_to_b2b(self, account_id: int, new_user_id: str, approval_status: str, now: datetime,
                             by: str) -> tuple[bool, int | None]:
        """Turn the B2C account into a B2B account, in the caller's transaction: the account row becomes
        account_type B2B (a `b2b_accounts` row at the top of its own hierarchy) and takes `new_user_id`; its
        login (user id, email, username, password, lockout and 2FA state, login names, known devices) moves
        to a new B2BUser row (active only if the shopper was), which becomes the account's Admin. Pending
        reset codes and login challenges of the shopper are dropped. An account without a login (no
        password, email or username) gets no user. (False, None) when the account is no longer a B2C
        account (it changed meanwhile); else (True, the new user row's id or None)."""
        async with self._begin(write=True) as conn:
            row = (await conn.execute(select(t.accounts).where(t.accounts.c.id == account_id).with_for_update())).first()
            if row is None or row.account_type in (ACCOUNT_TYPE_B2B, ACCOUNT_TYPE_B2B_USER):
                return False, None
            if (await conn.execute(select(t.b2b_accounts.c.account_id).where(
                    t.b2b_accounts.c.account_id == account_id))).first() is not None:
                return False, None
            m = row._mapping
            moved: dict[str, Any] = {name: m[name] for name in _MOVED_TO_USER}
            # the account keeps its email as a contact address, but never logs in again
            await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(
                user_id=new_user_id, account_type=ACCOUNT_TYPE_B2B, email_key=None, username=None, username_key=None,
                password_hash=None, password_changed_at=None, has_external_password=False, migration_required=False,
                is_locked=False, locked_at=None, lock_expires_at=None, locked_by_admin=False,
                password_change_required=False, failed_login_count=0, first_failed_login_at=None, last_2fa_at=None,
                updated_at=now, updated_by=by))
            await conn.execute(insert(t.b2b_accounts).values(
                account_id=account_id, tenant_id=m["tenant_id"], parent_account_id=None, root_account_id=account_id,
                depth=0, approval_status=approval_status, price_list=None, created_at=now, updated_at=now))
            if not (m["password_hash"] or m["email_key"] or m["username_key"]):
                return True, None
            user_account_id = int((await conn.execute(insert(t.accounts).values(
                tenant_id=m["tenant_id"], customer_set_id=m["customer_set_id"], user_id=m["user_id"],
                account_type=ACCOUNT_TYPE_B2B_USER, is_active=m["is_active"], tax_exempt=False,
                company_or_organization=m["company_or_organization"], created_at=m["created_at"],
                created_by=m["created_by"], updated_at=now, updated_by=by, **moved,
            ).returning(t.accounts.c.id))).scalar_one())
            await conn.execute(update(t.login_names).where(t.login_names.c.account_id == account_id).values(
                account_id=user_account_id))
            await conn.execute(update(t.known_devices).where(t.known_devices.c.account_id == account_id).values(
                account_id=user_account_id))
            await conn.execute(delete(t.account_codes).where(t.account_codes.c.account_id == account_id))
            await conn.execute(delete(t.login_challenges).where(t.login_challenges.c.account_id == account_id))
            await conn.execute(insert(t.b2b_users).values(
                account_id=account_id, user_account_id=user_account_id, tenant_id=m["tenant_id"], priority=None,
                is_active=True, is_removed=False, created_at=now, created_by=by, updated_at=now, updated_by=by))
            await conn.execute(insert(t.b2b_user_roles).values(
                account_id=account_id, user_account_id=user_account_id, role_id=ADMIN_ROLE, created_at=now,
                created_by=by))
            return True, user_account_id

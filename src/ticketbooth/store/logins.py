"""Login state of accounts: lock, password change required, password changes, failed logins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, case, func, select, update

from ticketbooth.store import tables as t
from ticketbooth.store.base import StoreBase

_a = t.accounts


@dataclass(frozen=True, slots=True)
class StoredLogin:
    """What a password check needs of an account, read in one statement."""

    account_id: int
    tenant_id: int
    customer_set_id: int
    is_active: bool
    is_locked: bool
    password_hash: str | None


_STORED_LOGIN = select(
    _a.c.id, _a.c.tenant_id, _a.c.customer_set_id, _a.c.is_active, _a.c.is_locked, _a.c.password_hash,
).where(_a.c.id == bindparam("account_id"))
_FAILED_LOGIN = update(_a).where(_a.c.id == bindparam("account_id")).values(
    failed_login_count=_a.c.failed_login_count + 1,
    first_failed_login_at=func.coalesce(_a.c.first_failed_login_at, bindparam("now", type_=_a.c.first_failed_login_at.type)),
)
_GOOD_LOGIN = update(_a).where(_a.c.id == bindparam("account_id")).values(
    last_login_at=bindparam("now", type_=_a.c.last_login_at.type), failed_login_count=0, first_failed_login_at=None,
)


class LoginStore(StoreBase):
    async def stored_login(self, account_id: int) -> StoredLogin | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_STORED_LOGIN, {"account_id": account_id})).first()
        if row is None:
            return None
        return StoredLogin(account_id=row.id, tenant_id=row.tenant_id, customer_set_id=row.customer_set_id,
                           is_active=bool(row.is_active), is_locked=bool(row.is_locked), password_hash=row.password_hash)

    async def account_id_by_name(self, customer_set_id: int, name: Literal["email", "username"], key: str) -> int | None:
        """The account of the customer set whose email (or username), compared as `login_key`, is `key`."""
        if "\x00" in key:  # no stored name has one (PostgreSQL text cannot hold it)
            return None
        column = _a.c.email_key if name == "email" else _a.c.username_key
        async with self._begin(write=False) as conn:
            found = (await conn.execute(select(_a.c.id).where(_a.c.customer_set_id == customer_set_id, column == key)
                                        .order_by(_a.c.id).limit(1))).scalar()
        return None if found is None else int(found)

    # -- logins ---------------------------------------------------------------------------------

    async def record_failed_login(self, account_id: int, now: datetime) -> None:
        """One more failed password login (the first one's time is kept)."""
        async with self._begin(write=True) as conn:
            await conn.execute(_FAILED_LOGIN, {"account_id": account_id, "now": now})

    async def record_successful_login(self, account_id: int, now: datetime) -> None:
        """The last login time; the failed-login count starts again from zero."""
        async with self._begin(write=True) as conn:
            await conn.execute(_GOOD_LOGIN, {"account_id": account_id, "now": now})

    async def upgrade_password_hash(self, account_id: int, old_hash: str, new_hash: str) -> bool:
        """Replace a hash made by another system or with older parameters by `new_hash` of the same
        password, and note that the password is no longer external; only if the hash is still
        `old_hash` (a password change meanwhile wins). True when replaced."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(_a).where(_a.c.id == account_id, _a.c.password_hash == old_hash).values(
                password_hash=new_hash, has_external_password=False))
            return bool(res.rowcount == 1)

    # -- changes by the shopper or an administrator -------------------------------------------------

    async def change_password_hash(self, account_id: int, old_hash: str, new_hash: str, now: datetime, by: str,
                                   *, unlock: bool = False) -> bool:
        """Set a new password, only if the hash is still `old_hash` (so two changes cannot both win).
        Clears password-change-required, the external-password mark and the failed-login count;
        with `unlock`, also the lock. True when changed."""
        values: dict[str, Any] = dict(
            password_hash=new_hash, password_changed_at=now, password_change_required=False,
            has_external_password=False, failed_login_count=0, first_failed_login_at=None, updated_at=now,
            updated_by=by,
        )
        if unlock:
            values["is_locked"] = False
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(_a).where(_a.c.id == account_id, _a.c.password_hash == old_hash).values(
                **values))
            return bool(res.rowcount == 1)

    async def set_locked(self, account_id: int, locked: bool, now: datetime, by: str) -> bool:
        """Lock (noting when, unless already locked) or unlock (clearing the failed-login count; the
        time of the last lock is kept). True when the account exists."""
        values: dict[str, Any] = dict(is_locked=locked, updated_at=now, updated_by=by)
        if locked:
            values["locked_at"] = _locked_at(now)
        else:
            values.update(failed_login_count=0, first_failed_login_at=None)
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(_a).where(_a.c.id == account_id).values(**values))
            return bool(res.rowcount == 1)

    async def set_password_change_required(self, account_id: int, required: bool, now: datetime, by: str) -> bool:
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(_a).where(_a.c.id == account_id).values(
                password_change_required=required, updated_at=now, updated_by=by))
            return bool(res.rowcount == 1)


def _locked_at(now: datetime) -> Any:
    """The lock time: kept when the account is locked already, else `now`."""
    at = bindparam("locked_now", now, type_=_a.c.locked_at.type)
    return case((_a.c.is_locked.is_(True), func.coalesce(_a.c.locked_at, at)), else_=at)

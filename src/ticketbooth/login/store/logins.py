"""Login state of accounts: lock, password change required, password changes, failed logins.

Counting a failed login and locking the account when the count reaches the limit is ONE conditional
UPDATE (`record_failed_login`), so however many wrong passwords arrive at once, in however many
processes, the account is locked exactly once, and exactly one caller learns that it locked it.
The same statement runs for an unknown user (on no row), so a refusal costs the same writes
whether the account exists or not."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, bindparam, case, false, func, insert, or_, select, true, update

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.db.hotpath import ChangeAndRecord
from ticketbooth.domain.models import StoredLogin

_a = t.accounts


_STORED_LOGIN = select(
    _a.c.id, _a.c.tenant_id, _a.c.customer_set_id, _a.c.is_active, _a.c.is_locked, _a.c.password_hash,
    _a.c.lock_expires_at,
).where(_a.c.id == bindparam("account_id"))


_NOW = bindparam("now", type_=_a.c.locked_at.type)
_LOCK_IN_FORCE = and_(_a.c.is_locked.is_(True), or_(_a.c.lock_expires_at.is_(None), _a.c.lock_expires_at > _NOW))
_LOCK_RUN_OUT = and_(_a.c.is_locked.is_(True), _a.c.lock_expires_at.is_not(None), _a.c.lock_expires_at <= _NOW)
_COUNT_AFTER = case((_LOCK_RUN_OUT, 0), else_=_a.c.failed_login_count) + 1
_LOCKS = _COUNT_AFTER >= bindparam("max_failed")
# One more failure, unless a lock holds (then nothing changes: the failures of a locked account are
# not counted). A lock that has run out is forgotten first: the count starts again. When the count
# reaches the limit the account is locked until `lock_expires` (NULL: until unlocked).
_FAILED_LOGIN = update(_a).where(_a.c.id == bindparam("account_id"), ~_LOCK_IN_FORCE).values(
    failed_login_count=_COUNT_AFTER,
    first_failed_login_at=case((_LOCK_RUN_OUT, _NOW), else_=func.coalesce(_a.c.first_failed_login_at, _NOW)),
    is_locked=case((_LOCKS, true()), else_=false()),
    locked_at=case((_LOCKS, _NOW), else_=_a.c.locked_at),
    lock_expires_at=case((_LOCKS, bindparam("lock_expires", type_=_a.c.lock_expires_at.type)), else_=None),
).returning(_a.c.is_locked, _a.c.failed_login_count)
# A good login counts only while no lock holds and the account is active (checked in the same
# statement, so a lock made while the password was being checked wins); it ends a lock that ran out.
_GOOD_LOGIN = update(_a).where(_a.c.id == bindparam("account_id"), _a.c.is_active.is_(True), ~_LOCK_IN_FORCE).values(
    last_login_at=_NOW, failed_login_count=0, first_failed_login_at=None, is_locked=False, lock_expires_at=None,
)
_LOGIN_SUCCEEDED = ChangeAndRecord(_GOOD_LOGIN, t.audit_entries)


class LoginStore(StoreBase):
    async def stored_login(self, account_id: int) -> StoredLogin | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_STORED_LOGIN, {"account_id": account_id})).first()
        if row is None:
            return None
        return StoredLogin(account_id=row.id, tenant_id=row.tenant_id, customer_set_id=row.customer_set_id,
                           is_active=bool(row.is_active), is_locked=bool(row.is_locked), password_hash=row.password_hash,
                           lock_expires_at=row.lock_expires_at)

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

    async def record_failed_login(self, account_id: int, now: datetime, max_failed: int,
                                  lock_expires: datetime | None) -> bool:
        """One more failed password login (the first one's time is kept), locking the account when
        this one makes `max_failed`. True only for the one call that locked it. Nothing changes
        while a lock holds. With `domain.models.NO_ACCOUNT` the same statement runs and changes nothing."""
        return (await self.record_failed_login_count(account_id, now, max_failed, lock_expires))[0]

    async def record_failed_login_count(self, account_id: int, now: datetime, max_failed: int,
                                        lock_expires: datetime | None) -> tuple[bool, int]:
        """`record_failed_login`, and the account's count of consecutive failures after it (0 when nothing
        changed: no account, or a lock holds)."""
        async with self._begin(write=True) as conn:
            row = (await conn.execute(_FAILED_LOGIN, {
                "account_id": account_id, "now": now, "max_failed": max_failed, "lock_expires": lock_expires,
            })).first()
        return (False, 0) if row is None else (bool(row[0]), int(row[1]))

    async def record_successful_login(self, account_id: int, now: datetime,
                                      audit_entry: dict[str, Any] | None = None) -> bool:
        """The last login time; the failed-login count starts again from zero; and `audit_entry`
        (a row of audit_entries) is added with it. False, changing and adding nothing, when the
        account is locked (a lock that has run out ends here) or inactive. Outside a transaction
        this is one write of the hot path (db/hotpath.py), so a login holds no transaction."""
        change = {"account_id": account_id, "now": now}
        hot = self._hot
        if hot is not None and audit_entry is not None:
            return await hot.change_and_record(_LOGIN_SUCCEEDED, change, audit_entry)
        async with self._begin(write=True) as conn:
            if (await conn.execute(_GOOD_LOGIN, change)).rowcount != 1:
                return False
            if audit_entry is not None:
                await conn.execute(insert(t.audit_entries), audit_entry)
            return True

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
                                   *, unlock: bool = False, unless_locked: bool = False) -> bool:
        """Set a new password, only if the hash is still `old_hash` (so two changes cannot both win)
        and, with `unless_locked`, only while no lock holds (a lock made while the old password was
        being checked wins, as it does over a login). Clears password-change-required, the
        external-password mark and the failed-login count; with `unlock`, also the lock, whoever set
        it. True when changed."""
        values: dict[str, Any] = dict(
            password_hash=new_hash, password_changed_at=now, password_change_required=False,
            has_external_password=False, failed_login_count=0, first_failed_login_at=None, updated_at=now,
            updated_by=by,
        )
        if unlock:
            values.update(is_locked=False, lock_expires_at=None, locked_by_admin=False)
        stmt = update(_a).where(_a.c.id == account_id, _a.c.password_hash == old_hash).values(**values)
        if unless_locked:
            stmt = stmt.where(~and_(_a.c.is_locked.is_(True), or_(_a.c.lock_expires_at.is_(None),
                                                                  _a.c.lock_expires_at > now)))
        async with self._begin(write=True) as conn:
            res = await conn.execute(stmt)
            return bool(res.rowcount == 1)

    async def set_locked(self, account_id: int, locked: bool, now: datetime, by: str) -> bool:
        """An administrator's lock, until an administrator unlocks (noting when, unless already locked;
        marked as the administrator's, so that neither a password reset nor a code login lifts it,
        even over a lock that failed passwords had made), or an unlock of any lock (clearing the
        failed-login count; the time of the last lock is kept). True when the account exists."""
        values: dict[str, Any] = dict(is_locked=locked, lock_expires_at=None, locked_by_admin=locked, updated_at=now,
                                      updated_by=by)
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

"""Single-use codes mailed to shoppers (purpose "reset" for forgotten passwords), and the password
reset that spends one. Only a SHA-256 of each code is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, insert, select, update

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.models import NO_ACCOUNT, PURPOSE_RESET

_c = t.account_codes.c


class CodeStore(StoreBase):
    async def issue_code(self, account_id: int, purpose: str, code_hash: str, now: datetime,
                         expires_at: datetime) -> None:
        """Store a new code of `purpose` for the account; the account's earlier codes of that purpose
        stop working (only the latest mail's code is good)."""
        async with self._begin(write=True) as conn:
            await conn.execute(delete(t.account_codes).where(_c.account_id == account_id, _c.purpose == purpose))
            await conn.execute(insert(t.account_codes).values(
                code_hash=code_hash, purpose=purpose, account_id=account_id, created_at=now, expires_at=expires_at,
                failed_attempts=0))

    async def issue_no_code(self, sealed_message: bytes, now: datetime) -> None:
        """What a reset for an unknown account runs instead of `issue_code` and queueing its mail: the
        same statements and writes in one transaction, undone before it commits, so that its answer
        takes as long as for a known account and leaves nothing behind."""
        async with self._begin(write=True) as conn:
            await conn.execute(delete(t.account_codes).where(_c.account_id == NO_ACCOUNT, _c.purpose == PURPOSE_RESET))
            res = await conn.execute(insert(t.outbox).values(
                tenant_id=0, kind="none", message=sealed_message, created_at=now, next_attempt_at=now, attempts=0,
                failed_at=now,
            ).returning(t.outbox.c.id))
            await conn.execute(delete(t.outbox).where(t.outbox.c.id == res.scalar_one()))

    async def live_code(self, code_hash: str, purpose: str, now: datetime, max_failed: int) -> int | None:
        """The account of an unused, unexpired code of `purpose` that has not been presented wrongly
        `max_failed` times; None otherwise."""
        async with self._begin(write=False) as conn:
            found = (await conn.execute(select(_c.account_id).where(
                _c.code_hash == code_hash, _c.purpose == purpose, _c.used_at.is_(None), _c.expires_at > now,
                _c.failed_attempts < max_failed))).scalar()
        return None if found is None else int(found)

    async def record_failed_code_attempt(self, code_hash: str) -> int:
        """Count a wrong use of a code (presented for another user); the count so far (0: no such code)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.account_codes).where(_c.code_hash == code_hash).values(
                failed_attempts=_c.failed_attempts + 1).returning(_c.failed_attempts))
            value = res.scalar()
        return int(value or 0)

    async def reset_password(self, account_id: int, code_hash: str, new_hash: str, now: datetime, by: str,
                             max_failed: int) -> bool:
        """Spend the reset code (exactly once: a conditional update) and give the account the new
        password: its failed-login count cleared, a lock reached by failed passwords lifted (an
        administrator's lock stays: only an administrator lifts it), a required password change and
        an imported password hash forgotten. False, changing nothing, when the code is not live."""
        async with self._begin(write=True) as conn:
            spent = await conn.execute(update(t.account_codes).where(
                _c.code_hash == code_hash, _c.account_id == account_id, _c.purpose == PURPOSE_RESET,
                _c.used_at.is_(None), _c.expires_at > now, _c.failed_attempts < max_failed,
            ).values(used_at=now))
            if spent.rowcount != 1:
                return False
            a = t.accounts.c
            await conn.execute(update(t.accounts).where(a.id == account_id).values(
                password_hash=new_hash, password_changed_at=now, password_change_required=False,
                has_external_password=False, is_locked=a.locked_by_admin,  # locked still only by an administrator
                locked_at=case((a.locked_by_admin.is_(True), a.locked_at), else_=None), lock_expires_at=None,
                failed_login_count=0, first_failed_login_at=None, updated_at=now, updated_by=by))
            return True

    async def purge_codes(self, expired_before: datetime) -> int:
        """Delete codes that expired before `expired_before`; the number deleted."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(t.account_codes).where(_c.expires_at < expired_before))
            return int(res.rowcount)

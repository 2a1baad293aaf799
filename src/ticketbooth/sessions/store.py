"""Sessions: an account's live token families as its owner and administrators see them (listed,
ended one by one). Token families are written by the ticket flows (`Store.insert_family`,
`rotate`, `revoke_family`); this part only reads them and ends one of an account's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.models import Session

_f = t.token_families.c
_k = t.tickets.c

# "last used": the issue time of the family's newest ticket (one index lookup per family), so the
# refresh hot path writes nothing extra.
_LAST_USED = (select(func.max(_k.issued_at)).where(_k.family_id == _f.id).correlate(t.token_families)
              .scalar_subquery().label("last_used_at"))


class SessionStore(StoreBase):
    def _live(self, account_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (_f.account_id == account_id, _f.revoked_at.is_(None), _f.expires_at > now)

    async def account_sessions(self, account_id: int, now: datetime, start: int,
                               size: int) -> tuple[list[Session], int]:
        """One page of the account's live sessions (not revoked, not expired), newest first, and how
        many there are in all."""
        where = self._live(account_id, now)
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(
                select(func.count()).select_from(t.token_families).where(*where))).scalar_one())
            rows = (await conn.execute(
                select(_f.id, _f.account_id, _f.site_id, _f.client_id, _f.created_at, _f.expires_at,
                       _f.client_address, _f.user_agent, _f.acting_client_id, _LAST_USED)
                .where(*where).order_by(_f.created_at.desc(), _f.id.desc()).offset(start).limit(size))).all()
        return [Session(
            id=r.id, account_id=r.account_id, site_id=r.site_id, client_id=r.client_id, created_at=r.created_at,
            last_used_at=r.last_used_at or r.created_at, expires_at=r.expires_at, client_address=r.client_address,
            user_agent=r.user_agent, acting_client_id=r.acting_client_id,
        ) for r in rows], total

    async def end_account_session(self, account_id: int, family_id: str, now: datetime, reason: str) -> bool:
        """Revoke the live family `family_id` if it is one of the account's; whether it was."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.token_families).where(
                _f.id == family_id, *self._live(account_id, now)).values(revoked_at=now, revoke_reason=reason))
            return bool(res.rowcount == 1)

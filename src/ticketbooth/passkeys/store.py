"""Shoppers' passkeys and the challenges of passkey ceremonies (tables `passkeys`, `passkey_challenges`).
What must happen once is one conditional UPDATE: a challenge is taken once (`used_at IS NULL`, not
expired, for the tenant, site, application and purpose that made it), and a sign counter moves only from
the value the verification read (compare-and-set: of two answers carrying the same counter, one wins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.errors import Conflict
from ticketbooth.passkeys.rules import Passkey, PasskeyChallenge

_P = t.passkeys.c
_C = t.passkey_challenges.c


def _passkey(m: Any) -> Passkey:
    return Passkey(
        id=int(m["id"]), tenant_id=int(m["tenant_id"]), customer_set_id=int(m["customer_set_id"]),
        account_id=int(m["account_id"]), credential_id=str(m["credential_id"]), public_key=bytes(m["public_key"]),
        sign_count=int(m["sign_count"]), name=str(m["name"]), aaguid=str(m["aaguid"]),
        transports=tuple(str(x) for x in (m["transports"] or ())), backup_eligible=bool(m["backup_eligible"]),
        backed_up=bool(m["backed_up"]), rp_id=str(m["rp_id"]), created_at=m["created_at"],
        last_used_at=m["last_used_at"],
    )


def _challenge(m: Any) -> PasskeyChallenge:
    return PasskeyChallenge(
        id=str(m["id"]), purpose=str(m["purpose"]), tenant_id=int(m["tenant_id"]), site_id=m["site_id"],
        application_id=m["application_id"], account_id=m["account_id"], staff_id=m["staff_id"],
        challenge=bytes(m["challenge"]), rp_id=str(m["rp_id"]), created_at=m["created_at"],
        expires_at=m["expires_at"], used_at=m["used_at"],
    )


class PasskeyStore(StoreBase):
    # -- passkeys -----------------------------------------------------------------------------

    async def insert_passkey(self, passkey: Passkey) -> Passkey:
        """Keep a new passkey (its `id` is ignored). Conflict when its credential id is registered in the
        customer set already (to this account or another)."""
        values = {c.name: getattr(passkey, c.name) for c in t.passkeys.c if c.name != "id"}
        values["transports"] = list(passkey.transports)
        async with self._begin(write=True) as conn:
            try:
                new_id = (await conn.execute(insert(t.passkeys).values(**values).returning(_P.id))).scalar_one()
            except IntegrityError as exc:  # the transaction is over: nothing else of it stays
                raise Conflict("Validation Conflict: this passkey is registered already") from exc
            row = (await conn.execute(select(t.passkeys).where(_P.id == new_id))).mappings().one()
        return _passkey(row)

    async def passkeys_of(self, account_id: int) -> list[Passkey]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.passkeys).where(_P.account_id == account_id)
                                       .order_by(_P.id))).mappings().all()
        return [_passkey(r) for r in rows]

    async def count_passkeys(self, account_id: int) -> int:
        async with self._begin(write=False) as conn:
            found = (await conn.execute(select(func.count()).select_from(t.passkeys)
                                        .where(_P.account_id == account_id))).scalar()
        return int(found or 0)

    async def get_passkey(self, passkey_id: int) -> Passkey | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.passkeys).where(_P.id == passkey_id))).mappings().first()
        return _passkey(row) if row else None

    async def passkey_by_credential(self, customer_set_id: int, credential_id: str) -> Passkey | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.passkeys).where(
                _P.customer_set_id == customer_set_id, _P.credential_id == credential_id))).mappings().first()
        return _passkey(row) if row else None

    async def rename_passkey(self, passkey_id: int, account_id: int, name: str) -> bool:
        async with self._begin(write=True) as conn:
            done = await conn.execute(update(t.passkeys).where(_P.id == passkey_id, _P.account_id == account_id)
                                      .values(name=name))
        return bool(done.rowcount)

    async def delete_passkey(self, passkey_id: int, account_id: int) -> bool:
        async with self._begin(write=True) as conn:
            done = await conn.execute(delete(t.passkeys).where(_P.id == passkey_id, _P.account_id == account_id))
        return bool(done.rowcount)

    async def use_passkey(self, passkey_id: int, seen_count: int, new_count: int, backed_up: bool,
                          now: datetime) -> bool:
        """Record a use: the new sign counter, backup state and time, only if the counter is still the
        `seen_count` the verification compared with (False: another use got there first)."""
        async with self._begin(write=True) as conn:
            done = await conn.execute(update(t.passkeys).where(_P.id == passkey_id, _P.sign_count == seen_count)
                                      .values(sign_count=new_count, backed_up=backed_up, last_used_at=now))
        return bool(done.rowcount)

    # -- challenges ---------------------------------------------------------------------------

    async def insert_passkey_challenge(self, challenge: PasskeyChallenge) -> None:
        """Keep a new challenge, and drop the expired ones (the table holds the live ceremonies only)."""
        values = {c.name: getattr(challenge, c.name) for c in t.passkey_challenges.c}
        async with self._begin(write=True) as conn:
            await conn.execute(delete(t.passkey_challenges).where(_C.expires_at < challenge.created_at))
            await conn.execute(insert(t.passkey_challenges).values(**values))

    async def take_passkey_challenge(self, challenge_id: str, purposes: tuple[str, ...], tenant_id: int,
                                     site_id: int | None, application_id: int | None, now: datetime, *,
                                     account_id: int | None = None,
                                     staff_id: int | None = None) -> PasskeyChallenge | None:
        """The live challenge `challenge_id` made for these purposes, tenant, site and application, marked
        used: once only (None when it is unknown, someone else's, used or expired). With `account_id`
        (`staff_id`), only a challenge made for that account (staff member): another cannot spend it."""
        if "\x00" in challenge_id or len(challenge_id) > 64:
            return None
        where = [_C.id == challenge_id, _C.purpose.in_(purposes), _C.tenant_id == tenant_id,
                 _C.used_at.is_(None), _C.expires_at > now]
        where.append(_C.site_id == site_id if site_id is not None else _C.site_id.is_(None))
        where.append(_C.application_id == application_id if application_id is not None
                     else _C.application_id.is_(None))
        if account_id is not None:
            where.append(_C.account_id == account_id)
        if staff_id is not None:
            where.append(_C.staff_id == staff_id)
        async with self._begin(write=True) as conn:
            done = await conn.execute(update(t.passkey_challenges).where(*where).values(used_at=now))
            if not done.rowcount:
                return None
            row = (await conn.execute(select(t.passkey_challenges).where(_C.id == challenge_id))).mappings().one()
        return _challenge(row)

"""Staff accounts, recovery codes and console sessions (tables `staff`, `staff_recovery_codes`,
`staff_sessions`). Each change that must not happen twice is one conditional UPDATE: a TOTP step is
used once (`totp_last_step` only grows), a recovery code once (`used_at IS NULL`), an enrolment link
once (its hash is cleared as it is used), and the failure count locks once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.models import AuditEntry
from ticketbooth.staff.rules import (
    STATUS_ACTIVE,
    STATUS_INVITED,
    Role,
    Staff,
    StaffCredential,
    StaffLogin,
    StaffPasskey,
    StaffSession,
)

_S = t.staff.c
_R = t.staff_recovery_codes.c
_X = t.staff_sessions.c
_P = t.staff_passkeys.c
_C = t.passkey_challenges.c
_CODES_LEFT = (select(func.count()).where(_R.staff_id == _S.id, _R.used_at.is_(None))
               .correlate(t.staff).scalar_subquery().label("codes_left"))
_PASSKEYS = (select(func.count()).where(_P.staff_id == _S.id).correlate(t.staff).scalar_subquery()
             .label("passkey_count"))
_STAFF = select(t.staff, _CODES_LEFT, _PASSKEYS)


def _staff(m: Any) -> Staff:
    return Staff(
        id=m["id"], tenant_id=m["tenant_id"], email=m["email"], role=Role(m["role"]), status=m["status"],
        created_at=m["created_at"], created_by=m["created_by"], last_sign_in_at=m["last_sign_in_at"],
        failed_count=m["failed_count"], is_locked=bool(m["is_locked"]), lock_expires_at=m["lock_expires_at"],
        has_totp=m["totp_secret"] is not None, recovery_codes_left=int(m.get("codes_left") or 0),
        passkeys=int(m.get("passkey_count") or 0),
    )


def _passkey(m: Any) -> StaffPasskey:
    return StaffPasskey(
        id=m["id"], staff_id=m["staff_id"], name=m["name"], credential_id=m["credential_id"],
        created_at=m["created_at"], last_used_at=m["last_used_at"], backup_eligible=bool(m["backup_eligible"]),
        backed_up=bool(m["backed_up"]), transports=tuple(m["transports"] or ()), aaguid=m["aaguid"],
    )


def _session(m: Any) -> StaffSession:
    return StaffSession(
        id=m["id"], staff_id=m["staff_id"], stage=m["stage"], created_at=m["created_at"],
        last_seen_at=m["last_seen_at"], authenticated_at=m["authenticated_at"],
        client_address=m["client_address"], user_agent=m["user_agent"], ended_at=m["ended_at"],
        ended_by=m["ended_by"],
    )


class StaffStore(StoreBase):
    async def lowest_tenant_id(self) -> int | None:
        async with self._begin(write=False) as conn:
            found = (await conn.execute(select(func.min(t.tenants.c.id)))).scalar()
        return int(found) if found is not None else None

    async def insert_staff(self, tenant_id: int, email: str, role: str, enrol_token_hash: str,
                           enrol_expires_at: datetime, now: datetime, by: str) -> Staff:
        async with self._begin(write=True) as conn:
            try:
                staff_id = (await conn.execute(insert(t.staff).values(
                    tenant_id=tenant_id, email=email, role=role, status=STATUS_INVITED,
                    enrol_token_hash=enrol_token_hash, enrol_expires_at=enrol_expires_at, failed_count=0,
                    is_locked=False, created_at=now, created_by=by,
                ).returning(_S.id))).scalar_one()
            except IntegrityError as exc:
                raise Conflict(f"a staff member with the email {email} exists already") from exc
            row = (await conn.execute(_STAFF.where(_S.id == staff_id))).mappings().one()
        return _staff(row)

    async def get_staff(self, staff_id: int) -> Staff | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_STAFF.where(_S.id == staff_id))).mappings().first()
        return _staff(row) if row else None

    async def get_staff_by_email(self, email: str) -> Staff | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_STAFF.where(_S.email == email))).mappings().first()
        return _staff(row) if row else None

    async def list_staff(self, tenant_id: int, start: int, size: int) -> tuple[list[Staff], int]:
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(
                select(func.count()).select_from(t.staff).where(_S.tenant_id == tenant_id))).scalar_one())
            rows = (await conn.execute(
                _STAFF.where(_S.tenant_id == tenant_id).order_by(_S.email, _S.id).offset(start).limit(size)
            )).mappings().all()
        return [_staff(r) for r in rows], total

    async def find_staff_login(self, tenant_id: int, email: str) -> StaffLogin | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_STAFF.where(_S.email == email, _S.tenant_id == tenant_id))).mappings().first()
        if row is None:
            return None
        return StaffLogin(_staff(row), row["password_hash"], row["totp_secret"], row["totp_last_step"])

    async def find_enrolment(self, token_hash: str, now: datetime) -> Staff | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_STAFF.where(
                _S.enrol_token_hash == token_hash, _S.status == STATUS_INVITED, _S.enrol_expires_at > now,
            ))).mappings().first()
        return _staff(row) if row else None

    async def complete_enrolment(self, staff_id: int, token_hash: str, password_hash: str, sealed_totp: str,
                                 totp_step: int, recovery_hashes: list[str], now: datetime) -> bool:
        async with self._begin(write=True) as conn:
            done = (await conn.execute(update(t.staff).where(
                _S.id == staff_id, _S.enrol_token_hash == token_hash, _S.status == STATUS_INVITED,
                _S.enrol_expires_at > now,
            ).values(
                status=STATUS_ACTIVE, password_hash=password_hash, totp_secret=sealed_totp, totp_last_step=totp_step,
                enrol_token_hash=None, enrol_expires_at=None, failed_count=0, is_locked=False, lock_expires_at=None,
                last_sign_in_at=now,
            ))).rowcount == 1
            if done:
                await conn.execute(delete(t.staff_recovery_codes).where(_R.staff_id == staff_id))
                await conn.execute(insert(t.staff_recovery_codes), [
                    {"staff_id": staff_id, "code_hash": h, "used_at": None} for h in recovery_hashes])
            return done

    async def restart_enrolment(self, staff_id: int, token_hash: str, expires_at: datetime) -> bool:
        async with self._begin(write=True) as conn:
            done = (await conn.execute(update(t.staff).where(_S.id == staff_id).values(
                status=STATUS_INVITED, password_hash=None, totp_secret=None, totp_last_step=None,
                enrol_token_hash=token_hash, enrol_expires_at=expires_at, failed_count=0, is_locked=False,
                lock_expires_at=None,
            ))).rowcount == 1
            await conn.execute(delete(t.staff_recovery_codes).where(_R.staff_id == staff_id))
            return done

    async def set_staff_status(self, staff_id: int, status: str) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff).where(_S.id == staff_id).values(status=status))).rowcount == 1

    async def set_staff_role(self, staff_id: int, role: str) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff).where(_S.id == staff_id).values(role=role))).rowcount == 1

    async def record_staff_failure(self, staff_id: int, now: datetime, max_failures: int,
                                   lock_expires_at: datetime | None) -> bool:
        """One more failed sign-in; True when this one locked the staff member (a lock that ran out
        starts the count again)."""
        async with self._begin(write=True) as conn:
            lapsed = and_(_S.is_locked.is_(True), _S.lock_expires_at.is_not(None), _S.lock_expires_at <= now)
            counted = case((lapsed, 1), else_=_S.failed_count + 1)
            row = (await conn.execute(update(t.staff).where(
                _S.id == staff_id, or_(_S.is_locked.is_(False), lapsed),
            ).values(
                failed_count=counted,
                is_locked=counted >= max_failures,
                lock_expires_at=case((counted >= max_failures, lock_expires_at), else_=None),
            ).returning(_S.is_locked))).first()
            return bool(row and row[0])

    async def record_staff_sign_in(self, staff_id: int, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.staff).where(_S.id == staff_id).values(
                failed_count=0, is_locked=False, lock_expires_at=None, last_sign_in_at=now))

    async def use_totp_step(self, staff_id: int, step: int) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff).where(
                _S.id == staff_id, or_(_S.totp_last_step.is_(None), _S.totp_last_step < step),
            ).values(totp_last_step=step))).rowcount == 1

    async def use_recovery_code(self, staff_id: int, code_hash: str, now: datetime) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff_recovery_codes).where(
                _R.staff_id == staff_id, _R.code_hash == code_hash, _R.used_at.is_(None),
            ).values(used_at=now))).rowcount >= 1

    async def open_staff_session(self, staff_id: int, token_hash: str, stage: str, now: datetime,
                                 authenticated_at: datetime, client_address: str | None,
                                 user_agent: str | None) -> StaffSession:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(insert(t.staff_sessions).values(
                staff_id=staff_id, token_hash=token_hash, stage=stage, created_at=now, last_seen_at=now,
                authenticated_at=authenticated_at, client_address=(client_address or None) and client_address[:64],
                user_agent=(user_agent or None) and user_agent[:300],
            ).returning(*t.staff_sessions.c))).mappings().one()
        return _session(row)

    async def staff_session_by_token(self, token_hash: str) -> tuple[StaffSession, Staff] | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.staff_sessions).where(_X.token_hash == token_hash))).mappings().first()
            if row is None:
                return None
            staff = (await conn.execute(_STAFF.where(_S.id == row["staff_id"]))).mappings().one()
        return _session(row), _staff(staff)

    async def get_staff_session(self, session_id: int) -> StaffSession | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.staff_sessions).where(_X.id == session_id))).mappings().first()
        return _session(row) if row else None

    async def touch_staff_session(self, session_id: int, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.staff_sessions).where(_X.id == session_id, _X.ended_at.is_(None))
                               .values(last_seen_at=now))

    async def reauthenticate_staff_session(self, session_id: int, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.staff_sessions).where(_X.id == session_id, _X.ended_at.is_(None))
                               .values(authenticated_at=now, last_seen_at=now))

    async def end_staff_session(self, session_id: int, now: datetime, by: str) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff_sessions).where(
                _X.id == session_id, _X.ended_at.is_(None)).values(ended_at=now, ended_by=by))).rowcount == 1

    async def end_staff_sessions(self, staff_id: int, now: datetime, by: str) -> int:
        async with self._begin(write=True) as conn:
            return int((await conn.execute(update(t.staff_sessions).where(
                _X.staff_id == staff_id, _X.ended_at.is_(None)).values(ended_at=now, ended_by=by))).rowcount)

    async def staff_sessions(self, staff_id: int, live_since: datetime | None) -> list[StaffSession]:
        """The staff member's sessions, newest first; with `live_since`, only those not ended and used
        since then."""
        stmt = select(t.staff_sessions).where(_X.staff_id == staff_id)
        if live_since is not None:
            stmt = stmt.where(_X.ended_at.is_(None), _X.last_seen_at >= live_since)
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(stmt.order_by(_X.id.desc()).limit(200))).mappings().all()
        return [_session(r) for r in rows]

    async def staff_trail(self, tenant_id: int, actor: str | None, start: int, size: int) -> tuple[list[AuditEntry], int]:
        """The tenant's staff events (`staff.*`), newest first; with `actor`, only that staff member's."""
        e = t.audit_entries.c
        where = [e.tenant_id == tenant_id, e.account_id.is_(None), e.event.like("staff.%")]
        if actor is not None:
            where.append(e.actor == actor)
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(select(func.count()).select_from(t.audit_entries).where(*where)))
                        .scalar_one())
            rows = (await conn.execute(select(t.audit_entries).where(*where).order_by(e.at.desc(), e.id.desc())
                                       .offset(start).limit(size))).all()
        return [AuditEntry(
            id=r.id, tenant_id=r.tenant_id, site_id=r.site_id, account_id=r.account_id, event=r.event, at=r.at,
            client_address=r.client_address, client_id=r.client_id, actor=r.actor, detail=r.detail, user_id=r.user_id,
        ) for r in rows], total

    # -- passkeys (staff/passkeys.py) ------------------------------------------------------------------

    async def add_staff_challenge(self, challenge_id: str, purpose: str, tenant_id: int, staff_id: int | None,
                                  challenge: bytes, rp_id: str, now: datetime, expires_at: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(insert(t.passkey_challenges).values(
                id=challenge_id, purpose=purpose, tenant_id=tenant_id, staff_id=staff_id, challenge=challenge,
                rp_id=rp_id, created_at=now, expires_at=expires_at))

    async def take_staff_challenge(self, challenge_id: str, purpose: str, tenant_id: int, staff_id: int | None,
                                   now: datetime) -> tuple[bytes, str] | None:
        """Use up a live challenge of this purpose, tenant and staff member (None: a sign-in's, nobody's):
        (the challenge, its rp id), once; None when it is unknown, used, expired or another's."""
        owner = _C.staff_id.is_(None) if staff_id is None else _C.staff_id == staff_id
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.passkey_challenges).where(
                _C.id == challenge_id, _C.purpose == purpose, _C.tenant_id == tenant_id, owner,
                _C.used_at.is_(None), _C.expires_at > now,
            ).values(used_at=now).returning(_C.challenge, _C.rp_id))).first()
        return (bytes(row[0]), str(row[1])) if row else None

    async def insert_staff_passkey(self, staff_id: int, credential_id: str, public_key: bytes, sign_count: int,
                                   name: str, aaguid: str, transports: list[str], backup_eligible: bool,
                                   backed_up: bool, rp_id: str, now: datetime, most: int) -> StaffPasskey | None:
        """A new passkey, unless the staff member holds `most` already (None). Conflict when the
        credential is registered already (to anyone)."""
        async with self._begin(write=True) as conn:
            held = int((await conn.execute(select(func.count()).where(_P.staff_id == staff_id))).scalar_one())
            if held >= most:
                return None
            try:
                row = (await conn.execute(insert(t.staff_passkeys).values(
                    staff_id=staff_id, credential_id=credential_id, public_key=public_key, sign_count=sign_count,
                    name=name, aaguid=aaguid, transports=transports, backup_eligible=backup_eligible,
                    backed_up=backed_up, rp_id=rp_id, created_at=now, last_used_at=None,
                ).returning(*t.staff_passkeys.c))).mappings().one()
            except IntegrityError as exc:
                raise Conflict("this passkey is registered already") from exc
        return _passkey(row)

    async def staff_passkeys(self, staff_id: int) -> list[StaffPasskey]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.staff_passkeys).where(_P.staff_id == staff_id)
                                       .order_by(_P.created_at, _P.id))).mappings().all()
        return [_passkey(r) for r in rows]

    async def staff_credential(self, credential_id: str) -> tuple[StaffCredential, Staff] | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.staff_passkeys).where(_P.credential_id == credential_id)))\
                .mappings().first()
            if row is None:
                return None
            staff = (await conn.execute(_STAFF.where(_S.id == row["staff_id"]))).mappings().one()
        return StaffCredential(_passkey(row), bytes(row["public_key"]), int(row["sign_count"]), row["rp_id"]), \
            _staff(staff)

    async def use_staff_passkey(self, passkey_id: int, seen_count: int, new_count: int, backed_up: bool,
                                now: datetime) -> bool:
        """Record a use: the counter moves from `seen_count` to `new_count` only if no other use moved it
        meanwhile (compare and set: two sign-ins with one counter value cannot both pass)."""
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff_passkeys).where(
                _P.id == passkey_id, _P.sign_count == seen_count,
            ).values(sign_count=new_count, backed_up=backed_up, last_used_at=now))).rowcount == 1

    async def rename_staff_passkey(self, staff_id: int, passkey_id: int, name: str) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(update(t.staff_passkeys).where(
                _P.id == passkey_id, _P.staff_id == staff_id).values(name=name))).rowcount == 1

    async def delete_staff_passkey(self, staff_id: int, passkey_id: int) -> bool:
        async with self._begin(write=True) as conn:
            return (await conn.execute(delete(t.staff_passkeys).where(
                _P.id == passkey_id, _P.staff_id == staff_id))).rowcount == 1

    async def delete_staff_passkeys(self, staff_id: int) -> int:
        async with self._begin(write=True) as conn:
            return int((await conn.execute(delete(t.staff_passkeys).where(_P.staff_id == staff_id))).rowcount)

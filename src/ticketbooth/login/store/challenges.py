"""Login challenges (a 6-digit code mailed for a second factor or a one-time-passcode login) and the
devices and regions an account is known to log in from.

A challenge's code is stored only as a keyed hash (the service computes it with the server secret and
the challenge id), as is the pending token of a 2FA login and every known fingerprint and region.
Spending a code is one conditional UPDATE, so a code is used once however many requests present
it at the same moment; a wrong code counts against the challenge in one atomic UPDATE too, and the
challenge is void once the count reaches the limit. Wrong codes sent with only the userId (Kibo's SDK
model, no pending token) count apart (`user_id_failed_attempts`): once they reach the limit that way
is closed for the challenge, while the pending token's tries stay whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.models import Challenge
from ticketbooth.login.rules import LoginGate

_c = t.login_challenges.c
_d = t.known_devices.c
_a = t.accounts.c



def _challenge(row: Any) -> Challenge:
    return Challenge(
        id=row.id, purpose=row.purpose, account_id=row.account_id, tenant_id=row.tenant_id, site_id=row.site_id,
        application_id=row.application_id, created_at=row.created_at, expires_at=row.expires_at,
        used_at=row.used_at, failed_attempts=row.failed_attempts, sends=row.sends, last_sent_at=row.last_sent_at,
        context=dict(row.context or {}), user_id_failed_attempts=int(row.user_id_failed_attempts or 0),
    )


def _live(challenge_id: str, now: datetime, max_failed: int) -> Any:
    return and_(_c.id == challenge_id, _c.used_at.is_(None), _c.expires_at > now, _c.failed_attempts < max_failed)


class ChallengeStore(StoreBase):
    # -- challenges -------------------------------------------------------------------------------

    async def insert_challenge(self, challenge: Challenge, code_hash: str, token_hash: str | None,
                               *, replace: bool = False) -> None:
        """Store a new challenge. The account's expired challenges of its purpose go (so the table cleans
        itself), and with `replace` its others too: only the newest code then works."""
        async with self._begin(write=True) as conn:
            where = [_c.account_id == challenge.account_id, _c.purpose == challenge.purpose]
            if not replace:
                where.append(_c.expires_at <= challenge.created_at)
            await conn.execute(delete(t.login_challenges).where(*where))
            await conn.execute(insert(t.login_challenges).values(
                id=challenge.id, purpose=challenge.purpose, account_id=challenge.account_id,
                tenant_id=challenge.tenant_id, site_id=challenge.site_id, application_id=challenge.application_id,
                token_hash=token_hash, code_hash=code_hash, created_at=challenge.created_at,
                expires_at=challenge.expires_at, used_at=None, failed_attempts=0, sends=1,
                last_sent_at=challenge.last_sent_at, context=challenge.context,
            ))

    async def challenge_by_token(self, token_hash: str) -> Challenge | None:
        """The 2FA challenge whose pending token hashes to `token_hash`."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.login_challenges).where(_c.token_hash == token_hash))).first()
        return None if row is None else _challenge(row)

    async def latest_challenge_of_user(self, user_id: str, purpose: str) -> Challenge | None:
        """The newest challenge of `purpose` of the account whose userId is `user_id`, in whatever state."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.login_challenges).join_from(
                t.login_challenges, t.accounts, t.accounts.c.id == _c.account_id,
            ).where(t.accounts.c.user_id == user_id, _c.purpose == purpose)
                .order_by(_c.created_at.desc(), _c.id.desc()).limit(1))).first()
        return None if row is None else _challenge(row)

    async def latest_challenge(self, account_id: int, purpose: str) -> Challenge | None:
        """The account's newest challenge of `purpose`, in whatever state. An account id of no account
        (`NO_ACCOUNT`) finds none after the same query: the work of an unknown user equals a known one's."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.login_challenges).where(
                _c.account_id == account_id, _c.purpose == purpose,
            ).order_by(_c.created_at.desc(), _c.id.desc()).limit(1))).first()
        return None if row is None else _challenge(row)

    async def resend_challenge(self, challenge_id: str, code_hash: str, now: datetime, expires_at: datetime,
                               *, sent_before: datetime, max_sends: int, max_failed: int) -> bool:
        """Give a live challenge a new code (the earlier one stops working) and count one more mail;
        only if its last mail went out before `sent_before` and fewer than `max_sends` went out in
        all. Wrong tries are kept: a resend does not buy more guesses. True when renewed (exactly one
        of several parallel resends)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.login_challenges).where(
                _live(challenge_id, now, max_failed), _c.last_sent_at <= sent_before, _c.sends < max_sends,
            ).values(code_hash=code_hash, expires_at=expires_at, last_sent_at=now, sends=_c.sends + 1))
            return bool(res.rowcount == 1)

    async def spend_challenge(self, challenge_id: str, code_hash: str, now: datetime, max_failed: int) -> bool:
        """Use the challenge if `code_hash` is its code and it is live: True for exactly one caller.
        Otherwise a wrong code (the challenge live, the code not its own) counts one wrong try, in
        the same transaction; the try that reaches `max_failed` voids it. False then."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.login_challenges).where(
                _live(challenge_id, now, max_failed), _c.code_hash == code_hash,
            ).values(used_at=now))
            if res.rowcount == 1:
                return True
            await conn.execute(update(t.login_challenges).where(
                _live(challenge_id, now, max_failed), _c.code_hash != code_hash,
            ).values(failed_attempts=_c.failed_attempts + 1))
            return False

    async def spend_challenge_by_user_id(self, challenge_id: str, code_hash: str, now: datetime,
                                         max_failed: int) -> bool:
        """`spend_challenge` for a code sent with only the userId: a wrong code counts in
        `user_id_failed_attempts`, never in `failed_attempts` (so it neither voids the code nor spends the
        pending token's tries), and once that count reaches `max_failed` no code is tried this way, the
        right one included. One UPDATE both checks the count and uses or counts, so parallel guesses are
        serialized on the row and get no more than `max_failed` tries between them."""
        hit = _c.code_hash == code_hash
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.login_challenges).where(
                _live(challenge_id, now, max_failed), _c.user_id_failed_attempts < max_failed,
            ).values(
                used_at=case((hit, literal(now, _c.used_at.type)), else_=_c.used_at),
                user_id_failed_attempts=case((hit, _c.user_id_failed_attempts),
                                             else_=_c.user_id_failed_attempts + 1),
            ).returning(hit.label("hit")))).first()
        return row is not None and bool(row.hit)

    async def purge_challenges(self, expired_before: datetime) -> int:
        """Delete challenges that expired before `expired_before`; the number deleted."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(t.login_challenges).where(_c.expires_at < expired_before))
            return int(res.rowcount)

    async def rehearse_challenge(self, sealed_message: bytes, now: datetime) -> None:
        """What a code request for an unknown (or refused) account runs instead of storing a challenge
        and queueing its mail: writes of the same kind in one transaction, undone before it commits,
        so the answer takes as long as for a known account and leaves nothing behind."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(insert(t.outbox).values(
                tenant_id=0, kind="none", message=sealed_message, created_at=now, next_attempt_at=now, attempts=0,
                failed_at=now,
            ).returning(t.outbox.c.id))
            await conn.execute(delete(t.outbox).where(t.outbox.c.id == res.scalar_one()))
            res = await conn.execute(insert(t.audit_entries).values(
                tenant_id=0, event="none", at=now).returning(t.audit_entries.c.id))
            await conn.execute(delete(t.audit_entries).where(t.audit_entries.c.id == res.scalar_one()))

    # -- accounts logging in with a code ------------------------------------------------------------

    async def login_gate(self, account_id: int) -> LoginGate | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(
                _a.id, _a.is_active, _a.is_locked, _a.lock_expires_at, _a.failed_login_count, _a.password_hash,
                _a.has_external_password, _a.locked_by_admin,
            ).where(_a.id == account_id))).first()
        if row is None:
            return None
        return LoginGate(
            account_id=row.id, is_active=bool(row.is_active), is_locked=bool(row.is_locked),
            lock_expires_at=row.lock_expires_at, failed_login_count=int(row.failed_login_count or 0),
            has_login=row.password_hash is not None or bool(row.has_external_password),
            locked_by_admin=bool(row.locked_by_admin),
        )

    async def record_code_login(self, account_id: int, now: datetime, *, two_factor: bool,
                                unlock: bool) -> None:
        """A login completed with a code: the last login (and, for a second factor, the last 2FA) time;
        the failed-login count starts again. With `unlock`, a lock from failed logins is lifted (never
        an administrator's, should one have been set meanwhile)."""
        values: dict[str, Any] = dict(last_login_at=now, failed_login_count=0, first_failed_login_at=None)
        if two_factor:
            values["last_2fa_at"] = now
        if unlock:
            values.update(is_locked=_a.locked_by_admin, lock_expires_at=None)
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.accounts).where(_a.id == account_id).values(**values))

    # -- known devices and regions ------------------------------------------------------------------

    async def known_device_hashes(self, account_id: int) -> set[tuple[str, str]]:
        """(kind, value hash) of every fingerprint and region the account has logged in from."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(_d.kind, _d.value_hash).where(_d.account_id == account_id))).all()
        return {(str(r.kind), str(r.value_hash)) for r in rows}

    async def remember_devices(self, account_id: int, values: Iterable[tuple[str, str]], now: datetime) -> None:
        """Note (kind, value hash) pairs as known for the account (first seen kept, last seen now)."""
        rows = [{"account_id": account_id, "kind": kind, "value_hash": value, "first_seen_at": now,
                 "last_seen_at": now} for kind, value in sorted(set(values))]
        if not rows:
            return
        maker = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = maker(t.known_devices).values(rows)
        stmt = stmt.on_conflict_do_update(index_elements=[_d.account_id, _d.kind, _d.value_hash],
                                          set_={"last_seen_at": stmt.excluded.last_seen_at})
        async with self._begin(write=True) as conn:
            await conn.execute(stmt)

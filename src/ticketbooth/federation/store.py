"""The SQL of federation (SQLite and PostgreSQL alike): identity providers, linked identities, flows and exchange
codes. A flow's state and an exchange code work once: each is spent by one conditional UPDATE (unused, not
expired) that returns the row, so of two requests with the same state or code exactly one gets it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.errors import Conflict
from ticketbooth.federation.rules import ExchangeGrant, Flow, LinkedIdentity, Provider, ProviderEndpoints

_P = t.identity_providers.c
_L = t.linked_identities.c
_F = t.federation_flows.c
_C = t.federation_codes.c
_PROVIDER_COLUMNS = [c for c in t.identity_providers.c if c.name != "client_secret"]
_HAS_SECRET = _P.client_secret.isnot(None).label("has_secret")
PURGE_AFTER = timedelta(hours=1)
"""Spent or lapsed flows and codes are deleted this long after they expire (by the next flow started)."""


def _provider(m: Any) -> Provider:
    return Provider(
        id=m["id"], tenant_id=m["tenant_id"], alias=m["alias"], display_name=m["display_name"], issuer=m["issuer"],
        client_id=m["client_id"], scopes=tuple(m["scopes"] or ()), trust_email=bool(m["trust_email"]),
        create_accounts=bool(m["create_accounts"]), is_enabled=bool(m["is_enabled"]),
        endpoints=ProviderEndpoints.from_json(dict(m["metadata"])), has_secret=bool(m["has_secret"]),
        created_at=m["created_at"], updated_at=m["updated_at"],
    )


def _identity(m: Any) -> LinkedIdentity:
    return LinkedIdentity(
        id=m["id"], tenant_id=m["tenant_id"], provider_id=m["provider_id"], account_id=m["account_id"],
        subject=m["subject"], email=m["email"], created_at=m["created_at"], last_used_at=m["last_used_at"],
        provider_alias=m.get("alias") or "", provider_name=m.get("display_name") or "",
    )


def _flow(m: Any) -> Flow:
    return Flow(
        id=m["id"], tenant_id=m["tenant_id"], site_id=m["site_id"], application_id=m["application_id"],
        provider_id=m["provider_id"], return_url=m["return_url"], nonce_hash=m["nonce_hash"],
        verifier=bytes(m["verifier"]), link_account_id=m["link_account_id"],
        previous_anonymous=m["previous_anonymous"], created_at=m["created_at"], expires_at=m["expires_at"],
    )


def _grant(m: Any) -> ExchangeGrant:
    return ExchangeGrant(
        flow_id=m["flow_id"], tenant_id=m["tenant_id"], site_id=m["site_id"], application_id=m["application_id"],
        account_id=m["account_id"], identity_id=m["identity_id"], provider_mfa=bool(m["provider_mfa"]),
        previous_anonymous=m["previous_anonymous"], expires_at=m["expires_at"],
    )


_PROVIDER_SELECT = select(*_PROVIDER_COLUMNS, _HAS_SECRET)
_IDENTITY_SELECT = select(t.linked_identities, _P.alias, _P.display_name).join_from(
    t.linked_identities, t.identity_providers, _L.provider_id == _P.id)


class FederationStore(StoreBase):
    # -- providers -----------------------------------------------------------------------------------------

    async def add_provider(self, values: dict[str, Any], now: datetime) -> Provider:
        """Conflict when the tenant has a provider of that alias."""
        try:
            async with self._begin(write=True) as conn:
                new_id = (await conn.execute(insert(t.identity_providers).values(
                    **values, created_at=now, updated_at=now).returning(_P.id))).scalar_one()
                row = (await conn.execute(_PROVIDER_SELECT.where(_P.id == new_id))).mappings().one()
        except IntegrityError:
            raise Conflict(f"Validation conflict: the tenant has an identity provider named {values['alias']!r}") from None
        return _provider(row)

    async def update_provider(self, tenant_id: int, provider_id: int, changes: dict[str, Any],
                              now: datetime) -> Provider | None:
        try:
            async with self._begin(write=True) as conn:
                done = (await conn.execute(update(t.identity_providers).where(
                    _P.id == provider_id, _P.tenant_id == tenant_id).values(**changes, updated_at=now))).rowcount
                if not done:
                    return None
                row = (await conn.execute(_PROVIDER_SELECT.where(_P.id == provider_id))).mappings().one()
        except IntegrityError:
            raise Conflict("Validation conflict: the tenant has an identity provider of that alias") from None
        return _provider(row)

    async def get_provider(self, tenant_id: int, provider_id: int) -> Provider | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_PROVIDER_SELECT.where(_P.id == provider_id, _P.tenant_id == tenant_id)
                                      )).mappings().first()
        return None if row is None else _provider(row)

    async def provider_by_alias(self, tenant_id: int, alias: str) -> Provider | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_PROVIDER_SELECT.where(_P.alias == alias, _P.tenant_id == tenant_id)
                                      )).mappings().first()
        return None if row is None else _provider(row)

    async def list_providers(self, tenant_id: int) -> list[Provider]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(_PROVIDER_SELECT.where(_P.tenant_id == tenant_id).order_by(_P.id))).mappings()
            return [_provider(r) for r in rows]

    async def delete_provider(self, tenant_id: int, provider_id: int) -> bool:
        """Delete the provider, its linked identities, its flows under way and their exchange codes."""
        async with self._begin(write=True) as conn:
            identities = select(_L.id).where(_L.provider_id == provider_id).scalar_subquery()
            await conn.execute(delete(t.federation_codes).where(_C.identity_id.in_(identities)))
            await conn.execute(delete(t.federation_flows).where(_F.provider_id == provider_id))
            await conn.execute(delete(t.linked_identities).where(_L.provider_id == provider_id))
            return bool((await conn.execute(delete(t.identity_providers).where(
                _P.id == provider_id, _P.tenant_id == tenant_id))).rowcount)

    async def provider_secret(self, provider_id: int) -> bytes | None:
        async with self._begin(write=False) as conn:
            value = (await conn.execute(select(_P.client_secret).where(_P.id == provider_id))).scalar()
        return None if value is None else bytes(value)

    # -- flows ----------------------------------------------------------------------------------------------

    async def insert_flow(self, flow: Flow, state_hash: str, now: datetime) -> None:
        """Keep a new flow; flows and codes that expired over PURGE_AFTER ago go at the same time."""
        async with self._begin(write=True) as conn:
            await conn.execute(delete(t.federation_flows).where(_F.expires_at < now - PURGE_AFTER))
            await conn.execute(delete(t.federation_codes).where(_C.expires_at < now - PURGE_AFTER))
            await conn.execute(insert(t.federation_flows).values(
                id=flow.id, state_hash=state_hash, nonce_hash=flow.nonce_hash, verifier=flow.verifier,
                tenant_id=flow.tenant_id, site_id=flow.site_id, application_id=flow.application_id,
                provider_id=flow.provider_id, return_url=flow.return_url, link_account_id=flow.link_account_id,
                previous_anonymous=flow.previous_anonymous, created_at=flow.created_at, expires_at=flow.expires_at))

    async def take_flow(self, state_hash: str, now: datetime) -> Flow | None:
        """Spend the flow of `state_hash`: the flow if it was unused and unexpired (then never again), else None."""
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.federation_flows).where(
                _F.state_hash == state_hash, _F.used_at.is_(None), _F.expires_at > now,
            ).values(used_at=now).returning(*t.federation_flows.c))).mappings().first()
        return None if row is None else _flow(row)

    # -- linked identities ------------------------------------------------------------------------------------

    async def identity_by_subject(self, provider_id: int, subject: str) -> LinkedIdentity | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_IDENTITY_SELECT.where(_L.provider_id == provider_id, _L.subject == subject)
                                      )).mappings().first()
        return None if row is None else _identity(row)

    async def add_identity(self, tenant_id: int, provider_id: int, account_id: int, subject: str, email: str | None,
                           now: datetime) -> LinkedIdentity:
        """Conflict when the (provider, subject) is linked already (to any account)."""
        try:
            async with self._begin(write=True) as conn:
                new_id = (await conn.execute(insert(t.linked_identities).values(
                    tenant_id=tenant_id, provider_id=provider_id, account_id=account_id, subject=subject, email=email,
                    created_at=now, last_used_at=now).returning(_L.id))).scalar_one()
                row = (await conn.execute(_IDENTITY_SELECT.where(_L.id == new_id))).mappings().one()
        except IntegrityError:
            raise Conflict("Validation conflict: the provider identity is linked already") from None
        return _identity(row)

    async def touch_identity(self, identity_id: int, email: str | None, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.linked_identities).where(_L.id == identity_id).values(
                last_used_at=now, email=email))

    async def list_identities(self, tenant_id: int, account_id: int) -> list[LinkedIdentity]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(_IDENTITY_SELECT.where(
                _L.account_id == account_id, _L.tenant_id == tenant_id).order_by(_L.id))).mappings()
            return [_identity(r) for r in rows]

    async def delete_identity(self, tenant_id: int, account_id: int, identity_id: int,
                              other_ways: int) -> LinkedIdentity | bool | None:
        """Unlink: the removed identity; None when the account has no such identity; False when it is the
        account's last identity and `other_ways` (its password, passkeys) is 0, so nothing is removed. The
        account's row is locked first (PostgreSQL; SQLite's write lock does as much), so two unlinks of an
        account's last two identities cannot both pass the check."""
        async with self._begin(write=True) as conn:
            lock = select(t.accounts.c.id).where(t.accounts.c.id == account_id)
            if self.dialect == "postgresql":
                lock = lock.with_for_update()
            await conn.execute(lock)
            row = (await conn.execute(_IDENTITY_SELECT.where(
                _L.id == identity_id, _L.account_id == account_id, _L.tenant_id == tenant_id))).mappings().first()
            if row is None:
                return None
            others = (await conn.execute(select(func.count()).select_from(t.linked_identities).where(
                _L.account_id == account_id, _L.id != identity_id))).scalar_one()
            if not others and not other_ways:
                return False
            await conn.execute(delete(t.federation_codes).where(_C.identity_id == identity_id))
            await conn.execute(delete(t.linked_identities).where(_L.id == identity_id))
        return _identity(row)

    # -- exchange codes -----------------------------------------------------------------------------------------

    async def insert_code(self, code_hash: str, grant: ExchangeGrant, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(insert(t.federation_codes).values(
                code_hash=code_hash, flow_id=grant.flow_id, tenant_id=grant.tenant_id, site_id=grant.site_id,
                application_id=grant.application_id, account_id=grant.account_id, identity_id=grant.identity_id,
                provider_mfa=grant.provider_mfa, previous_anonymous=grant.previous_anonymous, created_at=now,
                expires_at=grant.expires_at))

    async def take_code(self, code_hash: str, now: datetime) -> ExchangeGrant | None:
        """Spend an exchange code: what it stood for if it was unused and unexpired (then never again)."""
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.federation_codes).where(
                _C.code_hash == code_hash, _C.used_at.is_(None), _C.expires_at > now,
            ).values(used_at=now).returning(*t.federation_codes.c))).mappings().first()
        return None if row is None else _grant(row)

    async def identity_counts(self, account_ids: Sequence[int]) -> dict[int, int]:
        """How many identities each account has linked (accounts without any left out)."""
        if not account_ids:
            return {}
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(_L.account_id, func.count()).where(
                _L.account_id.in_(list(account_ids))).group_by(_L.account_id))).all()
        return {int(a): int(n) for a, n in rows}

"""The stored settings of tenants and sites, as JSON documents: read, and changed atomically; the
operator's lists and changes of applications and signing keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.models import Application, KeyInfo, SettingsOwner

_TABLES: dict[SettingsOwner, Table] = {"tenant": t.tenants, "site": t.sites}


class SettingsStore(StoreBase):
    async def stored_settings(self, owner: SettingsOwner, owner_id: int) -> dict[str, Any] | None:
        """The settings document stored for the tenant or site `owner_id` as it is (defaults not
        filled in); None when there is no such tenant or site."""
        table = _TABLES[owner]
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(table.c.settings).where(table.c.id == owner_id))).first()
        return None if row is None else dict(row[0] or {})

    async def change_settings(self, owner: SettingsOwner, owner_id: int,
                              change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any] | None:
        """Replace the stored settings document of the tenant or site `owner_id` with `change(stored)`,
        in one transaction that holds the row, so two changes at once both apply; `change` may raise
        to leave it as it was. The new document, or None when there is no such tenant or site."""
        table = _TABLES[owner]
        async with self._begin(write=True) as conn:
            query = select(table.c.settings).where(table.c.id == owner_id)
            if not self._is_sqlite:
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            document = change(dict(row[0] or {}))
            await conn.execute(update(table).where(table.c.id == owner_id).values(settings=document))
            return document


class OperatorStore(StoreBase):
    """What the operator's pages read and change of applications and signing keys (applications/operations.py)."""

    async def page_applications(self, tenant_id: int, start: int, size: int) -> tuple[list[Application], int]:
        """One page of the tenant's applications by client id, and how many it has."""
        where = t.applications.c.tenant_id == tenant_id
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(select(func.count()).select_from(t.applications).where(where))).scalar_one())
            rows = (await conn.execute(select(t.applications).where(where).order_by(t.applications.c.client_id)
                                       .offset(start).limit(size))).all()
        return [application_of(row) for row in rows], total

    async def insert_application(self, client_id: str, tenant_id: int, name: str, secret_hash: str,
                                 behaviors: Sequence[str], storefront_server: bool, now: datetime) -> Application:
        """A new enabled application; Conflict when the client id is taken (in any tenant)."""
        async with self._begin(write=True) as conn:
            try:
                await conn.execute(insert(t.applications).values(
                    client_id=client_id, tenant_id=tenant_id, name=name, secret_hash=secret_hash,
                    behaviors=sorted(set(behaviors)), enabled=True, storefront_server=storefront_server,
                    created_at=now, updated_at=now))
            except IntegrityError as exc:  # the transaction is over: nothing else of it stays
                raise Conflict(f"the client id {client_id} is taken") from exc
            row = (await conn.execute(
                select(t.applications).where(t.applications.c.client_id == client_id))).one()
        return application_of(row)

    async def update_application(self, tenant_id: int, client_id: str, changes: dict[str, Any],
                                 now: datetime) -> Application | None:
        """Apply `changes` (enabled, behaviors, secret_hash, storefront_server) to the tenant's application
        `client_id`; the application as it is now, or None when the tenant has no such application."""
        allowed = {"enabled", "behaviors", "secret_hash", "storefront_server"}
        if set(changes) - allowed:
            raise ValueError(f"not a changeable application field: {sorted(set(changes) - allowed)}")
        values = dict(changes, updated_at=now)
        if "behaviors" in values:
            values["behaviors"] = sorted(set(values["behaviors"]))
        where = (t.applications.c.tenant_id == tenant_id, t.applications.c.client_id == client_id)
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.applications).where(*where).values(**values))
            if res.rowcount != 1:
                return None
            row = (await conn.execute(select(t.applications).where(*where))).one()
        return application_of(row)

    async def revoke_app_refresh_tokens(self, application_id: int, now: datetime) -> int:
        """Revoke every live refresh token of the application (its secret was replaced); how many."""
        r = t.app_refresh_tokens.c
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.app_refresh_tokens).where(
                r.application_id == application_id, r.revoked_at.is_(None), r.expires_at > now).values(revoked_at=now))
            return int(res.rowcount)

    async def page_signing_keys(self, start: int, size: int) -> tuple[list[KeyInfo], int]:
        """One page of every signing key, newest first (retired and no longer published ones too), and
        how many there are; never their private part."""
        k = t.signing_keys.c
        async with self._begin(write=False) as conn:
            total = int((await conn.execute(select(func.count()).select_from(t.signing_keys))).scalar_one())
            rows = (await conn.execute(
                select(k.kid, k.algorithm, k.created_at, k.retired_at, k.publish_until)
                .order_by(k.created_at.desc(), k.kid).offset(start).limit(size))).all()
        return [KeyInfo(kid=r.kid, algorithm=r.algorithm, created_at=r.created_at, retired_at=r.retired_at,
                        publish_until=r.publish_until) for r in rows], total


def application_of(row: Any) -> Application:
    return Application(
        id=row.id, client_id=row.client_id, tenant_id=row.tenant_id, name=row.name,
        secret_hash=row.secret_hash, behaviors=frozenset(row.behaviors or ()), enabled=bool(row.enabled),
        storefront_server=bool(row.storefront_server),
    )

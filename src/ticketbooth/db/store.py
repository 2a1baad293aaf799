"""The one store interface between the services and SQL.

Every method is an atomic operation. Called on the `Store`, a method runs in its own transaction;
inside `async with store.transaction() as tx:` the methods of `tx` share one transaction, so a
flow such as registration (account + token family + ticket) commits whole or not at all.

Everything here is SQLAlchemy Core, but for the hot paths (new token family, rotation, token
check): called on the Store itself, these run on the raw driver (db/hotpath.py: SQLite group
commit, asyncpg single statements); inside a transaction they run on its connection like the rest.
A rotation is always the database's one rotation (tickets/store/rotation.py), on either path. The services
do not notice which.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.accounts.store.accounts import AccountStore
from ticketbooth.accounts.store.cards import CardStore
from ticketbooth.accounts.store.parts import PartsStore
from ticketbooth.applications.store import OperatorStore, SettingsStore, application_of
from ticketbooth.audit.store.entries import AuditStore
from ticketbooth.audit.store.retention import RetentionStore
from ticketbooth.b2b.store.accounts import B2BAccountStore
from ticketbooth.b2b.store.admin import B2BAdminStore
from ticketbooth.b2b.store.hierarchy import HierarchyStore
from ticketbooth.b2b.store.roles import RoleStore
from ticketbooth.b2b.store.users import B2BUserStore
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.db.hotpath import ReadFallback
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.models import (
    Application,
    CustomerSet,
    SigningKey,
    Site,
    Tenant,
    TicketRecord,
    TokenFamily,
)
from ticketbooth.domain.policies import SiteSettings, TenantSettings
from ticketbooth.events.store import EventStore
from ticketbooth.health.store import HealthStore
from ticketbooth.login.store.challenges import ChallengeStore
from ticketbooth.login.store.logins import LoginStore
from ticketbooth.login.store.reset_codes import CodeStore
from ticketbooth.mail.store import OutboxStore
from ticketbooth.passkeys.store import PasskeyStore
from ticketbooth.purchase_orders.store import PurchaseOrderStore
from ticketbooth.sessions.store import SessionStore
from ticketbooth.staff.store import StaffStore
from ticketbooth.tickets.store.rotation import Rotation
from ticketbooth.webhooks.store import WebhookStore

_FAMILY_COLUMNS = [c for c in t.token_families.c]
_TICKET_COLUMNS = [c for c in t.tickets.c]

# The hot paths' statements are built once, so SQLAlchemy compiles each once and reuses it.
_INSERT_FAMILY = insert(t.token_families)
_INSERT_TICKET = insert(t.tickets)
_TICKET_AND_FAMILY = select(*_TICKET_COLUMNS, *_FAMILY_COLUMNS).join_from(
    t.tickets, t.token_families, t.tickets.c.family_id == t.token_families.c.id)
_TICKET_BY_ACCESS = _TICKET_AND_FAMILY.where(t.tickets.c.access_hash == bindparam("token_hash"))
_TICKET_BY_REFRESH = _TICKET_AND_FAMILY.where(t.tickets.c.refresh_hash == bindparam("token_hash"))


class Store(AccountStore, PartsStore, CardStore, PurchaseOrderStore, LoginStore, OutboxStore, CodeStore, AuditStore,
            SessionStore, ChallengeStore, SettingsStore, OperatorStore, HealthStore, RetentionStore, EventStore,
            B2BAccountStore, B2BUserStore, RoleStore, HierarchyStore, B2BAdminStore, StaffStore, WebhookStore,
            PasskeyStore, StoreBase):
    """Every stored record, one class: its parts live in the modules named by its bases."""

    # -- server secrets -----------------------------------------------------------------------

    async def get_or_create_secret(self, name: str, value: bytes) -> bytes:
        """The stored secret `name`, storing `value` first if there is none (first writer wins)."""
        async with self._begin(write=True) as conn:
            row = (await conn.execute(select(t.server_secrets.c.value).where(t.server_secrets.c.name == name))).first()
            if row is not None:
                return bytes(row[0])
            await conn.execute(insert(t.server_secrets).values(name=name, value=value))
            return value

    # -- tenants, sites, customer sets ------------------------------------------------------------

    async def get_tenant(self, tenant_id: int) -> Tenant | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.tenants).where(t.tenants.c.id == tenant_id))).first()
            if row is None:
                return None
            cs = (await conn.execute(
                select(t.customer_sets.c.id).where(
                    t.customer_sets.c.tenant_id == tenant_id, t.customer_sets.c.is_default.is_(True)
                )
            )).scalar_one()
            site = (await conn.execute(
                select(func.min(t.sites.c.id)).where(t.sites.c.tenant_id == tenant_id)
            )).scalar()
        return Tenant(
            id=row.id, name=row.name, settings=TenantSettings.model_validate(row.settings),
            default_customer_set_id=cs, default_site_id=site,
        )

    async def create_tenant(self, tenant_id: int, name: str, settings: TenantSettings, now: datetime) -> None:
        """A tenant with its default customer set. Conflict if the tenant exists."""
        async with self._begin(write=True) as conn:
            try:
                await conn.execute(insert(t.tenants).values(
                    id=tenant_id, name=name, settings=settings.model_dump(), created_at=now))
            except IntegrityError as exc:
                raise Conflict(f"tenant {tenant_id} already exists") from exc
            await conn.execute(insert(t.customer_sets).values(
                tenant_id=tenant_id, code="default", name="Default", is_default=True, created_at=now))

    async def get_site(self, site_id: int) -> Site | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.sites).where(t.sites.c.id == site_id))).first()
        if row is None:
            return None
        return Site(id=row.id, tenant_id=row.tenant_id, customer_set_id=row.customer_set_id, name=row.name,
                    settings=SiteSettings.model_validate(row.settings or {}))

    async def list_sites(self, tenant_id: int) -> list[Site]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(t.sites).where(t.sites.c.tenant_id == tenant_id).order_by(t.sites.c.id))).all()
        return [Site(id=r.id, tenant_id=r.tenant_id, customer_set_id=r.customer_set_id, name=r.name,
                     settings=SiteSettings.model_validate(r.settings or {})) for r in rows]

    async def create_site(self, site_id: int, tenant_id: int, customer_set_id: int, name: str, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            try:
                await conn.execute(insert(t.sites).values(
                    id=site_id, tenant_id=tenant_id, customer_set_id=customer_set_id, name=name, created_at=now))
            except IntegrityError as exc:
                raise Conflict(f"site {site_id} already exists") from exc

    async def ensure_customer_set(self, tenant_id: int, code: str, now: datetime) -> int:
        """The id of the tenant's customer set `code`, created (not default) if missing."""
        return (await self.claim_customer_set(tenant_id, code, now))[0]

    async def claim_customer_set(self, tenant_id: int, code: str, now: datetime) -> tuple[int, bool]:
        """The id of the tenant's customer set `code`, created (not default) if missing, and whether it was."""
        async with self._begin(write=True) as conn:
            where = (t.customer_sets.c.tenant_id == tenant_id, t.customer_sets.c.code == code)
            found = (await conn.execute(select(t.customer_sets.c.id).where(*where))).scalar()
            if found is not None:
                return int(found), False
            res = await conn.execute(insert(t.customer_sets).values(
                tenant_id=tenant_id, code=code, name=code, is_default=False, created_at=now
            ).returning(t.customer_sets.c.id))
            return int(res.scalar_one()), True

    async def customer_set_id_by_code(self, tenant_id: int, code: str) -> int | None:
        """The id of the tenant's customer set `code`, compared case-insensitively (None if none)."""
        if "\x00" in code:
            return None
        async with self._begin(write=False) as conn:
            found = (await conn.execute(select(t.customer_sets.c.id).where(
                t.customer_sets.c.tenant_id == tenant_id, func.lower(t.customer_sets.c.code) == code.lower(),
            ).order_by(t.customer_sets.c.id).limit(1))).scalar()
        return None if found is None else int(found)

    async def get_customer_set(self, customer_set_id: int) -> CustomerSet | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(
                select(t.customer_sets).where(t.customer_sets.c.id == customer_set_id))).first()
        if row is None:
            return None
        return CustomerSet(id=row.id, tenant_id=row.tenant_id, code=row.code, name=row.name, is_default=row.is_default)

    # -- applications ------------------------------------------------------------------------

    async def get_application(self, client_id: str) -> Application | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(
                select(t.applications).where(t.applications.c.client_id == client_id))).first()
        return None if row is None else _application(row)

    async def get_application_by_id(self, application_id: int) -> Application | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(
                select(t.applications).where(t.applications.c.id == application_id))).first()
        return None if row is None else _application(row)

    async def save_application(
        self, client_id: str, tenant_id: int, name: str, secret_hash: str, behaviors: Sequence[str],
        enabled: bool, now: datetime, storefront_server: bool = False,
    ) -> Application:
        """Create the application, or update it in place when `client_id` exists."""
        async with self._begin(write=True) as conn:
            values = dict(tenant_id=tenant_id, name=name, secret_hash=secret_hash,
                          behaviors=sorted(set(behaviors)), enabled=enabled, storefront_server=storefront_server,
                          updated_at=now)
            res = await conn.execute(
                update(t.applications).where(t.applications.c.client_id == client_id).values(**values))
            if res.rowcount == 0:
                await conn.execute(insert(t.applications).values(client_id=client_id, created_at=now, **values))
            row = (await conn.execute(
                select(t.applications).where(t.applications.c.client_id == client_id))).one()
        return _application(row)

    async def replace_application_secret_hash(self, client_id: str, old_hash: str, new_hash: str) -> None:
        """Store `new_hash` as the application's secret hash if it is still `old_hash` (a secret set
        meanwhile, by `app create`, stays)."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.applications).where(
                t.applications.c.client_id == client_id, t.applications.c.secret_hash == old_hash,
            ).values(secret_hash=new_hash))

    async def insert_app_refresh_token(self, token_hash: str, application_id: int, now: datetime,
                                       expires_at: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(insert(t.app_refresh_tokens).values(
                token_hash=token_hash, application_id=application_id, created_at=now, expires_at=expires_at))

    async def consume_app_refresh_token(self, token_hash: str, now: datetime) -> str | None:
        """Revoke a live application refresh token and return its application's client id (None if
        the token is not live). Exactly one caller can consume a given token."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.app_refresh_tokens).where(
                t.app_refresh_tokens.c.token_hash == token_hash,
                t.app_refresh_tokens.c.revoked_at.is_(None),
                t.app_refresh_tokens.c.expires_at > now,
            ).values(revoked_at=now))
            if res.rowcount != 1:
                return None
            client_id = (await conn.execute(
                select(t.applications.c.client_id).join_from(
                    t.app_refresh_tokens, t.applications,
                    t.app_refresh_tokens.c.application_id == t.applications.c.id,
                ).where(t.app_refresh_tokens.c.token_hash == token_hash))).scalar_one()
            return str(client_id)

    async def app_refresh_token_client(self, token_hash: str, now: datetime) -> str | None:
        """The client id of a live application refresh token, without using it up (None if not live)."""
        async with self._begin(write=False) as conn:
            client_id = (await conn.execute(
                select(t.applications.c.client_id).join_from(
                    t.app_refresh_tokens, t.applications,
                    t.app_refresh_tokens.c.application_id == t.applications.c.id,
                ).where(t.app_refresh_tokens.c.token_hash == token_hash,
                        t.app_refresh_tokens.c.revoked_at.is_(None),
                        t.app_refresh_tokens.c.expires_at > now))).scalar()
        return None if client_id is None else str(client_id)

    # -- signing keys --------------------------------------------------------------------------

    async def published_keys(self, now: datetime) -> list[SigningKey]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(t.signing_keys).where(
                    or_(t.signing_keys.c.publish_until.is_(None), t.signing_keys.c.publish_until > now)
                ).order_by(t.signing_keys.c.created_at.desc()))).all()
        return [
            SigningKey(kid=r.kid, algorithm=r.algorithm, private_pem=bytes(r.private_pem), public_jwk=dict(r.public_jwk),
                       created_at=r.created_at, retired_at=r.retired_at, publish_until=r.publish_until)
            for r in rows
        ]

    async def rotate_keys(self, new_key: SigningKey, now: datetime, retired_publish_until: datetime) -> None:
        """Retire every active key (kept published until `retired_publish_until`) and add `new_key`."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.signing_keys).where(t.signing_keys.c.retired_at.is_(None)).values(
                retired_at=now, publish_until=retired_publish_until))
            await conn.execute(insert(t.signing_keys).values(
                kid=new_key.kid, algorithm=new_key.algorithm, private_pem=new_key.private_pem,
                public_jwk=new_key.public_jwk, created_at=new_key.created_at))

    async def has_active_key(self) -> bool:
        async with self._begin(write=False) as conn:
            return (await conn.execute(
                select(t.signing_keys.c.kid).where(t.signing_keys.c.retired_at.is_(None)).limit(1))).first() is not None

    # -- token families and tickets ---------------------------------------------------------------

    async def insert_family(self, family: TokenFamily, first: TicketRecord,
                            event: dict[str, Any] | None = None) -> None:
        """The family and its first ticket, and `event` (a row of the event log: a login's) with them, as
        one write: on the hot path outside a transaction (a login holds no transaction), else in it."""
        hot = self._hot
        if hot is not None:
            await hot.insert_family(family, first, event)
        else:
            async with self._begin(write=True) as conn:
                await conn.execute(_INSERT_FAMILY, _family_values(family))
                await conn.execute(_INSERT_TICKET, _ticket_values(first))
                if event is not None:
                    await conn.execute(insert(t.events), event)
        if event is not None:
            self._count_events([event])

    async def ticket_by_access(self, access_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        return await self._ticket_where(_TICKET_BY_ACCESS, "access_hash", access_hash)

    async def ticket_by_refresh(self, refresh_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        return await self._ticket_where(_TICKET_BY_REFRESH, "refresh_hash", refresh_hash)

    async def _ticket_where(self, stmt: Any, column: str, token_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        hot = self._hot
        if hot is not None:
            try:
                return await hot.ticket_where(column, token_hash)
            except ReadFallback:
                pass  # SQLite said busy to the reader that never waits: wait on the usual path
        async with self._begin(write=False) as conn:
            row = (await conn.execute(stmt, {"token_hash": token_hash})).first()
        if row is None:
            return None
        m = row._mapping
        ticket = TicketRecord(**{c.name: m[c] for c in _TICKET_COLUMNS})
        family = TokenFamily(**{c.name: m[c] for c in _FAMILY_COLUMNS if c.name != "revoke_reason"})
        return ticket, family

    async def rotate(self, old_refresh_hash: str, successor: TicketRecord, now: datetime,
                     family_expires_at: datetime | None) -> bool:
        """Mark the ticket used and add its successor (and set the family's expiry when given), exactly
        once: True for the one caller that did it, False for every other (the ticket was already used).
        The database's one rotation (tickets/store/rotation.py): on the hot path, else on this store's
        connection."""
        rotation = Rotation(old_refresh_hash, successor, now, family_expires_at)
        hot = self._hot
        if hot is not None:
            return await hot.rotate(rotation)
        async with self._begin(write=True) as conn:
            return await self._rotation.on(conn, rotation)

    async def revoke_family(self, family_id: str, now: datetime, reason: str) -> bool:
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.token_families).where(
                t.token_families.c.id == family_id, t.token_families.c.revoked_at.is_(None)
            ).values(revoked_at=now, revoke_reason=reason))
            return bool(res.rowcount == 1)

    async def revoke_account_families(self, account_id: int, now: datetime, reason: str,
                                      *, keep_family_id: str | None = None) -> int:
        """Revoke every live token family of the account (but `keep_family_id`, the session that asked
        for it); the number revoked. Refresh tokens and opaque access tokens stop working at once. The
        account's own families and, for a B2B user's row, the families of its tickets for B2B accounts
        (`user_account_id`); for a B2B account, its users' sessions for it."""
        f = t.token_families.c
        where = [or_(f.account_id == account_id, f.user_account_id == account_id), f.revoked_at.is_(None)]
        if keep_family_id is not None:
            where.append(t.token_families.c.id != keep_family_id)
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.token_families).where(*where).values(revoked_at=now, revoke_reason=reason))
            return int(res.rowcount)

    async def get_family(self, family_id: str) -> TokenFamily | None:
        """One token family (a session) by id, revoked or not."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(*_FAMILY_COLUMNS).where(t.token_families.c.id == family_id))).first()
        if row is None:
            return None
        m = row._mapping
        return TokenFamily(**{c.name: m[c] for c in _FAMILY_COLUMNS if c.name != "revoke_reason"})

    async def family_revoke_reason(self, family_id: str) -> str | None:
        async with self._begin(write=False) as conn:
            return (await conn.execute(select(t.token_families.c.revoke_reason).where(
                t.token_families.c.id == family_id))).scalar()


_application = application_of


def _family_values(f: TokenFamily) -> dict[str, Any]:
    return {c.name: getattr(f, c.name) for c in _FAMILY_COLUMNS if c.name != "revoke_reason"}


def _ticket_values(r: TicketRecord) -> dict[str, Any]:
    return {c.name: getattr(r, c.name) for c in _TICKET_COLUMNS}



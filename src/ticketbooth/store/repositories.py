"""The one store interface between the services and SQL.

Every method is an atomic operation. Called on the `Store`, a method runs in its own transaction;
inside `async with store.transaction() as tx:` the methods of `tx` share one transaction, so a
flow such as registration (account + token family + ticket) commits whole or not at all.

Everything here is SQLAlchemy Core: the hot paths (anonymous ticket, refresh, token check) are a
few statements each, and can move to the raw driver inside these methods without the services
noticing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketbooth.domain.errors import Conflict, ServiceUnavailable
from ticketbooth.domain.models import (
    Account,
    Application,
    CustomerSet,
    NewAccount,
    Profile,
    SigningKey,
    Site,
    Tenant,
    TicketRecord,
    TokenFamily,
)
from ticketbooth.domain.policies import TenantSettings
from ticketbooth.store import tables as t

_FAMILY_COLUMNS = [c for c in t.token_families.c]
_TICKET_COLUMNS = [c for c in t.tickets.c]

# The hot paths' statements are built once, so SQLAlchemy compiles each once and reuses it.
_INSERT_FAMILY = insert(t.token_families)
_INSERT_TICKET = insert(t.tickets)
_TICKET_AND_FAMILY = select(*_TICKET_COLUMNS, *_FAMILY_COLUMNS).join_from(
    t.tickets, t.token_families, t.tickets.c.family_id == t.token_families.c.id)
_TICKET_BY_ACCESS = _TICKET_AND_FAMILY.where(t.tickets.c.access_hash == bindparam("token_hash"))
_TICKET_BY_REFRESH = _TICKET_AND_FAMILY.where(t.tickets.c.refresh_hash == bindparam("token_hash"))
_MARK_USED = update(t.tickets).where(
    t.tickets.c.refresh_hash == bindparam("token_hash"), t.tickets.c.used_at.is_(None)
).values(used_at=bindparam("now"))
_EXTEND_FAMILY = update(t.token_families).where(
    t.token_families.c.id == bindparam("family_id")).values(expires_at=bindparam("expires"))


class Store:
    def __init__(self, engine: AsyncEngine, _conn: AsyncConnection | None = None,
                 _write_lock: asyncio.Lock | None = None) -> None:
        self.engine = engine
        self._conn = _conn
        self._is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; queueing writers of this process here avoids them
        # spinning on the database lock. Writers in other processes still wait via busy_timeout.
        self._write_lock = _write_lock or asyncio.Lock()

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)

    # -- transactions -----------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A Store whose methods share one write transaction. Inside it, call the methods of the
        Store it yields, never of the outer one: on SQLite the outer Store would wait for the
        write lock this transaction holds."""
        if self._conn is not None:
            yield self
            return
        async with self._begin(write=True) as conn:
            yield Store(self.engine, conn, self._write_lock)

    @asynccontextmanager
    async def _begin(self, write: bool) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        lock = self._write_lock if (write and self._is_sqlite) else None
        try:
            if lock is not None:
                await lock.acquire()
            try:
                async with self.engine.connect() as conn:
                    if write and self._is_sqlite:
                        conn = await conn.execution_options(sqlite_immediate=True)
                    async with conn.begin():
                        yield conn
            finally:
                if lock is not None:
                    lock.release()
        except IntegrityError:
            raise
        except (OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError) as exc:
            raise ServiceUnavailable("Service Unavailable: the database cannot be reached") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise ServiceUnavailable("Service Unavailable: the database cannot be reached") from exc
            raise

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
        return Site(id=row.id, tenant_id=row.tenant_id, customer_set_id=row.customer_set_id, name=row.name)

    async def list_sites(self, tenant_id: int) -> list[Site]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(t.sites).where(t.sites.c.tenant_id == tenant_id).order_by(t.sites.c.id))).all()
        return [Site(id=r.id, tenant_id=r.tenant_id, customer_set_id=r.customer_set_id, name=r.name) for r in rows]

    async def create_site(self, site_id: int, tenant_id: int, customer_set_id: int, name: str, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            try:
                await conn.execute(insert(t.sites).values(
                    id=site_id, tenant_id=tenant_id, customer_set_id=customer_set_id, name=name, created_at=now))
            except IntegrityError as exc:
                raise Conflict(f"site {site_id} already exists") from exc

    async def ensure_customer_set(self, tenant_id: int, code: str, now: datetime) -> int:
        """The id of the tenant's customer set `code`, created (not default) if missing."""
        async with self._begin(write=True) as conn:
            where = (t.customer_sets.c.tenant_id == tenant_id, t.customer_sets.c.code == code)
            found = (await conn.execute(select(t.customer_sets.c.id).where(*where))).scalar()
            if found is not None:
                return int(found)
            res = await conn.execute(insert(t.customer_sets).values(
                tenant_id=tenant_id, code=code, name=code, is_default=False, created_at=now
            ).returning(t.customer_sets.c.id))
            return int(res.scalar_one())

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

    async def save_application(
        self, client_id: str, tenant_id: int, name: str, secret_hash: str, behaviors: Sequence[str],
        enabled: bool, now: datetime,
    ) -> Application:
        """Create the application, or update it in place when `client_id` exists."""
        async with self._begin(write=True) as conn:
            values = dict(tenant_id=tenant_id, name=name, secret_hash=secret_hash,
                          behaviors=sorted(set(behaviors)), enabled=enabled, updated_at=now)
            res = await conn.execute(
                update(t.applications).where(t.applications.c.client_id == client_id).values(**values))
            if res.rowcount == 0:
                await conn.execute(insert(t.applications).values(client_id=client_id, created_at=now, **values))
            row = (await conn.execute(
                select(t.applications).where(t.applications.c.client_id == client_id))).one()
        return _application(row)

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

    # -- accounts ----------------------------------------------------------------------------

    async def insert_account(self, new: NewAccount, now: datetime) -> int:
        """The new account's id. Conflict when its email or username is a login name of another
        account of the customer set (emails and usernames share one namespace)."""
        values = {k: v for k, v in dataclasses.asdict(new).items() if k != "profile"}
        values.update(dataclasses.asdict(new.profile))
        async with self._begin(write=True) as conn:
            res = await conn.execute(insert(t.accounts).values(
                **values, password_changed_at=now if new.password_hash else None,
                created_at=now, updated_at=now, updated_by=new.created_by,
            ).returning(t.accounts.c.id))
            account_id = int(res.scalar_one())
            await _claim_login_names(conn, new.customer_set_id, account_id, (new.email_key, new.username_key))
            return account_id

    async def get_account(self, account_id: int) -> Account | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_ACCOUNT_BY_ID, {"account_id": account_id})).first()
        return None if row is None else _account(row)

    async def find_login(self, customer_set_id: int, key: str) -> tuple[Account, str | None] | None:
        """The account that logs in with `key` (a username or an email) in the customer set, with its
        password hash."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_ACCOUNT_BY_LOGIN_NAME, {"customer_set_id": customer_set_id, "key": key})).first()
        return None if row is None else (_account(row), row.password_hash)

    async def set_login(self, account_id: int, email: str | None, email_key: str | None, username: str,
                        username_key: str, password_hash: str, now: datetime, by: str) -> bool:
        """Give a login to an account that has none. False if it already has one; Conflict if the
        email or username is another account's login name."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.accounts).where(
                t.accounts.c.id == account_id, t.accounts.c.password_hash.is_(None),
                t.accounts.c.has_external_password.is_(False),
            ).values(
                email=func.coalesce(email, t.accounts.c.email),
                email_key=func.coalesce(email_key, t.accounts.c.email_key),
                username=username, username_key=username_key, password_hash=password_hash,
                password_changed_at=now, updated_at=now, updated_by=by,
            ).returning(t.accounts.c.customer_set_id, t.accounts.c.email_key))
            row = res.first()
            if row is None:
                return False
            await conn.execute(delete(t.login_names).where(t.login_names.c.account_id == account_id))
            await _claim_login_names(conn, row.customer_set_id, account_id, (row.email_key, username_key))
            return True

    async def replace_password_hash(self, account_id: int, old_hash: str, new_hash: str) -> None:
        """Upgrade a hash made with older parameters (only if it has not changed meanwhile)."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.accounts).where(
                t.accounts.c.id == account_id, t.accounts.c.password_hash == old_hash
            ).values(password_hash=new_hash))

    async def record_login(self, account_id: int, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(last_login_at=now))

    # -- token families and tickets ---------------------------------------------------------------

    async def insert_family(self, family: TokenFamily, first: TicketRecord) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(_INSERT_FAMILY, _family_values(family))
            await conn.execute(_INSERT_TICKET, _ticket_values(first))

    async def ticket_by_access(self, access_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        return await self._ticket_where(_TICKET_BY_ACCESS, access_hash)

    async def ticket_by_refresh(self, refresh_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
        return await self._ticket_where(_TICKET_BY_REFRESH, refresh_hash)

    async def _ticket_where(self, stmt: Any, token_hash: str) -> tuple[TicketRecord, TokenFamily] | None:
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
        """Mark the ticket used and add its successor, exactly once: True for the one caller that
        did it, False for every other (the ticket was already used)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(_MARK_USED, {"token_hash": old_refresh_hash, "now": now})
            if res.rowcount != 1:
                return False
            await conn.execute(_INSERT_TICKET, _ticket_values(successor))
            if family_expires_at is not None:
                await conn.execute(_EXTEND_FAMILY, {"family_id": successor.family_id, "expires": family_expires_at})
            return True

    async def revoke_family(self, family_id: str, now: datetime, reason: str) -> bool:
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.token_families).where(
                t.token_families.c.id == family_id, t.token_families.c.revoked_at.is_(None)
            ).values(revoked_at=now, revoke_reason=reason))
            return bool(res.rowcount == 1)

    async def family_revoke_reason(self, family_id: str) -> str | None:
        async with self._begin(write=False) as conn:
            return (await conn.execute(select(t.token_families.c.revoke_reason).where(
                t.token_families.c.id == family_id))).scalar()


async def _claim_login_names(conn: AsyncConnection, customer_set_id: int, account_id: int,
                             keys: tuple[str | None, ...]) -> None:
    names = sorted({k for k in keys if k})
    if not names:
        return
    try:
        await conn.execute(insert(t.login_names), [
            {"customer_set_id": customer_set_id, "name_key": name, "account_id": account_id} for name in names
        ])
    except IntegrityError as exc:
        raise Conflict("Validation conflict: an account with this email address or username already exists") from exc


def _application(row: Any) -> Application:
    return Application(
        id=row.id, client_id=row.client_id, tenant_id=row.tenant_id, name=row.name,
        secret_hash=row.secret_hash, behaviors=frozenset(row.behaviors or ()), enabled=bool(row.enabled),
    )


_PROFILE_FIELDS = tuple(f.name for f in dataclasses.fields(Profile))
_ACCOUNT_FIELDS = (
    "id", "tenant_id", "customer_set_id", "user_id", "email", "username", "is_active", "is_locked",
    "has_external_password", "migration_required", "last_2fa_at", "last_login_at", "created_at", "created_by",
    "updated_at", "updated_by",
)


def _account_select(*extra: Any) -> Any:
    cols = [t.accounts.c[name] for name in (*_ACCOUNT_FIELDS, *_PROFILE_FIELDS)]
    return select(
        *cols, t.accounts.c.password_hash.is_not(None).label("has_password"),
        t.customer_sets.c.code.label("customer_set_code"), *extra,
    ).join_from(t.accounts, t.customer_sets, and_(t.accounts.c.customer_set_id == t.customer_sets.c.id))


def _account(row: Any) -> Account:
    m: Mapping[str, Any] = row._mapping
    return Account(
        **{name: m[name] for name in _ACCOUNT_FIELDS},
        profile=Profile(**{name: m[name] for name in _PROFILE_FIELDS}),
        customer_set_code=m["customer_set_code"], has_password=bool(m["has_password"]),
        customer_since=m["created_at"],
    )


def _family_values(f: TokenFamily) -> dict[str, Any]:
    return {c.name: getattr(f, c.name) for c in _FAMILY_COLUMNS if c.name != "revoke_reason"}


def _ticket_values(r: TicketRecord) -> dict[str, Any]:
    return {c.name: getattr(r, c.name) for c in _TICKET_COLUMNS}


_ACCOUNT_BY_ID = _account_select().where(t.accounts.c.id == bindparam("account_id"))
_ACCOUNT_BY_LOGIN_NAME = _account_select(t.accounts.c.password_hash).join(
    t.login_names, t.login_names.c.account_id == t.accounts.c.id
).where(t.login_names.c.customer_set_id == bindparam("customer_set_id"), t.login_names.c.name_key == bindparam("key"))

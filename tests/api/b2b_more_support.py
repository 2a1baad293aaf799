"""Helpers of the tests of B2B roles, hierarchy, status, sales reps, upgrades, attributes and contacts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, insert, select

from tests.api.support import CUSTOMER, ok
from tests.conftest import SITE, TENANT
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B, ACCOUNT_TYPE_B2B_USER, PENDING_APPROVAL
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import NewAccount, Profile
from ticketbooth.infra.tokens import new_hex

B2B = f"{CUSTOMER}/b2baccounts"
ROLES = f"{B2B}/roles"
B2B_CONTACTS = f"{CUSTOMER}/b2bcontacts"


async def new_b2b_account(core: Core, company: str, parent: int | None = None, *, status: str = PENDING_APPROVAL,
                          email: str | None = None, customer_set_id: int | None = None, tenant_id: int = TENANT) -> int:
    """A B2B account (its `accounts` and `b2b_accounts` rows) under `parent`, as the account flows create one."""
    site = await core.store.get_site(SITE)
    assert site is not None
    account_id = await core.store.insert_account(NewAccount(
        tenant_id=tenant_id, customer_set_id=customer_set_id or site.customer_set_id, user_id=new_hex(16),
        email=email, email_key=None, username=None, username_key=None, password_hash=None,
        profile=Profile(company_or_organization=company, account_type=ACCOUNT_TYPE_B2B)), core.clock.now())
    async with core.store.engine.begin() as conn:
        root, depth = account_id, 0
        if parent is not None:
            row = (await conn.execute(select(t.b2b_accounts.c.root_account_id, t.b2b_accounts.c.depth).where(
                t.b2b_accounts.c.account_id == parent))).one()
            root, depth = row.root_account_id, row.depth + 1
        await conn.execute(insert(t.b2b_accounts).values(
            account_id=account_id, tenant_id=tenant_id, parent_account_id=parent, root_account_id=root, depth=depth,
            approval_status=status, created_at=core.clock.now(), updated_at=core.clock.now()))
    return account_id


async def nodes(core: Core) -> dict[int, tuple[int | None, int, int]]:
    """account id -> (parent, root, depth) of every B2B account."""
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.b2b_accounts.c.account_id, t.b2b_accounts.c.parent_account_id,
                                          t.b2b_accounts.c.root_account_id, t.b2b_accounts.c.depth))).all()
    return {r.account_id: (r.parent_account_id, r.root_account_id, r.depth) for r in rows}


async def audit_events(core: Core, event: str) -> list[dict[str, Any]]:
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_entries).where(t.audit_entries.c.event == event).order_by(
            t.audit_entries.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def count(core: Core, table: Any, *where: Any) -> int:
    async with core.store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def create_role(client: httpx.AsyncClient, admin: dict[str, str], name: str, behaviors: list[int],
                      account_ids: list[int]) -> dict[str, Any]:
    return ok(await client.post(ROLES, headers=admin, json={"name": name, "behaviors": behaviors,
                                                           "accountIds": account_ids}))


async def b2b_user(core: Core, account_id: int, email: str | None, role_ids: set[int], *, active: bool = True,
                   removed: bool = False, first_name: str | None = None) -> int:
    """A B2B user of the account holding the roles there (rows as the user flows write them); their own row's id."""
    site = await core.store.get_site(SITE)
    assert site is not None
    user = await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=site.customer_set_id, user_id=new_hex(16), email=email, email_key=None,
        username=None, username_key=None, password_hash=None, profile=Profile(first_name=first_name)),
        core.clock.now())
    now = core.clock.now()
    async with core.store.engine.begin() as conn:
        await conn.execute(t.accounts.update().where(t.accounts.c.id == user).values(account_type=ACCOUNT_TYPE_B2B_USER))
        await conn.execute(t.b2b_users.insert().values(account_id=account_id, user_account_id=user, tenant_id=TENANT,
                                                       is_active=active, is_removed=removed, created_at=now,
                                                       updated_at=now))
        for r in role_ids:
            await conn.execute(t.b2b_user_roles.insert().values(account_id=account_id, user_account_id=user,
                                                                role_id=r, created_at=now))
    return user


async def session_for(core: Core, account_id: int, user_account_id: int | None = None) -> str:
    """A live session (token family) whose tickets are for the account, as a B2B login opens one."""
    family = new_hex(16)
    now = core.clock.now()
    async with core.store.engine.begin() as conn:
        await conn.execute(t.token_families.insert().values(
            id=family, tenant_id=TENANT, site_id=SITE, customer_set_id=1, application_id=1, client_id="storefront.app",
            user_id=new_hex(16), account_id=account_id, user_account_id=user_account_id, is_anonymous=False,
            created_at=now, expires_at=now.replace(year=now.year + 1), access_ttl_seconds=300,
            refresh_ttl_seconds=3600))
    return family


async def revoked(core: Core, family: str) -> str | None:
    """Why the session ended (None while it is live)."""
    async with core.store.engine.connect() as conn:
        row = (await conn.execute(select(t.token_families.c.revoked_at, t.token_families.c.revoke_reason).where(
            t.token_families.c.id == family))).one()
    return None if row.revoked_at is None else str(row.revoke_reason)

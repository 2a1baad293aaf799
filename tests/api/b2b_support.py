"""Helpers of the B2B account tests: adding accounts and users through the API, logging users in, and the
headers a user's ticket acts with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import insert, select

from tests.api.support import CUSTOMER, login, ok
from tests.conftest import PASSWORD
from ticketbooth.core import Core
from ticketbooth.db import tables as t

B2B = f"{CUSTOMER}/b2baccounts"
ADMIN_ROLE, PURCHASER_ROLE, NON_PURCHASER_ROLE = 1, 2, 3
B2B_ACCOUNT_KEYS = {"approvalStatus", "isActive", "parentAccountId", "priceList", "priority", "rootAccountId",
                    "salesReps", "users"}
B2B_USER_KEYS = {"acceptsMarketing", "emailAddress", "firstName", "hasExternalPassword", "isActive", "isLocked",
                 "isRemoved", "last2FaDate", "lastName", "localeCode", "roles", "userId", "userName"}


def user_path(account_id: int, user_id: str | None = None, *rest: object) -> str:
    path = f"{B2B}/{account_id}/user"
    if user_id is not None:
        path += f"/{user_id}"
    return "/".join([path, *(str(r) for r in rest)])


async def add_account(client: httpx.AsyncClient, hdrs: dict[str, str], company: str = "Acme Corp",
                      approved: bool = True, **body: Any) -> dict[str, Any]:
    """A B2B account added by `hdrs` (the merchant's, usually): Approved unless `approved` is False."""
    if approved:
        body.setdefault("approvalStatus", "Approved")
    return ok(await client.post(B2B, headers=hdrs, json={"companyOrOrganization": company, **body}))


async def add_user(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int, email: str,
                   roles: tuple[int, ...] = (ADMIN_ROLE,), password: str | None = PASSWORD,
                   **user: Any) -> httpx.Response:
    body: dict[str, Any] = {"b2BUser": {"emailAddress": email, "firstName": "Test",
                                        "roles": [{"roleId": r} for r in roles], **user}}
    if password is not None:
        body["password"] = password
    return await client.post(user_path(account_id), headers=hdrs, json=body)


@dataclass
class User:
    """A B2B user logged in to one account."""

    email: str
    user_id: str
    ticket: dict[str, Any]
    headers: dict[str, str]
    """The storefront's headers with the user's access token."""


async def user_in(client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], account_id: int,
                  email: str, roles: tuple[int, ...] = (ADMIN_ROLE,)) -> User:
    """A user added to the account by the merchant with `roles`, logged in to it."""
    added = ok(await add_user(client, admin, account_id, email, roles))
    ticket = ok(await login(client, app_headers, email, PASSWORD, accountId=account_id))
    return User(email, added["userId"], ticket, {**app_headers, "x-vol-user-claims": ticket["accessToken"]})


async def row_id(core: Core, email: str) -> int:
    """The id of the row (account) whose email is `email`: a B2B user's own row, which no answer names."""
    async with core.store.engine.connect() as conn:
        return int((await conn.execute(select(t.accounts.c.id).where(t.accounts.c.email == email))).scalar_one())


async def merchant_role(core: Core, name: str, behaviors: tuple[int, ...], accounts: tuple[int, ...] = (),
                        tenant_id: int = 100) -> int:
    """A merchant's role stored directly (its CRUD is the roles API's): tenant-wide, or given to `accounts`."""
    async with core.store.engine.begin() as conn:
        role_id = int((await conn.execute(insert(t.b2b_roles).values(
            tenant_id=tenant_id, name=name, is_system=False, created_at=core.clock.now(),
            updated_at=core.clock.now()).returning(t.b2b_roles.c.id))).scalar_one())
        for b in behaviors:
            await conn.execute(insert(t.b2b_role_behaviors).values(role_id=role_id, behavior_id=b))
        for a in accounts:
            await conn.execute(insert(t.b2b_role_accounts).values(role_id=role_id, account_id=a,
                                                                  apply_to_future_children=False))
    return role_id

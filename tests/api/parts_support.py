"""Helpers shared by the tests of an account's parts and the tenant's customer definitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.support import CUSTOMER, ok, register
from tests.conftest import ADMIN, OTHER_SITE, OTHER_TENANT, SITE, SITE_OTHER_SET, TENANT, app_token, headers
from ticketbooth.applications import admin
from ticketbooth.core import Core
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN

ACCOUNTS = f"{CUSTOMER}/accounts"
DEFINITIONS = f"{CUSTOMER}/attributedefinition/attributes"
ACCOUNT_DEFINITIONS = f"{CUSTOMER}/accountattributedefinition/attributes"
SEGMENTS = f"{CUSTOMER}/segments"
CUSTOMER_SETS = f"{CUSTOMER}/customerSets"
AUDIT_KEYS = {"createBy", "createDate", "updateBy", "updateDate"}
COLLECTION_KEYS = {"startIndex", "pageSize", "pageCount", "totalCount", "items"}
OTHER_ADMIN = ("other.admin.app", "other-admin-secret-0123456789")


def part(account_id: int, name: str, item: object | None = None) -> str:
    path = f"{ACCOUNTS}/{account_id}/{name}"
    return path if item is None else f"{path}/{item}"


@dataclass
class Shopper:
    account_id: int
    user_id: str
    headers: dict[str, str]
    """The storefront application's headers with this shopper's access token."""


async def shopper(client: httpx.AsyncClient, app_hdrs: dict[str, str], email: str) -> Shopper:
    t = await register(client, app_hdrs, email)
    return Shopper(t["customerAccount"]["id"], t["userId"], {**app_hdrs, "x-vol-user-claims": t["accessToken"]})


async def admin_headers(client: httpx.AsyncClient, site: int = SITE) -> dict[str, str]:
    return headers(await app_token(client, ADMIN), TENANT, site)


async def outlet_account(client: httpx.AsyncClient, email: str = "outlet.shopper@example.com") -> int:
    """An account of customer set "outlet" (site 202), which sites 200 and 201 do not see."""
    t = await register(client, headers(await app_token(client), TENANT, SITE_OTHER_SET), email)
    account_id: int = t["customerAccount"]["id"]
    return account_id


async def other_tenant_admin(core: Core, client: httpx.AsyncClient) -> dict[str, str]:
    """Headers of an admin application of tenant 300."""
    await admin.save_application(core, OTHER_TENANT, *OTHER_ADMIN, [BEHAVIOR_CUSTOMER_ADMIN])
    return headers(await app_token(client, OTHER_ADMIN), OTHER_TENANT, OTHER_SITE)


async def define(client: httpx.AsyncClient, admin_hdrs: dict[str, str], code: str, **fields: Any) -> dict[str, Any]:
    body = {"attributeCode": code, "valueType": "ShopperEntered", "dataType": "String", "inputType": "TextBox", **fields}
    return ok(await client.post(DEFINITIONS, headers=admin_hdrs, json=body))

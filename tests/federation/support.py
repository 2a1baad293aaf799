"""Helpers of the federation API tests: a provider configured at the tenant, a site with return URLs, and the
three steps of a sign-in driven over REST (the browser's part played by the test)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.api.code_support import set_site
from tests.api.support import CUSTOMER, ok
from tests.conftest import SITE
from tests.federation.provider import CLIENT_ID, CLIENT_SECRET, TinyProvider
from ticketbooth.core import Core

PROVIDERS = f"{CUSTOMER}/identityproviders"
AUTHORIZE = f"{CUSTOMER}/authtickets/oidc/authorize"
CALLBACK = f"{CUSTOMER}/authtickets/oidc/callback"
EXCHANGE = f"{CUSTOMER}/authtickets/oidc/exchange"
RETURN_URL = "https://shop.example.com/account/oidc-return?from=signin"


def identities_path(account_id: int, identity_id: object | None = None) -> str:
    path = f"{CUSTOMER}/accounts/{account_id}/linkedidentities"
    return path if identity_id is None else f"{path}/{identity_id}"


async def enable(core: Core, site: int = SITE, **federation: Any) -> None:
    await set_site(core, site, federation={"return_urls": [RETURN_URL], **federation})


async def add_provider(client: httpx.AsyncClient, admin_hdrs: dict[str, str], provider: TinyProvider,
                       **fields: Any) -> dict[str, Any]:
    body = {"alias": "tiny", "displayName": "Tiny ID", "issuer": provider.issuer, "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET, **fields}
    return ok(await client.post(PROVIDERS, headers=admin_hdrs, json=body))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Started:
    authorization_url: str
    flow_id: str

    @property
    def state(self) -> str:
        return query_of(self.authorization_url)["state"]


async def start(client: httpx.AsyncClient, hdrs: dict[str, str], provider: str = "tiny",
                return_url: str = RETURN_URL, **extra: Any) -> Started:
    answer = ok(await client.post(AUTHORIZE, headers=hdrs, json={"provider": provider, "returnUrl": return_url,
                                                                 **extra}))
    return Started(answer["authorizationUrl"], answer["flowId"])


async def come_back(client: httpx.AsyncClient, started: Started, code: str, state: str | None = None) -> httpx.Response:
    """The browser's return from the provider: the callback with the provider's code and the flow's state."""
    return await client.get(CALLBACK, params={"code": code, "state": state or started.state})


async def sign_in(client: httpx.AsyncClient, hdrs: dict[str, str], provider: TinyProvider, sub: str,
                  **claims: Any) -> dict[str, str]:
    """Authorize, the provider's sign-in as `sub` with `claims`, the callback: the query of the return URL the
    browser is sent to (`code`, or `error` and `error_description`)."""
    started = await start(client, hdrs)
    answer = await come_back(client, started, provider.issue_code(started.authorization_url, sub, **claims))
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("https://shop.example.com/account/oidc-return?from=signin&")
    return query_of(location)


async def exchange(client: httpx.AsyncClient, hdrs: dict[str, str], code: str, **extra: Any) -> httpx.Response:
    return await client.post(EXCHANGE, headers=hdrs, json={"code": code, **extra})


async def set_tenant(core: Core, tenant: int = 100, **settings: Any) -> None:
    """Give the tenant these settings (TenantSettings fields), at once for every request."""
    from sqlalchemy import update

    from ticketbooth.db import tables as t

    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.tenants).where(t.tenants.c.id == tenant).values(settings=settings))
    core.directory.forget()

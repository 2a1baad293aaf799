"""Helpers of the passkey API tests: a site with passkeys on, a shopper just logged in, and the two
ceremonies driven through the REST routes with the software authenticator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.code_support import set_site
from tests.api.support import CUSTOMER, login, ok, register
from tests.conftest import SITE
from tests.passkeys.authenticator import Authenticator
from ticketbooth.core import Core
from ticketbooth.db import tables as t

RP_ID = "shop.example.com"
ORIGIN = "https://shop.example.com"
PASSKEY_SETTINGS = {"rp_id": RP_ID, "origins": [ORIGIN, "https://www.shop.example.com"]}
SIGN_IN = f"{CUSTOMER}/authtickets/passkeys"
SIGN_IN_OPTIONS = f"{SIGN_IN}/options"


def passkeys_path(account_id: int, item: object | None = None) -> str:
    path = f"{CUSTOMER}/accounts/{account_id}/passkeys"
    return path if item is None else f"{path}/{item}"


async def enable(core: Core, site: int = SITE, **settings: Any) -> None:
    """Passkeys on at `site` (rp id shop.example.com), with other site settings as given."""
    await set_site(core, site, passkeys={**PASSKEY_SETTINGS, **settings.pop("passkeys", {})}, **settings)


@dataclass
class Shopper:
    account_id: int
    user_id: str
    email: str
    headers: dict[str, str]
    """The storefront application's headers with the shopper's access token from a password login."""
    ticket: dict[str, Any]


async def fresh_shopper(client: httpx.AsyncClient, app_hdrs: dict[str, str], email: str) -> Shopper:
    """A shopper registered, then logged in with the password (a fresh login)."""
    await register(client, app_hdrs, email)
    ticket = ok(await login(client, app_hdrs, email))
    return Shopper(ticket["customerAccount"]["id"], ticket["userId"], email,
                   {**app_hdrs, "x-vol-user-claims": ticket["accessToken"]}, ticket)


async def registration_options(client: httpx.AsyncClient, shopper: Shopper,
                               hdrs: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(passkeys_path(shopper.account_id, "registrationoptions"),
                             headers=hdrs or shopper.headers, json={})


async def add_passkey(client: httpx.AsyncClient, shopper: Shopper, auth: Authenticator, name: str | None = None,
                      **bend: Any) -> httpx.Response:
    """Options, the authenticator's answer (bent as `bend` says), and the answer sent back."""
    options = ok(await registration_options(client, shopper))
    credential = auth.create(options["options"], **bend)
    body: dict[str, Any] = {"challengeId": options["challengeId"], "credential": credential}
    if name is not None:
        body["name"] = name
    return await client.post(passkeys_path(shopper.account_id), headers=shopper.headers, json=body)


async def sign_in_options(client: httpx.AsyncClient, app_hdrs: dict[str, str],
                          username: str | None = None) -> dict[str, Any]:
    return ok(await client.post(SIGN_IN_OPTIONS, headers=app_hdrs,
                                json={} if username is None else {"username": username}))


async def sign_in(client: httpx.AsyncClient, app_hdrs: dict[str, str], auth: Authenticator,
                  username: str | None = None, **bend: Any) -> httpx.Response:
    options = await sign_in_options(client, app_hdrs, username)
    credential = auth.get(options["options"], **bend)
    return await client.post(SIGN_IN, headers=app_hdrs, json={"challengeId": options["challengeId"],
                                                              "credential": credential})


async def audit_rows(core: Core, event_prefix: str = "passkey.") -> list[dict[str, Any]]:
    async with core.store.engine.connect() as conn:
        rows = await conn.execute(select(t.audit_entries).where(t.audit_entries.c.event.startswith(event_prefix))
                                  .order_by(t.audit_entries.c.id))
        return [dict(r._mapping) for r in rows]


async def event_rows(core: Core, topic_prefix: str = "customeraccount.passkey") -> list[dict[str, Any]]:
    async with core.store.engine.connect() as conn:
        rows = await conn.execute(select(t.events).where(t.events.c.topic.startswith(topic_prefix))
                                  .order_by(t.events.c.id))
        return [dict(r._mapping) for r in rows]

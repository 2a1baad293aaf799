"""Federated sign-in at the edges, on SQLite and PostgreSQL: races for one state or one exchange code, locked
and inactive accounts, an impersonation ticket, a provider that stops answering, a provider deleted."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.support import assert_error, login, ok
from tests.federation.provider import TinyProvider
from tests.federation.support import (
    PROVIDERS,
    add_provider,
    come_back,
    enable,
    exchange,
    identities_path,
    query_of,
    set_tenant,
    sign_in,
    start,
)
from ticketbooth.core import Core
from ticketbooth.db import tables as t


@pytest.fixture
async def ready(client: httpx.AsyncClient, core: Core, admin: dict[str, str], provider: TinyProvider) -> dict[str, Any]:
    await enable(core)
    return await add_provider(client, admin, provider)


async def _member(client: httpx.AsyncClient, app_headers: dict[str, str], provider: TinyProvider,
                  sub: str, email: str) -> dict[str, Any]:
    back = await sign_in(client, app_headers, provider, sub, email=email, email_verified=True)
    return ok(await exchange(client, app_headers, back["code"]))


async def test_one_exchange_code_raced_gives_one_ticket(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                        provider: TinyProvider, ready: dict[str, Any]) -> None:
    back = await sign_in(client, app_headers, provider, "sub-race", email="race@example.com", email_verified=True)
    answers = await asyncio.gather(*(exchange(client, app_headers, back["code"]) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [200] + [401] * 5


async def test_one_state_raced_gives_one_redirect(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                  provider: TinyProvider, ready: dict[str, Any]) -> None:
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-st", email="st@example.com", email_verified=True)
    answers = await asyncio.gather(*(come_back(client, started, code) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [303] + [400] * 4


async def test_locks_and_inactive_accounts(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str],
                                           admin: dict[str, str], provider: TinyProvider,
                                           ready: dict[str, Any]) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 3})
    ticket = await _member(client, app_headers, provider, "sub-lock", "lock@example.com")
    account_id = ticket["customerAccount"]["id"]
    # the account gets a password (an administrator's Create-Login: a federated account has none), then wrong ones
    # lock it: the provider still signs in, and lifts the lock
    ok(await client.post(f"/api/commerce/customer/accounts/{account_id}/Create-Login", headers=admin,
                         json={"username": "lock@example.com", "password": "Correct-Horse-Battery-9"}))
    for _ in range(3):
        await login(client, app_headers, "lock@example.com", "wrong-password-123")
    state = ok(await client.get(f"/api/commerce/customer/accounts/{account_id}/loginstate", headers=admin))
    assert state["isLocked"]
    again = await _member(client, app_headers, provider, "sub-lock", "lock@example.com")
    assert again["customerAccount"]["id"] == account_id
    assert not ok(await client.get(f"/api/commerce/customer/accounts/{account_id}/loginstate",
                                   headers=admin))["isLocked"]
    # an administrator's lock: refused at the callback, and a code issued before the lock is refused too
    code = (await sign_in(client, app_headers, provider, "sub-lock", email="lock@example.com",
                          email_verified=True))["code"]
    r = await client.post(f"/api/commerce/customer/accounts/{account_id}/Set-Login-Locked",
                          headers={**admin, "content-type": "application/json"}, content=b"true")
    assert r.status_code in (200, 204), r.text
    assert_error(await exchange(client, app_headers, code), 401, "INVALID_EXCHANGE_CODE")
    back = await sign_in(client, app_headers, provider, "sub-lock", email="lock@example.com", email_verified=True)
    assert back["error"] == "account_unavailable"
    # an inactive account
    other = await _member(client, app_headers, provider, "sub-off", "off@example.com")
    r = await client.put(f"/api/commerce/customer/accounts/{other['customerAccount']['id']}", headers=admin,
                         json={"isActive": False})
    assert r.status_code == 200, r.text
    back = await sign_in(client, app_headers, provider, "sub-off", email="off@example.com", email_verified=True)
    assert back["error"] == "account_unavailable"


async def test_an_impersonation_ticket_neither_links_nor_unlinks(
        client: httpx.AsyncClient, app_headers: dict[str, str], csr: dict[str, str], admin: dict[str, str],
        provider: TinyProvider, ready: dict[str, Any]) -> None:
    ticket = await _member(client, app_headers, provider, "sub-imp", "imp@example.com")
    account_id = ticket["customerAccount"]["id"]
    acting = ok(await client.post("/api/commerce/customer/authtickets/impersonatecart", headers=csr,
                                  json={"accountId": account_id, "userId": ticket["userId"], "cartId": "c1"}))
    as_shopper = {**csr, "x-vol-user-claims": acting["accessToken"]}
    identity = ok(await client.get(identities_path(account_id), headers=admin))["items"][0]["id"]
    assert_error(await client.delete(identities_path(account_id, identity), headers=as_shopper), 403, "FORBIDDEN")
    r = await client.post("/api/commerce/customer/authtickets/oidc/authorize", headers=as_shopper,
                          json={"provider": "tiny", "returnUrl": "https://shop.example.com/account/oidc-return?from=signin",
                                "link": True})
    assert r.status_code in (401, 403), r.text


async def test_a_provider_that_stops_answering(client: httpx.AsyncClient, app_headers: dict[str, str],
                                               admin: dict[str, str], provider: TinyProvider,
                                               ready: dict[str, Any]) -> None:
    started = await start(client, app_headers)
    code = provider.issue_code(started.authorization_url, "sub-gone", email="gone@example.com", email_verified=True)
    provider.stop()
    back = query_of((await come_back(client, started, code)).headers["location"])
    assert back["error"] == "provider_error"
    # the administrator can still switch it off (no provider call), not re-save its issuer
    path = f"{PROVIDERS}/{ready['id']}"
    assert ok(await client.put(path, headers=admin, json={"isEnabled": False}))["isEnabled"] is False
    assert_error(await client.put(path, headers=admin, json={"issuer": ready["issuer"]}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "issuer")


async def test_deleting_a_provider_removes_its_identities(client: httpx.AsyncClient, core: Core,
                                                          app_headers: dict[str, str], admin: dict[str, str],
                                                          provider: TinyProvider, ready: dict[str, Any]) -> None:
    ticket = await _member(client, app_headers, provider, "sub-del", "del@example.com")
    started = await start(client, app_headers)
    assert (await client.delete(f"{PROVIDERS}/{ready['id']}", headers=admin)).status_code == 204
    assert ok(await client.get(identities_path(ticket["customerAccount"]["id"]), headers=admin))["totalCount"] == 0
    assert (await come_back(client, started, "x")).status_code == 400  # its flows went with it
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(t.linked_identities))).first() is None

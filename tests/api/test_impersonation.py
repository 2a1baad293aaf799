"""/authtickets/impersonatecart over HTTP: only for applications with customer-auth:impersonate; a
short-lived ticket without a refresh token whose JWT names the acting application (`act`) and the
cart; it works as the shopper, shows in the session list, ends with the account's sessions, and is
audited. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.api.conftest import CSR
from tests.api.login_support import admin_headers, as_shopper, lock_path
from tests.api.support import (
    CURRENT,
    CUSTOMER,
    TICKET_KEYS,
    assert_error,
    decode_jwt,
    kibo_date,
    ok,
    refresh,
    register,
)
from tests.conftest import SITE_OTHER_SET, TENANT, app_token, headers
from ticketbooth.applications import admin
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN, BEHAVIOR_IMPERSONATE
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import at_rest
from ticketbooth.tickets.service import REFRESH_TOKEN_BYTES

IMPERSONATE = f"{CUSTOMER}/authtickets/impersonatecart"
EMAIL = "ivy.impersonated@example.com"
CART = "8c1f0f6a3e2d4b5c9a7e6d5c4b3a2f1e"


@pytest.fixture
async def ivy(client: httpx.AsyncClient, app_headers: dict[str, str]) -> dict[str, Any]:
    """Ivy's registration ticket."""
    return await register(client, app_headers, EMAIL)


def _account_id(ticket: dict[str, Any]) -> int:
    return int(ticket["customerAccount"]["id"])


async def _impersonate(client: httpx.AsyncClient, hdrs: dict[str, str], body: Any) -> httpx.Response:
    return await client.post(IMPERSONATE, headers=hdrs, json=body)


async def test_impersonation_ticket(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], core: Core, clock: ManualClock) -> None:
    account_id = _account_id(ivy)
    issued = ok(await _impersonate(client, csr, {"accountId": account_id, "userId": ivy["userId"], "cartId": CART}))
    assert set(issued) == TICKET_KEYS
    assert (issued["refreshToken"], issued["refreshTokenExpiration"], issued["requires2FA"]) == (None, None, False)
    assert kibo_date(issued["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)
    assert issued["userId"] == ivy["userId"]
    assert issued["customerAccount"]["id"] == account_id and issued["customerAccount"]["notes"] == []

    _, claims = await decode_jwt(client, issued["jwtAccessToken"])
    assert claims["act"] == {"client_id": CSR[0]}
    assert claims["cart_id"] == CART
    assert (claims["sub"], claims["account_id"], claims["anon"], claims["client_id"]) == \
        (ivy["userId"], account_id, False, CSR[0])
    assert claims["exp"] - claims["iat"] == 15 * 60

    # the opaque access token and the JWT both act as Ivy
    assert ok(await client.get(CURRENT, headers=as_shopper(csr, issued)))["id"] == account_id
    assert ok(await client.get(CURRENT, headers={"Authorization": f"Bearer {issued['jwtAccessToken']}"}))["id"] == account_id

    # it shows as an impersonation in the session list
    page = ok(await client.get(f"{CUSTOMER}/accounts/{account_id}/sessions", headers=await admin_headers(client)))
    [session] = [s for s in page["items"] if s["isImpersonation"]]
    assert session["applicationId"] == CSR[0]
    assert kibo_date(session["expiresOn"]) == clock.now() + timedelta(minutes=15)
    assert page["totalCount"] == 2  # and Ivy's own login

    # and in the audit trail, without a secret
    entries, _ = await core.store.audit_entries(TENANT, account_id, 0, 10)
    [entry] = [e for e in entries if e.event == "impersonation.started"]
    assert (entry.actor, entry.client_id, entry.detail) == (CSR[0], CSR[0], {"cartId": CART})

    # it ends with its access token
    clock.advance(timedelta(minutes=15, seconds=1))
    fresh = headers(await app_token(client, CSR))
    assert_error(await client.get(CURRENT, headers=as_shopper(fresh, issued)), 401, "INVALID_ACCESS_TOKEN")
    page = ok(await client.get(f"{CUSTOMER}/accounts/{account_id}/sessions", headers=await admin_headers(client)))
    assert [s["isImpersonation"] for s in page["items"]] == [False]


async def test_keys_any_case_no_cart_and_no_user_id(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], core: Core) -> None:
    issued = ok(await _impersonate(client, csr, {"ACCOUNTID": _account_id(ivy), "cartid": None}))
    _, claims = await decode_jwt(client, issued["jwtAccessToken"])
    assert "cart_id" not in claims and claims["act"] == {"client_id": CSR[0]}
    issued = ok(await _impersonate(client, csr, {"accountId": str(_account_id(ivy)), "UserId": ivy["userId"].upper()}))
    assert issued["userId"] == ivy["userId"]


async def test_the_lifetime_is_a_tenant_setting(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], core: Core, clock: ManualClock) -> None:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    settings = tenant.settings.model_dump()
    settings["tokens"]["impersonation_minutes"] = 5
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.tenants).where(t.tenants.c.id == TENANT).values(settings=settings))
    core.directory.forget()
    issued = ok(await _impersonate(client, csr, {"accountId": _account_id(ivy)}))
    assert kibo_date(issued["accessTokenExpiration"]) == clock.now() + timedelta(minutes=5)


async def test_only_applications_with_the_behavior(
        client: httpx.AsyncClient, app_headers: dict[str, str], ivy: dict[str, Any], core: Core) -> None:
    body = {"accountId": _account_id(ivy)}
    assert_error(await _impersonate(client, app_headers, body), 403, "FORBIDDEN")
    assert_error(await _impersonate(client, await admin_headers(client), body), 403, "FORBIDDEN")  # admin is not enough
    # not even with a shopper ticket of the account
    assert_error(await _impersonate(client, as_shopper(app_headers, ivy), body), 403, "FORBIDDEN")
    assert_error(await client.post(IMPERSONATE, json=body), 401, "UNAUTHORIZED")
    entries, _ = await core.store.audit_entries(TENANT, _account_id(ivy), 0, 10)
    assert "impersonation.started" not in {e.event for e in entries}


async def test_bad_requests(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], app_headers: dict[str, str],
        core: Core) -> None:
    account_id = _account_id(ivy)
    for body, parameter in (
        ({}, "accountId"),
        ({"accountId": None}, "accountId"),
        ({"accountId": "abc"}, "accountId"),
        ({"accountId": 0}, "accountId"),
        ({"accountId": account_id, "userId": "0" * 32}, "userId"),
        ({"accountId": account_id, "cartId": "a/b"}, "cartId"),
        ({"accountId": account_id, "cartId": "x" * 129}, "cartId"),
        ({"accountId": account_id, "cartId": 12}, "cartId"),
    ):
        assert_error(await _impersonate(client, csr, body), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    r = await client.post(IMPERSONATE, headers=csr, content=b"not json")
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "body")

    assert_error(await _impersonate(client, csr, {"accountId": 999999}), 404, "ITEM_NOT_FOUND")
    outlet = await register(client, {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}, "outlet@example.com")
    assert_error(await _impersonate(client, csr, {"accountId": _account_id(outlet)}), 404, "ITEM_NOT_FOUND")


async def test_inactive_or_locked_accounts_are_refused(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], app_headers: dict[str, str]) -> None:
    admin_hdrs = await admin_headers(client)
    r = await client.post(lock_path(_account_id(ivy)), headers=admin_hdrs, json=True)
    assert r.status_code == 200, r.text
    assert_error(await _impersonate(client, csr, {"accountId": _account_id(ivy)}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "accountId")
    other = await register(client, app_headers, "gone@example.com")
    ok(await client.put(f"{CUSTOMER}/accounts/{_account_id(other)}", headers=admin_hdrs, json={"isActive": False}))
    assert_error(await _impersonate(client, csr, {"accountId": _account_id(other)}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "accountId")


async def test_revocation_ends_an_impersonation_at_once(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], app_headers: dict[str, str]) -> None:
    account_id = _account_id(ivy)
    issued = ok(await _impersonate(client, csr, {"accountId": account_id}))
    r = await client.delete(f"{CUSTOMER}/accounts/{account_id}/sessions", headers=as_shopper(app_headers, ivy))
    assert r.status_code == 204, r.text
    assert_error(await client.get(CURRENT, headers=as_shopper(csr, issued)), 401, "INVALID_ACCESS_TOKEN")


async def test_the_impersonation_cannot_be_refreshed(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], core: Core) -> None:
    """Its family's refresh token is never handed out; even if it were, refresh would refuse it."""
    issued = ok(await _impersonate(client, csr, {"accountId": _account_id(ivy)}))
    assert issued["refreshToken"] is None
    # plant a known refresh token on the impersonation family's ticket, then present it
    known = "ab" * REFRESH_TOKEN_BYTES
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.tickets).where(t.tickets.c.access_hash == at_rest(issued["accessToken"]))
                           .values(refresh_hash=at_rest(known)))
    assert_error(await refresh(client, csr, known), 401, "INVALID_REFRESH_TOKEN")
    assert ok(await client.get(CURRENT, headers=as_shopper(csr, issued)))["userId"] == ivy["userId"]


async def test_an_admin_with_the_behavior_too(client: httpx.AsyncClient, core: Core, ivy: dict[str, Any]) -> None:
    await admin.save_application(core, TENANT, "desk.app", "desk-secret-0123456789abcdef",
                                 [BEHAVIOR_IMPERSONATE, BEHAVIOR_CUSTOMER_ADMIN])
    desk = headers(await app_token(client, ("desk.app", "desk-secret-0123456789abcdef")))
    ok(await _impersonate(client, desk, {"accountId": _account_id(ivy)}))


async def test_an_impersonation_cannot_take_the_account_over(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any]) -> None:
    """The acting application reads the account and works with its parts, but cannot change its login
    names or end its sessions: with the opaque token or the JWT, nothing changes."""
    account_id = _account_id(ivy)
    issued = ok(await _impersonate(client, csr, {"accountId": account_id, "userId": ivy["userId"]}))
    for hdrs in (as_shopper(csr, issued), {"Authorization": f"Bearer {issued['jwtAccessToken']}"}):
        account = ok(await client.get(f"{CUSTOMER}/accounts/{account_id}", headers=hdrs))
        r = await client.put(f"{CUSTOMER}/accounts/{account_id}", headers=hdrs,
                             json={**account, "emailAddress": "taken.over@example.com"})
        assert_error(r, 403, "FORBIDDEN")
        assert_error(await client.delete(f"{CUSTOMER}/accounts/{account_id}/sessions", headers=hdrs), 403, "FORBIDDEN")
    after = ok(await client.get(f"{CUSTOMER}/accounts/{account_id}", headers=as_shopper(csr, issued)))
    assert after["emailAddress"] == EMAIL
    # Ivy's own login still works: her session was not ended
    assert ok(await refresh(client, csr, ivy["refreshToken"]))["userId"] == ivy["userId"]

"""Application authentication (OAuth client credentials and the legacy ticket calls) and tenant discovery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.support import ANONYMOUS, APP_TICKETS, HEX32, OAUTH, assert_error, kibo_date, ok
from tests.conftest import (
    OTHER_TENANT,
    SITE,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    STOREFRONT,
    TENANT,
    Seed,
    app_token,
    headers,
)
from ticketbooth.applications import admin
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

CREDENTIALS = {"client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"}


async def _anonymous_status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get(ANONYMOUS, headers=headers(token))).status_code


async def test_oauth_client_credentials_json(client: httpx.AsyncClient) -> None:
    body = ok(await client.post(OAUTH, json=CREDENTIALS))
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert HEX32.match(body["refresh_token"])
    assert await _anonymous_status(client, body["access_token"]) == 200


async def test_oauth_client_credentials_form_encoded(client: httpx.AsyncClient) -> None:
    body = ok(await client.post(OAUTH, data=CREDENTIALS))
    assert body["expires_in"] == 3600
    assert await _anonymous_status(client, body["access_token"]) == 200


async def test_oauth_bad_credentials_are_401_with_code_and_message(client: httpx.AsyncClient) -> None:
    for change in ({"client_secret": "wrong-secret-0123456789"}, {"client_id": "nobody.app"}, {"client_secret": ""},
                   {"client_id": None}, {"client_secret": STOREFRONT[1].upper()}):
        r = await client.post(OAUTH, json={**CREDENTIALS, **change})
        body = assert_error(r, 401, "UNAUTHORIZED")
        assert body["message"].startswith("Unauthorized: ")
    r = await client.post(OAUTH, data={**CREDENTIALS, "client_secret": "wrong-secret-0123456789"})
    assert_error(r, 401, "UNAUTHORIZED")


async def test_oauth_wrong_secret_and_unknown_client_answer_alike(client: httpx.AsyncClient) -> None:
    wrong = await client.post(OAUTH, json={**CREDENTIALS, "client_secret": "wrong-secret-0123456789"})
    unknown = await client.post(OAUTH, json={**CREDENTIALS, "client_id": "nobody.app"})
    assert wrong.json() == unknown.json()


async def test_disabled_application_gets_no_token_and_its_tokens_stop_working(
        client: httpx.AsyncClient, core: Core) -> None:
    first = ok(await client.post(OAUTH, json=CREDENTIALS))
    token = first["access_token"]
    ticket = ok(await client.get(ANONYMOUS, headers=headers(token)))
    await admin.save_application(core, TENANT, *STOREFRONT, [], enabled=False)
    body = assert_error(await client.post(OAUTH, json=CREDENTIALS), 401, "UNAUTHORIZED")
    assert body["message"].startswith("Unauthorized: ")
    assert_error(await client.get(ANONYMOUS, headers=headers(token)), 401, "UNAUTHORIZED")
    # nor does a shopper JWT it issued stand in for it, nor its refresh token
    r = await client.get(ANONYMOUS, headers={"Authorization": f"Bearer {ticket['jwtAccessToken']}"})
    assert_error(r, 401, "UNAUTHORIZED")
    r = await client.post(OAUTH, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert_error(r, 401, "UNAUTHORIZED")
    await admin.save_application(core, TENANT, *STOREFRONT, [], enabled=True)
    ok(await client.post(OAUTH, json=CREDENTIALS))


async def test_oauth_unsupported_grant_type_is_400(client: httpx.AsyncClient) -> None:
    for grant in ("password", "authorization_code", "nonsense"):
        r = await client.post(OAUTH, json={**CREDENTIALS, "grant_type": grant})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "grant_type")


async def test_oauth_refresh_token_grant_works_once(client: httpx.AsyncClient) -> None:
    first = ok(await client.post(OAUTH, json=CREDENTIALS))
    grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = ok(await client.post(OAUTH, json=grant))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 3600
    assert await _anonymous_status(client, second["access_token"]) == 200
    assert_error(await client.post(OAUTH, json=grant), 401, "UNAUTHORIZED")
    # the new refresh token is good (once)
    ok(await client.post(OAUTH, json={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}))


async def test_oauth_refresh_with_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post(OAUTH, json={"grant_type": "refresh_token", "refresh_token": "0" * 32})
    assert_error(r, 401, "UNAUTHORIZED")


async def _legacy_ticket(client: httpx.AsyncClient) -> dict[str, Any]:
    body = ok(await client.post(APP_TICKETS, json={"applicationId": STOREFRONT[0], "sharedSecret": STOREFRONT[1]}))
    assert set(body) == {"accessToken", "accessTokenExpiration", "refreshToken", "refreshTokenExpiration"}
    return body


async def test_legacy_app_ticket_create_refresh_delete(client: httpx.AsyncClient, clock: ManualClock) -> None:
    ticket = await _legacy_ticket(client)
    assert kibo_date(ticket["accessTokenExpiration"]) == clock.now() + timedelta(hours=1)
    assert kibo_date(ticket["refreshTokenExpiration"]) > clock.now() + timedelta(hours=1)
    assert await _anonymous_status(client, ticket["accessToken"]) == 200

    refreshed = ok(await client.put(f"{APP_TICKETS}/refresh-ticket", json={"refreshToken": ticket["refreshToken"]}))
    assert refreshed["refreshToken"] != ticket["refreshToken"]
    assert await _anonymous_status(client, refreshed["accessToken"]) == 200
    # the used refresh token is spent
    r = await client.put(f"{APP_TICKETS}/refresh-ticket", json={"refreshToken": ticket["refreshToken"]})
    assert_error(r, 401, "UNAUTHORIZED")

    r = await client.delete(f"{APP_TICKETS}/{refreshed['refreshToken']}")
    assert r.status_code == 204
    r = await client.put(f"{APP_TICKETS}/refresh-ticket", json={"refreshToken": refreshed["refreshToken"]})
    assert_error(r, 401, "UNAUTHORIZED")


async def test_legacy_app_ticket_trailing_slash_and_wrong_secret(client: httpx.AsyncClient) -> None:
    ok(await client.post(APP_TICKETS + "/", json={"applicationId": STOREFRONT[0], "sharedSecret": STOREFRONT[1]}))
    r = await client.post(APP_TICKETS, json={"applicationId": STOREFRONT[0], "sharedSecret": "not-the-secret-000"})
    assert_error(r, 401, "UNAUTHORIZED")


async def test_tenant_discovery(client: httpx.AsyncClient, core: Core, seeded: Seed) -> None:
    token = await app_token(client)
    body = ok(await client.get(f"/api/platform/tenants/{TENANT}", headers={"Authorization": f"Bearer {token}"}))
    assert body["id"] == TENANT
    assert body["domain"] == core.settings.public_host == "shop.example.test"
    assert sorted(s["id"] for s in body["sites"]) == [SITE, SITE_SAME_SET, SITE_OTHER_SET]
    assert all(s["siteId"] == s["id"] for s in body["sites"])


async def test_tenant_discovery_of_another_tenant_is_401(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    r = await client.get(f"/api/platform/tenants/{OTHER_TENANT}", headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 401, "UNAUTHORIZED")


async def test_tenant_discovery_needs_an_app_token(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"/api/platform/tenants/{TENANT}"), 401, "UNAUTHORIZED")


async def test_app_token_expires_after_an_hour(client: httpx.AsyncClient, clock: ManualClock) -> None:
    token = await app_token(client)
    clock.advance(timedelta(minutes=59))
    assert await _anonymous_status(client, token) == 200
    clock.advance(timedelta(minutes=1, seconds=1))
    assert_error(await client.get(ANONYMOUS, headers=headers(token)), 401, "UNAUTHORIZED")


async def test_app_token_in_legacy_header(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    r = await client.get(ANONYMOUS, headers={"x-vol-app-claims": token, "x-vol-tenant": str(TENANT),
                                             "x-vol-site": str(SITE)})
    ok(r)
    r = await client.get(ANONYMOUS, headers={"x-vol-app-claims": "garbage", "x-vol-tenant": str(TENANT)})
    assert_error(r, 401, "UNAUTHORIZED")

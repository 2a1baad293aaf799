"""Who is calling, for which tenant and site (KIBO_COMPAT section 3)."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from tests.api.support import ANONYMOUS, CURRENT, LOGIN, anonymous, assert_error, decode_jwt, ok, register
from tests.conftest import (
    OTHER,
    OTHER_SITE,
    OTHER_TENANT,
    PASSWORD,
    SITE,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    TENANT,
    app_token,
    headers,
)
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")


async def _site_of(client: httpx.AsyncClient, hdrs: dict[str, str]) -> tuple[int, int]:
    """(tenant, site) the server resolved for these headers, read from the anonymous ticket's JWT."""
    ticket = await anonymous(client, hdrs)
    _, claims = await decode_jwt(client, ticket["jwtAccessToken"])
    return claims["tenant"], claims["site"]


async def test_tenant_and_site_headers(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    assert await _site_of(client, headers(token, TENANT, SITE_SAME_SET)) == (TENANT, SITE_SAME_SET)
    assert await _site_of(client, headers(token, TENANT, SITE_OTHER_SET)) == (TENANT, SITE_OTHER_SET)


async def test_headers_win_over_host(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    hdrs = {**headers(token, TENANT, SITE_SAME_SET), "Host": f"t{TENANT}-s{SITE_OTHER_SET}.example.com"}
    assert await _site_of(client, hdrs) == (TENANT, SITE_SAME_SET)


async def test_tenant_and_site_from_host(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {await app_token(client)}"}
    assert await _site_of(client, {**auth, "Host": f"t{TENANT}-s{SITE_SAME_SET}.example.com"}) == (TENANT, SITE_SAME_SET)
    assert await _site_of(client, {**auth, "Host": f"T{TENANT}-S{SITE_OTHER_SET}.Example.com"}) == (TENANT, SITE_OTHER_SET)


async def test_tenant_only_host_means_default_site(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {await app_token(client)}"}
    assert await _site_of(client, {**auth, "Host": f"t{TENANT}.example.com"}) == (TENANT, SITE)


async def test_nothing_means_the_apps_tenant_and_its_default_site(client: httpx.AsyncClient) -> None:
    assert await _site_of(client, {"Authorization": f"Bearer {await app_token(client)}"}) == (TENANT, SITE)
    other = {"Authorization": f"Bearer {await app_token(client, OTHER)}"}
    assert await _site_of(client, other) == (OTHER_TENANT, OTHER_SITE)


async def test_site_header_alone_uses_the_apps_tenant(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    hdrs = {"Authorization": f"Bearer {token}", "x-vol-site": str(SITE_SAME_SET)}
    assert await _site_of(client, hdrs) == (TENANT, SITE_SAME_SET)


async def test_other_context_headers_are_accepted_and_ignored(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    extra = {"x-vol-catalog": "1", "x-vol-master-catalog": "1", "x-vol-locale": "en-US", "x-vol-currency": "USD",
             "x-vol-dataview-mode": "Live", "x-vol-version": "1.0"}
    assert await _site_of(client, {**headers(token), **extra}) == (TENANT, SITE)


async def test_another_tenants_header_with_this_app_is_401(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    assert_error(await client.get(ANONYMOUS, headers=headers(token, OTHER_TENANT, OTHER_SITE)), 401, "UNAUTHORIZED")
    r = await client.get(ANONYMOUS, headers={"Authorization": f"Bearer {token}", "Host": f"t{OTHER_TENANT}.example.com"})
    assert_error(r, 401, "UNAUTHORIZED")
    assert_error(await client.get(ANONYMOUS, headers=headers(token, 999)), 401, "UNAUTHORIZED")


async def test_unknown_or_foreign_site_is_400(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    for site in (999, OTHER_SITE):
        r = await client.get(ANONYMOUS, headers=headers(token, TENANT, site))
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "x-vol-site")
        r = await client.get(ANONYMOUS, headers={"Authorization": f"Bearer {token}",
                                                 "Host": f"t{TENANT}-s{site}.example.com"})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "x-vol-site")


async def test_malformed_tenant_or_site_header_is_400(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    for name in ("x-vol-tenant", "x-vol-site"):
        for value in ("abc", "-5", "0", "99999999999", "1e3", "100; 300"):
            r = await client.get(ANONYMOUS, headers={**headers(token), name: value})
            assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", name)


async def test_missing_app_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get(ANONYMOUS, headers={"x-vol-tenant": str(TENANT), "x-vol-site": str(SITE)})
    body = assert_error(r, 401, "UNAUTHORIZED")
    assert body["message"].startswith("Unauthorized: ")
    assert_error(await client.post(LOGIN, json={"username": "a@example.com", "password": PASSWORD}), 401, "UNAUTHORIZED")
    assert_error(await client.get(CURRENT), 401, "UNAUTHORIZED")


async def test_garbage_app_token_is_401(client: httpx.AsyncClient) -> None:
    for auth in ("Bearer garbage", "Bearer a.b.c", "Basic c3RvcmVmcm9udDpzZWNyZXQ=", "Bearer ", "Bearer " + "0" * 64):
        r = await client.get(ANONYMOUS, headers={"Authorization": auth, "x-vol-tenant": str(TENANT)})
        assert_error(r, 401, "UNAUTHORIZED")


async def test_tampered_app_token_is_401(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    header, _, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"admin.app","token_use":"app","tenant":100}').rstrip(b"=").decode()
    r = await client.get(ANONYMOUS, headers=headers(f"{header}.{forged}.{signature}"))
    assert_error(r, 401, "UNAUTHORIZED")


async def test_expired_app_token_is_401(client: httpx.AsyncClient, clock: ManualClock) -> None:
    token = await app_token(client)
    clock.advance(timedelta(hours=1, seconds=1))
    assert_error(await client.get(ANONYMOUS, headers=headers(token)), 401, "UNAUTHORIZED")


async def test_app_token_of_another_tenant_cannot_be_pointed_at_this_one(client: httpx.AsyncClient) -> None:
    token = await app_token(client, OTHER)
    assert_error(await client.get(ANONYMOUS, headers=headers(token, TENANT, SITE)), 401, "UNAUTHORIZED")


async def test_shopper_ticket_jwt_as_bearer_is_the_shopper_not_the_app(client: httpx.AsyncClient,
                                                                        app_headers: dict[str, str]) -> None:
    """Alone as Bearer, with no tenant headers, a ticket JWT acts as its shopper; it is no application
    credential, so it cannot make tickets (issue 13, finding 1)."""
    ticket = await register(client, app_headers, "jwt@example.com")
    bearer = {"Authorization": f"Bearer {ticket['jwtAccessToken']}"}
    assert ok(await client.get(CURRENT, headers=bearer))["emailAddress"] == "jwt@example.com"
    assert_error(await client.get(ANONYMOUS, headers=bearer), 401, "UNAUTHORIZED")


async def test_shopper_jwt_alone_keeps_its_site(client: httpx.AsyncClient) -> None:
    """A ticket of a site outside the default customer set, sent alone as Bearer, acts at its own site
    (not the tenant's default site, whose customer set would refuse it)."""
    outlet = headers(await app_token(client), TENANT, SITE_OTHER_SET)
    ticket = await register(client, outlet, "outlet@example.com")
    bearer = {"Authorization": f"Bearer {ticket['jwtAccessToken']}"}
    assert ok(await client.get(CURRENT, headers=bearer))["emailAddress"] == "outlet@example.com"
    account_id = ticket["customerAccount"]["id"]
    changed = ok(await client.put(f"/api/commerce/customer/accounts/{account_id}", headers=bearer,
                                  json={"firstName": "Outi"}))
    assert changed["firstName"] == "Outi"

"""Finding 1 of issue 13: a shopper's ticket JWT grants only that shopper's own rights.

Each test performs an attack of the review over HTTP, as an outsider holding only what a shopper holds
(their own tickets): a ticket JWT of an application with customer:admin, customer-auth:impersonate or
configure-token-durations must not act with those behaviors, and must not make or refresh tickets (those
calls take the application's own credential). App tokens and ticket JWTs are told apart by their `typ`
header and `token_use` claim, and each is refused where the other is expected. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from tests.api.login_support import NEW_PASSWORD, change_path
from tests.api.support import (
    ANONYMOUS,
    CURRENT,
    CUSTOMER,
    LOGIN,
    REFRESH,
    REGISTER,
    anonymous,
    assert_error,
    decode_jwt,
    login,
    ok,
    register,
)
from tests.conftest import ADMIN, PASSWORD, SITE, TENANT, Seed, app_token, headers
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

ACCOUNTS = f"{CUSTOMER}/accounts"
IMPERSONATE = f"{CUSTOMER}/authtickets/impersonatecart"


def bearer(token: str, **extra: str) -> dict[str, str]:
    """A ticket JWT sent alone, as the shopper's only credential (rest-sdk's `accessToken` option)."""
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
async def admin_app(client: httpx.AsyncClient, seeded: Seed) -> dict[str, str]:
    return headers(await app_token(client, ADMIN))


@pytest.fixture
async def victim(client: httpx.AsyncClient, app_headers: dict[str, str]) -> dict[str, Any]:
    return await register(client, app_headers, "victim@example.com")


async def test_anonymous_jwt_of_admin_app_cannot_list_accounts(
        client: httpx.AsyncClient, admin_app: dict[str, str], victim: dict[str, Any]) -> None:
    visitor = await anonymous(client, admin_app)
    r = await client.get(ACCOUNTS, headers=bearer(visitor["jwtAccessToken"]))
    assert_error(r, 403, "FORBIDDEN")
    # nor read, change or delete another account, nor add one
    other = victim["customerAccount"]["id"]
    assert_error(await client.get(f"{ACCOUNTS}/{other}", headers=bearer(visitor["jwtAccessToken"])), 403)
    assert_error(await client.put(f"{ACCOUNTS}/{other}", headers=bearer(visitor["jwtAccessToken"]),
                                  json={"firstName": "Evil"}), 403)
    assert_error(await client.delete(f"{ACCOUNTS}/{other}", headers=bearer(visitor["jwtAccessToken"])), 403)
    assert_error(await client.post(ACCOUNTS, headers=bearer(visitor["jwtAccessToken"]),
                                   json={"emailAddress": "planted@example.com"}), 403)
    # the admin application itself still may
    assert ok(await client.get(ACCOUNTS, headers=admin_app))["totalCount"] >= 1


async def test_registered_jwt_of_admin_app_has_only_its_shoppers_rights(
        client: httpx.AsyncClient, admin_app: dict[str, str], victim: dict[str, Any]) -> None:
    """A shopper who registered through the admin application: their own account, nothing more."""
    mallory = await register(client, admin_app, "mallory@example.com")
    own, other = mallory["customerAccount"]["id"], victim["customerAccount"]["id"]
    token = mallory["jwtAccessToken"]
    assert ok(await client.get(f"{ACCOUNTS}/{own}", headers=bearer(token)))["id"] == own
    assert ok(await client.get(CURRENT, headers=bearer(token)))["id"] == own
    assert_error(await client.get(ACCOUNTS, headers=bearer(token)), 403)
    assert_error(await client.get(f"{ACCOUNTS}/{other}", headers=bearer(token)), 403)
    # what only an admin may do to one's own account: notes, lock, isActive
    assert_error(await client.post(f"{ACCOUNTS}/{own}/notes", headers=bearer(token), json={"content": "vip"}), 403)
    assert_error(await client.post(f"{ACCOUNTS}/{own}/Set-Login-Locked", headers=bearer(token), json=False), 403)


async def test_anonymous_jwt_of_admin_app_cannot_change_anothers_password(
        client: httpx.AsyncClient, admin_app: dict[str, str], app_headers: dict[str, str],
        victim: dict[str, Any]) -> None:
    """The review changed another account's password with no old password, then logged in as them."""
    visitor = await anonymous(client, admin_app)
    account_id = victim["customerAccount"]["id"]
    r = await client.post(change_path(account_id), headers=bearer(visitor["jwtAccessToken"]),
                          json={"newPassword": NEW_PASSWORD})
    assert r.status_code in (400, 401, 403), r.text
    assert_error(await login(client, app_headers, "victim@example.com", NEW_PASSWORD), 401, "INVALID_CREDENTIALS")
    ok(await login(client, app_headers, "victim@example.com", PASSWORD))


async def test_anonymous_jwt_of_impersonation_app_cannot_impersonate(
        client: httpx.AsyncClient, csr: dict[str, str], victim: dict[str, Any]) -> None:
    visitor = await anonymous(client, csr)
    r = await client.post(IMPERSONATE, headers=bearer(visitor["jwtAccessToken"]),
                          json={"accountId": victim["customerAccount"]["id"]})
    assert_error(r, 401, "UNAUTHORIZED")
    # the application's own token still impersonates
    issued = ok(await client.post(IMPERSONATE, headers=csr, json={"accountId": victim["customerAccount"]["id"]}))
    assert issued["userId"] == victim["userId"]


async def test_impersonation_jwt_cannot_impersonate_other_accounts(
        client: httpx.AsyncClient, csr: dict[str, str], app_headers: dict[str, str], victim: dict[str, Any]) -> None:
    first = await register(client, app_headers, "first@example.com")
    issued = ok(await client.post(IMPERSONATE, headers=csr, json={"accountId": first["customerAccount"]["id"]}))
    r = await client.post(IMPERSONATE, headers=bearer(issued["jwtAccessToken"]),
                          json={"accountId": victim["customerAccount"]["id"]})
    assert_error(r, 401, "UNAUTHORIZED")
    # it acts as the impersonated shopper, and only as them
    own = first["customerAccount"]["id"]
    assert ok(await client.get(CURRENT, headers=bearer(issued["jwtAccessToken"])))["id"] == own
    assert_error(await client.get(f"{ACCOUNTS}/{victim['customerAccount']['id']}",
                                  headers=bearer(issued["jwtAccessToken"])), 403)


async def test_jwt_cannot_refresh_itself(client: httpx.AsyncClient, app_headers: dict[str, str],
                                         victim: dict[str, Any]) -> None:
    """A refresh needs the application's credential: the ticket's own JWT is not one."""
    r = await client.put(REFRESH, headers=bearer(victim["jwtAccessToken"]),
                         params={"refreshToken": victim["refreshToken"]})
    assert_error(r, 401, "UNAUTHORIZED")
    # the refresh token was not used up: the storefront's own refresh still works
    renewed = ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": victim["refreshToken"]}))
    assert renewed["userId"] == victim["userId"]


async def test_jwt_cannot_make_tickets(client: httpx.AsyncClient, admin_app: dict[str, str],
                                       victim: dict[str, Any]) -> None:
    """Anonymous tickets, logins (with the token-duration behavior's TTLs), registrations, Create-Login and
    the code flows take the application's own credential: a ticket JWT is refused, whatever its app."""
    token = (await anonymous(client, admin_app))["jwtAccessToken"]
    calls = [
        client.get(ANONYMOUS, headers=bearer(token)),
        client.post(LOGIN, headers=bearer(token), json={"username": "victim@example.com", "password": PASSWORD,
                                                        "authTicketTtlMinutes": 60 * 24 * 30}),
        client.post(REGISTER, headers=bearer(token), json={"account": {"emailAddress": "new@example.com"},
                                                           "password": PASSWORD}),
        client.post(f"{ACCOUNTS}/{victim['customerAccount']['id']}/Create-Login", headers=bearer(token),
                    json={"emailAddress": "victim@example.com", "password": PASSWORD}),
        client.post(f"{CUSTOMER}/authtickets/otp/request", headers=bearer(token), json={"email": "victim@example.com"}),
        client.post(f"{CUSTOMER}/authtickets/otp/auth", headers=bearer(token),
                    json={"email": "victim@example.com", "otpCode": "123456"}),
        client.post(f"{CUSTOMER}/authtickets/2fa/auth", headers=bearer(token),
                    json={"userId": victim["userId"], "otpCode": "123456"}),
    ]
    for call in calls:
        assert_error(await call, 401, "UNAUTHORIZED")


async def test_token_durations_are_the_app_tokens_not_the_jwts(
        client: httpx.AsyncClient, admin_app: dict[str, str], app_headers: dict[str, str],
        victim: dict[str, Any], clock: ManualClock) -> None:
    """TTLs asked for next to a ticket of the admin app, with a storefront app token, are ignored."""
    visitor = await anonymous(client, admin_app)
    hdrs = {**app_headers, "x-vol-user-claims": visitor["accessToken"]}
    issued = ok(await login(client, hdrs, "victim@example.com", authTicketTtlMinutes=600))
    _, claims = await decode_jwt(client, issued["jwtAccessToken"])
    assert claims["exp"] - claims["iat"] < 600 * 60
    # the admin app's own token may ask for them
    longer = ok(await login(client, admin_app, "victim@example.com", authTicketTtlMinutes=30))
    _, claims = await decode_jwt(client, longer["jwtAccessToken"])
    assert claims["exp"] - claims["iat"] == 30 * 60


async def test_tokens_are_typed(client: httpx.AsyncClient, app_headers: dict[str, str],
                                victim: dict[str, Any]) -> None:
    app = app_headers["Authorization"][7:]
    assert jwt.get_unverified_header(app)["typ"] == "at+jwt"
    assert jwt.get_unverified_header(victim["jwtAccessToken"])["typ"] == "ticket+jwt"
    assert jwt.decode(app, options={"verify_signature": False})["token_use"] == "app"


async def test_app_token_is_no_shopper_ticket_and_ticket_no_app_token(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin_app: dict[str, str],
        victim: dict[str, Any]) -> None:
    app = admin_app["Authorization"][7:]
    # an app token where the shopper's ticket is expected
    r = await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": app})
    assert_error(r, 401, "INVALID_ACCESS_TOKEN")
    # a ticket JWT where the application's credential is expected (legacy header)
    r = await client.get(ANONYMOUS, headers={"x-vol-app-claims": victim["jwtAccessToken"],
                                             "x-vol-tenant": str(TENANT), "x-vol-site": str(SITE)})
    assert_error(r, 401, "UNAUTHORIZED")
    # two shoppers' credentials in one request: refused, not guessed
    other = await register(client, app_headers, "other@example.com")
    r = await client.get(CURRENT, headers=bearer(victim["jwtAccessToken"], **{"x-vol-user-claims": other["accessToken"]}))
    assert_error(r, 401, "INVALID_ACCESS_TOKEN")


async def test_typ_and_token_use_must_agree(client: httpx.AsyncClient, core: Core, clock: ManualClock,
                                           seeded: Seed) -> None:
    """A token is what both its header and its claim say; tokens signed before the typed headers (typ JWT)
    are still known by their claim until they expire."""
    now = int(clock.now().timestamp())
    base = {"sub": ADMIN[0], "token_use": "app", "tenant": TENANT, "iat": now, "nbf": now, "exp": now + 600}
    mislabelled = await core.keys.sign(base, "ticket+jwt")
    assert_error(await client.get(ACCOUNTS, headers=headers(mislabelled)), 401, "UNAUTHORIZED")
    untyped = await core.keys.sign(base)
    assert jwt.get_unverified_header(untyped)["typ"] == "JWT"
    assert ok(await client.get(ACCOUNTS, headers=headers(untyped)))["totalCount"] >= 0

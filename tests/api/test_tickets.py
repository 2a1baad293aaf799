"""Shopper tickets: shape, JWT claims, lifetimes, refresh rotation with its grace window, and the
concurrent-refresh guarantee."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.api.support import (
    ANONYMOUS,
    CURRENT,
    HEX32,
    LOGIN,
    REFRESH,
    TICKET_KEYS,
    anonymous,
    anonymous_id,
    assert_error,
    decode_jwt,
    kibo_date,
    login,
    ok,
    refresh,
    register,
)
from tests.conftest import (
    ADMIN,
    OTHER,
    OTHER_SITE,
    OTHER_TENANT,
    PASSWORD,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    TENANT,
    app_token,
    headers,
)
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "shopper@example.com"


async def _registered(client: httpx.AsyncClient, hdrs: dict[str, str]) -> dict[str, Any]:
    """A fresh login ticket (not the registration one) of a registered shopper."""
    await register(client, hdrs, EMAIL)
    return ok(await login(client, hdrs, EMAIL))


async def _fresh_app(client: httpx.AsyncClient) -> dict[str, str]:
    """Headers with a new application token (for after the clock moved past the old one's hour)."""
    return headers(await app_token(client))


async def _current_status(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any]) -> int:
    return (await client.get(CURRENT, headers={**hdrs, "x-vol-user-claims": ticket["accessToken"]})).status_code


# -- shape and claims -----------------------------------------------------------------------------

async def test_anonymous_ticket_shape(client: httpx.AsyncClient, app_headers: dict[str, str],
                                      clock: ManualClock) -> None:
    t = await anonymous(client, app_headers)
    assert set(t) == TICKET_KEYS
    assert HEX32.match(t["refreshToken"])
    assert t["userId"] is None  # as Kibo's: a storefront takes any userId for a signed-in shopper
    assert HEX32.match(anonymous_id(t))
    assert re.fullmatch(r"[0-9a-f]{32,}", t["accessToken"])
    assert t["customerAccount"] is None
    assert t["requires2FA"] is False
    assert t["accessTokenExpiration"] == "2026-11-27T12:15:00.000Z"
    assert kibo_date(t["refreshTokenExpiration"]) == clock.now() + timedelta(days=30)
    assert t["jwtAccessToken"].count(".") == 2
    # every call is a new anonymous shopper
    other = await anonymous(client, app_headers)
    assert anonymous_id(other) != anonymous_id(t)
    assert other["refreshToken"] != t["refreshToken"]
    assert other["accessToken"] != t["accessToken"]


async def test_anonymous_jwt_claims(client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock) -> None:
    t = await anonymous(client, app_headers)
    header, claims = await decode_jwt(client, t["jwtAccessToken"])
    assert header["alg"] == "ES256"
    assert header["kid"]
    assert claims["iss"] == "http://shop.example.test"
    assert claims["aud"] == "ticketbooth"
    assert HEX32.match(claims["sub"]) and t["userId"] is None
    now = int(clock.now().timestamp())
    assert claims["iat"] == claims["nbf"] == now
    assert claims["exp"] == now + 15 * 60
    assert HEX32.match(claims["jti"])
    assert claims["sid"]
    assert claims["tenant"] == TENANT
    assert claims["site"] == 200
    assert claims["account_id"] is None
    assert claims["anon"] is True
    assert claims["client_id"] == "storefront.app"
    assert "prev_sub" not in claims


async def test_registered_jwt_claims_and_previous_anonymous_user(client: httpx.AsyncClient,
                                                                 app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, EMAIL)
    guest = await anonymous(client, app_headers)
    r = await login(client, {**app_headers, "x-vol-user-claims": guest["accessToken"]}, EMAIL)
    t = ok(r)
    _, claims = await decode_jwt(client, t["jwtAccessToken"])
    assert claims["sub"] == t["userId"] == reg["userId"] != anonymous_id(guest)
    assert claims["anon"] is False
    assert claims["account_id"] == t["customerAccount"]["id"]
    assert claims["prev_sub"] == anonymous_id(guest)
    _, guest_claims = await decode_jwt(client, guest["jwtAccessToken"])
    assert claims["sid"] != guest_claims["sid"]
    assert claims["jti"] != guest_claims["jti"]
    # the previous anonymous id stays with the family across a refresh
    _, refreshed = await decode_jwt(client, ok(await refresh(client, app_headers, t["refreshToken"]))["jwtAccessToken"])
    assert refreshed["prev_sub"] == anonymous_id(guest)
    assert refreshed["sid"] == claims["sid"]
    assert refreshed["jti"] != claims["jti"]


async def test_previous_anonymous_user_also_from_the_anonymous_jwt(client: httpx.AsyncClient,
                                                                   app_headers: dict[str, str]) -> None:
    await register(client, app_headers, EMAIL)
    guest = await anonymous(client, app_headers)
    t = ok(await login(client, {**app_headers, "x-vol-user-claims": guest["jwtAccessToken"]}, EMAIL))
    _, claims = await decode_jwt(client, t["jwtAccessToken"])
    assert claims["prev_sub"] == anonymous_id(guest)


async def test_login_ignores_a_bad_or_registered_previous_ticket(client: httpx.AsyncClient,
                                                                 app_headers: dict[str, str]) -> None:
    first = await register(client, app_headers, EMAIL)
    for claims_header in ("garbage", first["accessToken"]):
        t = ok(await login(client, {**app_headers, "x-vol-user-claims": claims_header}, EMAIL))
        _, claims = await decode_jwt(client, t["jwtAccessToken"])
        assert "prev_sub" not in claims


async def test_jwks_and_openid_configuration(client: httpx.AsyncClient) -> None:
    jwks = ok(await client.get("/.well-known/jwks.json"))
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256" and key["use"] == "sig"
        assert "d" not in key  # never the private part
    config = ok(await client.get("/.well-known/openid-configuration"))
    assert config["issuer"] == "http://shop.example.test"
    assert config["jwks_uri"] == "http://shop.example.test/.well-known/jwks.json"
    assert "ES256" in config["id_token_signing_alg_values_supported"]
    assert {"sub", "tenant", "site", "prev_sub"} <= set(config["claims_supported"])


# -- lifetimes -------------------------------------------------------------------------------------

async def test_anonymous_refresh_keeps_user_and_slides_expiry(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                              clock: ManualClock) -> None:
    t = await anonymous(client, app_headers)
    clock.advance(timedelta(days=20))
    app_headers = await _fresh_app(client)
    t2 = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert t2["userId"] is None and anonymous_id(t2) == anonymous_id(t)
    assert t2["customerAccount"] is None
    assert kibo_date(t2["refreshTokenExpiration"]) == clock.now() + timedelta(days=30)
    assert kibo_date(t2["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)
    # past the first ticket's 30 days, the slid one still works
    clock.advance(timedelta(days=29))
    app_headers = await _fresh_app(client)
    t3 = ok(await refresh(client, app_headers, t2["refreshToken"]))
    assert anonymous_id(t3) == anonymous_id(t)
    _, claims = await decode_jwt(client, t3["jwtAccessToken"])
    assert claims["sub"] == anonymous_id(t) and claims["anon"] is True


async def test_anonymous_refresh_token_expires_after_30_idle_days(client: httpx.AsyncClient,
                                                                  app_headers: dict[str, str],
                                                                  clock: ManualClock) -> None:
    t = await anonymous(client, app_headers)
    clock.advance(timedelta(days=30, seconds=1))
    assert_error(await refresh(client, await _fresh_app(client), t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")


async def test_registered_lifetimes_not_extended_by_refresh(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                            clock: ManualClock) -> None:
    t = await _registered(client, app_headers)
    logged_in = clock.now()
    assert kibo_date(t["accessTokenExpiration"]) == logged_in + timedelta(minutes=15)
    assert kibo_date(t["refreshTokenExpiration"]) == logged_in + timedelta(hours=24)
    clock.advance(timedelta(hours=10))
    app_headers = await _fresh_app(client)
    t = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)
    assert kibo_date(t["refreshTokenExpiration"]) == logged_in + timedelta(hours=24)
    # close to the end the access token does not outlive the session
    clock.advance(timedelta(hours=13, minutes=55))
    app_headers = await _fresh_app(client)
    t = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert kibo_date(t["accessTokenExpiration"]) == logged_in + timedelta(hours=24)
    assert kibo_date(t["refreshTokenExpiration"]) == logged_in + timedelta(hours=24)
    clock.advance(timedelta(minutes=5))
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")


async def test_refreshed_access_token_works_and_expires(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                        clock: ManualClock) -> None:
    t = await _registered(client, app_headers)
    clock.advance(timedelta(minutes=14))
    t2 = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert await _current_status(client, app_headers, t2) == 200
    clock.advance(timedelta(minutes=2))
    assert await _current_status(client, app_headers, t) == 401  # the old one expired on its own
    assert await _current_status(client, app_headers, t2) == 200


# -- refresh rotation --------------------------------------------------------------------------------

async def test_each_refresh_gives_a_new_refresh_token(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    seen = {t["refreshToken"]}
    access = {t["accessToken"]}
    for _ in range(3):
        t = ok(await refresh(client, app_headers, t["refreshToken"]))
        assert HEX32.match(t["refreshToken"])
        assert t["refreshToken"] not in seen
        assert t["accessToken"] not in access
        seen.add(t["refreshToken"])
        access.add(t["accessToken"])
        assert t["customerAccount"]["emailAddress"] == EMAIL
        assert set(t) == TICKET_KEYS


async def test_replay_within_grace_returns_the_same_successor(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                              clock: ManualClock) -> None:
    t = await _registered(client, app_headers)
    first = ok(await refresh(client, app_headers, t["refreshToken"]))
    clock.advance(timedelta(seconds=9))
    again = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert again["refreshToken"] == first["refreshToken"]
    assert again["accessToken"] == first["accessToken"]
    assert again["userId"] == first["userId"]
    assert again["accessTokenExpiration"] == first["accessTokenExpiration"]
    _, c1 = await decode_jwt(client, first["jwtAccessToken"])
    _, c2 = await decode_jwt(client, again["jwtAccessToken"])
    assert c1["jti"] == c2["jti"]
    # the family is intact: the successor works
    assert await _current_status(client, app_headers, again) == 200
    ok(await refresh(client, app_headers, again["refreshToken"]))


async def test_replay_after_grace_revokes_the_family(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                     clock: ManualClock) -> None:
    t = await _registered(client, app_headers)
    successor = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert await _current_status(client, app_headers, successor) == 200
    clock.advance(timedelta(seconds=11))
    body = assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert body["message"].startswith("Invalid Refresh Token: ")
    # the whole family is gone: the successor's refresh token and its access token
    assert_error(await refresh(client, app_headers, successor["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    r = await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": successor["accessToken"]})
    assert_error(r, 401, "INVALID_ACCESS_TOKEN")
    # a new login is a new family and works
    fresh = ok(await login(client, app_headers, EMAIL))
    assert await _current_status(client, app_headers, fresh) == 200


async def test_replay_within_grace_after_successor_was_used_revokes(client: httpx.AsyncClient,
                                                                    app_headers: dict[str, str],
                                                                    clock: ManualClock) -> None:
    t = await _registered(client, app_headers)
    successor = ok(await refresh(client, app_headers, t["refreshToken"]))
    third = ok(await refresh(client, app_headers, successor["refreshToken"]))
    clock.advance(timedelta(seconds=2))
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await refresh(client, app_headers, third["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert await _current_status(client, app_headers, third) == 401


async def test_anonymous_replay_after_grace_revokes_too(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                        clock: ManualClock) -> None:
    t = await anonymous(client, app_headers)
    successor = ok(await refresh(client, app_headers, t["refreshToken"]))
    clock.advance(timedelta(seconds=30))
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await refresh(client, app_headers, successor["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")


async def test_fifty_concurrent_refreshes_make_one_successor(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             core: Core) -> None:
    t = await _registered(client, app_headers)
    answers = await asyncio.gather(*(refresh(client, app_headers, t["refreshToken"]) for _ in range(50)))
    assert {r.status_code for r in answers} <= {200, 401}
    for r in answers:
        if r.status_code == 401:
            assert_error(r, 401, "INVALID_REFRESH_TOKEN")
    successes = [r.json() for r in answers if r.status_code == 200]
    assert successes
    assert len({s["refreshToken"] for s in successes}) == 1
    assert len({s["accessToken"] for s in successes}) == 1
    successor = successes[0]
    _, claims = await decode_jwt(client, successor["jwtAccessToken"])
    async with core.store.engine.connect() as conn:
        tickets_in_family = (await conn.execute(select(func.count()).select_from(tables.tickets).where(
            tables.tickets.c.family_id == claims["sid"]))).scalar_one()
    assert tickets_in_family == 2  # the login ticket and exactly one successor
    # the chain goes on from that successor
    nxt = ok(await refresh(client, app_headers, successor["refreshToken"]))
    assert nxt["refreshToken"] != successor["refreshToken"]
    assert await _current_status(client, app_headers, nxt) == 200


async def test_refresh_of_a_locked_or_inactive_account_ends_the_session(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    t = await _registered(client, app_headers)
    other = ok(await login(client, app_headers, EMAIL))
    where = tables.accounts.c.id == t["customerAccount"]["id"]
    async with core.store.engine.begin() as conn:
        # an administrator's lock (a lock by failed passwords leaves the sessions alone: test_lockout_per_account)
        await conn.execute(update(tables.accounts).where(where).values(is_locked=True, locked_by_admin=True))
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    async with core.store.engine.begin() as conn:
        await conn.execute(update(tables.accounts).where(where).values(is_locked=False, locked_by_admin=False, is_active=False))
    assert_error(await refresh(client, app_headers, other["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    async with core.store.engine.begin() as conn:
        await conn.execute(update(tables.accounts).where(where).values(is_active=True))
    # the sessions stay ended after the account is usable again
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert await _current_status(client, app_headers, t) == 401
    ok(await login(client, app_headers, EMAIL))


async def test_expired_refresh_token_is_401(client: httpx.AsyncClient, app_headers: dict[str, str],
                                            clock: ManualClock) -> None:
    t = await _registered(client, app_headers)
    clock.advance(timedelta(hours=24))
    assert_error(await refresh(client, await _fresh_app(client), t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for token in ("0" * 32, "not-a-token", "x" * 256):
        assert_error(await refresh(client, app_headers, token), 401, "INVALID_REFRESH_TOKEN")


async def test_overlong_refresh_parameters_are_400_naming_them(client: httpx.AsyncClient,
                                                              app_headers: dict[str, str]) -> None:
    # the refresh route reads its own query parameters (context.query): the bounds it had as a FastAPI
    # route hold, and a refused refresh changes nothing
    t = await _registered(client, app_headers)
    assert_error(await refresh(client, app_headers, "x" * 257), 400, "MISSING_OR_INVALID_PARAMETER", "refreshToken")
    r = await client.put(REFRESH, headers=app_headers, params={"refreshToken": t["refreshToken"], "accountId": "1" * 21})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "accountId")
    assert (await refresh(client, app_headers, t["refreshToken"])).status_code == 200  # not used up


async def test_refresh_elsewhere_is_401(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    outlet = {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}
    assert_error(await refresh(client, outlet, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    other = headers(await app_token(client, OTHER), OTHER_TENANT, OTHER_SITE)
    assert_error(await refresh(client, other, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    # the failed attempts did not use the token up; a site of the same customer set is fine
    same_set = {**app_headers, "x-vol-site": str(SITE_SAME_SET)}
    ok(await refresh(client, same_set, t["refreshToken"]))


async def test_refresh_with_account_id(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    account_id = t["customerAccount"]["id"]
    r = await client.put(REFRESH, headers=app_headers, params={"refreshToken": t["refreshToken"],
                                                                "accountId": account_id + 1})
    assert_error(r, 401, "INVALID_REFRESH_TOKEN")
    r = await client.put(REFRESH, headers=app_headers, params={"refreshToken": t["refreshToken"], "accountId": account_id})
    assert ok(r)["customerAccount"]["id"] == account_id


async def test_refresh_needs_a_refresh_token(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    assert_error(await client.put(REFRESH, headers=app_headers), 400, "MISSING_OR_INVALID_PARAMETER", "refreshToken")
    r = await client.put(REFRESH + "?refreshToken=", headers=app_headers)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "refreshToken")


async def test_refresh_needs_an_app_token(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await anonymous(client, app_headers)
    r = await client.put(REFRESH, params={"refreshToken": t["refreshToken"]})
    assert_error(r, 401, "UNAUTHORIZED")
    ok(await refresh(client, app_headers, t["refreshToken"]))  # not used up by the refused call


async def test_refresh_query_name_case_and_trailing_slash(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await anonymous(client, app_headers)
    t = ok(await client.put(f"{REFRESH}?refreshtoken={t['refreshToken']}", headers=app_headers))
    t = ok(await client.put(f"{REFRESH}/?REFRESHTOKEN={t['refreshToken']}", headers=app_headers))
    t = ok(await client.put(f"/API/Commerce/Customer/AuthTickets/Refresh/?refreshToken={t['refreshToken']}",
                            headers=app_headers))
    assert HEX32.match(t["refreshToken"])


async def test_refresh_ignores_any_body(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await anonymous(client, app_headers)
    r = await client.put(REFRESH, headers=app_headers, params={"refreshToken": t["refreshToken"]},
                         json={"refreshToken": "0" * 32, "accountId": "nonsense"})
    t2 = ok(r)
    assert anonymous_id(t2) == anonymous_id(t)
    r = await client.put(REFRESH, headers={**app_headers, "Content-Type": "application/json; charset=utf-8"},
                         params={"refreshToken": t2["refreshToken"]}, content=b"{not json")
    assert anonymous_id(ok(r)) == anonymous_id(t)


async def test_refresh_applies_response_fields(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await anonymous(client, app_headers)
    r = await client.put(REFRESH, headers=app_headers,
                         params={"refreshToken": t["refreshToken"], "responseFields": "refreshToken,userId"})
    assert set(ok(r)) == {"refreshToken", "userId"}


# -- requested lifetimes -------------------------------------------------------------------------------

async def test_requested_lifetimes_honoured_for_admin_app(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                          clock: ManualClock) -> None:
    await register(client, app_headers, EMAIL)
    admin = headers(await app_token(client, ADMIN))
    t = ok(await login(client, admin, EMAIL, authTicketTtlMinutes=30, refreshTokenTtlMinutes=120))
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=30)
    assert kibo_date(t["refreshTokenExpiration"]) == clock.now() + timedelta(minutes=120)
    _, claims = await decode_jwt(client, t["jwtAccessToken"])
    assert claims["exp"] - claims["iat"] == 30 * 60
    # the family keeps its lifetimes across a refresh
    started = clock.now()
    clock.advance(timedelta(minutes=10))
    t = ok(await refresh(client, admin, t["refreshToken"]))
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=30)
    assert kibo_date(t["refreshTokenExpiration"]) == started + timedelta(minutes=120)


async def test_requested_lifetimes_capped_by_tenant_maximums(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             clock: ManualClock) -> None:
    await register(client, app_headers, EMAIL)
    admin = headers(await app_token(client, ADMIN))
    t = ok(await login(client, admin, EMAIL, authTicketTtlMinutes=600, refreshTokenTtlMinutes=100 * 24 * 60))
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=60)
    assert kibo_date(t["refreshTokenExpiration"]) == clock.now() + timedelta(days=30)


async def test_requested_lifetimes_ignored_for_storefront_app(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                              clock: ManualClock) -> None:
    await register(client, app_headers, EMAIL)
    t = ok(await login(client, app_headers, EMAIL, authTicketTtlMinutes=30, refreshTokenTtlMinutes=120))
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)
    assert kibo_date(t["refreshTokenExpiration"]) == clock.now() + timedelta(hours=24)


async def test_requested_lifetimes_on_registration(client: httpx.AsyncClient, clock: ManualClock) -> None:
    admin = headers(await app_token(client, ADMIN))
    r = await client.post("/api/commerce/customer/accounts/Add-Account-And-Login", headers=admin, json={
        "account": {"emailAddress": EMAIL}, "password": PASSWORD,
        "authTicketTtlMinutes": 45, "refreshTokenTtlMinutes": 60})
    t = ok(r)
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=45)
    assert kibo_date(t["refreshTokenExpiration"]) == clock.now() + timedelta(minutes=60)


async def test_non_positive_requested_lifetime_is_400(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, EMAIL)
    admin = headers(await app_token(client, ADMIN))
    for field in ("authTicketTtlMinutes", "refreshTokenTtlMinutes"):
        for value in (-5, 0, "soon"):
            r = await client.post(LOGIN, headers=admin, json={"username": EMAIL, "password": PASSWORD, field: value})
            assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", field)


async def test_anonymous_ticket_lifetime_cannot_be_requested(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                            clock: ManualClock) -> None:
    """Query parameters do not change lifetimes of anonymous tickets."""
    r = await client.get(ANONYMOUS, headers=app_headers, params={"authTicketTtlMinutes": 600})
    assert kibo_date(ok(r)["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)


async def test_refresh_with_an_empty_account_id_is_like_none_and_a_bad_one_is_400(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.get("/api/commerce/customer/authtickets/anonymousshopper", headers=app_headers)
    token = r.json()["refreshToken"]
    r = await client.put(f"/api/commerce/customer/authtickets/refresh?refreshToken={token}&accountId=",
                         headers=app_headers)
    assert r.status_code == 200, r.text
    r = await client.put(f"/api/commerce/customer/authtickets/refresh?refreshToken={r.json()['refreshToken']}"
                         "&accountId=abc", headers=app_headers)
    assert r.status_code == 400
    assert r.json()["additionalErrorData"] == [{"name": "ParameterName", "value": "accountId"}]

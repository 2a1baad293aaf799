"""Application authentication is rate limited (issue 6a): per client address (every request) and per
client id (failed attempts), for the OAuth endpoint and the legacy ticket call alike, with a 429
TOO_MANY_REQUESTS in the Kibo envelope (errorCode: the auth SDK caches an empty token without it) and
Retry-After. There is no tenant before an application is authenticated, so the numbers are settings
(TICKETBOOTH_APP_AUTH_PER_ADDRESS, TICKETBOOTH_APP_AUTH_PER_CLIENT). An unknown client id is limited
exactly like a known one. Addresses are varied with X-Forwarded-For through a trusted proxy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import APP_TICKETS, OAUTH, assert_error, ok
from tests.conftest import STOREFRONT
from ticketbooth.config import Settings
from ticketbooth.domain.policies import RateBucket

pytestmark = pytest.mark.usefixtures("seeded")

SLOW = 0.001  # tokens a minute: none come back while a test runs


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", trusted_proxies="127.0.0.1",
                    app_auth_per_address=RateBucket(capacity=4, per_minute=SLOW),
                    app_auth_per_client=RateBucket(capacity=3, per_minute=SLOW))


async def oauth(client: httpx.AsyncClient, address: str, client_id: str, secret: str) -> httpx.Response:
    return await client.post(OAUTH, headers={"X-Forwarded-For": address}, json={
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"})


async def legacy(client: httpx.AsyncClient, address: str, client_id: str, secret: str) -> httpx.Response:
    return await client.post(APP_TICKETS, headers={"X-Forwarded-For": address},
                             json={"applicationId": client_id, "sharedSecret": secret})


def assert_limited(r: httpx.Response, side: str) -> dict[str, Any]:
    body = assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert body["message"].startswith("Too Many Requests: "), body
    assert side in body["message"], body
    assert int(r.headers["Retry-After"]) >= 1
    return body


async def test_one_address_is_limited_whatever_it_sends(client: httpx.AsyncClient) -> None:
    here, there = "198.51.100.1", "198.51.100.2"
    assert_error(await oauth(client, here, STOREFRONT[0], "wrong secret 0123456789"), 401, "UNAUTHORIZED")
    assert_error(await oauth(client, here, "nobody.app", "wrong secret 0123456789"), 401, "UNAUTHORIZED")
    assert_error(await legacy(client, here, "someone.app", "wrong secret 0123456789"), 401, "UNAUTHORIZED")
    ok(await oauth(client, here, *STOREFRONT))  # successes count per address too
    assert_limited(await oauth(client, here, *STOREFRONT), "from this address")  # the right secret as well
    assert_limited(await legacy(client, here, "other.client", "x" * 20), "from this address")
    ok(await oauth(client, there, *STOREFRONT))  # another address has its own bucket


async def test_failures_for_one_client_id_are_limited_from_any_address(client: httpx.AsyncClient) -> None:
    for i in range(3):
        r = await (oauth if i % 2 else legacy)(client, f"198.51.100.{10 + i}", STOREFRONT[0], f"guess {i:020}")
        assert_error(r, 401, "UNAUTHORIZED")
    # the client id's failures are used up: a fourth address is refused, even with the right secret
    assert_limited(await oauth(client, "198.51.100.20", STOREFRONT[0], "guess 4 0123456789"), "for this client")
    assert_limited(await oauth(client, "198.51.100.21", *STOREFRONT), "for this client")
    assert_limited(await legacy(client, "198.51.100.22", *STOREFRONT), "for this client")
    ok(await oauth(client, "198.51.100.23", "admin.app", "admin-secret-0123456789abcdef"))  # other ids are not


async def test_a_running_app_renews_while_its_client_ids_failures_are_used_up(client: httpx.AsyncClient) -> None:
    """Whoever knows a client id can use up its failures; the application itself, renewing its token as
    Kibo's auth SDK does (the secret and its live refresh token, grant client_credentials), still gets
    through. A made-up or spent refresh token vouches for nothing, and a vouched request with a wrong
    secret is still refused."""
    first = ok(await oauth(client, "198.51.100.40", *STOREFRONT))
    for i in range(3):
        assert_error(await oauth(client, f"198.51.100.{41 + i}", STOREFRONT[0], f"guess {i:020}"), 401, "UNAUTHORIZED")
    assert_limited(await oauth(client, "198.51.100.50", *STOREFRONT), "for this client")

    async def renew(address: str, secret: str, refresh_token: str) -> httpx.Response:
        return await client.post(OAUTH, headers={"X-Forwarded-For": address}, json={
            "client_id": STOREFRONT[0], "client_secret": secret, "grant_type": "client_credentials",
            "refresh_token": refresh_token})

    assert_limited(await renew("198.51.100.51", STOREFRONT[1], "0" * 32), "for this client")
    assert_limited(await renew("198.51.100.52", "guess 9 0123456789", "0" * 32), "for this client")
    assert_error(await renew("198.51.100.53", "guess 9 0123456789", first["refresh_token"]), 401, "UNAUTHORIZED")
    renewed = ok(await renew("198.51.100.54", STOREFRONT[1], first["refresh_token"].upper()))
    assert renewed["access_token"] != first["access_token"]
    # the refresh token of another application vouches for nothing
    admin = ok(await oauth(client, "198.51.100.55", "admin.app", "admin-secret-0123456789abcdef"))
    assert_limited(await renew("198.51.100.56", STOREFRONT[1], admin["refresh_token"]), "for this client")
    # a refresh token used up (by the refresh_token grant) vouches no more
    ok(await client.post(OAUTH, headers={"X-Forwarded-For": "198.51.100.57"}, json={
        "grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]}))
    assert_limited(await renew("198.51.100.58", STOREFRONT[1], renewed["refresh_token"]), "for this client")


async def test_successes_do_not_use_up_the_client_id_bucket(client: httpx.AsyncClient) -> None:
    for i in range(8):  # more than the per-client capacity (3), each from its own address
        ok(await oauth(client, f"203.0.113.{i}", *STOREFRONT))


async def test_an_unknown_client_id_is_answered_exactly_like_a_known_one(client: httpx.AsyncClient) -> None:
    async def story(client_id: str, first: int) -> list[tuple[int, dict[str, Any], str | None]]:
        out = []
        for i in range(5):
            r = await oauth(client, f"192.0.2.{first + i}", client_id, f"wrong secret {i:012}")
            out.append((r.status_code, {k: v for k, v in r.json().items()}, r.headers.get("Retry-After")))
        return out

    known, unknown = await story(STOREFRONT[0], 0), await story("no-such.app", 100)
    assert [s for s, _, _ in known] == [401, 401, 401, 429, 429]
    assert known == unknown


async def test_the_limits_can_be_switched_off(core: Any, client: httpx.AsyncClient) -> None:
    core.settings.app_auth_per_address = None
    core.settings.app_auth_per_client = None
    for i in range(10):
        assert_error(await oauth(client, "198.51.100.1", STOREFRONT[0], f"guess {i:020}"), 401, "UNAUTHORIZED")
    ok(await oauth(client, "198.51.100.1", *STOREFRONT))

"""Kibo's user claims in the ticket JWT (KIBO_COMPAT section 8), beside ours: Kibo's storefront decodes
`jwtAccessToken` after a login and reads `payload["https://www.kibocommerce.com/user_claims"].bv`."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import anonymous, anonymous_id, decode_jwt, login, ok, refresh, register
from tests.conftest import TENANT

pytestmark = pytest.mark.usefixtures("seeded")

KIBO = "https://www.kibocommerce.com/user_claims"
EMAIL = "kibo.claims@example.com"


async def test_an_anonymous_ticket_carries_kibo_claims_without_an_account(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await anonymous(client, app_headers)
    _, claims = await decode_jwt(client, t["jwtAccessToken"])
    kibo = claims[KIBO]
    assert set(kibo) == {"rnd", "anon", "uid", "bv", "env", "exp", "st", "b"}
    assert (kibo["anon"], kibo["uid"], kibo["bv"], kibo["st"]) == ("1", anonymous_id(t), [], "Shopper")
    assert kibo["exp"] == claims["exp"]
    assert kibo["b"] == {"TenantId": TENANT, "SiteId": 200}  # no AccountId: nobody is signed in
    assert isinstance(kibo["rnd"], str) and kibo["rnd"]
    # stays an anonymous visitor's across a refresh
    _, again = await decode_jwt(client, ok(await refresh(client, app_headers, t["refreshToken"]))["jwtAccessToken"])
    assert again[KIBO]["uid"] == kibo["uid"] and again[KIBO]["anon"] == "1"


async def test_a_registered_shoppers_ticket_names_the_account(client: httpx.AsyncClient,
                                                              app_headers: dict[str, str]) -> None:
    registered = await register(client, app_headers, EMAIL)
    for t in (registered, ok(await login(client, app_headers, EMAIL)),
              ok(await refresh(client, app_headers, registered["refreshToken"]))):
        _, claims = await decode_jwt(client, t["jwtAccessToken"])
        kibo = claims[KIBO]
        assert (kibo["anon"], kibo["uid"], kibo["bv"], kibo["st"]) == ("0", registered["userId"], [], "Shopper")
        assert kibo["b"] == {"TenantId": TENANT, "SiteId": 200, "AccountId": registered["customerAccount"]["id"]}
        assert kibo["exp"] == claims["exp"]

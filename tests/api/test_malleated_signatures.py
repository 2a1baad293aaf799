"""ES256 signatures are malleable: for a valid (r, s), (r, n - s) is valid too, so anyone holding a
token can make a second spelling of it that verifies (issue 13b). A verifier that remembers tokens
by their text (a replay list, our verified-token cache, a relying party's deny list) would take it
for another token. Ticketbooth accepts only the low-S form (s <= n/2, as Bitcoin and Ethereum do)
and its signer always emits that form, so its own tokens always verify."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.api.support import ANONYMOUS, CURRENT, assert_error, ok, register
from tests.conftest import SITE, TENANT, app_token, headers
from ticketbooth.infra.signing import P256_ORDER

pytestmark = pytest.mark.usefixtures("seeded")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s_of(token: str) -> int:
    return int.from_bytes(_b64decode(token.rsplit(".", 1)[1])[32:], "big")


def malleated(token: str) -> str:
    """The same token with its signature's s replaced by n - s: still a valid ECDSA signature."""
    head, signature = token.rsplit(".", 1)
    raw = _b64decode(signature)
    s = int.from_bytes(raw[32:], "big")
    return f"{head}.{_b64encode(raw[:32] + (P256_ORDER - s).to_bytes(32, 'big'))}"


async def test_a_malleated_app_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await app_token(client)
    assert s_of(token) <= P256_ORDER // 2  # our signer emits low S
    ok(await client.get(f"/api/platform/tenants/{TENANT}", headers=headers(token)))
    twin = malleated(token)
    assert twin != token
    assert_error(await client.get(f"/api/platform/tenants/{TENANT}", headers=headers(twin)), 401)


async def test_a_malleated_ticket_jwt_is_refused(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    ticket = await register(client, app_headers, "malleable@example.com")
    jwt_token = ticket["jwtAccessToken"]
    assert s_of(jwt_token) <= P256_ORDER // 2
    ok(await client.get(CURRENT, headers={"Authorization": f"Bearer {jwt_token}", "x-vol-tenant": str(TENANT),
                                          "x-vol-site": str(SITE)}))
    r = await client.get(CURRENT, headers={"Authorization": f"Bearer {malleated(jwt_token)}",
                                           "x-vol-tenant": str(TENANT), "x-vol-site": str(SITE)})
    assert_error(r, 401)
    # and as x-vol-user-claims next to an app token
    ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": jwt_token}))
    assert_error(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": malleated(jwt_token)}), 401)


async def test_every_token_issued_verifies(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    # a signer that left half its signatures high-S would now fail about every other token
    for _ in range(40):
        ticket = ok(await client.get(ANONYMOUS, headers=app_headers))
        assert s_of(ticket["jwtAccessToken"]) <= P256_ORDER // 2

"""What a shopper is shown of their own account: never the merchant's notes or attributes other than
ShopperEntered ones, wherever the account appears; an admin application sees everything."""

from __future__ import annotations

import httpx
import pytest

from tests.api.parts_support import ACCOUNTS, admin_headers, define, part, shopper
from tests.api.support import CURRENT, REFRESH, login, ok

pytestmark = pytest.mark.usefixtures("seeded")


async def test_notes_and_merchant_attributes_stay_with_the_merchant(client: httpx.AsyncClient,
                                                                   app_headers: dict[str, str]) -> None:
    admin = await admin_headers(client)
    nina = await shopper(client, app_headers, "nina@example.com")
    await define(client, admin, "nickname")
    await define(client, admin, "credit-risk", valueType="AdminEntered")
    ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": "Pays late"}))
    for fqn, value in (("tenant~nickname", "Nini"), ("tenant~credit-risk", "high")):
        ok(await client.post(part(nina.account_id, "attributes"), headers=admin,
                             json={"fullyQualifiedName": fqn, "values": [value]}))

    whole = ok(await client.get(f"{ACCOUNTS}/{nina.account_id}", headers=admin))
    assert [n["content"] for n in whole["notes"]] == ["Pays late"]
    assert sorted(a["fullyQualifiedName"] for a in whole["attributes"]) == ["tenant~credit-risk", "tenant~nickname"]

    ticket = ok(await login(client, app_headers, "nina@example.com"))
    refreshed = ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": ticket["refreshToken"]}))
    own = {**app_headers, "x-vol-user-claims": refreshed["accessToken"]}
    seen = [ticket["customerAccount"], refreshed["customerAccount"], ok(await client.get(CURRENT, headers=own)),
            ok(await client.get(f"{ACCOUNTS}/{nina.account_id}", headers=own)),
            ok(await client.put(f"{ACCOUNTS}/{nina.account_id}", headers=own, json={"firstName": "Nina"}))]
    for account in seen:
        assert account["notes"] == []
        assert [(a["fullyQualifiedName"], a["values"]) for a in account["attributes"]] == [("tenant~nickname", ["Nini"])]
    # and the merchant's note is still there
    assert len(ok(await client.get(f"{ACCOUNTS}/{nina.account_id}", headers=admin))["notes"]) == 1

"""b2b-more's operations seen by B2B users with real tickets: role changes at the next refresh, status actions and
their sessions and logins, the hierarchy below a user's account, attribute values by behavior, and an upgraded
shopper's B2B login."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.b2b_more_support import B2B, ROLES, create_role
from tests.api.b2b_support import ADMIN_ROLE, PURCHASER_ROLE, add_account, user_in
from tests.api.parts_support import define
from tests.api.support import CURRENT, assert_error, decode_jwt, login, ok, refresh, register
from tests.conftest import PASSWORD
from ticketbooth.domain.behaviors import decode_behaviors

pytestmark = pytest.mark.usefixtures("seeded")
KIBO = "https://www.kibocommerce.com/user_claims"


async def _behaviors(client: httpx.AsyncClient, ticket: dict[str, Any]) -> set[int]:
    _, claims = await decode_jwt(client, ticket["jwtAccessToken"])
    found: set[int] = decode_behaviors(claims[KIBO]["bv"])
    return found


async def test_role_changes_show_at_the_next_refresh(client: httpx.AsyncClient, admin: dict[str, str],
                                                     app_headers: dict[str, str]) -> None:
    acme = (await add_account(client, admin, "Acme"))["id"]
    role = await create_role(client, admin, "Approver", [1000, 1001], [acme])
    user = await user_in(client, admin, app_headers, acme, "approver@acme.example", (role["id"],))
    assert await _behaviors(client, user.ticket) == {1000, 1001}
    ok(await client.put(f"{ROLES}/{role['id']}", headers=admin, json={
        "name": "Approver", "behaviors": [1000, 1010], "accountIds": [acme]}))
    t = ok(await refresh(client, app_headers, user.ticket["refreshToken"]))
    assert await _behaviors(client, t) == {1000, 1010}
    assert (await client.delete(f"{ROLES}/{role['id']}", headers=admin)).status_code == 204
    t = ok(await refresh(client, app_headers, t["refreshToken"]))
    assert await _behaviors(client, t) == set()


async def test_status_actions_and_the_users_logins(client: httpx.AsyncClient, admin: dict[str, str],
                                                   app_headers: dict[str, str]) -> None:
    acme = (await add_account(client, admin, "Acme"))["id"]
    boss = await user_in(client, admin, app_headers, acme, "boss@acme.example", (ADMIN_ROLE,))
    wrong = await login(client, app_headers, "boss@acme.example", "Not-The-Password-1", accountId=acme)
    assert wrong.status_code == 401
    ok(await client.put(f"{B2B}/{acme}/status/disable", headers=admin))
    assert_error(await refresh(client, app_headers, boss.ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await client.get(CURRENT, headers=boss.headers), 401, "INVALID_ACCESS_TOKEN")
    refused = await login(client, app_headers, "boss@acme.example", PASSWORD, accountId=acme)
    assert (refused.status_code, refused.json()) == (wrong.status_code, wrong.json())  # as a wrong password
    ok(await client.put(f"{B2B}/{acme}/status/enable", headers=admin))
    assert ok(await login(client, app_headers, "boss@acme.example", PASSWORD, accountId=acme))["customerAccount"][
        "id"] == acme
    # a user cannot change their own account's status, whatever their roles
    boss = await user_in(client, admin, app_headers, acme, "boss2@acme.example", (ADMIN_ROLE,))
    assert_error(await client.put(f"{B2B}/{acme}/status/approve", headers=boss.headers), 403, "FORBIDDEN")
    assert_error(await client.post(f"{B2B}/{acme}/salesrep/me", headers=boss.headers), 403, "FORBIDDEN")


async def test_users_see_the_hierarchy_below_their_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                           app_headers: dict[str, str]) -> None:
    acme = (await add_account(client, admin, "Acme"))["id"]
    north = (await add_account(client, admin, "Acme North", parentAccountId=acme))["id"]
    east = (await add_account(client, admin, "Acme North East", parentAccountId=north))["id"]
    south = (await add_account(client, admin, "Acme South", parentAccountId=acme))["id"]
    ok(await client.post(f"/api/commerce/customer/accounts/{north}/notes", headers=admin, json={"content": "merchant only"}))
    boss = await user_in(client, admin, app_headers, north, "boss@north.example", (ADMIN_ROLE,))
    buyer = await user_in(client, admin, app_headers, north, "buyer@north.example", (PURCHASER_ROLE,))
    for asked in (north, east):
        seen = ok(await client.get(f"{B2B}/{asked}/hierarchy", headers=boss.headers))
        assert [a["id"] for a in seen["accounts"]] == [north, east]
        assert seen["hierarchy"] == {"id": north, "children": [{"id": east, "children": []}]}
        assert all(a["notes"] == [] for a in seen["accounts"])  # the shopper's view of each account
    for other in (acme, south):  # above or beside their account: never
        assert_error(await client.get(f"{B2B}/{other}/hierarchy", headers=boss.headers), 403, "FORBIDDEN")
    assert_error(await client.get(f"{B2B}/{north}/hierarchy", headers=buyer.headers), 403, "FORBIDDEN")  # no 1010
    assert_error(await client.post(f"{B2B}/{east}/changeparent/{south}", headers=boss.headers), 403, "FORBIDDEN")
    merchant = ok(await client.get(f"{B2B}/{east}/hierarchy", headers=admin))
    assert [a["id"] for a in merchant["accounts"]] == [acme, north, south, east]


async def test_attribute_values_by_behavior(client: httpx.AsyncClient, admin: dict[str, str],
                                            app_headers: dict[str, str]) -> None:
    await define(client, admin, "Industry")
    await define(client, admin, "Credit-Tier", valueType="AdminEntered")
    await define(client, admin, "Region", isReadOnly=True)
    acme = (await add_account(client, admin, "Acme"))["id"]
    globex = (await add_account(client, admin, "Globex"))["id"]
    for fqn, value in (("credit-tier", "A"), ("region", "EU"), ("industry", "Tools")):
        ok(await client.put(f"{B2B}/{acme}/attributes/{fqn}", headers=admin, json={"values": [value]}))
    role = await create_role(client, admin, "Attribute keeper", [1004], [acme])
    keeper = await user_in(client, admin, app_headers, acme, "keeper@acme.example", (role["id"],))
    buyer = await user_in(client, admin, app_headers, acme, "buyer@acme.example", (PURCHASER_ROLE,))
    url = f"{B2B}/{acme}/attributes"
    for user in (keeper, buyer):  # members read the ShopperEntered values only
        listed = ok(await client.get(url, headers=user.headers))
        assert sorted(a["fullyQualifiedName"] for a in listed["items"]) == ["tenant~Industry", "tenant~Region"]
        assert ok(await client.get(f"{url}/industry", headers=user.headers))["values"] == ["Tools"]
        assert_error(await client.get(f"{url}/credit-tier", headers=user.headers), 403, "FORBIDDEN")
        assert_error(await client.get(f"{B2B}/{globex}/attributes", headers=user.headers), 403, "FORBIDDEN")
    # 1004 sets what a shopper may set; the merchant's and read-only attributes stay the merchant's
    assert ok(await client.put(f"{url}/industry", headers=keeper.headers, json={"values": ["Food"]}))["values"] == ["Food"]
    for fqn in ("credit-tier", "region"):
        assert_error(await client.put(f"{url}/{fqn}", headers=keeper.headers, json={"values": ["x"]}), 403)
        assert_error(await client.delete(f"{url}/{fqn}", headers=keeper.headers), 403, "FORBIDDEN")
    assert_error(await client.put(f"{url}/industry", headers=buyer.headers, json={"values": ["x"]}), 403, "FORBIDDEN")
    assert_error(await client.delete(f"{url}/industry", headers=buyer.headers), 403, "FORBIDDEN")
    assert (await client.delete(f"{url}/industry", headers=keeper.headers)).status_code == 204
    assert sorted(a["fullyQualifiedName"] for a in ok(await client.get(url, headers=admin))["items"]) == [
        "tenant~Credit-Tier", "tenant~Region"]


async def test_an_upgraded_shopper_logs_in_to_their_b2b_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                                 app_headers: dict[str, str]) -> None:
    ticket = await register(client, app_headers, "nina@example.com", companyOrOrganization="Nina's Bakery")
    account_id, user_id = ticket["customerAccount"]["id"], ticket["userId"]
    ok(await client.put(f"{B2B}/upgradeaccounts", headers=admin, json=[account_id]))
    b2b = ok(await login(client, app_headers, "nina@example.com"))
    assert (b2b["userId"], b2b["customerAccount"]["id"]) == (user_id, account_id)
    assert len(await _behaviors(client, b2b)) == 15  # the Admin role: every behavior
    users = ok(await client.get(f"{B2B}/{account_id}/users", headers=admin))["items"]
    assert [(u["userId"], u["emailAddress"], [r["roleId"] for r in u["roles"]]) for u in users] == [
        (user_id, "nina@example.com", [ADMIN_ROLE])]

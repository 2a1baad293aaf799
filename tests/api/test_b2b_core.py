"""B2B accounts over REST (B2BAccountApi's accounts): add, get, list with filter/sort/paging, update, and who
may do which (the merchant; a B2B user of the account with the behavior it takes; nobody else, 403 before
404). B2B users' own rows never appear in the customer accounts API."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_support import (
    ADMIN_ROLE,
    B2B,
    B2B_ACCOUNT_KEYS,
    B2B_USER_KEYS,
    PURCHASER_ROLE,
    add_account,
    add_user,
    row_id,
    user_in,
)
from tests.api.code_support import events
from tests.api.support import ACCOUNT_KEYS, CUSTOMER, assert_error, ok, register
from tests.conftest import PASSWORD
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")

ACCOUNTS = f"{CUSTOMER}/accounts"


async def test_the_merchant_adds_reads_and_changes_a_b2b_account(client: httpx.AsyncClient,
                                                                 admin: dict[str, str], core: Core) -> None:
    made = await add_account(client, admin, "Acme Corp", emailAddress="buying@acme.example", taxId="DE123",
                             priceList="wholesale", contacts=[{"firstName": "Ann", "email": "ann@acme.example"}],
                             notes=[{"content": "met at the fair"}])
    assert set(made) == ACCOUNT_KEYS | B2B_ACCOUNT_KEYS
    assert made["accountType"] == "B2B" and made["approvalStatus"] == "Approved" and made["isActive"] is True
    assert made["parentAccountId"] is None and made["rootAccountId"] == made["id"]
    assert made["priceList"] == "wholesale" and made["users"] == [] and made["salesReps"] == []
    assert made["contacts"][0]["firstName"] == "Ann" and made["notes"][0]["content"] == "met at the fair"
    got = ok(await client.get(f"{B2B}/{made['id']}", headers=admin))
    assert got == made
    changed = ok(await client.put(f"{B2B}/{made['id']}", headers=admin,
                                  json={"companyOrOrganization": "Acme Inc", "priceList": "gold", "taxExempt": True}))
    assert (changed["companyOrOrganization"], changed["priceList"], changed["taxExempt"]) == ("Acme Inc", "gold", True)
    assert changed["taxId"] == "DE123"  # absent: kept
    assert "b2b.account-updated" in await events(core, made["id"])
    assert "b2b.account-created" in await events(core, made["id"])


async def test_a_new_account_is_pending_approval_unless_the_merchant_says_so(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str]) -> None:
    assert (await add_account(client, admin, approved=False))["approvalStatus"] == "PendingApproval"
    bad = await client.post(B2B, headers=admin, json={"approvalStatus": "Sure"})
    assert_error(bad, 400, "MISSING_OR_INVALID_PARAMETER", "approvalStatus")
    # a storefront's request (Kibo's "request a B2B account"): pending whatever it says, its user the Admin
    asked = ok(await client.post(B2B, headers=app_headers, json={
        "companyOrOrganization": "Newco", "approvalStatus": "Approved",
        "users": [{"emailAddress": "boss@newco.example", "firstName": "Bo"}]}))
    assert asked["approvalStatus"] == "PendingApproval"
    assert [(u["emailAddress"], [r["roleId"] for r in u["roles"]]) for u in asked["users"]] == [
        ("boss@newco.example", [ADMIN_ROLE])]
    assert set(asked["users"][0]) == B2B_USER_KEYS
    assert asked["notes"] == []
    for field, value in (("priceList", "gold"), ("parentAccountId", asked["id"]),
                         ("salesReps", [{"adminUserId": "rep1"}])):
        assert_error(await client.post(B2B, headers=app_headers, json={field: value}), 403, "FORBIDDEN")


async def test_a_child_account_takes_its_root_and_depth(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    top = await add_account(client, admin, "Head office")
    branch = await add_account(client, admin, "Branch", parentAccountId=top["id"])
    leaf = await add_account(client, admin, "Shop", parentAccountId=branch["id"])
    assert (leaf["parentAccountId"], leaf["rootAccountId"]) == (branch["id"], top["id"])
    assert_error(await client.post(B2B, headers=admin, json={"parentAccountId": 999999}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "parentAccountId")


async def test_the_list_filters_sorts_and_pages(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for name in ("Cedar", "Alder", "Birch"):
        await add_account(client, admin, name)
    await add_account(client, admin, "Pending Ltd", approved=False)
    await register(client, admin, "retail@example.com")  # a B2C account: not listed here
    page = ok(await client.get(B2B, headers=admin, params={"sortBy": "companyOrOrganization asc", "pageSize": 2}))
    assert (page["totalCount"], page["pageCount"], page["pageSize"]) == (4, 2, 2)
    assert [a["companyOrOrganization"] for a in page["items"]] == ["Alder", "Birch"]
    pending = ok(await client.get(B2B, headers=admin, params={"filter": "approvalStatus eq 'PendingApproval'"}))
    assert [a["companyOrOrganization"] for a in pending["items"]] == ["Pending Ltd"]
    fields = ok(await client.get(B2B, headers=admin, params={"responseFields": "totalCount,items(id)"}))
    assert set(fields) == {"totalCount", "items"} and set(fields["items"][0]) == {"id"}
    assert_error(await client.get(B2B, headers=admin, params={"filter": "nonsense eq 1"}), 400,
                 "MISSING_OR_INVALID_PARAMETER")


async def test_who_may_read_and_change(client: httpx.AsyncClient, admin: dict[str, str],
                                       app_headers: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    other = await add_account(client, admin, "Other")
    boss = await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    buyer = await user_in(client, admin, app_headers, acme["id"], "buyer@acme.example", (PURCHASER_ROLE,))
    # a user reads their account (without the merchant's notes); the merchant's fields are not theirs to change
    seen = ok(await client.get(f"{B2B}/{acme['id']}", headers=buyer.headers))
    assert seen["id"] == acme["id"] and seen["notes"] == []
    assert_error(await client.put(f"{B2B}/{acme['id']}", headers=buyer.headers, json={"taxId": "X"}), 403, "FORBIDDEN")
    changed = ok(await client.put(f"{B2B}/{acme['id']}", headers=boss.headers, json={"taxId": "X"}))
    assert changed["taxId"] == "X"
    for body in ({"priceList": "free"}, {"isActive": False}):
        assert_error(await client.put(f"{B2B}/{acme['id']}", headers=boss.headers, json=body), 403, "FORBIDDEN")
    # another account, and one that does not exist: the same 403 (403 before 404)
    for target in (other["id"], 987654):
        for r in (await client.get(f"{B2B}/{target}", headers=boss.headers),
                  await client.put(f"{B2B}/{target}", headers=boss.headers, json={"taxId": "Y"})):
            assert_error(r, 403, "FORBIDDEN")
    assert_error(await client.get(f"{B2B}/987654", headers=admin), 404, "ITEM_NOT_FOUND")
    # a B2C shopper and the bare storefront application: nothing
    shopper = await register(client, app_headers, "retail@example.com")
    for hdrs in ({**app_headers, "x-vol-user-claims": shopper["accessToken"]}, app_headers):
        assert_error(await client.get(f"{B2B}/{acme['id']}", headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.get(B2B, headers=hdrs), 403, "FORBIDDEN")
    # a user lists their own account only
    listed = ok(await client.get(B2B, headers=boss.headers))
    assert [a["id"] for a in listed["items"]] == [acme["id"]]
    assert listed["items"][0]["priority"] is None


async def test_a_user_of_a_parent_sees_child_accounts_with_1010(client: httpx.AsyncClient, admin: dict[str, str],
                                                                 app_headers: dict[str, str]) -> None:
    top = await add_account(client, admin, "Head office")
    branch = await add_account(client, admin, "Branch", parentAccountId=top["id"])
    sibling = await add_account(client, admin, "Elsewhere")
    boss = await user_in(client, admin, app_headers, top["id"], "boss@head.example", (ADMIN_ROLE,))
    buyer = await user_in(client, admin, app_headers, top["id"], "buyer@head.example", (PURCHASER_ROLE,))
    assert ok(await client.get(f"{B2B}/{branch['id']}", headers=boss.headers))["id"] == branch["id"]
    assert_error(await client.get(f"{B2B}/{branch['id']}", headers=buyer.headers), 403, "FORBIDDEN")
    assert_error(await client.get(f"{B2B}/{sibling['id']}", headers=boss.headers), 403, "FORBIDDEN")
    assert sorted(a["id"] for a in ok(await client.get(B2B, headers=boss.headers))["items"]) == [top["id"], branch["id"]]
    assert [a["id"] for a in ok(await client.get(B2B, headers=buyer.headers))["items"]] == [top["id"]]
    # and a user of the branch sees nothing above it
    local = await user_in(client, admin, app_headers, branch["id"], "local@branch.example", (ADMIN_ROLE,))
    assert_error(await client.get(f"{B2B}/{top['id']}", headers=local.headers), 403, "FORBIDDEN")


async def test_b2b_users_are_no_customer_accounts(client: httpx.AsyncClient, admin: dict[str, str],
                                                  app_headers: dict[str, str], core: Core) -> None:
    acme = await add_account(client, admin, "Acme")
    user = ok(await add_user(client, admin, acme["id"], "user@acme.example"))
    listed = ok(await client.get(ACCOUNTS, headers=admin, params={"pageSize": 200}))
    assert all(a["accountType"] != "B2BUser" for a in listed["items"])
    assert ok(await client.get(ACCOUNTS, headers=admin, params={"filter": "userId eq " + user["userId"]}))[
        "totalCount"] == 0
    row = await row_id(core, "user@acme.example")
    for r in (await client.get(f"{ACCOUNTS}/{row}", headers=admin),
              await client.put(f"{ACCOUNTS}/{row}", headers=admin, json={"firstName": "X"}),
              await client.delete(f"{ACCOUNTS}/{row}", headers=admin),
              await client.get(f"{ACCOUNTS}/{row}/contacts", headers=admin)):
        assert_error(r, 404, "ITEM_NOT_FOUND")
    # nor may a shopper make their own account a B2B user's login through the customer API
    shopper = await register(client, app_headers, "retail@example.com")
    mine = {**app_headers, "x-vol-user-claims": shopper["accessToken"]}
    for kind in ("B2BUser", "b2buser "):
        r = await client.put(f"{ACCOUNTS}/{shopper['customerAccount']['id']}", headers=mine, json={"accountType": kind})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "accountType")
        r = await client.post(f"{CUSTOMER}/accounts/Add-Account-And-Login", headers=app_headers, json={
            "account": {"emailAddress": f"{kind.strip()}@example.com", "accountType": kind}, "password": PASSWORD})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "accountType")



async def test_deleting_a_b2b_account_with_children_is_a_conflict(client: httpx.AsyncClient,
                                                                  admin: dict[str, str]) -> None:
    top = await add_account(client, admin, "Head office")
    branch = await add_account(client, admin, "Branch", parentAccountId=top["id"])
    assert_error(await client.delete(f"{ACCOUNTS}/{top['id']}", headers=admin), 409, "VALIDATION_CONFLICT")
    assert ok(await client.get(f"{B2B}/{top['id']}", headers=admin))["id"] == top["id"]
    assert (await client.delete(f"{ACCOUNTS}/{branch['id']}", headers=admin)).status_code == 204
    assert (await client.delete(f"{ACCOUNTS}/{top['id']}", headers=admin)).status_code == 204
    assert_error(await client.get(f"{B2B}/{top['id']}", headers=admin), 404, "ITEM_NOT_FOUND")

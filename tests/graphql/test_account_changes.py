"""GraphQL's account changes over HTTP, on both databases: adding accounts with logins
(`createCustomerAccounts`), changing an account (`updateCustomerAccount`) and deleting one
(`deleteCustomerAccount`), with every refusal their REST twins have; a refused change changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import login, ok, register
from tests.conftest import PASSWORD
from tests.graphql.support import data, gql, refused, storefront

pytestmark = pytest.mark.usefixtures("seeded")

ACCOUNTS = "/api/commerce/customer/accounts"
BULK = ("mutation b($input: CustomerAccountAndAuthInfoInput) { createCustomerAccounts("
        "customerAccountAndAuthInfoInput: $input) { startIndex pageSize pageCount totalCount "
        "items { id userId emailAddress userName firstName isActive } } }")
UPDATE = ("mutation u($id: Int!, $input: CustomerAccountInput) { updateCustomerAccount(accountId: $id, "
          "customerAccountInput: $input) { id emailAddress firstName lastName isActive acceptsMarketing } }")
DELETE = "mutation d($id: Int!) { deleteCustomerAccount(accountId: $id) }"


def _entry(email: str, password: str | None = PASSWORD, **account: Any) -> dict[str, Any]:
    return {"input": {"account": {"id": 0, "emailAddress": email, "userName": email, **account},
                      "password": password, "isImport": False}}


async def _account(client: httpx.AsyncClient, admin: dict[str, str], account_id: int) -> dict[str, Any]:
    return ok(await client.get(f"{ACCOUNTS}/{account_id}", headers=admin))


# -- createCustomerAccounts --------------------------------------------------------------------------

async def test_an_admin_adds_an_account_with_its_login(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                       admin: dict[str, str]) -> None:
    page = data(await gql(client, admin, BULK, _entry("bulk.one@example.com", firstName="Bea")))["createCustomerAccounts"]
    assert (page["startIndex"], page["pageSize"], page["pageCount"], page["totalCount"]) == (0, 1, 1, 1)
    (account,) = page["items"]
    assert (account["emailAddress"], account["firstName"], account["isActive"]) == ("bulk.one@example.com", "Bea", True)
    assert account["id"] > 0 and account["userId"]
    # the login works, and the account is the one REST reads
    assert ok(await login(client, app_headers, "bulk.one@example.com"))["customerAccount"]["id"] == account["id"]
    assert (await _account(client, admin, account["id"]))["userId"] == account["userId"]


async def test_adding_accounts_needs_an_admin_and_good_input(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             admin: dict[str, str]) -> None:
    shopper = ok(await client.post(f"{ACCOUNTS}/Add-Account-And-Login", headers=app_headers,
                                   json={"account": {"emailAddress": "taken@example.com"}, "password": PASSWORD}))
    entry = _entry("bulk.two@example.com")
    # no application credential, the storefront app, a shopper's JWT as Bearer, its ticket with the app
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, BULK, entry), 401, "UNAUTHORIZED",
            "createCustomerAccounts")
    refused(await gql(client, storefront(app_headers), BULK, entry), 403, "FORBIDDEN", "createCustomerAccounts")
    refused(await gql(client, {"Authorization": f"Bearer {shopper['jwtAccessToken']}"}, BULK, entry), 403,
            "FORBIDDEN", "createCustomerAccounts")
    refused(await gql(client, storefront(app_headers, shopper["accessToken"]), BULK, entry), 403, "FORBIDDEN",
            "createCustomerAccounts")
    # bad input: a taken email, a weak password, no account, a malformed field; nothing is added
    refused(await gql(client, admin, BULK, _entry("taken@example.com")), 409, "VALIDATION_CONFLICT",
            "createCustomerAccounts")
    weak = refused(await gql(client, admin, BULK, _entry("bulk.two@example.com", "123")), 400,
                   "ADD_CUSTOMER_FAILED", "createCustomerAccounts")
    assert "123" not in weak["message"]
    missing = refused(await gql(client, admin, BULK, {"input": {"password": PASSWORD}}), 400,
                      "MISSING_OR_INVALID_PARAMETER", "createCustomerAccounts")
    assert missing["additionalErrorData"] == [{"name": "ParameterName", "value": "[0].account"}]
    refused(await gql(client, admin, BULK, _entry("bulk.two@example.com", firstName="x" * 5000)), 400,
            "MISSING_OR_INVALID_PARAMETER", "createCustomerAccounts")
    listed = ok(await client.get(ACCOUNTS, headers=admin, params={"filter": "emailAddress eq 'bulk.two@example.com'"}))
    assert listed["totalCount"] == 0
    # the GraphQL type itself: a list where one object goes is the library's validation error, not a 500
    typed = await gql(client, admin, BULK, {"input": [entry["input"]]})
    assert typed["errors"] and typed["data"] is None


# -- updateCustomerAccount ---------------------------------------------------------------------------

async def test_a_shopper_or_an_admin_changes_the_account(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                         admin: dict[str, str]) -> None:
    t = await register(client, app_headers, "changer@example.com", firstName="Cam")
    account_id = t["customerAccount"]["id"]
    me = storefront(app_headers, t["accessToken"])
    # the storefront sends the account it read back, changed
    mine = data(await gql(client, me, UPDATE, {"id": account_id, "input": {
        "id": account_id, "emailAddress": "changer@example.com", "firstName": "Camille", "lastName": "Ode",
        "acceptsMarketing": True, "isActive": True, "contacts": [], "notes": []}}))["updateCustomerAccount"]
    assert (mine["firstName"], mine["lastName"], mine["acceptsMarketing"]) == ("Camille", "Ode", True)
    # fields left out keep their value (Kibo's input defaults are not applied)
    after = data(await gql(client, me, UPDATE, {"id": account_id, "input": {"id": account_id, "lastName": "Odel"}}))
    assert after["updateCustomerAccount"] == {**mine, "lastName": "Odel"}
    # the shopper's JWT alone, and an admin application
    jwt = {"Authorization": f"Bearer {t['jwtAccessToken']}"}
    assert data(await gql(client, jwt, UPDATE, {"id": account_id, "input": {"id": account_id, "firstName": "Cami"}}))[
        "updateCustomerAccount"]["firstName"] == "Cami"
    by_admin = data(await gql(client, admin, UPDATE, {"id": account_id, "input": {"id": account_id, "isActive": False}}))
    assert by_admin["updateCustomerAccount"]["isActive"] is False
    stored = await _account(client, admin, account_id)
    assert (stored["firstName"], stored["lastName"], stored["isActive"]) == ("Cami", "Odel", False)


async def test_account_change_refusals_change_nothing(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                      admin: dict[str, str]) -> None:
    t = await register(client, app_headers, "keeper@example.com", firstName="Kit")
    other = await register(client, app_headers, "intruder@example.com")
    account_id = t["customerAccount"]["id"]
    change = {"id": account_id, "input": {"id": account_id, "firstName": "Changed"}}
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, UPDATE, change), 401, "UNAUTHORIZED",
            "updateCustomerAccount")
    # the app alone, another shopper (with the app, or by its JWT)
    refused(await gql(client, storefront(app_headers), UPDATE, change), 403, "FORBIDDEN", "updateCustomerAccount")
    refused(await gql(client, storefront(app_headers, other["accessToken"]), UPDATE, change), 403, "FORBIDDEN",
            "updateCustomerAccount")
    refused(await gql(client, {"Authorization": f"Bearer {other['jwtAccessToken']}"}, UPDATE, change), 403,
            "FORBIDDEN", "updateCustomerAccount")
    me = storefront(app_headers, t["accessToken"])
    # only an admin may deactivate; the id in the input must be the account's; the input is required
    refused(await gql(client, me, UPDATE, {"id": account_id, "input": {"id": account_id, "isActive": False,
                                                                      "firstName": "Changed"}}),
            403, "FORBIDDEN", "updateCustomerAccount")
    refused(await gql(client, me, UPDATE, {"id": account_id, "input": {"id": account_id + 1, "firstName": "Changed"}}),
            400, "MISSING_OR_INVALID_PARAMETER", "updateCustomerAccount")
    missing = refused(await gql(client, me, UPDATE, {"id": account_id}), 400, "MISSING_OR_INVALID_PARAMETER",
                      "updateCustomerAccount")
    assert missing["additionalErrorData"] == [{"name": "ParameterName", "value": "customerAccountInput"}]
    refused(await gql(client, me, UPDATE, {"id": account_id, "input": {"id": account_id, "firstName": "x" * 5000}}),
            400, "MISSING_OR_INVALID_PARAMETER", "updateCustomerAccount")
    refused(await gql(client, me, UPDATE, {"id": account_id, "input": {"id": account_id, "firstName": "a\x00b"}}),
            400, "MISSING_OR_INVALID_PARAMETER", "updateCustomerAccount")
    # another account's email: taken
    refused(await gql(client, me, UPDATE, {"id": account_id, "input": {"id": account_id,
                                                                      "emailAddress": "intruder@example.com"}}),
            409, "VALIDATION_CONFLICT", "updateCustomerAccount")
    stored = await _account(client, admin, account_id)
    assert (stored["firstName"], stored["emailAddress"], stored["isActive"]) == ("Kit", "keeper@example.com", True)


# -- deleteCustomerAccount ---------------------------------------------------------------------------

async def test_only_an_admin_deletes_an_account(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                admin: dict[str, str]) -> None:
    t = await register(client, app_headers, "leaving@example.com")
    account_id = t["customerAccount"]["id"]
    gone = {"id": account_id}
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, DELETE, gone), 401, "UNAUTHORIZED",
            "deleteCustomerAccount")
    refused(await gql(client, storefront(app_headers), DELETE, gone), 403, "FORBIDDEN", "deleteCustomerAccount")
    refused(await gql(client, storefront(app_headers, t["accessToken"]), DELETE, gone), 403, "FORBIDDEN",
            "deleteCustomerAccount")
    refused(await gql(client, {"Authorization": f"Bearer {t['jwtAccessToken']}"}, DELETE, gone), 403, "FORBIDDEN",
            "deleteCustomerAccount")
    assert (await _account(client, admin, account_id))["id"] == account_id  # still there

    assert data(await gql(client, admin, DELETE, gone)) == {"deleteCustomerAccount": True}
    assert (await client.get(f"{ACCOUNTS}/{account_id}", headers=admin)).status_code == 404
    assert (await login(client, app_headers, "leaving@example.com")).status_code == 401
    refused(await gql(client, admin, DELETE, gone), 404, "ITEM_NOT_FOUND", "deleteCustomerAccount")
    refused(await gql(client, admin, DELETE, {"id": 999_999}), 404, "ITEM_NOT_FOUND", "deleteCustomerAccount")

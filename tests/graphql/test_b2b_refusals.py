"""Attacks on the B2B GraphQL twins, each performed, on SQLite and PostgreSQL: a user granting what they do not
hold, a B2C shopper or a bare storefront application reaching B2B accounts, path values out of REST's
ranges, inputs REST requires left out, a removed user's live ticket, an update naming another account's id.
Each refusal is the REST twin's (status and envelope, compared where REST has the same call), and changes
nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.code_support import Mailbox
from tests.api.support import ok, register
from tests.graphql import b2b_support as docs
from tests.graphql.b2b_support import (
    ADMIN_ROLE,
    B2B,
    NON_PURCHASER_ROLE,
    PURCHASER_ROLE,
    Company,
    company,
    invited,
    log_in,
)
from tests.graphql.support import LOGIN, data, gql, refused, storefront

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
async def acme(client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str],
               mailbox: Mailbox) -> Company:
    return await company(client, admin, app_headers, mailbox)


def _errors(answer: dict[str, Any], field: str) -> dict[str, Any]:
    assert answer["data"] is None or answer["data"].get(field) is None, answer
    (error,) = answer["errors"]
    response: dict[str, Any] = error["extensions"]["response"]
    return response


async def _roles(client: httpx.AsyncClient, admin: dict[str, str], account_id: int, user_id: str) -> list[int]:
    found = ok(await client.get(f"{B2B}/{account_id}/user/{user_id}/roles", headers=admin))
    return sorted(r["roleId"] for r in found["items"])


async def test_a_user_never_grants_what_they_do_not_hold(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], acme: Company,
        mailbox: Mailbox) -> None:
    """A user manager (a merchant role with 1001 only) may manage users, but not give the Admin or Purchaser
    role (behaviors they lack), nor add a user with it."""
    role = ok(await client.post(f"{B2B}/roles", headers=admin, json={
        "name": "User manager", "behaviors": [1001], "accountIds": [acme.company]}))
    merchant = storefront(admin)
    mia = data(await gql(client, merchant, docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput":
                         docs.new_user("mia@example.com", "Mia", role["id"])}))["createCustomerB2bAccountUser"]
    await invited(client, storefront(app_headers), mailbox, "mia@example.com")
    mia_headers = storefront(app_headers, (await log_in(client, storefront(app_headers), "mia@example.com"))["accessToken"])

    for granted in (ADMIN_ROLE, PURCHASER_ROLE):
        answer = await gql(client, mia_headers, docs.ADD_ROLE, {"accountId": acme.company, "userId": acme.purchaser_id,
                                                               "roleId": granted})
        assert _errors(answer, "addRoleToCustomerB2bAccount")["status"] == 403, answer
        answer = await gql(client, mia_headers, docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput":
                           docs.new_user(f"new{granted}@example.com", "New", granted)})
        assert _errors(answer, "createCustomerB2bAccountUser")["status"] == 403, answer
    # not even to herself
    answer = await gql(client, mia_headers, docs.ADD_ROLE, {"accountId": acme.company, "userId": mia["userId"],
                                                           "roleId": ADMIN_ROLE})
    assert _errors(answer, "addRoleToCustomerB2bAccount")["status"] == 403, answer
    assert await _roles(client, admin, acme.company, acme.purchaser_id) == [PURCHASER_ROLE]
    assert await _roles(client, admin, acme.company, mia["userId"]) == [role["id"]]
    users = ok(await client.get(f"{B2B}/{acme.company}/users", headers=admin))
    assert {u["emailAddress"] for u in users["items"]} == {"acme.ada@example.com", "acme.pat@example.com",
                                                          "mia@example.com"}
    # what she holds she may give: her own role, to the purchaser
    assert data(await gql(client, mia_headers, docs.ADD_ROLE, {"accountId": acme.company,
                                                              "userId": acme.purchaser_id, "roleId": role["id"]}))
    assert await _roles(client, admin, acme.company, acme.purchaser_id) == sorted([PURCHASER_ROLE, role["id"]])


async def test_strangers_reach_no_b2b_account(client: httpx.AsyncClient, app_headers: dict[str, str],
                                              acme: Company) -> None:
    """A B2C shopper's ticket, and the storefront application alone, get 403 for every B2B operation of the
    company, as for an id that does not exist."""
    shopper = await register(client, app_headers, "b2c.shopper@example.com")
    for who in (storefront(app_headers, shopper["accessToken"]), storefront(app_headers)):
        for document, variables, field in (
                (docs.ACCOUNT, {"accountId": acme.company}, "b2bAccount"),
                (docs.ACCOUNT, {"accountId": 987654}, "b2bAccount"),
                (docs.USERS, {"b2bAccountId": acme.company}, "b2bAccountUsers"),
                (docs.USER_ROLES, {"accountId": acme.company, "userId": acme.admin_id}, "b2bAccountUserRoles"),
                (docs.HIERARCHY, {"accountId": acme.company}, "getB2BAccountHierarchy"),
                (docs.ATTRIBUTES, {"accountId": acme.company}, "b2bAccountAttributes"),
                (docs.UPDATE_ACCOUNT, {"accountId": acme.company, "b2BAccountInput": {
                    "id": acme.company, "companyOrOrganization": "Mine"}}, "updateCustomerB2bAccount"),
                (docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput": docs.new_user(
                    "mole@example.com", "Mole", ADMIN_ROLE)}, "createCustomerB2bAccountUser"),
                (docs.REMOVE_USER, {"accountId": acme.company, "userId": acme.admin_id}, "removeCustomerB2bAccountUser"),
                (docs.ADD_ROLE, {"accountId": acme.company, "userId": acme.purchaser_id, "roleId": ADMIN_ROLE},
                 "addRoleToCustomerB2bAccount"),
                (docs.DELETE_ROLE, {"accountId": acme.company, "userId": acme.admin_id, "roleId": ADMIN_ROLE},
                 "deleteB2bAccountRole"),
        ):
            refused(await gql(client, who, document, variables), 403, "FORBIDDEN", field)


async def test_path_values_and_missing_inputs_as_rest(client: httpx.AsyncClient, admin: dict[str, str],
                                                      acme: Company) -> None:
    """Values REST's path parameters refuse, and inputs REST requires as its body: the REST 400 naming them."""
    merchant = storefront(admin)
    for document, variables, field, named in (
            (docs.ACCOUNT, {"accountId": 0}, "b2bAccount", "accountId"),
            (docs.USER_ROLES, {"accountId": acme.company, "userId": "x" * 65}, "b2bAccountUserRoles", "userId"),
            (docs.ADD_ROLE, {"accountId": acme.company, "userId": acme.purchaser_id, "roleId": 0},
             "addRoleToCustomerB2bAccount", "roleId"),
            (docs.REMOVE_USER, {"accountId": acme.company, "userId": ""}, "removeCustomerB2bAccountUser", "userId"),
            (docs.UPDATE_ACCOUNT, {"accountId": acme.company}, "updateCustomerB2bAccount", "b2BAccountInput"),
            (docs.ADD_USER, {"accountId": acme.company}, "createCustomerB2bAccountUser", "b2BUserAndAuthInfoInput"),
            (docs.UPDATE_USER, {"accountId": acme.company, "userId": acme.admin_id}, "updateCustomerB2bAccountUser",
             "b2BUserInput"),
            (docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput": {}}, "createCustomerB2bAccountUser",
             "b2BUser"),
    ):
        body = refused(await gql(client, merchant, document, variables), 400, "MISSING_OR_INVALID_PARAMETER", field)
        assert named in body["message"], body
    # REST answers the same for the same values
    rest = await client.post(f"{B2B}/{acme.company}/user/{acme.purchaser_id}/roles/0", headers=admin)
    assert rest.status_code == 400
    users = ok(await client.get(f"{B2B}/{acme.company}/users", headers=admin))
    assert users["totalCount"] == 2


async def test_an_update_naming_another_accounts_id(client: httpx.AsyncClient, admin: dict[str, str],
                                                    acme: Company) -> None:
    """b2BAccountInput.id of another account: GraphQL answers as REST's PUT of the same body, and the other
    account is untouched."""
    body = {"id": acme.branch, "companyOrOrganization": "Swapped"}
    answer = await gql(client, acme.admin, docs.UPDATE_ACCOUNT, {"accountId": acme.company, "b2BAccountInput": body})
    rest = await client.put(f"{B2B}/{acme.company}", headers=admin, json=body)
    if rest.status_code == 200:
        assert data(answer)["updateCustomerB2bAccount"]["id"] == acme.company
    else:
        assert _errors(answer, "updateCustomerB2bAccount") == {"status": rest.status_code, "body": rest.json()}
    assert ok(await client.get(f"{B2B}/{acme.branch}", headers=admin))["companyOrOrganization"] == "acme North"


async def test_a_removed_users_ticket_ends(client: httpx.AsyncClient, admin: dict[str, str],
                                           app_headers: dict[str, str], acme: Company) -> None:
    """Removing a user over GraphQL ends their live session for the account: their ticket reads and changes
    nothing there any more, and its refresh is refused."""
    ticket = await log_in(client, storefront(app_headers), "acme.pat@example.com")
    pat = storefront(app_headers, ticket["accessToken"])
    assert data(await gql(client, pat, docs.ACCOUNT, {"accountId": acme.company}))["b2bAccount"]
    assert data(await gql(client, acme.admin, docs.REMOVE_USER, {"accountId": acme.company,
                                                                "userId": acme.purchaser_id}))
    answer = await gql(client, pat, docs.ACCOUNT, {"accountId": acme.company})
    assert _errors(answer, "b2bAccount")["status"] in (401, 403), answer
    answer = await gql(client, storefront(app_headers), docs.SWITCH, {"refreshToken": ticket["refreshToken"],
                                                                      "accountId": acme.company})
    assert _errors(answer, "refreshCustomerAuthTickets")["status"] == 401, answer
    # and the login is refused as a wrong password is
    answer = await gql(client, storefront(app_headers), LOGIN, {"loginInput": {
        "username": "acme.pat@example.com", "password": "a perfectly fine passphrase"}})
    assert _errors(answer, "account")["body"]["errorCode"] == "INVALID_CREDENTIALS"


async def test_a_purchaser_cannot_promote_themselves(client: httpx.AsyncClient, admin: dict[str, str],
                                                     acme: Company) -> None:
    for document, variables, field in (
            (docs.ADD_ROLE, {"accountId": acme.company, "userId": acme.purchaser_id, "roleId": ADMIN_ROLE},
             "addRoleToCustomerB2bAccount"),
            (docs.UPDATE_USER, {"accountId": acme.company, "userId": acme.purchaser_id, "b2BUserInput": {
                "roles": [{"roleId": ADMIN_ROLE}], "isActive": True}}, "updateCustomerB2bAccountUser"),
            (docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput": docs.new_user(
                "acme.pat@example.com", "Pat", ADMIN_ROLE)}, "createCustomerB2bAccountUser"),
    ):
        answer = await gql(client, acme.purchaser, document, variables)
        if answer.get("errors"):
            assert _errors(answer, field)["status"] == 403, answer
    assert await _roles(client, admin, acme.company, acme.purchaser_id) == [PURCHASER_ROLE]
    assert NON_PURCHASER_ROLE not in await _roles(client, admin, acme.company, acme.admin_id)


async def test_a_user_neither_disables_nor_reprices_their_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                                  acme: Company) -> None:
    """The admin user edits the account's profile (1000) but not isActive or priceList (the merchant's); Kibo's
    schema defaults isActive to false in B2BAccountInput, ours leaves it out, so an update without it keeps it."""
    for change in ({"isActive": False}, {"priceList": "wholesale"}):
        answer = await gql(client, acme.admin, docs.UPDATE_ACCOUNT, {"accountId": acme.company, "b2BAccountInput": {
            "id": acme.company, **change}})
        assert _errors(answer, "updateCustomerB2bAccount")["status"] == 403, answer
    kept = data(await gql(client, acme.admin, docs.UPDATE_ACCOUNT, {"accountId": acme.company, "b2BAccountInput": {
        "id": acme.company, "taxId": "T-1"}}))["updateCustomerB2bAccount"]
    assert kept["taxId"] == "T-1"
    found = ok(await client.get(f"{B2B}/{acme.company}", headers=admin))
    assert (found["isActive"], found["priceList"], found["taxId"]) == (True, None, "T-1")

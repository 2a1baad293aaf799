"""B2B accounts over GraphQL (issue 16), on SQLite and PostgreSQL: every twin the B2B storefront uses
(b2b/graphql.py) answers what its REST twin answers (the same wire shape, compared with the REST read of the
same thing), with every refusal the REST twin has: a merchant application manages everything, a B2B user
what their behaviors in the account allow, nobody an account they do not belong to (403 before 404, so ids
cannot be probed), and a refused change changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.api.code_support import Mailbox
from tests.api.parts_support import define
from tests.api.support import ok
from tests.conftest import PASSWORD
from tests.graphql import b2b_support as docs
from tests.graphql.b2b_support import (
    ADMIN_ROLE,
    ALL,
    B2B,
    NON_PURCHASER_ROLE,
    PURCHASER,
    PURCHASER_ROLE,
    Company,
    behaviors_of,
    claims_of,
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


# -- accounts ----------------------------------------------------------------------------------------------

async def test_accounts_answer_as_rest(client: httpx.AsyncClient, admin: dict[str, str], acme: Company) -> None:
    merchant = storefront(admin)
    one = data(await gql(client, merchant, docs.ACCOUNT_FULL, {"accountId": acme.company}))["b2bAccount"]
    rest = ok(await client.get(f"{B2B}/{acme.company}", headers=admin))
    for key in ("id", "accountType", "approvalStatus", "isActive", "parentAccountId", "rootAccountId",
                "companyOrOrganization", "taxId", "customerSet"):
        assert one[key] == rest[key], key
    assert (one["approvalStatus"], one["isActive"], one["accountType"]) == ("Approved", True, "B2B")
    assert {u["userId"] for u in one["users"]} == {acme.admin_id, acme.purchaser_id}

    page = data(await gql(client, merchant, docs.ACCOUNTS, {"filter": "companyOrOrganization sw 'acme'",
                                                           "sortBy": "id asc", "pageSize": 1}))["b2bAccounts"]
    rest_page = ok(await client.get(B2B, headers=admin, params={"filter": "companyOrOrganization sw 'acme'",
                                                                "sortBy": "id asc", "pageSize": 1}))
    assert (page["totalCount"], page["pageSize"], page["pageCount"]) == (2, 1, 2)
    assert [a["id"] for a in page["items"]] == [a["id"] for a in rest_page["items"]] == [acme.company]

    # the admin user sees their own account; a purchaser may read it too, but not change it
    assert data(await gql(client, acme.admin, docs.ACCOUNT, {"accountId": acme.company}))["b2bAccount"][
        "companyOrOrganization"] == "acme Industries"
    updated = data(await gql(client, acme.admin, docs.UPDATE_ACCOUNT, {"accountId": acme.company, "b2BAccountInput": {
        "id": acme.company, "companyOrOrganization": "Acme Group", "taxId": "T-9"}}))["updateCustomerB2bAccount"]
    assert (updated["companyOrOrganization"], updated["taxId"]) == ("Acme Group", "T-9")
    assert ok(await client.get(f"{B2B}/{acme.company}", headers=admin))["companyOrOrganization"] == "Acme Group"
    body = refused(await gql(client, acme.purchaser, docs.UPDATE_ACCOUNT, {"accountId": acme.company,
                   "b2BAccountInput": {"id": acme.company, "companyOrOrganization": "Mine"}}), 403, "FORBIDDEN",
                   "updateCustomerB2bAccount")
    assert body["message"]
    assert ok(await client.get(f"{B2B}/{acme.company}", headers=admin))["companyOrOrganization"] == "Acme Group"


async def test_the_account_list(client: httpx.AsyncClient, app_headers: dict[str, str], acme: Company) -> None:
    """b2bAccounts is REST's GET /b2baccounts: everything for the merchant (above); for a B2B user the account
    of their ticket and, with 1010 (view child accounts), the accounts below it; nothing for anyone else."""
    query = {"filter": "companyOrOrganization sw 'acme'", "sortBy": "id asc"}
    seen = data(await gql(client, acme.admin, docs.ACCOUNTS, query))["b2bAccounts"]
    assert [a["id"] for a in seen["items"]] == [acme.company, acme.branch]
    seen = data(await gql(client, acme.purchaser, docs.ACCOUNTS, query))["b2bAccounts"]
    assert [a["id"] for a in seen["items"]] == [acme.company] and seen["totalCount"] == 1
    refused(await gql(client, storefront(app_headers), docs.ACCOUNTS, {}), 403, "FORBIDDEN", "b2bAccounts")


async def test_nobody_reaches_an_account_they_do_not_belong_to(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], acme: Company,
        mailbox: Mailbox) -> None:
    other = await company(client, admin, app_headers, mailbox, "bolt")
    for document, variables, field in (
            (docs.ACCOUNT, {"accountId": other.company}, "b2bAccount"),
            (docs.USERS, {"b2bAccountId": other.company}, "b2bAccountUsers"),
            (docs.HIERARCHY, {"accountId": other.company}, "getB2BAccountHierarchy"),
            (docs.USER_ROLES, {"accountId": other.company, "userId": other.admin_id}, "b2bAccountUserRoles"),
            (docs.ADD_USER, {"accountId": other.company, "b2BUserAndAuthInfoInput": docs.new_user(
                "mole@example.com", "Mole", ADMIN_ROLE)}, "createCustomerB2bAccountUser"),
            (docs.REMOVE_USER, {"accountId": other.company, "userId": other.admin_id}, "removeCustomerB2bAccountUser"),
            (docs.ADD_ROLE, {"accountId": other.company, "userId": acme.admin_id, "roleId": ADMIN_ROLE},
             "addRoleToCustomerB2bAccount"),
            (docs.CHANGE_PARENT, {"accountId": other.branch, "parentAccountId": acme.company}, "changeB2BAccountParent"),
            # an id that does not exist gets the same 403: ids cannot be probed
            (docs.ACCOUNT, {"accountId": 987654}, "b2bAccount"),
    ):
        refused(await gql(client, acme.admin, document, variables), 403, "FORBIDDEN", field)
    # nothing changed
    users = ok(await client.get(f"{B2B}/{other.company}/users", headers=admin))
    assert {u["userId"] for u in users["items"]} == {other.admin_id, other.purchaser_id}
    assert ok(await client.get(f"{B2B}/{other.branch}", headers=admin))["parentAccountId"] == other.company
    # the merchant is told what does not exist
    refused(await gql(client, storefront(admin), docs.ACCOUNT, {"accountId": 987654}), 404, "ITEM_NOT_FOUND",
            "b2bAccount")


# -- users and roles ---------------------------------------------------------------------------------------

async def test_users_and_roles(client: httpx.AsyncClient, admin: dict[str, str], acme: Company) -> None:
    nia = data(await gql(client, acme.admin, docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput":
                         docs.new_user("nia@example.com", "Nia", NON_PURCHASER_ROLE)}))["createCustomerB2bAccountUser"]
    assert [(r["roleId"], r["roleName"]) for r in nia["roles"]] == [(NON_PURCHASER_ROLE, "Non-Purchaser")]
    listed = data(await gql(client, acme.admin, docs.USERS, {"b2bAccountId": acme.company, "pageSize": 2}))
    rest = ok(await client.get(f"{B2B}/{acme.company}/users", headers=admin, params={"pageSize": 2}))
    page = listed["b2bAccountUsers"]
    assert (page["totalCount"], page["pageSize"], page["pageCount"]) == (rest["totalCount"], 2, 2) == (3, 2, 2)
    assert [u["userId"] for u in page["items"]] == [u["userId"] for u in rest["items"]]

    assert data(await gql(client, acme.admin, docs.ADD_ROLE, {"accountId": acme.company, "userId": nia["userId"],
                                                             "roleId": PURCHASER_ROLE})) == {
        "addRoleToCustomerB2bAccount": True}
    roles = data(await gql(client, acme.admin, docs.USER_ROLES, {"accountId": acme.company, "userId": nia["userId"]}))
    rest_roles = ok(await client.get(f"{B2B}/{acme.company}/user/{nia['userId']}/roles", headers=admin))
    assert sorted(r["roleId"] for r in roles["b2bAccountUserRoles"]["items"]) == sorted(
        r["roleId"] for r in rest_roles["items"]) == [PURCHASER_ROLE, NON_PURCHASER_ROLE]
    assert data(await gql(client, acme.admin, docs.DELETE_ROLE, {"accountId": acme.company, "userId": nia["userId"],
                                                                "roleId": NON_PURCHASER_ROLE})) == {
        "deleteB2bAccountRole": True}

    renamed = data(await gql(client, acme.admin, docs.UPDATE_USER, {"accountId": acme.company, "userId": nia["userId"],
                             "b2BUserInput": {"firstName": "Nina", "lastName": "Neu",
                                              "emailAddress": "nia@example.com"}}))["updateCustomerB2bAccountUser"]
    assert (renamed["firstName"], renamed["lastName"]) == ("Nina", "Neu")
    assert [r["roleId"] for r in renamed["roles"]] == [PURCHASER_ROLE]

    assert data(await gql(client, acme.admin, docs.REMOVE_USER, {"accountId": acme.company,
                                                                "userId": nia["userId"]})) == {
        "removeCustomerB2bAccountUser": True}
    after = ok(await client.get(f"{B2B}/{acme.company}/users", headers=admin))
    assert nia["userId"] not in {u["userId"] for u in after["items"] if not u.get("isRemoved")}


async def test_a_purchaser_manages_no_users(client: httpx.AsyncClient, admin: dict[str, str], acme: Company) -> None:
    for document, variables, field in (
            (docs.ADD_USER, {"accountId": acme.company, "b2BUserAndAuthInfoInput": docs.new_user(
                "eve@example.com", "Eve", ADMIN_ROLE)}, "createCustomerB2bAccountUser"),
            (docs.ADD_ROLE, {"accountId": acme.company, "userId": acme.purchaser_id, "roleId": ADMIN_ROLE},
             "addRoleToCustomerB2bAccount"),
            (docs.DELETE_ROLE, {"accountId": acme.company, "userId": acme.admin_id, "roleId": ADMIN_ROLE},
             "deleteB2bAccountRole"),
            (docs.UPDATE_USER, {"accountId": acme.company, "userId": acme.admin_id, "b2BUserInput": {
                "firstName": "Hacked"}}, "updateCustomerB2bAccountUser"),
            (docs.REMOVE_USER, {"accountId": acme.company, "userId": acme.admin_id}, "removeCustomerB2bAccountUser"),
    ):
        refused(await gql(client, acme.purchaser, document, variables), 403, "FORBIDDEN", field)
    users = ok(await client.get(f"{B2B}/{acme.company}/users", headers=admin))
    assert {u["userId"]: (u["firstName"], [r["roleId"] for r in u["roles"]]) for u in users["items"]} == {
        acme.admin_id: ("Ada", [ADMIN_ROLE]), acme.purchaser_id: ("Pat", [PURCHASER_ROLE])}


async def test_the_last_admin_stays(client: httpx.AsyncClient, admin: dict[str, str], acme: Company) -> None:
    """The last active Admin of an account cannot lose the role nor be removed, not even by the merchant."""
    for who in (acme.admin, storefront(admin)):
        answer = await gql(client, who, docs.DELETE_ROLE, {"accountId": acme.company, "userId": acme.admin_id,
                                                          "roleId": ADMIN_ROLE})
        assert answer["errors"][0]["extensions"]["response"]["status"] in (400, 409), answer
        answer = await gql(client, who, docs.REMOVE_USER, {"accountId": acme.company, "userId": acme.admin_id})
        assert answer["errors"][0]["extensions"]["response"]["status"] in (400, 409), answer
    roles = ok(await client.get(f"{B2B}/{acme.company}/user/{acme.admin_id}/roles", headers=admin))
    assert [r["roleId"] for r in roles["items"]] == [ADMIN_ROLE]


# -- hierarchy ---------------------------------------------------------------------------------------------

async def test_hierarchy_and_changing_parents(client: httpx.AsyncClient, admin: dict[str, str],
                                              acme: Company) -> None:
    merchant = storefront(admin)
    south = data(await gql(client, merchant, docs.CREATE_ACCOUNT, {"b2BAccountInput": docs.new_account(
        "acme South", acme.branch)}))["createCustomerB2bAccount"]
    assert south["parentAccountId"] == acme.branch
    for who in (merchant, acme.admin):  # the admin user holds 1010: the tree below their account, all of it here
        tree = data(await gql(client, who, docs.HIERARCHY_LEVELS, {"accountId": acme.company}))
        found = tree["getB2BAccountHierarchy"]
        assert found["hierarchy"] == {"id": acme.company, "children": [
            {"id": acme.branch, "children": [{"id": south["id"], "children": []}]}]}
    rest = ok(await client.get(f"{B2B}/{acme.company}/hierarchy", headers=admin))
    assert sorted(a["id"] for a in found["accounts"]) == sorted(a["id"] for a in rest["accounts"]) == sorted(
        [acme.company, acme.branch, south["id"]])
    full = data(await gql(client, acme.admin, docs.HIERARCHY, {"accountId": acme.company}))["getB2BAccountHierarchy"]
    top = next(a for a in full["accounts"] if a["id"] == acme.company)
    assert {u["userId"]: [r["roleName"] for r in u["roles"]] for u in top["users"]} == {
        acme.admin_id: ["Admin"], acme.purchaser_id: ["Purchaser"]}
    # a purchaser does not view child accounts (1010)
    refused(await gql(client, acme.purchaser, docs.HIERARCHY, {"accountId": acme.company}), 403, "FORBIDDEN",
            "getB2BAccountHierarchy")

    moved = data(await gql(client, merchant, docs.CHANGE_PARENT, {"accountId": south["id"],
                                                                 "parentAccountId": acme.company}))
    assert moved["changeB2BAccountParent"]["parentAccountId"] == acme.company
    assert ok(await client.get(f"{B2B}/{south['id']}", headers=admin))["parentAccountId"] == acme.company
    # a loop is refused as REST refuses it, and changes nothing
    answer = await gql(client, merchant, docs.CHANGE_PARENT, {"accountId": acme.company,
                                                             "parentAccountId": acme.branch})
    rest_loop = await client.post(f"{B2B}/{acme.company}/changeparent/{acme.branch}", headers=admin)
    response = answer["errors"][0]["extensions"]["response"]
    assert response == {"status": rest_loop.status_code, "body": rest_loop.json()}
    assert response["status"] == 400 and response["body"]["errorCode"] == "MISSING_OR_INVALID_PARAMETER"
    assert ok(await client.get(f"{B2B}/{acme.company}", headers=admin))["parentAccountId"] is None
    # a purchaser moves nothing; the company's Admin (1000 and 1010) moves accounts within the company's tree,
    # as the B2B storefront's hierarchy page does (as REST's changeparent)
    refused(await gql(client, acme.purchaser, docs.CHANGE_PARENT, {"accountId": south["id"],
                                                                   "parentAccountId": acme.branch}),
            403, "FORBIDDEN", "changeB2BAccountParent")
    assert ok(await client.get(f"{B2B}/{south['id']}", headers=admin))["parentAccountId"] == acme.company
    moved = data(await gql(client, acme.admin, docs.CHANGE_PARENT, {"accountId": south["id"],
                                                                    "parentAccountId": acme.branch}))
    assert moved["changeB2BAccountParent"]["parentAccountId"] == acme.branch
    # a path value out of REST's range: REST's 400, naming the argument
    body = refused(await gql(client, merchant, docs.CHANGE_PARENT, {"accountId": south["id"], "parentAccountId": 0}),
                   400, "MISSING_OR_INVALID_PARAMETER", "changeB2BAccountParent")
    assert "parentAccountId" in body["message"]


# -- tickets -----------------------------------------------------------------------------------------------

async def test_login_and_switching_accounts(client: httpx.AsyncClient, admin: dict[str, str],
                                            app_headers: dict[str, str], acme: Company) -> None:
    app = storefront(app_headers)
    ok(await client.post(f"{B2B}/{acme.branch}/user", headers=admin, json=docs.new_user(
        "acme.ada@example.com", "Ada", ADMIN_ROLE)))
    ada = await log_in(client, app, "acme.ada@example.com")
    claims = await claims_of(client, ada["jwtAccessToken"])
    assert (claims["b"]["AccountId"], behaviors_of(claims["bv"])) == (acme.company, ALL)
    pat = await log_in(client, app, "acme.pat@example.com")
    assert behaviors_of((await claims_of(client, pat["jwtAccessToken"]))["bv"]) == PURCHASER

    switched = data(await gql(client, app, docs.SWITCH, {"refreshToken": ada["refreshToken"],
                                                        "accountId": acme.branch}))["refreshCustomerAuthTickets"]
    assert switched["customerAccount"]["id"] == acme.branch
    assert (await claims_of(client, switched["jwtAccessToken"]))["b"]["AccountId"] == acme.branch
    # the purchaser does not belong to the branch
    answer = await gql(client, app, docs.SWITCH, {"refreshToken": pat["refreshToken"], "accountId": acme.branch})
    assert answer["data"]["refreshCustomerAuthTickets"] is None
    assert answer["errors"][0]["extensions"]["response"]["status"] in (401, 403)


# -- attributes --------------------------------------------------------------------------------------------

async def test_attributes(client: httpx.AsyncClient, admin: dict[str, str], acme: Company) -> None:
    fqn = (await define(client, admin, "tier"))["attributeFQN"]
    merchant = storefront(admin)
    added = data(await gql(client, merchant, docs.ADD_ATTRIBUTE, {"accountId": acme.company,
                 "customerAttributeInput": {"fullyQualifiedName": fqn, "values": ["gold"]}}))
    assert added["createCustomerB2bAccountAttribute"]["values"] == ["gold"]
    got = data(await gql(client, acme.admin, docs.GET_ATTRIBUTE, {"accountId": acme.company, "attributeFQN": fqn}))
    assert got["b2bAccountAttributeVocabularyValues"]["fullyQualifiedName"] == fqn
    changed = data(await gql(client, acme.admin, docs.UPDATE_ATTRIBUTE, {
        "accountId": acme.company, "attributeFQN": fqn,
        "customerAttributeInput": {"fullyQualifiedName": fqn, "values": ["platinum"]}}))
    assert changed["updateCustomerB2bAccountAttribute"]["values"] == ["platinum"]
    page = data(await gql(client, acme.admin, docs.ATTRIBUTES, {"accountId": acme.company}))["b2bAccountAttributes"]
    rest = ok(await client.get(f"{B2B}/{acme.company}/attributes", headers=admin))
    assert [a["values"] for a in page["items"]] == [a["values"] for a in rest["items"]] == [["platinum"]]
    refused(await gql(client, acme.purchaser, docs.DELETE_ATTRIBUTE, {"accountId": acme.company, "attributeFQN": fqn}),
            403, "FORBIDDEN", "deleteB2bAccountAttribute")
    assert data(await gql(client, acme.admin, docs.DELETE_ATTRIBUTE, {"accountId": acme.company,
                                                                     "attributeFQN": fqn})) == {
        "deleteB2bAccountAttribute": True}
    assert ok(await client.get(f"{B2B}/{acme.company}/attributes", headers=admin))["totalCount"] == 0


# -- the storefront's "request an account" form ----------------------------------------------------------

async def test_a_requested_account_waits_for_approval(client: httpx.AsyncClient, admin: dict[str, str],
                                                      app_headers: dict[str, str], mailbox: Mailbox) -> None:
    """The storefront's request form (createCustomerB2bAccount with approvalStatus PendingApproval and the
    requester as its user, sent by the storefront application alone): the account waits for the merchant,
    its requester is invited as its Admin and cannot log in until it is approved; what the form may not set
    (a parent) is refused."""
    app = storefront(app_headers)
    requester = docs.new_user("rita@example.com", "Rita")["b2BUser"]
    made = data(await gql(client, app, docs.CREATE_ACCOUNT, {"b2BAccountInput": docs.new_account(
        "Rita Retail", requested=True, users=[requester])}))["createCustomerB2bAccount"]
    found = ok(await client.get(f"{B2B}/{made['id']}", headers=admin))
    assert (found["approvalStatus"], found["parentAccountId"]) == ("PendingApproval", None)
    assert [(u["emailAddress"], [r["roleId"] for r in u["roles"]]) for u in found["users"]] == [
        ("rita@example.com", [ADMIN_ROLE])]
    await invited(client, app, mailbox, "rita@example.com")
    refused(await gql(client, app, LOGIN, {"loginInput": {"username": "rita@example.com", "password": PASSWORD}}),
            401, "INVALID_CREDENTIALS", "account")
    # asking to be approved at once, or under another company, is not the storefront's to decide
    again = data(await gql(client, app, docs.CREATE_ACCOUNT, {"b2BAccountInput": {**docs.new_account(
        "Rita Two"), "approvalStatus": "Approved"}}))["createCustomerB2bAccount"]
    assert ok(await client.get(f"{B2B}/{again['id']}", headers=admin))["approvalStatus"] == "PendingApproval"
    refused(await gql(client, app, docs.CREATE_ACCOUNT, {"b2BAccountInput": docs.new_account("Rita Three",
                                                                                            made["id"])}),
            403, "FORBIDDEN", "createCustomerB2bAccount")

    ok(await client.put(f"{B2B}/{made['id']}/status/approve", headers=admin))
    ticket = await log_in(client, app, "rita@example.com")
    claims = await claims_of(client, ticket["jwtAccessToken"])
    assert (claims["b"]["AccountId"], behaviors_of(claims["bv"])) == (made["id"], ALL)

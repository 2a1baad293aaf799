"""Every operation of the GraphQL transport's first part, over HTTP, with every refusal its REST twin has:
the answer is the REST answer (same wire shapes), a refusal is the REST status and Kibo envelope in
errors[0].extensions.response, with the field null."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import HEX32, anonymous_id, decode_jwt, login, ok, register
from tests.conftest import PASSWORD, TENANT
from tests.graphql.support import (
    ANONYMOUS,
    CURRENT,
    LOGIN,
    REFRESH,
    REGISTER,
    TICKET,
    data,
    gql,
    refused,
    storefront,
)

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "gql.shopper@example.com"
KIBO = "https://www.kibocommerce.com/user_claims"


def _registration(email: str = EMAIL, password: str = PASSWORD) -> dict[str, Any]:
    return {"customerAccountAndAuthInfoInput": {
        "account": {"emailAddress": email, "userName": email, "firstName": "Gia", "lastName": "Quill",
                    "acceptsMarketing": False, "id": 0},
        "password": password, "externalPassword": "", "isImport": False}}


async def _registered(client: httpx.AsyncClient, app_headers: dict[str, str], email: str = EMAIL) -> dict[str, Any]:
    return data(await gql(client, storefront(app_headers), REGISTER, _registration(email)))["account"]


# -- tickets ---------------------------------------------------------------------------------------

async def test_anonymous_ticket_has_no_user_id_and_the_kibo_claims(client: httpx.AsyncClient,
                                                                    app_headers: dict[str, str]) -> None:
    t = data(await gql(client, storefront(app_headers), ANONYMOUS))["getAnonymousShopperToken"]
    assert t["userId"] is None and HEX32.match(t["refreshToken"])
    _, claims = await decode_jwt(client, t["jwtAccessToken"])
    assert claims[KIBO]["bv"] == [] and claims[KIBO]["anon"] == "1" and claims["anon"] is True
    # refreshed over GraphQL: the same anonymous visitor, still without a userId
    again = data(await gql(client, storefront(app_headers), REFRESH, {"refreshToken": t["refreshToken"]}))
    refreshed = again["refreshCustomerAuthTickets"]
    assert refreshed["userId"] is None and refreshed["customerAccount"] is None
    assert anonymous_id(refreshed) == anonymous_id(t)


async def test_register_login_refresh_and_current_account(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    guest = data(await gql(client, storefront(app_headers), ANONYMOUS))["getAnonymousShopperToken"]
    registered = data(await gql(client, storefront(app_headers, guest["accessToken"]), REGISTER,
                                _registration()))["account"]
    account = registered["customerAccount"]
    assert account["emailAddress"] == EMAIL and account["id"] > 0 and HEX32.match(registered["userId"])
    _, claims = await decode_jwt(client, registered["jwtAccessToken"])
    assert claims["prev_sub"] == anonymous_id(guest)  # the guest's cart can follow
    assert claims[KIBO]["b"] == {"TenantId": TENANT, "SiteId": 200, "AccountId": account["id"]}

    logged_in = data(await gql(client, storefront(app_headers), LOGIN,
                               {"loginInput": {"username": EMAIL, "password": PASSWORD}}))["account"]
    assert logged_in["userId"] == registered["userId"] and logged_in["customerAccount"]["id"] == account["id"]
    assert isinstance((await decode_jwt(client, logged_in["jwtAccessToken"]))[1][KIBO]["bv"], list)

    refreshed = data(await gql(client, storefront(app_headers), REFRESH,
                               {"refreshToken": logged_in["refreshToken"]}))["refreshCustomerAuthTickets"]
    assert refreshed["userId"] == registered["userId"] and refreshed["refreshToken"] != logged_in["refreshToken"]

    me = data(await gql(client, storefront(app_headers, refreshed["accessToken"]), CURRENT))["customerAccount"]
    rest = ok(await client.get("/api/commerce/customer/accounts/current",
                               headers={**app_headers, "x-vol-user-claims": refreshed["accessToken"]}))
    assert me["id"] == rest["id"] == account["id"]
    for name in ("userId", "emailAddress", "firstName", "isActive", "customerSinceDate", "contacts"):
        assert me[name] == rest[name]
    # the ticket JWT alone as Bearer names the shopper too
    by_jwt = data(await gql(client, {"Authorization": f"Bearer {refreshed['jwtAccessToken']}"}, CURRENT))
    assert by_jwt["customerAccount"]["id"] == account["id"]


async def test_refresh_with_the_account_id_of_the_session(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    doc = f"mutation r($t: String, $a: Int) {{ refreshCustomerAuthTickets(refreshToken: $t, accountId: $a) {{ {TICKET} }} }}"
    other = t["customerAccount"]["id"] + 1
    refused(await gql(client, storefront(app_headers), doc, {"t": t["refreshToken"], "a": other}),
            401, "INVALID_REFRESH_TOKEN", "refreshCustomerAuthTickets")
    good = await gql(client, storefront(app_headers), doc, {"t": t["refreshToken"], "a": t["customerAccount"]["id"]})
    assert data(good)["refreshCustomerAuthTickets"]["userId"] == t["userId"]


async def test_ticket_refusals(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    # no application credential
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, ANONYMOUS), 401, "UNAUTHORIZED",
            "getAnonymousShopperToken")
    refused(await gql(client, {"Authorization": "Bearer not-a-token"}, ANONYMOUS), 401, "UNAUTHORIZED",
            "getAnonymousShopperToken")
    # a shopper's ticket JWT is no application credential: it cannot make or refresh tickets
    as_shopper = {"Authorization": f"Bearer {t['jwtAccessToken']}"}
    refused(await gql(client, as_shopper, ANONYMOUS), 401, "UNAUTHORIZED", "getAnonymousShopperToken")
    refused(await gql(client, as_shopper, REFRESH, {"refreshToken": t["refreshToken"]}), 401, "UNAUTHORIZED",
            "refreshCustomerAuthTickets")
    refused(await gql(client, as_shopper, LOGIN, {"loginInput": {"username": EMAIL, "password": PASSWORD}}),
            401, "UNAUTHORIZED", "account")
    # a bad password, an unknown user: the same answer
    wrong = refused(await gql(client, storefront(app_headers), LOGIN,
                              {"loginInput": {"username": EMAIL, "password": "not the password at all"}}),
                    401, "INVALID_CREDENTIALS", "account")
    unknown = refused(await gql(client, storefront(app_headers), LOGIN,
                                {"loginInput": {"username": "nobody@example.com", "password": PASSWORD}}),
                      401, "INVALID_CREDENTIALS", "account")
    assert wrong == unknown and PASSWORD not in str(wrong)
    # a bad refresh token
    refused(await gql(client, storefront(app_headers), REFRESH, {"refreshToken": "0" * 32}), 401,
            "INVALID_REFRESH_TOKEN", "refreshCustomerAuthTickets")
    refused(await gql(client, storefront(app_headers), REFRESH, {"refreshToken": "0" * 300}), 400,
            "MISSING_OR_INVALID_PARAMETER", "refreshCustomerAuthTickets")


async def test_a_locked_account_cannot_log_in(client: httpx.AsyncClient, app_headers: dict[str, str],
                                              admin: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    r = await client.post(f"/api/commerce/customer/accounts/{t['customerAccount']['id']}/Set-Login-Locked",
                          headers=admin, content=b"true")
    assert r.status_code == 200
    body = refused(await gql(client, storefront(app_headers), LOGIN,
                             {"loginInput": {"username": EMAIL, "password": PASSWORD}}), 401, "INVALID_CREDENTIALS",
                   "account")
    assert "lock" not in body["message"].lower()  # the same answer as a wrong password


async def test_registration_refusals(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await _registered(client, app_headers)
    refused(await gql(client, storefront(app_headers), REGISTER, _registration()), 409, "VALIDATION_CONFLICT", "account")
    weak = refused(await gql(client, storefront(app_headers), REGISTER, _registration("w@example.com", "123")),
                   400, "ADD_CUSTOMER_FAILED", "account")
    assert "123" not in weak["message"]
    refused(await gql(client, storefront(app_headers), REGISTER, {"customerAccountAndAuthInfoInput": {"password": "x"}}),
            400, "MISSING_OR_INVALID_PARAMETER", "account")


# -- accounts --------------------------------------------------------------------------------------

async def test_current_account_of_an_anonymous_shopper_is_a_404(client: httpx.AsyncClient,
                                                              app_headers: dict[str, str]) -> None:
    guest = data(await gql(client, storefront(app_headers), ANONYMOUS))["getAnonymousShopperToken"]
    refused(await gql(client, storefront(app_headers, guest["accessToken"]), CURRENT), 404, "ITEM_NOT_FOUND",
            "customerAccount")
    refused(await gql(client, storefront(app_headers), CURRENT), 401, "INVALID_ACCESS_TOKEN", "customerAccount")
    refused(await gql(client, storefront(app_headers, "f" * 64), CURRENT), 401, "INVALID_ACCESS_TOKEN",
            "customerAccount")


ONE = "query a($id: Int!) { customerAccount(accountId: $id) { id emailAddress } }"
STATE = ("query s($id: Int!) { customerAccountLoginState(accountId: $id) { isLocked failedLoginAttemptCount "
         "remainingLoginAttempts lastLoginOn createdOn } }")
LIST = ("query l($filter: String, $pageSize: Int, $startIndex: Int, $sortBy: String) { customerAccounts("
        "filter: $filter, pageSize: $pageSize, startIndex: $startIndex, sortBy: $sortBy) { startIndex pageSize "
        "pageCount totalCount items { id userId emailAddress } } }")


async def test_an_account_and_its_login_state_for_its_shopper_or_an_admin(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str]) -> None:
    mine = await _registered(client, app_headers)
    theirs = await _registered(client, app_headers, "other.gql@example.com")
    my_id, their_id = mine["customerAccount"]["id"], theirs["customerAccount"]["id"]
    me = storefront(app_headers, mine["accessToken"])
    assert data(await gql(client, me, ONE, {"id": my_id}))["customerAccount"]["emailAddress"] == EMAIL
    state = data(await gql(client, me, STATE, {"id": my_id}))["customerAccountLoginState"]
    assert state["isLocked"] is False and state["failedLoginAttemptCount"] == 0
    # another shopper's account: forbidden, as on REST
    refused(await gql(client, me, ONE, {"id": their_id}), 403, "FORBIDDEN", "customerAccount")
    refused(await gql(client, me, STATE, {"id": their_id}), 403, "FORBIDDEN", "customerAccountLoginState")
    # the app alone (no admin behavior) may not read accounts
    refused(await gql(client, storefront(app_headers), ONE, {"id": my_id}), 403, "FORBIDDEN", "customerAccount")
    # an admin application may
    assert data(await gql(client, admin, ONE, {"id": their_id}))["customerAccount"]["id"] == their_id
    assert data(await gql(client, admin, STATE, {"id": their_id}))["customerAccountLoginState"]["isLocked"] is False


async def test_customer_accounts_for_an_admin_app_only(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                       admin: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    await _registered(client, app_headers, "second.gql@example.com")
    page = data(await gql(client, admin, LIST, {"filter": f"userId eq '{t['userId']}'"}))["customerAccounts"]
    assert page["totalCount"] == 1 and page["items"][0]["emailAddress"] == EMAIL
    everyone = data(await gql(client, admin, LIST, {"pageSize": 1, "sortBy": "id desc"}))["customerAccounts"]
    assert (everyone["pageSize"], everyone["totalCount"], everyone["pageCount"]) == (1, 2, 2)
    assert everyone["items"][0]["emailAddress"] == "second.gql@example.com"
    # the storefront app, its shopper, a malformed filter, a page size out of range
    refused(await gql(client, storefront(app_headers), LIST, {"filter": "id eq 1"}), 403, "FORBIDDEN",
            "customerAccounts")
    refused(await gql(client, storefront(app_headers, t["accessToken"]), LIST), 403, "FORBIDDEN", "customerAccounts")
    bad = refused(await gql(client, admin, LIST, {"filter": "id eq"}), 400, "MISSING_OR_INVALID_PARAMETER",
                  "customerAccounts")
    assert bad["additionalErrorData"] == [{"name": "ParameterName", "value": "filter"}]
    refused(await gql(client, admin, LIST, {"pageSize": 5000}), 400, "MISSING_OR_INVALID_PARAMETER", "customerAccounts")


CREATE = ("mutation c($input: CustomerAccountInput) { createCustomerAccount(customerAccountInput: $input) "
          "{ id emailAddress firstName } }")
CREATE_LOGIN = (f"mutation l($id: Int!, $input: CustomerLoginInfoInput) {{ createCustomerAccountLogin("
                f"accountId: $id, customerLoginInfoInput: $input) {{ {TICKET} customerAccount {{ id }} }} }}")


async def test_create_an_account_then_its_login(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                admin: dict[str, str]) -> None:
    new = {"input": {"emailAddress": "later@example.com", "firstName": "Lea", "id": 0, "isAnonymous": False}}
    refused(await gql(client, storefront(app_headers), CREATE, new), 403, "FORBIDDEN", "createCustomerAccount")
    account = data(await gql(client, admin, CREATE, new))["createCustomerAccount"]
    assert account["emailAddress"] == "later@example.com" and account["firstName"] == "Lea"
    login_info = {"id": account["id"], "input": {"emailAddress": "later@example.com", "username": "later@example.com",
                                                 "password": PASSWORD, "isImport": False}}
    # a shopper's JWT cannot; the application can
    shopper = await _registered(client, app_headers)
    refused(await gql(client, {"Authorization": f"Bearer {shopper['jwtAccessToken']}"}, CREATE_LOGIN, login_info),
            401, "UNAUTHORIZED", "createCustomerAccountLogin")
    ticket = data(await gql(client, admin, CREATE_LOGIN, login_info))["createCustomerAccountLogin"]
    assert ticket["customerAccount"]["id"] == account["id"] and HEX32.match(ticket["userId"])
    assert ok(await login(client, app_headers, "later@example.com"))["customerAccount"]["id"] == account["id"]
    # twice: the account has a login already
    refused(await gql(client, admin, CREATE_LOGIN, login_info), 409, "VALIDATION_CONFLICT", "createCustomerAccountLogin")


async def test_a_rest_registration_logs_in_over_graphql(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    reg = await register(client, app_headers, "rest.made@example.com")
    t = data(await gql(client, storefront(app_headers), LOGIN,
                       {"loginInput": {"username": "rest.made@example.com", "password": PASSWORD}}))["account"]
    assert t["userId"] == reg["userId"]

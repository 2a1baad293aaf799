"""GraphQL's password and login-flag operations over HTTP, on both databases: changing a password (one
account, many), the forgotten-password reset (asking answers alike for known and unknown users), and the
lock and password-change-required flags, with every refusal their REST twins have."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.code_support import Mailbox
from tests.api.support import INVALID_CODE, login, ok, refresh, register
from tests.conftest import PASSWORD
from tests.graphql.support import data, gql, refused, storefront

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "pass.word@example.com"
NEW = "a brand new passphrase"
CHANGE = ("mutation c($id: Int!, $unlock: Boolean, $info: PasswordInfoInput) { changeCustomerAccountPassword("
          "accountId: $id, unlockAccount: $unlock, passwordInfoInput: $info) }")
BULK = ("mutation b($input: AccountPasswordInfoCollectionInput) { updateCustomerAccountPasswords("
        "accountPasswordInfoCollectionInput: $input) { totalCount items { accountId succeeded errorMessage } } }")
RESET = ("mutation r($input: ResetPasswordInfoInput) { resetCustomerAccountPassword(resetPasswordInfoInput: $input) }")
FORGOTTEN = ("mutation f($input: ConfirmationInfoInput) { updateForgottenCustomerAccountPassword("
             "confirmationInfoInput: $input) }")
LOCK = ("mutation l($id: Int!, $value: Boolean) { setCustomerAccountLoginLocked(accountId: $id, "
        "graphQLBoolean: $value) }")
MUST_CHANGE = ("mutation m($id: Int!, $value: Boolean) { setCustomerAccountPasswordChangeRequired(accountId: $id, "
               "graphQLBoolean: $value) }")


async def _registered(client: httpx.AsyncClient, app_headers: dict[str, str], email: str = EMAIL) -> dict[str, Any]:
    return await register(client, app_headers, email)


async def _logs_in(client: httpx.AsyncClient, app_headers: dict[str, str], password: str, email: str = EMAIL) -> int:
    return (await login(client, app_headers, email, password)).status_code


# -- changeCustomerAccountPassword -------------------------------------------------------------------

async def test_a_shopper_changes_their_password(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    other_device = ok(await login(client, app_headers, EMAIL))
    account_id = t["customerAccount"]["id"]
    changed = await gql(client, storefront(app_headers, t["accessToken"]), CHANGE,
                        {"id": account_id, "info": {"oldPassword": PASSWORD, "newPassword": NEW}})
    assert data(changed) == {"changeCustomerAccountPassword": True}
    assert await _logs_in(client, app_headers, NEW) == 200 and await _logs_in(client, app_headers, PASSWORD) == 401
    assert (await refresh(client, app_headers, other_device["refreshToken"])).status_code == 401  # other sessions end
    # without a ticket, the old password proves the shopper (a login refused until the password changes)
    again = await gql(client, storefront(app_headers), CHANGE,
                      {"id": account_id, "info": {"oldPassword": NEW, "newPassword": "third passphrase here"}})
    assert data(again) == {"changeCustomerAccountPassword": True}
    assert await _logs_in(client, app_headers, "third passphrase here") == 200


async def test_password_change_refusals_change_nothing(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                       admin: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    other = await _registered(client, app_headers, "other.pass@example.com")
    account_id = t["customerAccount"]["id"]
    me = storefront(app_headers, t["accessToken"])
    good = {"id": account_id, "info": {"oldPassword": PASSWORD, "newPassword": NEW}}
    field = "changeCustomerAccountPassword"
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, CHANGE, good), 401, "UNAUTHORIZED", field)
    # another shopper, with the app or by its JWT alone
    refused(await gql(client, storefront(app_headers, other["accessToken"]), CHANGE, good), 403, "FORBIDDEN", field)
    refused(await gql(client, {"Authorization": f"Bearer {other['jwtAccessToken']}"}, CHANGE, good), 403,
            "FORBIDDEN", field)
    # a wrong old password; without a ticket, a wrong password and an unknown account look the same
    refused(await gql(client, me, CHANGE, {**good, "info": {"oldPassword": "not the password", "newPassword": NEW}}),
            401, "INVALID_CREDENTIALS", field)
    wrong = refused(await gql(client, storefront(app_headers), CHANGE,
                              {**good, "info": {"oldPassword": "not the password", "newPassword": NEW}}),
                    401, "INVALID_CREDENTIALS", field)
    unknown = refused(await gql(client, storefront(app_headers), CHANGE, {**good, "id": 999_999}), 401,
                      "INVALID_CREDENTIALS", field)
    assert wrong == unknown and PASSWORD not in str(unknown)
    # only an admin may unlock; bad input
    refused(await gql(client, me, CHANGE, {**good, "unlock": True}), 403, "FORBIDDEN", field)
    refused(await gql(client, me, CHANGE, {"id": account_id, "info": {"newPassword": NEW}}), 400,
            "MISSING_OR_INVALID_PARAMETER", field)
    weak = refused(await gql(client, me, CHANGE, {"id": account_id, "info": {"oldPassword": PASSWORD,
                                                                           "newPassword": "short"}}),
                   400, "MISSING_OR_INVALID_PARAMETER", field)
    assert "short" not in weak["message"]
    refused(await gql(client, me, CHANGE, {"id": account_id, "info": {"oldPassword": PASSWORD,
                                                                     "newPassword": "x" * 5000}}),
            400, "MISSING_OR_INVALID_PARAMETER", field)
    assert await _logs_in(client, app_headers, PASSWORD) == 200  # nothing changed
    # an admin needs no old password, and may unlock
    assert data(await gql(client, admin, LOCK, {"id": account_id, "value": True}))["setCustomerAccountLoginLocked"]
    assert data(await gql(client, admin, CHANGE, {"id": account_id, "unlock": True, "info": {"newPassword": NEW}}))
    assert await _logs_in(client, app_headers, NEW) == 200


# -- updateCustomerAccountPasswords ------------------------------------------------------------------

async def test_an_admin_changes_many_passwords_each_on_its_own(client: httpx.AsyncClient,
                                                               app_headers: dict[str, str],
                                                               admin: dict[str, str]) -> None:
    first = (await _registered(client, app_headers))["customerAccount"]["id"]
    second = (await _registered(client, app_headers, "second.pass@example.com"))["customerAccount"]["id"]
    items = [
        {"accountId": first, "passwordInfo": {"newPassword": NEW}},
        {"accountId": second, "passwordInfo": {"newPassword": "short"}},
        {"accountId": 999_999, "passwordInfo": {"newPassword": NEW}},
        {"accountId": second, "passwordInfo": {"oldPassword": "wrong", "newPassword": NEW}},
    ]
    body = data(await gql(client, admin, BULK, {"input": {"totalCount": 4, "items": items}}))
    results = body["updateCustomerAccountPasswords"]
    assert results["totalCount"] == 4
    assert [(r["accountId"], r["succeeded"]) for r in results["items"]] == [
        (first, True), (second, False), (999_999, False), (second, False)]
    assert results["items"][0]["errorMessage"] is None
    assert results["items"][2]["errorMessage"].startswith("Item not found: ")
    assert results["items"][3]["errorMessage"].startswith("Invalid Credentials: ")
    assert await _logs_in(client, app_headers, NEW) == 200
    assert await _logs_in(client, app_headers, PASSWORD, "second.pass@example.com") == 200


async def test_bulk_password_changes_need_an_admin_and_good_input(client: httpx.AsyncClient,
                                                                  app_headers: dict[str, str],
                                                                  admin: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    account_id = t["customerAccount"]["id"]
    change = {"input": {"totalCount": 1, "items": [{"accountId": account_id, "passwordInfo": {"newPassword": NEW}}]}}
    field = "updateCustomerAccountPasswords"
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, BULK, change), 401, "UNAUTHORIZED", field)
    refused(await gql(client, storefront(app_headers), BULK, change), 403, "FORBIDDEN", field)
    refused(await gql(client, storefront(app_headers, t["accessToken"]), BULK, change), 403, "FORBIDDEN", field)
    refused(await gql(client, {"Authorization": f"Bearer {t['jwtAccessToken']}"}, BULK, change), 403, "FORBIDDEN", field)
    for bad in ({"input": {"totalCount": 0}}, {},
                {"input": {"totalCount": 2, "items": [change["input"]["items"][0], None]}},
                {"input": {"totalCount": 201, "items": change["input"]["items"] * 201}}):
        body = refused(await gql(client, admin, BULK, bad), 400, "MISSING_OR_INVALID_PARAMETER", field)
        assert body["additionalErrorData"] == [{"name": "ParameterName", "value": "items"}]
    assert await _logs_in(client, app_headers, PASSWORD) == 200  # nothing changed


# -- the forgotten password --------------------------------------------------------------------------

async def test_reset_by_mail_then_the_code(client: httpx.AsyncClient, app_headers: dict[str, str],
                                           mailbox: Mailbox) -> None:
    t = await _registered(client, app_headers)
    sf = storefront(app_headers)
    assert data(await gql(client, sf, RESET, {"input": {"emailAddress": EMAIL}})) == {"resetCustomerAccountPassword": True}
    code = (await mailbox.one(EMAIL)).code()
    # a wrong code, a weak password: refused, and the code stays usable
    wrong = refused(await gql(client, sf, FORGOTTEN, {"input": {"userName": EMAIL, "confirmationCode": "0" * 32,
                                                                "newPassword": NEW}}),
                    400, "MISSING_OR_INVALID_PARAMETER", "updateForgottenCustomerAccountPassword")
    assert wrong["message"] == INVALID_CODE
    assert wrong["additionalErrorData"] == [{"name": "ParameterName", "value": "confirmationCode"}]
    weak = refused(await gql(client, sf, FORGOTTEN, {"input": {"userName": EMAIL, "confirmationCode": code,
                                                               "newPassword": "short"}}),
                   400, "MISSING_OR_INVALID_PARAMETER", "updateForgottenCustomerAccountPassword")
    assert weak["additionalErrorData"] == [{"name": "ParameterName", "value": "newPassword"}]
    assert await _logs_in(client, app_headers, PASSWORD) == 200
    done = await gql(client, sf, FORGOTTEN, {"input": {"userName": EMAIL, "confirmationCode": code, "newPassword": NEW}})
    assert data(done) == {"updateForgottenCustomerAccountPassword": True}
    assert await _logs_in(client, app_headers, NEW) == 200 and await _logs_in(client, app_headers, PASSWORD) == 401
    assert (await refresh(client, app_headers, t["refreshToken"])).status_code == 401
    # spent
    refused(await gql(client, sf, FORGOTTEN, {"input": {"userName": EMAIL, "confirmationCode": code,
                                                        "newPassword": "third passphrase here"}}),
            400, "MISSING_OR_INVALID_PARAMETER", "updateForgottenCustomerAccountPassword")
    assert "password was changed" in (await mailbox.one(EMAIL)).message["Subject"]


async def test_reset_requests_answer_alike_for_known_and_unknown_users(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await _registered(client, app_headers)
    sf = storefront(app_headers)
    known = await gql(client, sf, RESET, {"input": {"emailAddress": EMAIL}})
    assert len(await mailbox.new()) == 1
    for unknown in ({"emailAddress": "nobody@example.com"}, {"userName": "nobody"}, {"emailAddress": EMAIL.upper(),
                                                                                    "customerSetCode": "outlet"}):
        assert await gql(client, sf, RESET, {"input": unknown}) == known == {"data": {"resetCustomerAccountPassword": True}}
    assert await mailbox.new() == []
    # the call needs an application's credential; a malformed input is a 400 and sends nothing
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, RESET, {"input": {"emailAddress": EMAIL}}), 401,
            "UNAUTHORIZED", "resetCustomerAccountPassword")
    for bad in ({"emailAddress": "x" * 5000}, {}):
        refused(await gql(client, sf, RESET, {"input": bad}), 400, "MISSING_OR_INVALID_PARAMETER",
                "resetCustomerAccountPassword")
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, FORGOTTEN,
                      {"input": {"userName": EMAIL, "confirmationCode": "0" * 32, "newPassword": NEW}}),
            401, "UNAUTHORIZED", "updateForgottenCustomerAccountPassword")
    assert await mailbox.new() == []


# -- login flags -------------------------------------------------------------------------------------

async def test_an_admin_locks_and_unlocks_a_login(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                  admin: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    account_id = t["customerAccount"]["id"]
    assert data(await gql(client, admin, LOCK, {"id": account_id, "value": True})) == {
        "setCustomerAccountLoginLocked": True}
    assert await _logs_in(client, app_headers, PASSWORD) == 401
    assert (await refresh(client, app_headers, t["refreshToken"])).status_code == 401  # its sessions ended
    assert data(await gql(client, admin, LOCK, {"id": account_id, "value": False}))["setCustomerAccountLoginLocked"]
    assert await _logs_in(client, app_headers, PASSWORD) == 200


async def test_an_admin_requires_a_password_change(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                   admin: dict[str, str]) -> None:
    t = await _registered(client, app_headers)
    account_id = t["customerAccount"]["id"]
    assert data(await gql(client, admin, MUST_CHANGE, {"id": account_id, "value": True})) == {
        "setCustomerAccountPasswordChangeRequired": True}
    r = await login(client, app_headers, EMAIL, PASSWORD)
    assert r.status_code == 401 and r.json()["errorCode"] == "PASSWORD_CHANGE_REQUIRED"
    assert data(await gql(client, admin, MUST_CHANGE, {"id": account_id, "value": False}))
    assert await _logs_in(client, app_headers, PASSWORD) == 200


@pytest.mark.parametrize("document", [LOCK, MUST_CHANGE], ids=["locked", "password-change-required"])
async def test_login_flags_need_an_admin_and_a_value(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                     admin: dict[str, str], document: str) -> None:
    t = await _registered(client, app_headers)
    account_id = t["customerAccount"]["id"]
    field = document.split("{ ", 1)[1].split("(", 1)[0]
    flag = {"id": account_id, "value": True}
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, document, flag), 401, "UNAUTHORIZED", field)
    refused(await gql(client, storefront(app_headers), document, flag), 403, "FORBIDDEN", field)
    refused(await gql(client, storefront(app_headers, t["accessToken"]), document, flag), 403, "FORBIDDEN", field)
    refused(await gql(client, {"Authorization": f"Bearer {t['jwtAccessToken']}"}, document, flag), 403,
            "FORBIDDEN", field)
    missing = refused(await gql(client, admin, document, {"id": account_id}), 400, "MISSING_OR_INVALID_PARAMETER",
                      field)
    assert missing["additionalErrorData"] == [{"name": "ParameterName", "value": "graphQLBoolean"}]
    refused(await gql(client, admin, document, {"id": 999_999, "value": True}), 404, "ITEM_NOT_FOUND", field)
    assert await _logs_in(client, app_headers, PASSWORD) == 200  # nothing changed

"""A B2B user's login and tickets: the account a login is for (accountId, else the first by priority), the
JWT's b.AccountId and bv (exactly the user's behaviors there), the ticket's customerAccount, behaviors read
afresh at each refresh, switching accounts at refresh, and the refusals: an unapproved or inactive account, an
inactive or removed membership, someone else's account answer exactly as a wrong password does; a removed
user's and an inactivated account's sessions end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.b2b_support import (
    ADMIN_ROLE,
    B2B,
    NON_PURCHASER_ROLE,
    PURCHASER_ROLE,
    add_account,
    add_user,
    user_in,
    user_path,
)
from tests.api.code_support import OTP_AUTH, OTP_REQUEST, TWO_FACTOR_AUTH, Mailbox, code_of, set_site
from tests.api.support import CURRENT, CUSTOMER, REFRESH, assert_error, decode_jwt, login, ok, refresh
from tests.conftest import PASSWORD
from tests.graphql.support import gql
from ticketbooth.b2b.rules import BEHAVIOR_IDS, BUILT_IN_ROLE_BY_ID
from ticketbooth.core import Core
from ticketbooth.domain.behaviors import decode_behaviors

pytestmark = pytest.mark.usefixtures("seeded")

KIBO = "https://www.kibocommerce.com/user_claims"


async def _claims(client: httpx.AsyncClient, ticket: dict[str, Any]) -> dict[str, Any]:
    _, claims = await decode_jwt(client, ticket["jwtAccessToken"])
    return claims


async def test_the_ticket_is_for_the_b2b_account_with_the_users_behaviors(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    buyer = await user_in(client, admin, app_headers, acme["id"], "buyer@acme.example", (PURCHASER_ROLE,))
    t = buyer.ticket
    assert t["userId"] == buyer.user_id and t["customerAccount"]["id"] == acme["id"]
    assert t["customerAccount"]["userId"] == buyer.user_id
    assert t["customerAccount"]["companyOrOrganization"] == "Acme" and t["customerAccount"]["accountType"] == "B2B"
    claims = await _claims(client, t)
    assert claims["sub"] == buyer.user_id and claims["account_id"] == acme["id"]
    kibo = claims[KIBO]
    assert kibo["b"]["AccountId"] == acme["id"] and kibo["uid"] == buyer.user_id and kibo["anon"] == "0"
    assert decode_behaviors(kibo["bv"]) == set(BUILT_IN_ROLE_BY_ID[PURCHASER_ROLE].behaviors)
    boss = await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    assert decode_behaviors((await _claims(client, boss.ticket))[KIBO]["bv"]) == set(BEHAVIOR_IDS)
    both = await user_in(client, admin, app_headers, acme["id"], "two@acme.example", (NON_PURCHASER_ROLE, PURCHASER_ROLE))
    assert decode_behaviors((await _claims(client, both.ticket))[KIBO]["bv"]) == (
        set(BUILT_IN_ROLE_BY_ID[PURCHASER_ROLE].behaviors) | BUILT_IN_ROLE_BY_ID[NON_PURCHASER_ROLE].behaviors)
    # the current account is the B2B account, for the access token and the JWT alike
    for hdrs in (buyer.headers, {**app_headers, "x-vol-user-claims": t["jwtAccessToken"]}):
        current = ok(await client.get(CURRENT, headers=hdrs))
        assert (current["id"], current["userId"], current["notes"]) == (acme["id"], buyer.user_id, [])


async def test_a_user_without_roles_has_no_behaviors(client: httpx.AsyncClient, admin: dict[str, str],
                                                     app_headers: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    nobody = await user_in(client, admin, app_headers, acme["id"], "plain@acme.example", ())
    assert (await _claims(client, nobody.ticket))[KIBO]["bv"] == []


def _same(a: httpx.Response, b: httpx.Response) -> None:
    """Two answers a client cannot tell apart: status, body and headers (but the correlation id)."""
    assert (a.status_code, a.content) == (b.status_code, b.content)
    skip = {"x-vol-correlation"}
    assert {k: v for k, v in a.headers.items() if k not in skip} == {k: v for k, v in b.headers.items() if k not in skip}


async def test_refused_logins_answer_as_a_wrong_password(client: httpx.AsyncClient, admin: dict[str, str],
                                                         app_headers: dict[str, str]) -> None:
    pending = await add_account(client, admin, "Pending", approved=False)
    acme = await add_account(client, admin, "Acme")
    other = await add_account(client, admin, "Other")
    ok(await add_user(client, admin, pending["id"], "p@pending.example"))
    for email in ("in@acme.example", "off@acme.example", "gone@acme.example", "closed@acme.example"):
        ok(await add_user(client, admin, acme["id"], email))
    ok(await add_user(client, admin, acme["id"], "keeper@acme.example"))  # so the others are not the last Admin
    users = ok(await client.get(f"{B2B}/{acme['id']}/users", headers=admin, params={"pageSize": 20}))["items"]
    by_email = {u["emailAddress"]: u["userId"] for u in users}
    ok(await client.put(user_path(acme["id"], by_email["off@acme.example"]), headers=admin, json={"isActive": False}))
    assert (await client.put(user_path(acme["id"], by_email["gone@acme.example"], "remove"), headers=admin)).status_code == 200
    wrong = await login(client, app_headers, "in@acme.example", "not the password at all")
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    refused = [
        await login(client, app_headers, "p@pending.example"),  # the account awaits approval
        await login(client, app_headers, "off@acme.example"),  # the membership is inactive
        await login(client, app_headers, "gone@acme.example"),  # removed from the account
        await login(client, app_headers, "in@acme.example", accountId=other["id"]),  # not their account
        await login(client, app_headers, "in@acme.example", accountId=987654),  # no account at all
    ]
    for r in refused:
        _same(r, wrong)
    ok(await client.put(f"{B2B}/{acme['id']}", headers=admin, json={"isActive": False}))
    _same(await login(client, app_headers, "closed@acme.example"), wrong)
    ok(await client.put(f"{B2B}/{acme['id']}", headers=admin, json={"isActive": True}))
    assert ok(await login(client, app_headers, "in@acme.example", accountId=acme["id"]))["customerAccount"]["id"] == acme["id"]


async def test_several_accounts_priority_and_switching(client: httpx.AsyncClient, admin: dict[str, str],
                                                       app_headers: dict[str, str]) -> None:
    first = await add_account(client, admin, "First")
    second = await add_account(client, admin, "Second")
    foreign = await add_account(client, admin, "Foreign")
    ok(await add_user(client, admin, first["id"], "multi@example.com", (PURCHASER_ROLE,)))
    again = ok(await add_user(client, admin, second["id"], "multi@example.com", (ADMIN_ROLE,), password=None))
    t = ok(await login(client, app_headers, "multi@example.com"))
    assert t["customerAccount"]["id"] == first["id"] and again["userId"] == t["userId"]  # one login, two accounts
    hdrs = {**app_headers, "x-vol-user-claims": t["accessToken"]}
    ok(await client.put(f"{B2B}/priority/update", headers=hdrs,
                        json={"accountPriorities": [{"priority": 1, "accounts": [second["id"]]},
                                                    {"priority": 2, "accounts": [first["id"]]}]}))
    assert ok(await client.get(f"{B2B}/priority/read", headers=hdrs)) == {
        "accountPriorities": [{"accounts": [second["id"]], "priority": 1}, {"accounts": [first["id"]], "priority": 2}],
        "blackListedAccounts": []}
    assert ok(await login(client, app_headers, "multi@example.com"))["customerAccount"]["id"] == second["id"]
    assert (await client.put(f"{B2B}/priority/delete", headers=hdrs, json=[second["id"]])).status_code == 200
    assert ok(await login(client, app_headers, "multi@example.com"))["customerAccount"]["id"] == first["id"]
    # switching at refresh: to an account of theirs, a ticket for it with their behaviors there
    r = await client.put(REFRESH, headers=app_headers, params={"refreshToken": t["refreshToken"],
                                                               "accountId": foreign["id"]})
    bad = await client.put(REFRESH, headers=app_headers, params={"refreshToken": "0" * 32})
    _same(r, bad)  # a foreign account: the answer to a bad refresh token ...
    still = ok(await refresh(client, app_headers, t["refreshToken"]))  # ... and the session goes on
    switched = ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": still["refreshToken"],
                                                                         "accountId": second["id"]}))
    assert switched["customerAccount"]["id"] == second["id"] and switched["userId"] == t["userId"]
    claims = await _claims(client, switched)
    assert claims[KIBO]["b"]["AccountId"] == second["id"] and decode_behaviors(claims[KIBO]["bv"]) == set(BEHAVIOR_IDS)
    assert_error(await refresh(client, app_headers, still["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert ok(await refresh(client, app_headers, switched["refreshToken"]))["customerAccount"]["id"] == second["id"]
    # a B2C shopper's refresh with another accountId: refused as before
    shopper = ok(await client.post(f"{CUSTOMER}/accounts/Add-Account-And-Login", headers=app_headers, json={
        "account": {"emailAddress": "retail@example.com"}, "password": PASSWORD}))
    r = await client.put(REFRESH, headers=app_headers, params={"refreshToken": shopper["refreshToken"],
                                                               "accountId": first["id"]})
    assert_error(r, 401, "INVALID_REFRESH_TOKEN")


async def test_roles_show_at_the_next_refresh_and_removal_ends_the_session(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    buyer = await user_in(client, admin, app_headers, acme["id"], "buyer@acme.example", (PURCHASER_ROLE,))
    assert (await client.post(user_path(acme["id"], buyer.user_id, "roles", ADMIN_ROLE), headers=admin)).status_code == 200
    t = ok(await refresh(client, app_headers, buyer.ticket["refreshToken"]))
    assert decode_behaviors((await _claims(client, t))[KIBO]["bv"]) == set(BEHAVIOR_IDS)
    assert (await client.put(user_path(acme["id"], buyer.user_id, "remove"), headers=admin)).status_code == 200
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": t["accessToken"]}), 401,
                 "INVALID_ACCESS_TOKEN")
    # the JWT alone still reads (it is checked without the database) but the account knows them no more
    jwt_only = {**app_headers, "x-vol-user-claims": t["jwtAccessToken"]}
    assert_error(await client.get(CURRENT, headers=jwt_only), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await client.get(f"{B2B}/{acme['id']}", headers=jwt_only), 403, "FORBIDDEN")


async def test_inactivating_the_account_ends_its_sessions(client: httpx.AsyncClient, admin: dict[str, str],
                                                          app_headers: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    boss = await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    ok(await client.put(f"{B2B}/{acme['id']}", headers=admin, json={"isActive": False}))
    assert_error(await refresh(client, app_headers, boss.ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await client.get(CURRENT, headers=boss.headers), 401, "INVALID_ACCESS_TOKEN")


async def test_a_b2b_user_changes_their_own_password(client: httpx.AsyncClient, admin: dict[str, str],
                                                     app_headers: dict[str, str]) -> None:
    acme = await add_account(client, admin, "Acme")
    boss = await user_in(client, admin, app_headers, acme["id"], "boss@acme.example", (ADMIN_ROLE,))
    new = "an even finer passphrase"
    r = await client.post(f"{CUSTOMER}/accounts/{acme['id']}/change-password", headers=boss.headers,
                          params={"userId": boss.user_id}, json={"oldPassword": PASSWORD, "newPassword": new})
    assert r.status_code == 200, r.text
    assert_error(await login(client, app_headers, "boss@acme.example"), 401, "INVALID_CREDENTIALS")
    assert ok(await login(client, app_headers, "boss@acme.example", new))["customerAccount"]["id"] == acme["id"]


async def test_graphql_logs_in_and_switches_with_account_id(client: httpx.AsyncClient, admin: dict[str, str],
                                                            app_headers: dict[str, str]) -> None:
    """Kibo's GraphQL CustomerUserAuthInfoInput has no accountId: the B2B storefront logs in (the first account
    by priority) and switches with refreshCustomerAuthTickets(refreshToken, accountId)."""
    first = await add_account(client, admin, "First")
    second = await add_account(client, admin, "Second")
    ok(await add_user(client, admin, first["id"], "multi@example.com", (PURCHASER_ROLE,)))
    ok(await add_user(client, admin, second["id"], "multi@example.com", (ADMIN_ROLE,)))
    login_doc = """mutation($input: CustomerUserAuthInfoInput) { createCustomerAuthTicket(customerUserAuthInfoInput: $input)
      { refreshToken jwtAccessToken customerAccount { id } } }"""
    answer = await gql(client, app_headers, login_doc, {"input": {"username": "multi@example.com", "password": PASSWORD}})
    t = answer["data"]["createCustomerAuthTicket"]
    assert t["customerAccount"]["id"] == first["id"]
    refresh_doc = """mutation($token: String, $account: Int) { refreshCustomerAuthTickets(refreshToken: $token,
      accountId: $account) { refreshToken jwtAccessToken customerAccount { id } } }"""
    answer = await gql(client, app_headers, refresh_doc, {"token": t["refreshToken"], "account": second["id"]})
    switched = answer["data"]["refreshCustomerAuthTickets"]
    assert switched["customerAccount"]["id"] == second["id"]
    claims = await _claims(client, switched)
    assert decode_behaviors(claims[KIBO]["bv"]) == set(BEHAVIOR_IDS)


async def test_a_second_factor_and_a_code_login_keep_the_b2b_account(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], core: Core,
        mailbox: Mailbox) -> None:
    first = await add_account(client, admin, "First")
    second = await add_account(client, admin, "Second")
    ok(await add_user(client, admin, first["id"], "multi@example.com", (PURCHASER_ROLE,)))
    ok(await add_user(client, admin, second["id"], "multi@example.com", (ADMIN_ROLE,)))
    await set_site(core, two_factor=["always"])
    pending = ok(await login(client, app_headers, "multi@example.com", accountId=second["id"]))
    assert pending["requires2FA"] is True
    done = ok(await client.post(TWO_FACTOR_AUTH, headers={**app_headers, "x-vol-user-claims": pending["accessToken"]},
                                json={"otpCode": code_of(await mailbox.one("multi@example.com"))}))
    assert done["customerAccount"]["id"] == second["id"]
    assert decode_behaviors((await _claims(client, done))[KIBO]["bv"]) == set(BEHAVIOR_IDS)
    await set_site(core, two_factor=[], otp_login=True)
    assert (await client.post(OTP_REQUEST, headers=app_headers, json={"email": "multi@example.com"})).status_code in (
        200, 204)
    code = code_of(await mailbox.one("multi@example.com"))
    by_code = ok(await client.post(OTP_AUTH, headers=app_headers, json={"email": "multi@example.com", "otpCode": code}))
    assert by_code["customerAccount"]["id"] == first["id"]  # a code login takes the first account by priority
    assert decode_behaviors((await _claims(client, by_code))[KIBO]["bv"]) == set(
        BUILT_IN_ROLE_BY_ID[PURCHASER_ROLE].behaviors)

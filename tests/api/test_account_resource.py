"""The CustomerAccount resource: get, list (paging, sorting, Kibo filters, q), add, bulk add, update and
delete, with who may do each."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import pytest
from sqlalchemy import func, insert, select

from tests.api.support import (
    ACCOUNT_KEYS,
    CURRENT,
    CUSTOMER,
    ENVELOPE_KEYS,
    JSON_TYPE,
    anonymous,
    assert_error,
    kibo_date,
    login,
    ok,
    refresh,
    register,
)
from tests.conftest import ADMIN, OTHER, OTHER_SITE, OTHER_TENANT, PASSWORD, SITE_OTHER_SET, SITE_SAME_SET, app_token, headers
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

ACCOUNTS = f"{CUSTOMER}/accounts"
BULK = f"{ACCOUNTS}/Bulk"
EMAIL = "nina@example.com"
COLLECTION_KEYS = {"startIndex", "pageSize", "pageCount", "totalCount", "items"}


def client_error(r: httpx.Response) -> bool:
    """A refusal in the Kibo envelope that shows nothing of the account."""
    assert_error(r, r.status_code)
    return r.status_code in (401, 403, 404) and "emailAddress" not in r.text


def _one(account_id: int | str) -> str:
    return f"{ACCOUNTS}/{account_id}"


@pytest.fixture
async def admin(client: httpx.AsyncClient, app_headers: dict[str, str]) -> dict[str, str]:
    return headers(await app_token(client, ADMIN))


def _shopper(app_headers: dict[str, str], ticket: dict[str, Any]) -> dict[str, str]:
    return {**app_headers, "x-vol-user-claims": ticket["accessToken"]}


def _jwt(ticket: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ticket['jwtAccessToken']}"}


async def _add(client: httpx.AsyncClient, admin: dict[str, str], **account: Any) -> dict[str, Any]:
    return ok(await client.post(ACCOUNTS, headers=admin, json=account))


async def _count(core: Core, table: Any, account_id: int) -> int:
    async with core.store.engine.connect() as conn:
        return int((await conn.execute(
            select(func.count()).select_from(table).where(table.c.account_id == account_id))).scalar_one())


# -- GET /accounts/{accountId} ----------------------------------------------------------------------------

async def test_owner_and_admin_read_the_account(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                admin: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL, firstName="Nina")
    account_id = t["customerAccount"]["id"]
    by_claims = ok(await client.get(_one(account_id), headers=_shopper(app_headers, t)))
    by_jwt = ok(await client.get(_one(account_id), headers=_jwt(t)))
    by_admin = ok(await client.get(_one(account_id), headers=admin))
    assert by_claims == by_jwt == by_admin == t["customerAccount"]
    assert set(by_admin) == ACCOUNT_KEYS
    assert by_admin["firstName"] == "Nina"
    # the same customer set from its other site
    ok(await client.get(_one(account_id), headers={**admin, "x-vol-site": str(SITE_SAME_SET)}))
    r = await client.get(_one(account_id), headers=admin, params={"responseFields": "id,emailAddress"})
    assert ok(r) == {"id": account_id, "emailAddress": EMAIL}


async def test_reading_an_account_needs_its_shopper_or_an_admin(client: httpx.AsyncClient,
                                                                app_headers: dict[str, str],
                                                                admin: dict[str, str]) -> None:
    nina = await register(client, app_headers, EMAIL)
    otto = await register(client, app_headers, "otto@example.com")
    nina_id = nina["customerAccount"]["id"]
    assert_error(await client.get(_one(nina_id), headers=app_headers), 403, "FORBIDDEN")
    assert_error(await client.get(_one(nina_id), headers=_shopper(app_headers, otto)), 403, "FORBIDDEN")
    assert_error(await client.get(_one(nina_id), headers=_jwt(otto)), 403, "FORBIDDEN")
    guest = await anonymous(client, app_headers)
    assert_error(await client.get(_one(nina_id), headers=_shopper(app_headers, guest)), 403, "FORBIDDEN")
    # a shopper asking for an id that does not exist is refused the same way: ids cannot be probed
    assert_error(await client.get(_one(987654), headers=_shopper(app_headers, otto)), 403, "FORBIDDEN")
    assert_error(await client.get(_one(nina_id)), 401, "UNAUTHORIZED")
    assert_error(await client.get(_one(nina_id), headers={**app_headers, "x-vol-user-claims": "garbage"}), 401,
                 "INVALID_ACCESS_TOKEN")


async def test_get_account_not_found_and_bad_ids(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                 admin: dict[str, str]) -> None:
    assert_error(await client.get(_one(987654), headers=admin), 404, "ITEM_NOT_FOUND")
    # an account of another customer set is not visible from this site
    outlet = await register(client, {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}, EMAIL)
    assert_error(await client.get(_one(outlet["customerAccount"]["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    ok(await client.get(_one(outlet["customerAccount"]["id"]), headers={**admin, "x-vol-site": str(SITE_OTHER_SET)}))
    for bad in ("0", "00", str(2**63), "9" * 30):
        assert_error(await client.get(_one(bad), headers=admin), 400, "MISSING_OR_INVALID_PARAMETER", "accountId")
    for not_an_id in ("abc", "-1", "1.5", "1e3"):  # not a path of this resource at all
        assert_error(await client.get(_one(not_an_id), headers=admin), 404, "ITEM_NOT_FOUND")
    ok(await client.get(_one(f"0{outlet['customerAccount']['id']}"), headers={**admin, "x-vol-site": str(SITE_OTHER_SET)}))


async def test_named_routes_are_not_taken_for_account_ids(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                          admin: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    for path in (CURRENT, f"{ACCOUNTS}/CURRENT", f"{ACCOUNTS}/current/"):
        assert ok(await client.get(path, headers=_shopper(app_headers, t)))["id"] == t["customerAccount"]["id"]
    for path in (BULK, f"{ACCOUNTS}/bulk", f"{ACCOUNTS}/BULK/"):
        body = ok(await client.post(path, headers=admin, json=[]))
        assert body == {"startIndex": 0, "pageSize": 0, "pageCount": 0, "totalCount": 0, "items": []}


# -- POST /accounts ---------------------------------------------------------------------------------------

async def test_add_account_without_login(client: httpx.AsyncClient, app_headers: dict[str, str],
                                         admin: dict[str, str], clock: ManualClock) -> None:
    a = await _add(client, admin, emailAddress=EMAIL, firstName="Nina", lastName="Neu", taxExempt=True,
                   externalId="ext-1", localeCode="de-DE", accountType="B2B", companyOrOrganization="Neu GmbH",
                   customerSet="default", contacts=[], id=555, isLocked=True, auditInfo={"createBy": "me"})
    assert set(a) == ACCOUNT_KEYS
    assert a["id"] != 555 and a["isLocked"] is False
    assert (a["emailAddress"], a["userName"], a["firstName"], a["lastName"]) == (EMAIL, None, "Nina", "Neu")
    assert (a["taxExempt"], a["externalId"], a["localeCode"], a["accountType"]) == (True, "ext-1", "de-DE", "B2B")
    assert a["companyOrOrganization"] == "Neu GmbH"
    assert a["hasExternalPassword"] is False and a["isActive"] is True
    assert a["auditInfo"]["createBy"] == ADMIN[0]
    assert kibo_date(a["auditInfo"]["createDate"]) == clock.now()
    assert ok(await client.get(_one(a["id"]), headers=admin)) == a
    # no login yet; the email is claimed, so nobody else can register with it
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")
    r = await client.post(f"{CUSTOMER}/accounts/Add-Account-And-Login", headers=app_headers,
                          json={"account": {"emailAddress": EMAIL.upper()}, "password": PASSWORD})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    # Create-Login gives it one
    ok(await client.post(f"{_one(a['id'])}/Create-Login", headers=admin, json={"password": PASSWORD}))
    assert ok(await login(client, app_headers, EMAIL))["customerAccount"]["id"] == a["id"]
    # an account with neither email nor username
    bare = await _add(client, admin, firstName="Walk-in")
    assert (bare["emailAddress"], bare["userName"], bare["firstName"]) == (None, None, "Walk-in")


async def test_add_account_refusals(client: httpx.AsyncClient, app_headers: dict[str, str],
                                    admin: dict[str, str]) -> None:
    assert_error(await client.post(ACCOUNTS, headers=app_headers, json={"emailAddress": EMAIL}), 403, "FORBIDDEN")
    t = await register(client, app_headers, "taken@example.com", userName="taken")
    assert_error(await client.post(ACCOUNTS, headers=_shopper(app_headers, t), json={"emailAddress": EMAIL}), 403)
    await _add(client, admin, emailAddress="first@example.com", userName="first")
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"emailAddress": "not-an-email"}, 400, "emailAddress"),
        ({"emailAddress": "a\u0000b@example.com"}, 400, "emailAddress"),
        ({"emailAddress": EMAIL, "userName": "has space"}, 400, "userName"),
        ({"emailAddress": EMAIL, "firstName": "x" * 201}, 400, "firstName"),
        ({"emailAddress": EMAIL, "localeCode": "x" * 21}, 400, "localeCode"),
        ({"emailAddress": EMAIL, "lastName": "a\u0000b"}, 400, "lastName"),
        ({"emailAddress": EMAIL, "firstName": 5}, 400, "firstName"),
        ({"emailAddress": EMAIL, "taxExempt": "maybe"}, 400, "taxExempt"),
        ({"emailAddress": EMAIL, "contacts": [{"email": "not an address"}]}, 400, "contacts[0].email"),
        ({"emailAddress": EMAIL, "segments": [{"id": 1}]}, 400, "segments[0]"),  # no such segment
        ({"emailAddress": EMAIL, "customerSet": "outlet"}, 400, "customerSet"),
        ({"emailAddress": "TAKEN@example.com"}, 409, None),
        ({"emailAddress": EMAIL, "userName": "Taken"}, 409, None),
        ({"emailAddress": EMAIL, "userName": "first@example.com"}, 409, None),
        ({"userName": "FIRST"}, 409, None),
    ]
    for body, status, parameter in cases:
        code = "VALIDATION_CONFLICT" if status == 409 else "MISSING_OR_INVALID_PARAMETER"
        assert_error(await client.post(ACCOUNTS, headers=admin, json=body), status, code, parameter)
    assert_error(await client.post(ACCOUNTS, headers=admin, content=b"[1]"), 400, "MISSING_OR_INVALID_PARAMETER", "body")
    # none of these left an account behind
    listed = ok(await client.get(ACCOUNTS, headers=admin))
    assert listed["totalCount"] == 2
    assert (await _add(client, admin, emailAddress=EMAIL))["emailAddress"] == EMAIL


# -- POST /accounts/Bulk ------------------------------------------------------------------------------------

def _entry(email: str, password: str | None = PASSWORD, **account: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"account": {"emailAddress": email, **account}}
    if password is not None:
        entry["password"] = password
    return entry


async def test_bulk_adds_accounts_with_logins(client: httpx.AsyncClient, app_headers: dict[str, str],
                                              admin: dict[str, str]) -> None:
    old_hash = bcrypt.hashpw(b"old system password", bcrypt.gensalt(4)).decode()
    body = [
        _entry("a@example.com", firstName="A"),
        _entry("b@example.com", userName="bee", lastName="B"),
        {"ACCOUNT": {"EmailAddress": "c@example.com"}, "isImport": True, "externalPassword": old_hash},
    ]
    r = await client.post(BULK, headers=admin, json=body)
    added = ok(r)
    assert set(added) == COLLECTION_KEYS
    assert (added["startIndex"], added["pageSize"], added["pageCount"], added["totalCount"]) == (0, 3, 1, 3)
    items = added["items"]
    assert [a["emailAddress"] for a in items] == ["a@example.com", "b@example.com", "c@example.com"]
    assert [a["userName"] for a in items] == ["a@example.com", "bee", "c@example.com"]
    assert [a["hasExternalPassword"] for a in items] == [False, False, True]
    assert items[0]["firstName"] == "A" and items[1]["lastName"] == "B"
    assert all(set(a) == ACCOUNT_KEYS for a in items)
    assert "accessToken" not in r.text  # no tickets are issued
    assert ok(await login(client, app_headers, "a@example.com"))["customerAccount"]["id"] == items[0]["id"]
    assert ok(await login(client, app_headers, "bee"))["customerAccount"]["id"] == items[1]["id"]
    assert ok(await login(client, app_headers, "c@example.com", "old system password"))["userId"] == items[2]["userId"]
    r = await client.post(BULK, headers=admin, json=[_entry("d@example.com")], params={"responseFields": "items(id)"})
    assert set(ok(r)) == {"items"} and set(ok(r)["items"][0]) == {"id"}


async def test_bulk_is_all_or_nothing(client: httpx.AsyncClient, app_headers: dict[str, str],
                                      admin: dict[str, str]) -> None:
    await register(client, app_headers, "taken@example.com")
    good = [_entry("a@example.com"), _entry("b@example.com")]
    cases: list[tuple[Any, int, str, str | None]] = [
        ([*good, _entry("not-an-email")], 400, "MISSING_OR_INVALID_PARAMETER", "[2].emailAddress"),
        ([*good, _entry("c@example.com", password=None)], 400, "MISSING_OR_INVALID_PARAMETER", "[2].password"),
        ([*good, {"password": PASSWORD}], 400, "MISSING_OR_INVALID_PARAMETER", "[2].account"),
        ([*good, _entry("c@example.com", firstName=["x"])], 400, "MISSING_OR_INVALID_PARAMETER",
         "[2].account.firstName"),
        ([good[0], 5], 400, "MISSING_OR_INVALID_PARAMETER", "[1]"),
        ([*good, _entry("c@example.com", contacts=[{"email": "@"}])], 400, "MISSING_OR_INVALID_PARAMETER",
         "[2].contacts[0].email"),
        ([*good, _entry("c@example.com", password="password1")], 400, "ADD_CUSTOMER_FAILED", None),
        ([good[0], _entry("TAKEN@example.com"), good[1]], 409, "VALIDATION_CONFLICT", None),
        ([good[0], good[1], _entry("A@EXAMPLE.COM")], 409, "VALIDATION_CONFLICT", None),
        ([good[0], _entry("x@example.com", userName="b@example.com"), good[1]], 409, "VALIDATION_CONFLICT", None),
        ({"account": good[0]}, 400, "MISSING_OR_INVALID_PARAMETER", "body"),
        ([_entry(f"u{i}@example.com") for i in range(101)], 400, "MISSING_OR_INVALID_PARAMETER", "body"),
    ]
    for body, status, code, parameter in cases:
        error = assert_error(await client.post(BULK, headers=admin, json=body), status, code, parameter)
        if status == 409:
            assert "entry " in error["message"]
    assert "entry 2" in assert_error(await client.post(BULK, headers=admin, json=[
        *good, _entry("c@example.com", password="password1")]), 400)["message"]
    assert "entry 1" in assert_error(await client.post(BULK, headers=admin, json=[
        good[0], _entry("taken@example.com")]), 409)["message"]
    # nothing of any refused batch was kept: all of these can still be added
    listed = ok(await client.get(ACCOUNTS, headers=admin))
    assert [a["emailAddress"] for a in listed["items"]] == ["taken@example.com"]
    added = ok(await client.post(BULK, headers=admin, json=[*good, _entry("c@example.com")]))
    assert added["totalCount"] == 3
    assert_error(await client.post(BULK, headers=app_headers, json=good), 403, "FORBIDDEN")


# -- PUT /accounts/{accountId} ----------------------------------------------------------------------------------

async def test_owner_updates_profile_and_read_only_fields_are_ignored(client: httpx.AsyncClient,
                                                                     app_headers: dict[str, str],
                                                                     clock: ManualClock) -> None:
    t = await register(client, app_headers, EMAIL, firstName="Nina", lastName="Neu", externalId="ext-1",
                       acceptsMarketing=True)
    original = t["customerAccount"]
    clock.advance(timedelta(minutes=5))
    # a Kibo client sends back the whole object it got, changed; read-only fields and parts are ignored
    sent = {**original, "firstName": "Nina Maria", "companyOrOrganization": "Neu AG", "taxExempt": True,
            "taxId": "DE123", "localeCode": "de-AT", "accountType": "B2B",
            "userId": "f" * 32, "customerSet": "outlet", "isLocked": True, "hasExternalPassword": True,
            "isAnonymous": True, "migrationRequired": True, "customerSinceDate": "2000-01-01T00:00:00.000Z",
            "auditInfo": {"createBy": "mallory", "createDate": "2000-01-01T00:00:00.000Z"},
            "commerceSummary": {"orderCount": 99}, "contacts": "not even a list", "notes": [{"content": 1}],
            "segments": None, "attributes": [{"fullyQualifiedName": "x"}], "last2FaDate": "yesterday"}
    r = await client.put(_one(original["id"]), headers=_shopper(app_headers, t), json=sent)
    a = ok(r)
    assert (a["firstName"], a["companyOrOrganization"], a["taxExempt"], a["taxId"]) == ("Nina Maria", "Neu AG", True,
                                                                                         "DE123")
    assert (a["localeCode"], a["accountType"]) == ("de-AT", "B2B")
    for name in ("id", "userId", "customerSet", "isLocked", "hasExternalPassword", "isAnonymous", "migrationRequired",
                 "customerSinceDate", "commerceSummary", "contacts", "notes", "segments", "attributes", "last2FaDate",
                 "emailAddress", "userName", "lastName", "externalId", "acceptsMarketing", "isActive"):
        assert a[name] == original[name], name
    assert a["auditInfo"]["createBy"] == original["auditInfo"]["createBy"]
    assert a["auditInfo"]["createDate"] == original["auditInfo"]["createDate"]
    assert a["auditInfo"]["updateBy"] == t["userId"]
    assert kibo_date(a["auditInfo"]["updateDate"]) == clock.now()
    assert ok(await client.get(_one(original["id"]), headers=_jwt(t))) == a
    # absent fields keep their value; null clears a nullable one; null on true/false changes nothing
    a = ok(await client.put(_one(original["id"]), headers=_jwt(t),
                            json={"lastName": None, "taxId": None, "acceptsMarketing": None}))
    assert (a["lastName"], a["taxId"], a["acceptsMarketing"]) == (None, None, True)
    assert (a["firstName"], a["externalId"], a["companyOrOrganization"]) == ("Nina Maria", "ext-1", "Neu AG")
    assert ok(await client.put(_one(original["id"]), headers=_jwt(t), json={})) == ok(
        await client.get(_one(original["id"]), headers=_jwt(t)))
    # the id of the body, when given, must be the path's
    r = await client.put(_one(original["id"]), headers=_jwt(t), json={"id": original["id"] + 1, "firstName": "X"})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "id")
    assert ok(await client.get(_one(original["id"]), headers=_jwt(t)))["firstName"] == "Nina Maria"


async def test_update_email_and_username_reclaims_login_names(client: httpx.AsyncClient,
                                                              app_headers: dict[str, str],
                                                              admin: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL, userName="nina")
    other = await register(client, app_headers, "otto@example.com", userName="otto")
    account_id = t["customerAccount"]["id"]
    a = ok(await client.put(_one(account_id), headers=_shopper(app_headers, t),
                            json={"emailAddress": "Nina.New@example.com", "userName": "nina2"}))
    assert (a["emailAddress"], a["userName"]) == ("Nina.New@example.com", "nina2")
    assert ok(await login(client, app_headers, "nina.new@EXAMPLE.com"))["customerAccount"]["id"] == account_id
    assert ok(await login(client, app_headers, "nina2"))["customerAccount"]["id"] == account_id
    for old in (EMAIL, "nina"):
        assert_error(await login(client, app_headers, old), 401, "INVALID_CREDENTIALS")
    # the old names are free again
    await register(client, app_headers, EMAIL, userName="nina")
    # another account's names are not: 409, and nothing changes
    for body in ({"emailAddress": "OTTO@example.com"}, {"userName": "Otto"}, {"userName": "otto@example.com"},
                 {"emailAddress": "fresh@example.com", "userName": "otto"}):
        assert_error(await client.put(_one(account_id), headers=admin, json=body), 409, "VALIDATION_CONFLICT")
    a = ok(await client.get(_one(account_id), headers=admin))
    assert (a["emailAddress"], a["userName"]) == ("Nina.New@example.com", "nina2")
    assert ok(await login(client, app_headers, "nina2"))["customerAccount"]["id"] == account_id
    assert_error(await login(client, app_headers, "fresh@example.com"), 401, "INVALID_CREDENTIALS")
    assert ok(await login(client, app_headers, "otto"))["userId"] == other["userId"]
    # an account's own names may be given again, in another case
    a = ok(await client.put(_one(account_id), headers=admin, json={"emailAddress": "NINA.NEW@example.com",
                                                                   "userName": "Nina2"}))
    assert a["userName"] == "Nina2"
    assert ok(await login(client, app_headers, "nina2"))["customerAccount"]["id"] == account_id
    # a login needs a username; the email may be removed
    for body in ({"userName": None}, {"userName": "  "}):
        assert_error(await client.put(_one(account_id), headers=admin, json=body), 400,
                     "MISSING_OR_INVALID_PARAMETER", "userName")
    a = ok(await client.put(_one(account_id), headers=admin, json={"emailAddress": None}))
    assert a["emailAddress"] is None
    assert_error(await login(client, app_headers, "nina.new@example.com"), 401, "INVALID_CREDENTIALS")
    assert ok(await login(client, app_headers, "nina2"))["customerAccount"]["id"] == account_id
    # without a login, both may go
    bare = await _add(client, admin, emailAddress="bare@example.com", userName="bare")
    a = ok(await client.put(_one(bare["id"]), headers=admin, json={"emailAddress": "", "userName": None}))
    assert (a["emailAddress"], a["userName"]) == (None, None)
    await _add(client, admin, emailAddress="bare@example.com", userName="bare")


async def test_update_refusals(client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str]) -> None:
    nina = await register(client, app_headers, EMAIL, firstName="Nina")
    otto = await register(client, app_headers, "otto@example.com")
    nina_id = nina["customerAccount"]["id"]
    body = {"firstName": "Hacked"}
    assert_error(await client.put(_one(nina_id), headers=app_headers, json=body), 403, "FORBIDDEN")
    assert_error(await client.put(_one(nina_id), headers=_shopper(app_headers, otto), json=body), 403, "FORBIDDEN")
    assert_error(await client.put(_one(nina_id), headers=_jwt(otto), json={"bad": "body", "firstName": 5}), 403)
    assert_error(await client.put(_one(987654), headers=admin, json=body), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(_one("0"), headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER", "accountId")
    assert_error(await client.put(_one("x"), headers=admin, json=body), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(CURRENT, headers=_jwt(nina), json=body), 405)
    cases: list[tuple[Any, str]] = [
        ({"emailAddress": "not-an-email"}, "emailAddress"),
        ({"userName": "has space"}, "userName"),
        ({"firstName": "x" * 201}, "firstName"),
        ({"taxId": "x" * 101}, "taxId"),
        ({"accountType": "\u0000"}, "accountType"),
        ({"firstName": 5}, "firstName"),
        ({"isActive": "sometimes"}, "isActive"),
        ({"id": "seven"}, "id"),
        ([body], "body"),
    ]
    for sent, parameter in cases:
        r = await client.put(_one(nina_id), headers=_jwt(nina), json=sent)
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    # what the SDK sends for updateAccount without an account: the JSON content type and no body
    r = await client.put(_one(nina_id), headers={**_jwt(nina), "content-type": "application/json"}, content=b"")
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "body")
    assert ok(await client.get(_one(nina_id), headers=admin))["firstName"] == "Nina"


async def test_only_an_admin_changes_is_active_and_deactivation_ends_sessions(
    client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str],
) -> None:
    t = await register(client, app_headers, EMAIL)
    account_id = t["customerAccount"]["id"]
    # the shopper sending back isActive unchanged is fine; changing it is not
    assert ok(await client.put(_one(account_id), headers=_jwt(t), json={"isActive": True, "firstName": "N"}))["isActive"]
    r = await client.put(_one(account_id), headers=_jwt(t), json={"isActive": False, "firstName": "M"})
    assert_error(r, 403, "FORBIDDEN")
    assert ok(await client.get(_one(account_id), headers=admin))["firstName"] == "N"
    second = ok(await login(client, app_headers, EMAIL))
    a = ok(await client.put(_one(account_id), headers=admin, json={"isActive": False}))
    assert a["isActive"] is False
    assert a["auditInfo"]["updateBy"] == ADMIN[0]
    for ticket in (t, second):
        assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
        assert_error(await client.get(CURRENT, headers=_shopper(app_headers, ticket)), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")
    a = ok(await client.put(_one(account_id), headers=admin, json={"isActive": True}))
    assert a["isActive"] is True
    assert ok(await login(client, app_headers, EMAIL))["customerAccount"]["isActive"] is True


# -- DELETE /accounts/{accountId} ---------------------------------------------------------------------------------

async def test_delete_account(client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str],
                              core: Core) -> None:
    t = await register(client, app_headers, EMAIL, userName="nina")
    keep = await register(client, app_headers, "otto@example.com")
    account_id = t["customerAccount"]["id"]
    now = core.clock.now()
    async with core.store.engine.begin() as conn:
        await conn.execute(insert(tables.notes).values(account_id=account_id, content="VIP", created_at=now,
                                                      updated_at=now))
    assert await _count(core, tables.notes, account_id) == 1
    assert await _count(core, tables.login_names, account_id) == 2

    assert_error(await client.delete(_one(account_id), headers=app_headers), 403, "FORBIDDEN")
    assert_error(await client.delete(_one(account_id), headers=_shopper(app_headers, t)), 403, "FORBIDDEN")
    assert_error(await client.delete(_one(account_id), headers=_jwt(t)), 403, "FORBIDDEN")
    assert_error(await client.delete(_one(987654), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(_one(str(2**63)), headers=admin), 400, "MISSING_OR_INVALID_PARAMETER", "accountId")
    assert_error(await client.delete(CURRENT, headers=admin), 405)
    outlet = await register(client, {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}, EMAIL)
    assert_error(await client.delete(_one(outlet["customerAccount"]["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    ok(await client.get(_one(account_id), headers=_jwt(t)))  # nothing was deleted yet

    r = await client.delete(_one(account_id), headers=admin)
    assert r.status_code == 204
    assert r.content == b""
    assert await _count(core, tables.notes, account_id) == 0
    assert await _count(core, tables.login_names, account_id) == 0
    # gone for everyone, and no ticket of it works any more
    assert_error(await client.get(_one(account_id), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(_one(account_id), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(_one(account_id), headers=admin, json={"firstName": "x"}), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(_one(account_id), headers=_jwt(t)), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(CURRENT, headers=_shopper(app_headers, t)), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await client.get(CURRENT, headers=_jwt(t)), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await refresh(client, app_headers, t["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    for name in (EMAIL, "nina"):
        assert_error(await login(client, app_headers, name), 401, "INVALID_CREDENTIALS")
    # the names are free again; the other account is untouched
    await register(client, app_headers, EMAIL, userName="nina")
    ok(await client.get(_one(keep["customerAccount"]["id"]), headers=_jwt(keep)))
    ok(await client.get(_one(outlet["customerAccount"]["id"]), headers={**admin, "x-vol-site": str(SITE_OTHER_SET)}))


async def test_tickets_of_a_deleted_account_never_reach_a_later_account(
    client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str],
) -> None:
    """An account added after the newest one was deleted does not get its id, on SQLite either
    (AUTOINCREMENT: issue 13, finding 10); the deleted account's ticket JWT (valid for minutes,
    checked without the database) must not act on it."""
    gone = await register(client, app_headers, EMAIL)
    assert (await client.delete(_one(gone["customerAccount"]["id"]), headers=admin)).status_code == 204
    newcomer = await register(client, app_headers, "newcomer@example.com", firstName="New")
    new_id = newcomer["customerAccount"]["id"]
    assert new_id > gone["customerAccount"]["id"]
    status = 403
    assert_error(await client.get(_one(new_id), headers=_jwt(gone)), status)
    # a change checks the JWT's session, which ended with its account (issue 13, finding 3)
    assert_error(await client.put(_one(new_id), headers=_jwt(gone), json={"firstName": "Taken over"}), 401,
                 "INVALID_ACCESS_TOKEN")
    # nor through the account's parts, its login state, or the current account
    for path in ("contacts", "segments", "loginstate", "attributes"):
        assert client_error(await client.get(f"{_one(new_id)}/{path}", headers=_jwt(gone)))
    assert client_error(await client.post(f"{_one(new_id)}/contacts", headers=_jwt(gone), json={"email": "x@example.com"}))
    assert_error(await client.get(CURRENT, headers=_jwt(gone)), 401, "INVALID_ACCESS_TOKEN")
    assert ok(await client.get(_one(new_id), headers=_jwt(newcomer)))["firstName"] == "New"
    assert ok(await client.get(CURRENT, headers=_jwt(newcomer)))["firstName"] == "New"


# -- GET /accounts -----------------------------------------------------------------------------------------------

async def _people(client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock) -> dict[str, dict[str, Any]]:
    """Five accounts of the default customer set (two created a minute before the other three) and one of
    the outlet set that no listing from site 200 may show."""
    made = {
        "nina": await _add(client, admin, emailAddress="Nina@Example.com", userName="nina", firstName="Nina",
                           lastName="Neu", externalId="ext-1", acceptsMarketing=True, localeCode="de-DE",
                           accountType="B2C", companyOrOrganization="Neu GmbH"),
        "otto": await _add(client, admin, emailAddress="otto@example.com", firstName="Otto", lastName="O'Brien",
                           taxExempt=True, externalId="EXT-2"),
    }
    clock.advance(timedelta(minutes=1))
    made["anna"] = await _add(client, admin, emailAddress="anna@example.org", firstName="Anna", lastName="100%_off")
    made["none"] = await _add(client, admin, lastName="Null")
    made["bernd"] = await _add(client, admin, emailAddress="bernd@example.com", userName="B_rot", firstName="Bernd",
                               lastName="Brot")
    await _add(client, {**admin, "x-vol-site": str(SITE_OTHER_SET)}, emailAddress="nina@example.com", firstName="Nina")
    return made


async def _listed(client: httpx.AsyncClient, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    body = ok(await client.get(ACCOUNTS, headers=admin, params=params))
    assert set(body) == COLLECTION_KEYS
    return body


def _names(people: dict[str, dict[str, Any]], items: list[dict[str, Any]]) -> list[str]:
    by_id = {a["id"]: name for name, a in people.items()}
    return [by_id[a["id"]] for a in items]


async def test_list_pages(client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock) -> None:
    people = await _people(client, admin, clock)
    everyone = await _listed(client, admin)
    assert (everyone["startIndex"], everyone["pageSize"], everyone["pageCount"], everyone["totalCount"]) == (0, 20, 1, 5)
    assert _names(people, everyone["items"]) == ["nina", "otto", "anna", "none", "bernd"]  # by id
    assert everyone["items"][0] == people["nina"]
    assert all(set(a) == ACCOUNT_KEYS for a in everyone["items"])
    pages = [(0, 2, ["nina", "otto"]), (2, 2, ["anna", "none"]), (4, 2, ["bernd"]), (5, 2, []), (99, 2, []),
             (1, 3, ["otto", "anna", "none"]), (0, 5, ["nina", "otto", "anna", "none", "bernd"]), (3, 200, ["none", "bernd"])]
    for start, size, expected in pages:
        page = await _listed(client, admin, startIndex=start, pageSize=size)
        assert (page["startIndex"], page["pageSize"], page["totalCount"]) == (start, size, 5)
        assert page["pageCount"] == -(-5 // size)
        assert _names(people, page["items"]) == expected, (start, size)
    page = await _listed(client, admin, pageSize=2, filter="firstName eq 'nobody'")
    assert (page["totalCount"], page["pageCount"], page["items"]) == (0, 0, [])
    # query names are case-insensitive, and responseFields trims the collection and its items
    r = await client.get(f"{ACCOUNTS}?STARTINDEX=1&pagesize=1&responseFields=totalCount,items(id,firstName)", headers=admin)
    assert ok(r) == {"totalCount": 5, "items": [{"id": people["otto"]["id"], "firstName": "Otto"}]}


async def test_list_needs_an_admin_and_shows_only_the_sites_customer_set(
    client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], clock: ManualClock,
) -> None:
    people = await _people(client, admin, clock)
    assert_error(await client.get(ACCOUNTS, headers=app_headers), 403, "FORBIDDEN")
    t = await register(client, app_headers, "shopper@example.com")
    assert_error(await client.get(ACCOUNTS, headers=_shopper(app_headers, t)), 403, "FORBIDDEN")
    assert_error(await client.get(ACCOUNTS, headers=_jwt(t)), 403, "FORBIDDEN")
    # forbidden comes before any parameter is looked at
    assert_error(await client.get(ACCOUNTS, headers=app_headers, params={"filter": "((("}), 403, "FORBIDDEN")
    outlet = await _listed(client, {**admin, "x-vol-site": str(SITE_OTHER_SET)})
    assert [a["customerSet"] for a in outlet["items"]] == ["outlet"]
    same_set = await _listed(client, {**admin, "x-vol-site": str(SITE_SAME_SET)})
    assert same_set["totalCount"] == len(people) + 1
    other_tenant = headers(await app_token(client, OTHER), tenant=OTHER_TENANT, site=OTHER_SITE)
    assert_error(await client.get(ACCOUNTS, headers=other_tenant), 403, "FORBIDDEN")


async def test_list_bad_parameters_are_400(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    cases = [
        ("startIndex", "-1"), ("startIndex", "abc"), ("startIndex", "1.5"), ("startIndex", str(2**31)),
        ("pageSize", "0"), ("pageSize", "201"), ("pageSize", "-5"), ("pageSize", "x"), ("pageSize", "9" * 40),
        ("sortBy", "nope asc"), ("sortBy", "lastName sideways"), ("sortBy", "password asc"),
        ("filter", "password eq 'x'"), ("filter", "firstName eq"), ("filter", "id eq 'x'"), ("filter", "(" * 50),
        ("filter", "id eq 1" + " " * 2000), ("filter", "isActive gt true"), ("filter", "firstName eq 'a\u0000'"),
        ("filter", "id eq 99999999999999999999"), ("filter", "auditInfo.createDate gt someday"),
        ("q", "x" * 201), ("q", "a\u0000"),
    ]
    for name, value in cases:
        r = await client.get(ACCOUNTS, headers=admin, params={name: value})
        body = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", name)
        assert set(body) == ENVELOPE_KEYS
    # empty values mean the defaults
    page = await _listed(client, admin, startIndex="", pageSize="", sortBy="", filter="", q="")
    assert (page["startIndex"], page["pageSize"]) == (0, 20)


async def test_list_sorting(client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock) -> None:
    people = await _people(client, admin, clock)
    cases = [
        ("lastName asc", ["anna", "bernd", "nina", "none", "otto"]),  # case-insensitive: 100%_off, Brot, Neu, Null, O'Brien
        ("LASTNAME DESC", ["otto", "none", "nina", "bernd", "anna"]),
        ("firstName", ["none", "anna", "bernd", "nina", "otto"]),  # missing values first when ascending...
        ("firstName desc", ["otto", "nina", "bernd", "anna", "none"]),  # ...and last when descending
        ("emailAddress asc", ["none", "anna", "bernd", "nina", "otto"]),
        ("id desc", ["bernd", "none", "anna", "otto", "nina"]),
        ("auditInfo.createDate desc, lastName asc", ["anna", "bernd", "none", "nina", "otto"]),
        ("customerSinceDate asc,id desc", ["otto", "nina", "bernd", "none", "anna"]),
        ("taxExempt desc,id", ["otto", "nina", "anna", "none", "bernd"]),
    ]
    for sort, expected in cases:
        assert _names(people, (await _listed(client, admin, sortBy=sort))["items"]) == expected, sort
    page = await _listed(client, admin, sortBy="lastName desc", startIndex=1, pageSize=2)
    assert _names(people, page["items"]) == ["none", "nina"]


async def test_list_filters(client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock) -> None:
    start = clock.now()
    people = await _people(client, admin, clock)
    later = clock.now()
    everyone = {"nina", "otto", "anna", "none", "bernd"}
    ids = {name: a["id"] for name, a in people.items()}
    cases: list[tuple[str, set[str]]] = [
        ("firstName eq 'nina'", {"nina"}),
        ("FIRSTNAME EQ Nina", {"nina"}),
        ("emailAddress eq 'NINA@EXAMPLE.COM'", {"nina"}),
        ("emailAddress eq 'nina@example.com'", {"nina"}),
        ("emailAddress sw 'ANNA@ex'", {"anna"}),
        ("emailAddress cont 'example.com'", {"nina", "otto", "bernd"}),
        ("emailAddress eq null", {"none"}),
        ("emailAddress ne null", everyone - {"none"}),
        ("firstName ne 'Nina'", everyone - {"nina"}),  # a missing firstName is "not Nina" too
        ("firstName eq null", {"none"}),
        ("userName eq 'NINA'", {"nina"}),
        ("userName cont '_'", {"bernd"}),
        ("userName eq null", {"otto", "anna", "none"}),
        ("lastName eq 'O''Brien'", {"otto"}),
        ("lastName eq 'o\\'brien'", {"otto"}),
        ("lastName cont '%'", {"anna"}),  # LIKE wildcards are literal
        ("lastName cont '_'", {"anna"}),
        ("lastName sw '100%'", {"anna"}),
        ("lastName sw '1_0'", set()),
        ("lastName eq null", set()),
        ("lastName eq 'null'", {"none"}),
        ("lastName gt 'neu'", {"none", "otto"}),
        ("lastName le 'Brot'", {"anna", "bernd"}),
        ("lastName eq 'x'' or 1=1 --'", set()),
        ("lastName eq 'Neu' or lastName eq 'Brot'", {"nina", "bernd"}),
        ("externalId eq 'ext-2'", {"otto"}),
        ("externalId in ['EXT-1', ext-2, 'nope']", {"nina", "otto"}),
        ("externalId ne 'ext-1'", everyone - {"nina"}),
        ("acceptsMarketing eq true", {"nina"}),
        ("taxExempt eq true or acceptsMarketing eq true", {"nina", "otto"}),
        ("taxExempt ne true", everyone - {"otto"}),
        ("isActive eq true", everyone),
        ("isActive eq false", set()),
        ("isLocked eq false and hasExternalPassword eq false", everyone),
        ("localeCode eq 'de-de'", {"nina"}),
        ("accountType eq b2c", {"nina"}),
        ("companyOrOrganization cont 'gmbh'", {"nina"}),
        # and binds tighter than or; parentheses change that
        ("firstName eq 'Nina' or firstName eq 'Otto' and lastName eq 'Neu'", {"nina"}),
        ("(firstName eq 'Nina' or firstName eq 'Otto') and lastName ne 'Neu'", {"otto"}),
        ("firstName eq 'Anna' or (firstName eq 'Otto' and (taxExempt eq true))", {"anna", "otto"}),
        (f"id eq {ids['otto']}", {"otto"}),
        (f"id in [{ids['nina']}, {ids['bernd']}, 987654]", {"nina", "bernd"}),
        (f"id gt {ids['otto']}", {"anna", "none", "bernd"}),
        (f"id le {ids['otto']}", {"nina", "otto"}),
        (f"userId eq '{people['anna']['userId'].upper()}'", {"anna"}),
        (f"auditInfo.createDate ge {later.strftime('%Y-%m-%dT%H:%M:%SZ')}", {"anna", "none", "bernd"}),
        (f"customerSinceDate lt '{later.isoformat()}'", {"nina", "otto"}),
        (f"createDate eq {people['nina']['auditInfo']['createDate']}", {"nina", "otto"}),
        (f"auditInfo.updateDate gt {start.date().isoformat()}", everyone),
        ("auditInfo.createDate lt 2000-01-01", set()),
        ("auditInfo.createBy eq 'ADMIN.APP'", everyone),
        ("lastLoginDate eq null", everyone),
    ]
    for raw, expected in cases:
        body = await _listed(client, admin, filter=raw, pageSize=200)
        assert set(_names(people, body["items"])) == expected, raw
        assert body["totalCount"] == len(expected), raw
    # a filter, q and sortBy together
    body = await _listed(client, admin, filter="emailAddress ne null", q="example.com", sortBy="firstName desc")
    assert _names(people, body["items"]) == ["otto", "nina", "bernd"]


async def test_list_free_text(client: httpx.AsyncClient, admin: dict[str, str], clock: ManualClock) -> None:
    people = await _people(client, admin, clock)
    cases: list[tuple[str, set[str]]] = [
        ("nina", {"nina"}),  # email, username and first name match the same account
        ("EXAMPLE.COM", {"nina", "otto", "bernd"}),
        ("ext", {"nina", "otto"}),  # external ids
        ("b_rot", {"bernd"}),  # usernames
        ("ROT", {"bernd"}),  # last names
        ("'brien", {"otto"}),
        ("%", {"anna"}),
        ("_", {"anna", "bernd"}),
        ("nina neu", {"nina"}),  # every word must match
        ("nina otto", set()),
        ("  example.org  ", {"anna"}),
        ("nobody", set()),
    ]
    for q, expected in cases:
        body = await _listed(client, admin, q=q)
        assert set(_names(people, body["items"])) == expected, q
        assert body["totalCount"] == len(expected)


async def test_list_reflects_updates_and_deletes(client: httpx.AsyncClient, admin: dict[str, str],
                                                 clock: ManualClock) -> None:
    people = await _people(client, admin, clock)
    ok(await client.put(_one(people["otto"]["id"]), headers=admin, json={"isActive": False, "lastName": "Obrien"}))
    assert _names(people, (await _listed(client, admin, filter="isActive eq false"))["items"]) == ["otto"]
    assert _names(people, (await _listed(client, admin, q="obrien"))["items"]) == ["otto"]
    r = await client.delete(_one(people["nina"]["id"]), headers=admin)
    assert r.status_code == 204
    body = await _listed(client, admin)
    assert body["totalCount"] == 4
    assert "nina" not in _names(people, body["items"])


async def test_error_responses_are_kibo_envelopes(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.get(ACCOUNTS, headers=admin, params={"filter": "id eq"})
    assert r.headers["content-type"] == JSON_TYPE
    body = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "filter")
    assert body["message"].startswith("Missing or invalid parameter: filter ")
    assert body["applicationName"] == "Customer"


async def test_random_filters_answer_200_or_400_never_500(client: httpx.AsyncClient, admin: dict[str, str],
                                                          clock: ManualClock) -> None:
    """Every field with every operator and values of every kind, well-formed or not, through the
    database: an answer or a 400 naming the parameter, never an error of the database."""
    await _people(client, admin, clock)
    fields = ["id", "userId", "emailAddress", "userName", "firstName", "lastName", "companyOrOrganization", "taxId",
              "externalId", "localeCode", "accountType", "isActive", "isLocked", "acceptsMarketing", "taxExempt",
              "hasExternalPassword", "customerSinceDate", "auditInfo.createDate", "auditInfo.updateDate",
              "auditInfo.createBy", "lastLoginDate"]
    ops = ["eq", "ne", "gt", "ge", "lt", "le", "sw", "cont"]
    values = ["1", "-1", "9223372036854775807", "0.5", "true", "null", "'x'", "'%'", "'_'", "'\\\\'", "''''", "'Zoë'",
              "2026-11-27", "2026-11-27T12:00:00.000Z", "'2026-11-27T12:00:00+14:00'", "'\U0001f389'", "x" * 300, "'a b'"]
    rng = random.Random(20261127)
    statuses = set()
    for _ in range(100):
        terms = []
        for _ in range(rng.randint(1, 4)):
            field = rng.choice(fields)
            if rng.random() < 0.15:
                terms.append(f"{field} in [{', '.join(rng.choice(values) for _ in range(rng.randint(1, 3)))}]")
            else:
                terms.append(f"{field} {rng.choice(ops)} {rng.choice(values)}")
        raw = terms[0]
        for term in terms[1:]:
            raw = f"{raw} {rng.choice(['and', 'or', 'AND'])} " + (f"({term})" if rng.random() < 0.3 else term)
        params = {"filter": raw, "sortBy": f"{rng.choice(fields)} {rng.choice(['asc', 'desc'])}"}
        r = await client.get(ACCOUNTS, headers=admin, params=params)
        statuses.add(r.status_code)
        if r.status_code == 200:
            assert set(r.json()) == COLLECTION_KEYS
        else:
            assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "filter")
    assert statuses == {200, 400}

"""Registration (Add-Account-And-Login), Create-Login and the current account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import pytest

from tests.api.support import (
    ACCOUNT_KEYS,
    CURRENT,
    CUSTOMER,
    HEX32,
    REGISTER,
    TICKET_KEYS,
    anonymous,
    anonymous_id,
    assert_error,
    decode_jwt,
    kibo_date,
    login,
    ok,
    register,
)
from tests.conftest import ADMIN, PASSWORD, SITE_OTHER_SET, TENANT, app_token, headers
from ticketbooth.core import Core
from ticketbooth.domain.models import NewAccount, Profile
from ticketbooth.domain.policies import login_key
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "new.shopper@example.com"


async def _post_register(client: httpx.AsyncClient, hdrs: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await client.post(REGISTER, headers=hdrs, json=body)


async def _can_register(client: httpx.AsyncClient, hdrs: dict[str, str], email: str) -> None:
    """`email` is free: a registration with a good password succeeds (so no account was left behind)."""
    t = await register(client, hdrs, email)
    assert t["customerAccount"]["emailAddress"] == email


async def _account_without_login(core: Core, email: str | None, customer_set: str = "default") -> int:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    set_id = tenant.default_customer_set_id
    if customer_set != "default":
        set_id = await core.store.ensure_customer_set(TENANT, customer_set, core.clock.now())
    return await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=set_id, user_id=new_hex(16), email=email,
        email_key=login_key(email) if email else None, username=None, username_key=None, password_hash=None,
        profile=Profile(first_name="Imported"),
    ), core.clock.now())


# -- Add-Account-And-Login ---------------------------------------------------------------------------

async def test_add_account_and_login(client: httpx.AsyncClient, app_headers: dict[str, str],
                                     clock: ManualClock) -> None:
    r = await _post_register(client, app_headers, {"account": {
        "emailAddress": EMAIL, "firstName": "Nina", "lastName": "Neu", "acceptsMarketing": True,
        "companyOrOrganization": "Neu GmbH", "localeCode": "de-DE", "externalId": "ext-1"}, "password": PASSWORD})
    t = ok(r)
    assert set(t) == TICKET_KEYS
    assert t["requires2FA"] is False
    assert HEX32.match(t["refreshToken"]) and HEX32.match(t["userId"])
    assert kibo_date(t["accessTokenExpiration"]) == clock.now() + timedelta(minutes=15)
    assert kibo_date(t["refreshTokenExpiration"]) == clock.now() + timedelta(hours=24)
    a = t["customerAccount"]
    assert set(a) == ACCOUNT_KEYS
    assert isinstance(a["id"], int) and a["id"] > 0
    assert a["userId"] == t["userId"]
    assert a["emailAddress"] == EMAIL
    assert a["userName"] == EMAIL
    assert (a["firstName"], a["lastName"]) == ("Nina", "Neu")
    assert a["companyOrOrganization"] == "Neu GmbH"
    assert a["localeCode"] == "de-DE"
    assert a["externalId"] == "ext-1"
    assert a["acceptsMarketing"] is True
    assert a["customerSet"] == "default"
    assert a["isAnonymous"] is False
    assert a["isActive"] is True
    assert a["isLocked"] is False
    assert a["hasExternalPassword"] is False
    assert a["migrationRequired"] is False
    assert a["taxExempt"] is False
    assert a["taxId"] is None
    assert a["last2FaDate"] is None
    for name in ("contacts", "notes", "segments", "attributes"):
        assert a[name] == []
    assert kibo_date(a["customerSinceDate"]) == clock.now()
    assert set(a["auditInfo"]) == {"createBy", "createDate", "updateBy", "updateDate"}
    assert kibo_date(a["auditInfo"]["createDate"]) == clock.now()
    assert set(a["commerceSummary"]) == {"lastOrderDate", "orderCount", "totalOrderAmount", "visitsCount",
                                         "wishlistCount"}
    assert set(a["commerceSummary"]["totalOrderAmount"]) == {"amount", "currencyCode"}
    # the ticket works, and the account can log in
    current = ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": t["accessToken"]}))
    assert current == a
    assert ok(await login(client, app_headers, EMAIL))["userId"] == t["userId"]


async def test_registration_records_the_previous_anonymous_user(client: httpx.AsyncClient,
                                                                app_headers: dict[str, str]) -> None:
    guest = await anonymous(client, app_headers)
    t = await register(client, {**app_headers, "x-vol-user-claims": guest["accessToken"]}, EMAIL)
    _, claims = await decode_jwt(client, t["jwtAccessToken"])
    assert claims["prev_sub"] == anonymous_id(guest)
    assert claims["sub"] == t["userId"] != anonymous_id(guest)


async def test_registration_response_fields(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.post(REGISTER, headers=app_headers,
                          params={"responseFields": "accessToken,customerAccount(id,emailAddress,contacts(email))"},
                          json={"account": {"emailAddress": EMAIL}, "password": PASSWORD})
    body = ok(r)
    assert set(body) == {"accessToken", "customerAccount"}
    assert set(body["customerAccount"]) == {"id", "emailAddress", "contacts"}


async def test_duplicate_email_is_409_and_changes_nothing(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    first = await register(client, app_headers, EMAIL, firstName="First")
    r = await _post_register(client, app_headers, {
        "account": {"emailAddress": EMAIL.upper(), "firstName": "Second"}, "password": "another fine passphrase"})
    body = assert_error(r, 409, "VALIDATION_CONFLICT")
    assert body["message"].startswith("Validation conflict: ")
    assert_error(await login(client, app_headers, EMAIL, "another fine passphrase"), 401, "INVALID_CREDENTIALS")
    t = ok(await login(client, app_headers, EMAIL.upper()))
    assert t["userId"] == first["userId"]
    assert t["customerAccount"]["firstName"] == "First"
    assert t["customerAccount"]["emailAddress"] == EMAIL


async def test_duplicate_username_is_409(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, EMAIL, userName="Nina")
    r = await _post_register(client, app_headers, {"account": {"emailAddress": "other@example.com", "userName": "nina"},
                                                   "password": PASSWORD})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    await _can_register(client, app_headers, "other@example.com")


async def test_username_may_not_be_another_accounts_email(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    """Logins compare usernames and emails in one namespace: otherwise a newcomer could take the
    name someone logs in with."""
    victim = await register(client, app_headers, EMAIL, userName="victim")
    r = await _post_register(client, app_headers, {
        "account": {"emailAddress": "mallory@example.com", "userName": EMAIL}, "password": "mallory's passphrase"})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    assert ok(await login(client, app_headers, EMAIL))["userId"] == victim["userId"]
    # nor an email that is someone's username
    await register(client, app_headers, "nina@example.com", userName="alias@example.com")
    r = await _post_register(client, app_headers, {
        "account": {"emailAddress": "alias@example.com", "userName": "alias2"}, "password": PASSWORD})
    assert_error(r, 409, "VALIDATION_CONFLICT")


async def test_weak_password_is_400_and_creates_nothing(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for password in ("short1", "1234567", "password1", "Password1", "x" * 129):
        r = await _post_register(client, app_headers, {"account": {"emailAddress": EMAIL}, "password": password})
        body = assert_error(r, 400, "ADD_CUSTOMER_FAILED")
        assert body["message"].startswith("Add customer failed: the password ")
        assert_error(await login(client, app_headers, EMAIL, password), 401, "INVALID_CREDENTIALS")
    await _can_register(client, app_headers, EMAIL)


async def test_missing_or_invalid_email_is_400(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"password": PASSWORD}, "account"),
        ({"account": {}, "password": PASSWORD}, "emailAddress"),
        ({"account": {"emailAddress": "  "}, "password": PASSWORD}, "emailAddress"),
        ({"account": {"emailAddress": "not-an-email"}, "password": PASSWORD}, "emailAddress"),
        ({"account": {"emailAddress": "two@at@example.com"}, "password": PASSWORD}, "emailAddress"),
        ({"account": {"emailAddress": "a b@example.com"}, "password": PASSWORD}, "emailAddress"),
        ({"account": {"emailAddress": EMAIL}}, "password"),
        ({"account": {"emailAddress": EMAIL, "userName": "has space"}, "password": PASSWORD}, "userName"),
        ({"account": "nope", "password": PASSWORD}, "account"),
    ]
    for body, parameter in cases:
        assert_error(await _post_register(client, app_headers, body), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    await _can_register(client, app_headers, EMAIL)


async def test_username_is_nfkc_normalized(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    fullwidth = "\uff4a\uff4f\uff48\uff4e\uff4e\uff59"  # "johnny" in fullwidth letters
    t = await register(client, app_headers, EMAIL, userName=fullwidth)
    assert t["customerAccount"]["userName"] == "johnny"
    assert ok(await login(client, app_headers, "johnny"))["userId"] == t["userId"]
    assert ok(await login(client, app_headers, fullwidth))["userId"] == t["userId"]
    r = await _post_register(client, app_headers, {"account": {"emailAddress": "other@example.com", "userName": "JOHNNY"},
                                                   "password": PASSWORD})
    assert_error(r, 409, "VALIDATION_CONFLICT")


async def test_bad_registrations_are_400_and_create_nothing(client: httpx.AsyncClient,
                                                           app_headers: dict[str, str]) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"account": {"emailAddress": EMAIL, "contacts": [{"email": "not an address"}]}, "password": PASSWORD},
         "contacts[0].email"),
        ({"account": {"emailAddress": EMAIL}, "externalPassword": "$2a$10$abc", "password": PASSWORD},
         "externalPassword"),
        ({"account": {"emailAddress": EMAIL, "customerSet": "outlet"}, "password": PASSWORD}, "customerSet"),
    ]
    for body, parameter in cases:
        assert_error(await _post_register(client, app_headers, body), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    # merchant-only parts need an admin application
    for part in ({"notes": [{"content": "VIP"}]}, {"segments": [{"code": "vip"}]}):
        assert_error(await _post_register(client, app_headers, {"account": {"emailAddress": EMAIL, **part},
                                                                "password": PASSWORD}), 403)
    # empty lists and the site's own customer set are fine
    t = await register(client, app_headers, EMAIL, contacts=[], notes=[], customerSet="default")
    assert t["customerAccount"]["customerSet"] == "default"


async def test_registration_with_contacts_shows_them_at_once(client: httpx.AsyncClient,
                                                             app_headers: dict[str, str]) -> None:
    """The parts of a registration are stored with the account, and the ticket, a later login and the
    current account all show them."""
    contact = {"email": EMAIL, "firstName": "Nina", "address": {"address1": "Main St 1", "countryCode": "de"},
               "types": [{"name": "Billing", "isPrimary": True}]}
    t = await register(client, app_headers, EMAIL, contacts=[contact])
    for account in (t["customerAccount"], (await login(client, app_headers, EMAIL)).json()["customerAccount"],
                    ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": t["accessToken"]}))):
        [shown] = account["contacts"]
        assert (shown["email"], shown["address"]["countryCode"], shown["types"]) == (
            EMAIL, "DE", [{"name": "Billing", "isPrimary": True}])


async def test_admin_adds_accounts_with_merchant_parts(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    admin = headers(await app_token(client, ADMIN))
    segment = ok(await client.post(f"{CUSTOMER}/segments", headers=admin, json={"code": "vip", "name": "VIPs"}))
    added = ok(await client.post(f"{CUSTOMER}/accounts", headers=admin, json={
        "emailAddress": EMAIL, "notes": [{"content": "Met at the fair"}], "segments": [{"code": "vip"}]}))
    assert [n["content"] for n in added["notes"]] == ["Met at the fair"]
    assert [s["id"] for s in added["segments"]] == [segment["id"]]
    # in bulk, one bad part names its entry and creates no account at all
    r = await client.post(f"{CUSTOMER}/accounts/Bulk", headers=admin, json=[
        {"account": {"emailAddress": "one@example.com"}, "password": PASSWORD},
        {"account": {"emailAddress": "two@example.com", "segments": [{"code": "no-such-segment"}]}, "password": PASSWORD},
    ])
    body = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER")
    assert body["additionalErrorData"][0]["value"].startswith("[1].segments")
    await _can_register(client, app_headers, "one@example.com")


async def test_registration_at_other_customer_set(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    outlet = {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}
    t = await register(client, outlet, EMAIL)
    assert t["customerAccount"]["customerSet"] == "outlet"
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")
    await _can_register(client, app_headers, EMAIL)  # the default set has no such account yet


async def test_registration_needs_an_app_token(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.post(REGISTER, json={"account": {"emailAddress": EMAIL}, "password": PASSWORD})
    assert_error(r, 401, "UNAUTHORIZED")
    await _can_register(client, app_headers, EMAIL)


def _bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


async def test_registration_imports_an_external_password_hash(client: httpx.AsyncClient,
                                                              app_headers: dict[str, str]) -> None:
    """isImport and externalPassword flow through to the account: it logs in with the old password.
    Importing is the merchant's back office's job: a storefront application may not."""
    body = {"account": {"emailAddress": EMAIL}, "isImport": True, "externalPassword": _bcrypt("old system password")}
    assert_error(await _post_register(client, app_headers, body), 403)
    assert_error(await login(client, app_headers, EMAIL, "old system password"), 401, "INVALID_CREDENTIALS")
    admin = headers(await app_token(client, ADMIN))
    t = ok(await _post_register(client, admin, body))
    assert t["customerAccount"]["hasExternalPassword"] is True
    assert ok(await login(client, app_headers, EMAIL, "old system password"))["userId"] == t["userId"]
    assert_error(await login(client, app_headers, EMAIL, PASSWORD), 401, "INVALID_CREDENTIALS")
    # an import with a cleartext password hashes it here: nothing external is kept
    t = ok(await _post_register(client, admin, {
        "account": {"emailAddress": "other@example.com"}, "isImport": True, "password": PASSWORD}))
    assert t["customerAccount"]["hasExternalPassword"] is False


async def test_create_login_imports_an_external_password_hash(client: httpx.AsyncClient,
                                                              app_headers: dict[str, str], core: Core) -> None:
    account_id = await _account_without_login(core, EMAIL)
    admin = headers(await app_token(client, ADMIN))
    t = ok(await client.post(_create_login(account_id), headers=admin,
                             json={"isImport": True, "externalPassword": _bcrypt("old system password")}))
    assert t["customerAccount"]["hasExternalPassword"] is True
    assert ok(await login(client, app_headers, EMAIL, "old system password"))["customerAccount"]["id"] == account_id


# -- Create-Login --------------------------------------------------------------------------------------

def _create_login(account_id: int) -> str:
    return f"{CUSTOMER}/accounts/{account_id}/Create-Login"


async def test_create_login_needs_customer_admin(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                 core: Core) -> None:
    account_id = await _account_without_login(core, EMAIL)
    r = await client.post(_create_login(account_id), headers=app_headers, json={"password": PASSWORD})
    assert_error(r, 403, "FORBIDDEN")
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")


async def test_create_login_with_admin_app(client: httpx.AsyncClient, app_headers: dict[str, str],
                                           core: Core) -> None:
    account_id = await _account_without_login(core, EMAIL)
    admin = headers(await app_token(client, ADMIN))
    # without a login the account cannot sign in
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")
    t = ok(await client.post(_create_login(account_id), headers=admin, json={"password": PASSWORD}))
    assert set(t) == TICKET_KEYS
    assert t["customerAccount"]["id"] == account_id
    assert t["customerAccount"]["emailAddress"] == EMAIL
    assert t["customerAccount"]["userName"] == EMAIL
    assert t["customerAccount"]["firstName"] == "Imported"
    assert ok(await login(client, app_headers, EMAIL))["customerAccount"]["id"] == account_id
    # a second time: the account has a login already
    r = await client.post(_create_login(account_id), headers=admin, json={"password": "another fine passphrase"})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    assert_error(await login(client, app_headers, EMAIL, "another fine passphrase"), 401, "INVALID_CREDENTIALS")


async def test_create_login_with_username_and_email(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                    core: Core) -> None:
    account_id = await _account_without_login(core, None)
    admin = headers(await app_token(client, ADMIN))
    t = ok(await client.post(_create_login(account_id), headers=admin,
                             json={"emailAddress": EMAIL, "username": "imported_1", "password": PASSWORD}))
    assert t["customerAccount"]["emailAddress"] == EMAIL
    assert t["customerAccount"]["userName"] == "imported_1"
    assert ok(await login(client, app_headers, "imported_1"))["customerAccount"]["id"] == account_id


async def test_create_login_refusals(client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    admin = headers(await app_token(client, ADMIN))
    assert_error(await client.post(_create_login(987654), headers=admin, json={"password": PASSWORD}), 404,
                 "ITEM_NOT_FOUND")
    outlet_account = await _account_without_login(core, "outlet@example.com", customer_set="outlet")
    r = await client.post(_create_login(outlet_account), headers=admin, json={"password": PASSWORD})
    assert_error(r, 404, "ITEM_NOT_FOUND")
    account_id = await _account_without_login(core, EMAIL)
    r = await client.post(_create_login(account_id), headers=admin, json={"password": "password1"})
    assert_error(r, 400, "ADD_CUSTOMER_FAILED")
    r = await client.post(_create_login(account_id), headers=admin, json={})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "password")
    r = await client.post(_create_login(account_id), headers=admin,
                          json={"password": PASSWORD, "externalPassword": _bcrypt(PASSWORD)})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "externalPassword")
    # the email of another account is taken
    await register(client, app_headers, "taken@example.com")
    r = await client.post(_create_login(account_id), headers=admin,
                          json={"emailAddress": "TAKEN@example.com", "password": PASSWORD})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    # nor a username that another account logs in with as its email
    await register(client, app_headers, "victim@example.com", userName="victim")
    r = await client.post(_create_login(account_id), headers=admin,
                          json={"username": "Victim@example.com", "password": PASSWORD})
    assert_error(r, 409, "VALIDATION_CONFLICT")
    # none of that gave the account a login
    ok(await client.post(_create_login(account_id), headers=admin, json={"password": PASSWORD}))


# -- the current account -------------------------------------------------------------------------------

async def test_current_account_by_opaque_token_and_by_jwt(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL, firstName="Nina")
    by_claims = ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": t["accessToken"]}))
    by_jwt = ok(await client.get(CURRENT, headers={"Authorization": f"Bearer {t['jwtAccessToken']}"}))
    assert by_claims == by_jwt == t["customerAccount"]
    assert set(by_jwt) == ACCOUNT_KEYS
    assert by_jwt["firstName"] == "Nina"


async def test_current_account_of_anonymous_shopper_is_404(client: httpx.AsyncClient,
                                                           app_headers: dict[str, str]) -> None:
    guest = await anonymous(client, app_headers)
    r = await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": guest["accessToken"]})
    assert_error(r, 404, "ITEM_NOT_FOUND")
    r = await client.get(CURRENT, headers={"Authorization": f"Bearer {guest['jwtAccessToken']}"})
    assert_error(r, 404, "ITEM_NOT_FOUND")


async def test_current_account_without_shopper_is_401(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    assert_error(await client.get(CURRENT, headers=app_headers), 401, "INVALID_ACCESS_TOKEN")
    for token in ("garbage", "0" * 64, "a.b.c"):
        r = await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": token})
        assert_error(r, 401, "INVALID_ACCESS_TOKEN")


async def test_current_account_response_fields(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    hdrs = {**app_headers, "x-vol-user-claims": t["accessToken"]}
    r = await client.get(CURRENT, headers=hdrs, params={"responseFields": "id,EmailAddress,auditInfo(createDate)"})
    body = ok(r)
    assert body == {"id": t["customerAccount"]["id"], "emailAddress": EMAIL,
                    "auditInfo": {"createDate": t["customerAccount"]["auditInfo"]["createDate"]}}
    r = await client.get(f"{CURRENT}?responsefields=id%2CuserId", headers=hdrs)
    assert ok(r) == {"id": t["customerAccount"]["id"], "userId": t["userId"]}
    r = await client.get(CURRENT, headers=hdrs, params={"responseFields": ""})
    assert set(ok(r)) == ACCOUNT_KEYS


async def test_current_account_ignores_a_json_body_on_get(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    r = await client.request("GET", CURRENT, content=b"{}", headers={
        **app_headers, "x-vol-user-claims": t["accessToken"], "Content-Type": "application/json; charset=utf-8"})
    assert ok(r)["emailAddress"] == EMAIL

"""Login state (GET /accounts/{id}/loginstate, POST /accounts/loginstatebyemailaddress|username),
failed-login counting, Set-Login-Locked and Set-Password-Change-Required."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.api.login_support import (
    BY_EMAIL,
    BY_USERNAME,
    LOGIN_STATE_KEYS,
    NEW_PASSWORD,
    admin_headers,
    as_shopper,
    change_path,
    change_required_path,
    done,
    lock_path,
    state,
    state_path,
)
from tests.api.support import CURRENT, assert_error, kibo_date, login, ok, refresh, register
from tests.conftest import ADMIN, PASSWORD, SITE_OTHER_SET, TENANT, app_token, headers
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "Lena.State@Example.com"


async def _registered(client: httpx.AsyncClient, hdrs: dict[str, str], email: str = EMAIL,
                      **account: Any) -> tuple[int, dict[str, Any]]:
    t = await register(client, hdrs, email, **account)
    return int(t["customerAccount"]["id"]), t


async def _set_max_failed_logins(core: Core, value: int) -> None:
    async with core.store.engine.begin() as conn:
        settings = (await conn.execute(select(tables.tenants.c.settings).where(tables.tenants.c.id == TENANT))).scalar_one()
        await conn.execute(update(tables.tenants).where(tables.tenants.c.id == TENANT).values(
            settings={**settings, "lockout": {"max_failed_logins": value}}))
    core.directory.forget()


# -- GET loginstate --------------------------------------------------------------------------------

async def test_login_state_of_a_new_account(client: httpx.AsyncClient, app_headers: dict[str, str],
                                            clock: ManualClock) -> None:
    created = clock.now()
    account_id, t = await _registered(client, app_headers)
    clock.advance(timedelta(minutes=5))
    s = await state(client, as_shopper(app_headers, t), account_id)
    assert set(s) == LOGIN_STATE_KEYS
    assert s["isPasswordChangeRequired"] is False
    assert s["isLocked"] is False
    assert s["lastLockedOn"] is None
    assert s["failedLoginAttemptCount"] == 0
    assert s["remainingLoginAttempts"] == 10
    assert s["firstFailedLoginAttemptOn"] is None
    assert kibo_date(s["lastPasswordChangeOn"]) == created
    assert kibo_date(s["createdOn"]) == created
    assert kibo_date(s["updatedOn"]) == created
    # registration issues a ticket but is not a login; a login is recorded
    ok(await login(client, app_headers, EMAIL))
    assert kibo_date((await state(client, as_shopper(app_headers, t), account_id))["lastLoginOn"]) == clock.now()


async def test_failed_logins_are_counted_and_a_good_login_resets_them(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock) -> None:
    account_id, t = await _registered(client, app_headers)
    me = as_shopper(app_headers, t)
    first_failure = clock.now()
    assert_error(await login(client, app_headers, EMAIL, "wrong password 1"), 401, "INVALID_CREDENTIALS")
    clock.advance(timedelta(minutes=1))
    assert_error(await login(client, app_headers, EMAIL.upper(), "wrong password 2"), 401, "INVALID_CREDENTIALS")
    # an unknown user counts against no account
    assert_error(await login(client, app_headers, "nobody@example.com", "x"), 401, "INVALID_CREDENTIALS")
    s = await state(client, me, account_id)
    assert s["failedLoginAttemptCount"] == 2
    assert s["remainingLoginAttempts"] == 8
    assert kibo_date(s["firstFailedLoginAttemptOn"]) == first_failure
    assert s["isLocked"] is False  # counting only: automatic locking comes later

    clock.advance(timedelta(minutes=1))
    ok(await login(client, app_headers, EMAIL))
    s = await state(client, me, account_id)
    assert s["failedLoginAttemptCount"] == 0
    assert s["remainingLoginAttempts"] == 10
    assert s["firstFailedLoginAttemptOn"] is None
    assert kibo_date(s["lastLoginOn"]) == clock.now()


async def test_remaining_attempts_follow_the_tenant_setting_and_stop_at_zero(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await _set_max_failed_logins(core, 3)
    account_id, t = await _registered(client, app_headers)
    me = as_shopper(app_headers, t)
    assert (await state(client, me, account_id))["remainingLoginAttempts"] == 3
    for _ in range(4):
        assert_error(await login(client, app_headers, EMAIL, "not the password"), 401, "INVALID_CREDENTIALS")
    s = await state(client, await admin_headers(client), account_id)  # the lock ended the shopper's sessions
    # the third failure locked the account; failures while it is locked are not counted
    assert (s["failedLoginAttemptCount"], s["remainingLoginAttempts"], s["isLocked"]) == (3, 0, True)
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")  # see test_lockout.py


async def test_login_state_for_admin_and_forbidden_to_others(client: httpx.AsyncClient,
                                                             app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    _, other = await _registered(client, app_headers, "other.shopper@example.com")
    admin = await admin_headers(client)
    assert set(await state(client, admin, account_id)) == LOGIN_STATE_KEYS
    assert_error(await client.get(state_path(account_id), headers=app_headers), 403, "FORBIDDEN")
    assert_error(await client.get(state_path(account_id), headers=as_shopper(app_headers, other)), 403, "FORBIDDEN")
    # a shopper probing other ids learns nothing either
    assert_error(await client.get(state_path(999_999), headers=as_shopper(app_headers, other)), 403, "FORBIDDEN")


async def test_login_state_not_found(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    assert_error(await client.get(state_path(999_999), headers=await admin_headers(client)), 404, "ITEM_NOT_FOUND")
    # an account of another customer set is not visible from a site of that set
    outlet = headers(await app_token(client, ADMIN), site=SITE_OTHER_SET)
    assert_error(await client.get(state_path(account_id), headers=outlet), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(f"{state_path(0)}", headers=await admin_headers(client)), 400,
                 "MISSING_OR_INVALID_PARAMETER")


async def test_login_state_response_fields(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    r = await client.get(state_path(account_id), headers=await admin_headers(client),
                         params={"responseFields": "isLocked,remainingLoginAttempts"})
    assert ok(r) == {"isLocked": False, "remainingLoginAttempts": 10}


# -- by email address or username -------------------------------------------------------------------

async def test_login_state_by_email_address(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    admin = await admin_headers(client)
    assert_error(await login(client, app_headers, EMAIL, "wrong"), 401)
    expected = await state(client, admin, account_id)
    assert expected["failedLoginAttemptCount"] == 1
    assert ok(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": EMAIL.lower()})) == expected
    # query names in any case, the value in the body as a JSON string or object
    assert ok(await client.post(BY_EMAIL, headers=admin, params={"EMAILADDRESS": EMAIL})) == expected
    assert ok(await client.post(BY_EMAIL, headers=admin, json=EMAIL)) == expected
    assert ok(await client.post(BY_EMAIL, headers=admin, json={"EmailAddress": EMAIL})) == expected
    assert ok(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": EMAIL, "customerSetCode": "default"})) \
        == expected


async def test_login_state_by_username(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers, userName="lena_s")
    admin = await admin_headers(client)
    expected = await state(client, admin, account_id)
    assert ok(await client.post(BY_USERNAME, headers=admin, params={"userName": "LENA_S"})) == expected
    assert ok(await client.post(BY_USERNAME, headers=admin, json={"username": "lena_s"})) == expected
    # the email is not a username here
    assert_error(await client.post(BY_USERNAME, headers=admin, params={"userName": EMAIL}), 404, "ITEM_NOT_FOUND")


async def test_login_state_by_name_other_customer_set(client: httpx.AsyncClient) -> None:
    outlet_store = headers(await app_token(client), site=SITE_OTHER_SET)
    account_id, _ = await _registered(client, outlet_store, "outlet.shopper@example.com")
    admin = await admin_headers(client)  # at site 200, customer set "default"
    assert_error(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": "outlet.shopper@example.com"}),
                 404, "ITEM_NOT_FOUND")
    s = ok(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": "outlet.shopper@example.com",
                                                              "customerSetCode": "outlet"}))
    assert s == await state(client, headers(await app_token(client, ADMIN), site=SITE_OTHER_SET), account_id)
    assert_error(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": "outlet.shopper@example.com",
                                                                    "customerSetCode": "no-such-set"}),
                 404, "ITEM_NOT_FOUND")


async def test_login_state_by_name_needs_admin_and_a_name(client: httpx.AsyncClient,
                                                          app_headers: dict[str, str]) -> None:
    _, t = await _registered(client, app_headers)
    for path, name in ((BY_EMAIL, "emailAddress"), (BY_USERNAME, "userName")):
        assert_error(await client.post(path, headers=app_headers, params={name: EMAIL}), 403, "FORBIDDEN")
        # not even the shopper themselves: the lookup by name would enumerate accounts
        assert_error(await client.post(path, headers=as_shopper(app_headers, t), params={name: EMAIL}), 403)
        admin = await admin_headers(client)
        assert_error(await client.post(path, headers=admin), 400, "MISSING_OR_INVALID_PARAMETER", name)
        assert_error(await client.post(path, headers=admin, params={name: "  "}), 400, parameter=name)
        assert_error(await client.post(path, headers=admin, json={name: 5}), 400, parameter=name)
        assert_error(await client.post(path, headers=admin, content=b"{nope"), 400, parameter="body")
        assert_error(await client.post(path, headers=admin, params={name: "nobody@example.com"}), 404, "ITEM_NOT_FOUND")


# -- Set-Login-Locked ---------------------------------------------------------------------------------

async def test_lock_refuses_logins_and_ends_sessions_and_unlock_restores(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock) -> None:
    account_id, t = await _registered(client, app_headers)
    session = ok(await login(client, app_headers, EMAIL))
    assert_error(await login(client, app_headers, EMAIL, "wrong"), 401)
    admin = await admin_headers(client)
    clock.advance(timedelta(minutes=3))
    locked_at = clock.now()

    done(await client.post(lock_path(account_id), headers=admin, json=True))
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")
    for ticket in (t, session):
        assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
        assert_error(await client.get(CURRENT, headers=as_shopper(app_headers, ticket)), 401, "INVALID_ACCESS_TOKEN")
    s = await state(client, admin, account_id)
    assert s["isLocked"] is True
    assert kibo_date(s["lastLockedOn"]) == locked_at
    assert kibo_date(s["updatedOn"]) == locked_at
    # the wrong password before the lock counts; the right one refused while locked does not
    assert s["failedLoginAttemptCount"] == 1

    clock.advance(timedelta(minutes=1))
    done(await client.post(lock_path(account_id), headers=admin, json=True))  # locking again keeps the time
    assert kibo_date((await state(client, admin, account_id))["lastLockedOn"]) == locked_at

    done(await client.post(lock_path(account_id), headers=admin, json=False))
    s = await state(client, admin, account_id)
    assert s["isLocked"] is False
    assert kibo_date(s["lastLockedOn"]) == locked_at  # when it was last locked
    assert s["failedLoginAttemptCount"] == 0
    assert s["firstFailedLoginAttemptOn"] is None
    fresh = ok(await login(client, app_headers, EMAIL))
    assert ok(await refresh(client, app_headers, fresh["refreshToken"]))["userId"] == t["userId"]
    # the sessions ended by the lock stay ended
    assert_error(await refresh(client, app_headers, session["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")


async def test_lock_body_forms(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, content=b'"true"'))
    assert (await state(client, admin, account_id))["isLocked"] is True
    done(await client.post(lock_path(account_id), headers=admin, content=b" false ",
                           params={"userId": "ignored", "responseFields": "x"}))
    assert (await state(client, admin, account_id))["isLocked"] is False
    for bad in (b"", b"{}", b'{"locked": true}', b"1", b"null", b'"maybe"', b"tru"):
        assert_error(await client.post(lock_path(account_id), headers=admin, content=bad), 400,
                     "MISSING_OR_INVALID_PARAMETER", "isLocked")
    assert (await state(client, admin, account_id))["isLocked"] is False


async def test_lock_needs_admin_and_an_existing_account(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, t = await _registered(client, app_headers)
    assert_error(await client.post(lock_path(account_id), headers=app_headers, json=True), 403, "FORBIDDEN")
    # not even the shopper themselves (they could unlock after an administrator locked them)
    assert_error(await client.post(lock_path(account_id), headers=as_shopper(app_headers, t), json=False), 403)
    ok(await login(client, app_headers, EMAIL))  # nothing changed
    admin = await admin_headers(client)
    assert_error(await client.post(lock_path(999_999), headers=admin, json=True), 404, "ITEM_NOT_FOUND")
    outlet = headers(await app_token(client, ADMIN), site=SITE_OTHER_SET)
    assert_error(await client.post(lock_path(account_id), headers=outlet, json=True), 404, "ITEM_NOT_FOUND")
    assert (await state(client, admin, account_id))["isLocked"] is False


# -- Set-Password-Change-Required ---------------------------------------------------------------------

async def test_password_change_required_refuses_the_right_password_until_changed(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock) -> None:
    account_id, t = await _registered(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(change_required_path(account_id), headers=admin, json=True))
    s = await state(client, admin, account_id)
    assert s["isPasswordChangeRequired"] is True

    body = assert_error(await login(client, app_headers, EMAIL), 401, "PASSWORD_CHANGE_REQUIRED")
    assert body["message"].startswith("Password Change Required: ")
    # a wrong password says nothing about the flag
    assert_error(await login(client, app_headers, EMAIL, "not it"), 401, "INVALID_CREDENTIALS")
    # sessions already open go on
    ok(await refresh(client, app_headers, t["refreshToken"]))

    clock.advance(timedelta(minutes=2))
    done(await client.post(change_path(account_id), headers=app_headers,
                           json={"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}))
    s = await state(client, admin, account_id)
    assert s["isPasswordChangeRequired"] is False
    assert kibo_date(s["lastPasswordChangeOn"]) == clock.now()
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")
    assert ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))["customerAccount"]["id"] == account_id


async def test_password_change_required_can_be_cleared(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(change_required_path(account_id), headers=admin, json=True))
    assert_error(await login(client, app_headers, EMAIL), 401, "PASSWORD_CHANGE_REQUIRED")
    done(await client.post(change_required_path(account_id), headers=admin, json=False))
    ok(await login(client, app_headers, EMAIL))


async def test_password_change_required_needs_admin(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, t = await _registered(client, app_headers)
    assert_error(await client.post(change_required_path(account_id), headers=app_headers, json=True), 403, "FORBIDDEN")
    assert_error(await client.post(change_required_path(account_id), headers=as_shopper(app_headers, t), json=True), 403)
    admin = await admin_headers(client)
    assert_error(await client.post(change_required_path(999_999), headers=admin, json=True), 404, "ITEM_NOT_FOUND")
    assert_error(await client.post(change_required_path(account_id), headers=admin, content=b"yes"), 400,
                 "MISSING_OR_INVALID_PARAMETER", "isPasswordChangeRequired")
    assert (await state(client, admin, account_id))["isPasswordChangeRequired"] is False
    ok(await login(client, app_headers, EMAIL))


async def test_names_with_a_nul_character_are_400_not_errors(client: httpx.AsyncClient,
                                                             app_headers: dict[str, str]) -> None:
    """PostgreSQL text cannot hold NUL and no name has one: such a request is a 400 naming the
    parameter, whether or not the account exists, on either database."""
    await _registered(client, app_headers)
    admin = await admin_headers(client)
    bad = "MISSING_OR_INVALID_PARAMETER"
    assert_error(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": EMAIL + "\x00"}), 400, bad,
                 "emailAddress")
    assert_error(await client.post(BY_USERNAME, headers=admin, json={"userName": "\x00"}), 400, bad, "userName")
    assert_error(await client.post(BY_EMAIL, headers=admin, params={"emailAddress": EMAIL, "customerSetCode": "a\x00"}),
                 400, bad, "customerSetCode")
    assert_error(await login(client, app_headers, EMAIL + "\x00"), 400, bad, "username")
    assert_error(await login(client, app_headers, "nobody@example.com\x00"), 400, bad, "username")

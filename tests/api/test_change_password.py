"""Change-Password (the shopper, an administrator, or anyone who proves the old password) and
Change-Passwords (bulk, administrators)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.login_support import (
    CHANGE_PASSWORDS,
    NEW_PASSWORD,
    admin_headers,
    as_shopper,
    change_path,
    done,
    lock_path,
    state,
)
from tests.api.support import CURRENT, anonymous, assert_error, kibo_date, login, ok, refresh, register
from tests.conftest import ADMIN, PASSWORD, SITE_OTHER_SET, TENANT, app_token, headers
from ticketbooth.core import Core
from ticketbooth.domain.models import NewAccount
from ticketbooth.domain.policies import login_key
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex
from ticketbooth.login import state as logins

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "max.change@example.com"


async def _registered(client: httpx.AsyncClient, hdrs: dict[str, str], email: str = EMAIL) -> tuple[int, dict[str, Any]]:
    t = await register(client, hdrs, email)
    return int(t["customerAccount"]["id"]), t


def _body(old: str | None = PASSWORD, new: str | None = NEW_PASSWORD) -> dict[str, Any]:
    return {"oldPassword": old, "newPassword": new}


async def _alive(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any]) -> bool:
    r = await client.get(CURRENT, headers=as_shopper(hdrs, ticket))
    return r.status_code == 200


# -- by the shopper -------------------------------------------------------------------------------

async def test_shopper_changes_own_password_and_other_sessions_end(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock) -> None:
    account_id, mine = await _registered(client, app_headers)
    other_device = ok(await login(client, app_headers, EMAIL))
    clock.advance(timedelta(minutes=1))

    r = await client.post(change_path(account_id), headers=as_shopper(app_headers, mine), json=_body())
    done(r)
    # the caller's own session goes on; the others end at once
    assert await _alive(client, app_headers, mine)
    assert ok(await refresh(client, app_headers, mine["refreshToken"]))["userId"] == mine["userId"]
    assert not await _alive(client, app_headers, other_device)
    assert_error(await refresh(client, app_headers, other_device["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    # the new password works, the old one not
    assert_error(await login(client, app_headers, EMAIL, PASSWORD), 401, "INVALID_CREDENTIALS")
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    s = await state(client, await admin_headers(client), account_id)
    assert kibo_date(s["lastPasswordChangeOn"]) == clock.now()
    assert kibo_date(s["updatedOn"]) == clock.now()


async def test_keys_compare_case_insensitively(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    done(await client.post(change_path(account_id).lower(), headers=as_shopper(app_headers, mine),
                           json={"OLDPASSWORD": PASSWORD, "newpassword": NEW_PASSWORD}))
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_shopper_with_a_wrong_old_password_changes_nothing(client: httpx.AsyncClient,
                                                                 app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    other_device = ok(await login(client, app_headers, EMAIL))
    me = as_shopper(app_headers, mine)
    assert_error(await client.post(change_path(account_id), headers=me, json=_body(old="not the password")),
                 401, "INVALID_CREDENTIALS")
    assert_error(await client.post(change_path(account_id), headers=me, json=_body(old=None)), 400,
                 "MISSING_OR_INVALID_PARAMETER", "oldPassword")
    assert_error(await client.post(change_path(account_id), headers=me, json=_body(old="")), 400, parameter="oldPassword")
    ok(await login(client, app_headers, EMAIL, PASSWORD))
    assert await _alive(client, app_headers, other_device)


async def test_new_password_must_pass_the_policy_and_differ(client: httpx.AsyncClient,
                                                            app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    me = as_shopper(app_headers, mine)
    for new in ("short", "password123", None, ""):
        assert_error(await client.post(change_path(account_id), headers=me, json=_body(new=new)), 400,
                     "MISSING_OR_INVALID_PARAMETER", "newPassword")
    body = assert_error(await client.post(change_path(account_id), headers=me, json=_body(new="short")), 400)
    assert "at least 8 characters" in body["message"]
    body = assert_error(await client.post(change_path(account_id), headers=me, json=_body(new=PASSWORD)), 400,
                        parameter="newPassword")
    assert "differ" in body["message"]
    assert_error(await client.post(change_path(account_id), headers=me, content=b"[1]"), 400, parameter="body")
    ok(await login(client, app_headers, EMAIL, PASSWORD))


async def test_shopper_may_not_change_another_accounts_password(client: httpx.AsyncClient,
                                                                app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    _, intruder = await _registered(client, app_headers, "intruder@example.com")
    assert_error(await client.post(change_path(account_id), headers=as_shopper(app_headers, intruder), json=_body()),
                 403, "FORBIDDEN")
    ok(await login(client, app_headers, EMAIL, PASSWORD))


# -- without a shopper ticket ------------------------------------------------------------------------

async def test_without_a_ticket_the_old_password_proves_the_shopper(client: httpx.AsyncClient,
                                                                    app_headers: dict[str, str]) -> None:
    account_id, t = await _registered(client, app_headers)
    guest = await anonymous(client, app_headers)
    # an anonymous shopper's ticket, as a storefront sends it, is no registered shopper
    done(await client.post(change_path(account_id), headers=as_shopper(app_headers, guest), json=_body()))
    # every session of the account ends (none was the caller's)
    assert not await _alive(client, app_headers, t)
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_without_a_ticket_unknown_accounts_and_wrong_passwords_look_the_same(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    account_id, _ = await _registered(client, app_headers)
    outlet_id, _ = await _registered(client, headers(await app_token(client), site=SITE_OTHER_SET), "o@example.com")
    verified: list[str | None] = []
    real_verify = core.hashing.verify

    async def counting(stored_hash: str | None, password: str) -> bool:
        verified.append(stored_hash)
        return await real_verify(stored_hash, password)

    monkeypatch.setattr(core.hashing, "verify", counting)
    answers = []
    for target, old in ((account_id, "wrong password"), (999_999, PASSWORD), (outlet_id, PASSWORD)):
        verified.clear()
        body = assert_error(await client.post(change_path(target), headers=app_headers, json=_body(old=old)), 401,
                            "INVALID_CREDENTIALS")
        answers.append(body)
        assert len(verified) == 1  # one hash verification each, the dummy one for unknown accounts
    assert answers[0] == answers[1] == answers[2]
    ok(await login(client, app_headers, EMAIL, PASSWORD))


async def test_without_a_ticket_a_locked_account_is_refused_like_a_wrong_password(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=True))
    assert_error(await client.post(change_path(account_id), headers=app_headers, json=_body()), 401,
                 "INVALID_CREDENTIALS")
    # and only an administrator may unlock through a password change
    assert_error(await client.post(change_path(account_id), headers=app_headers, json=_body(),
                                   params={"unlockAccount": "true"}), 403, "FORBIDDEN")
    assert (await state(client, admin, account_id))["isLocked"] is True


# -- by an administrator -------------------------------------------------------------------------------

async def test_admin_changes_a_password_without_the_old_one_and_may_unlock(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, t = await _registered(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=True))
    done(await client.post(change_path(account_id), headers=admin, json={"newPassword": NEW_PASSWORD}))
    assert (await state(client, admin, account_id))["isLocked"] is True  # still locked: not asked to unlock
    assert_error(await login(client, app_headers, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")

    third = "a third perfectly fine passphrase"
    done(await client.post(change_path(account_id), headers=admin, params={"UnlockAccount": "True"},
                           json={"newPassword": third}))
    s = await state(client, admin, account_id)
    assert s["isLocked"] is False
    assert s["isPasswordChangeRequired"] is False
    ok(await login(client, app_headers, EMAIL, third))
    assert not await _alive(client, app_headers, t)


async def test_admin_checks_the_old_password_when_given(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    admin = await admin_headers(client)
    assert_error(await client.post(change_path(account_id), headers=admin, json=_body(old="wrong")), 401,
                 "INVALID_CREDENTIALS")
    # without the old password, the new one must still differ from the current one
    assert_error(await client.post(change_path(account_id), headers=admin, json={"newPassword": PASSWORD}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "newPassword")
    assert_error(await client.post(change_path(account_id), headers=admin, json=_body(),
                                   params={"unlockAccount": "perhaps"}), 400, parameter="unlockAccount")
    ok(await login(client, app_headers, EMAIL, PASSWORD))


async def test_admin_not_found_and_no_login(core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, _ = await _registered(client, app_headers)
    admin = await admin_headers(client)
    assert_error(await client.post(change_path(999_999), headers=admin, json=_body()), 404, "ITEM_NOT_FOUND")
    outlet = headers(await app_token(client, ADMIN), site=SITE_OTHER_SET)
    assert_error(await client.post(change_path(account_id), headers=outlet, json=_body()), 404, "ITEM_NOT_FOUND")
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    without_login = await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(16),
        email="no.login@example.com", email_key=login_key("no.login@example.com"), username=None, username_key=None,
        password_hash=None), core.clock.now())
    assert_error(await client.post(change_path(without_login), headers=admin, json={"newPassword": NEW_PASSWORD}),
                 409, "VALIDATION_CONFLICT")
    assert_error(await client.post(change_path(without_login), headers=app_headers, json=_body()), 401,
                 "INVALID_CREDENTIALS")


async def test_admin_acting_with_the_shoppers_ticket_keeps_that_session(client: httpx.AsyncClient,
                                                                        app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    other_device = ok(await login(client, app_headers, EMAIL))
    admin = await admin_headers(client)
    done(await client.post(change_path(account_id), headers=as_shopper(admin, mine), json={"newPassword": NEW_PASSWORD}))
    assert await _alive(client, app_headers, mine)
    assert not await _alive(client, app_headers, other_device)


# -- Change-Passwords ----------------------------------------------------------------------------------

async def test_bulk_change_reports_each_item(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    first, t = await _registered(client, app_headers)
    second, _ = await _registered(client, app_headers, "second@example.com")
    third, _ = await _registered(client, app_headers, "third@example.com")
    admin = await admin_headers(client)
    done(await client.post(lock_path(third), headers=admin, json=True))
    items = [
        {"accountId": first, "passwordInfo": {"newPassword": NEW_PASSWORD}},
        {"accountId": second, "passwordInfo": {"newPassword": "short"}},
        {"accountId": 999_999, "passwordInfo": {"newPassword": NEW_PASSWORD}},
        {"accountId": "not a number", "passwordInfo": {"newPassword": NEW_PASSWORD}},
        {"AccountId": third, "UnlockAccount": True, "PasswordInfo": {"NewPassword": NEW_PASSWORD}},
        {"passwordInfo": {"newPassword": NEW_PASSWORD}},
        {"accountId": second, "passwordInfo": {"oldPassword": "wrong", "newPassword": NEW_PASSWORD}},
        "not an object",
    ]
    r = await client.post(CHANGE_PASSWORDS, headers=admin, json={"totalCount": len(items), "items": items})
    body = ok(r)
    assert body["totalCount"] == len(items)
    results = body["items"]
    assert [set(x) for x in results] == [{"accountId", "succeeded", "errorMessage"}] * len(items)
    assert [(x["accountId"], x["succeeded"]) for x in results] == [
        (first, True), (second, False), (999_999, False), (None, False), (third, True), (None, False), (second, False),
        (None, False)]
    assert results[0]["errorMessage"] is None and results[4]["errorMessage"] is None
    assert "at least 8 characters" in results[1]["errorMessage"]
    assert results[2]["errorMessage"].startswith("Item not found: ")
    assert "accountId" in results[3]["errorMessage"] and "accountId" in results[5]["errorMessage"]
    assert results[6]["errorMessage"].startswith("Invalid Credentials: ")

    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    assert not await _alive(client, app_headers, t)
    ok(await login(client, app_headers, "second@example.com", PASSWORD))  # its failures changed nothing
    ok(await login(client, app_headers, "third@example.com", NEW_PASSWORD))  # unlocked and changed


async def test_bulk_change_needs_admin_and_is_capped(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, t = await _registered(client, app_headers)
    items = [{"accountId": account_id, "passwordInfo": {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}}]
    assert_error(await client.post(CHANGE_PASSWORDS, headers=app_headers, json={"items": items}), 403, "FORBIDDEN")
    assert_error(await client.post(CHANGE_PASSWORDS, headers=as_shopper(app_headers, t), json={"items": items}), 403)
    admin = await admin_headers(client)
    too_many = items * (logins.MAX_PASSWORD_CHANGES + 1)
    assert_error(await client.post(CHANGE_PASSWORDS, headers=admin, json={"items": too_many}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "items")
    assert_error(await client.post(CHANGE_PASSWORDS, headers=admin, json={"items": "x"}), 400, parameter="items")
    ok(await login(client, app_headers, EMAIL, PASSWORD))
    assert_error(await client.post(CHANGE_PASSWORDS, headers=admin, json={}), 400, parameter="items")
    assert_error(await client.post(CHANGE_PASSWORDS, headers=admin, json={"items": None}), 400, parameter="items")
    assert_error(await client.post(CHANGE_PASSWORDS, headers=admin, content=b""), 400, parameter="body")
    assert ok(await client.post(CHANGE_PASSWORDS, headers=admin, json={"items": []})) == {"totalCount": 0, "items": []}
    r = await client.post(CHANGE_PASSWORDS, headers=admin, json={"items": items}, params={"responseFields": "items(succeeded)"})
    assert ok(r) == {"items": [{"succeeded": True}]}

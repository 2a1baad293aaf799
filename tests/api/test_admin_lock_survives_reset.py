"""An administrator's lock stays until an administrator lifts it (issue 13, finding 9): a password
reset (or a one-time-passcode login) lifts a lock reached by failed passwords, never one set with
Set-Login-Locked, even when the administrator locked an account that failed passwords had locked
already. The store tells the two apart by a mark the administrator's lock sets."""

from __future__ import annotations

import httpx
import pytest

from tests.api.code_support import OTP_AUTH, OTP_REQUEST, Mailbox, events
from tests.api.login_support import NEW_PASSWORD, admin_headers, done, lock_path, state
from tests.api.support import RESET_PASSWORD, UPDATE_FORGOTTEN_PASSWORD, assert_error, login, ok, register
from tests.api.test_lockout import account_row, set_tenant
from tests.conftest import PASSWORD
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "shut.by.admin@example.com"
WRONG = "not the password at all"


async def _reset(client: httpx.AsyncClient, hdrs: dict[str, str], mailbox: Mailbox) -> None:
    r = await client.post(RESET_PASSWORD, headers=hdrs, json={"emailAddress": EMAIL})
    assert r.status_code == 200, r.text
    code = (await mailbox.one(EMAIL)).code()
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=hdrs, json={"userName": EMAIL, "confirmationCode": code,
                                                      "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text


async def test_a_password_reset_does_not_lift_an_administrators_lock(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=True))
    await _reset(client, app_headers, mailbox)
    # the password changed (the owner proved the mailbox), the lock stays
    assert (await state(client, admin, account_id))["isLocked"] is True
    assert_error(await login(client, app_headers, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")
    assert "account.unlocked" not in await events(core, account_id)
    # until an administrator lifts it
    done(await client.post(lock_path(account_id), headers=admin, json=False))
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_an_administrators_lock_over_a_failure_lock_survives_reset_and_otp(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 3, "lock_minutes": 0, "max_failed_logins_per_address": 100})
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    for _ in range(3):
        assert_error(await login(client, app_headers, EMAIL, WRONG), 401, "INVALID_CREDENTIALS")
    row = await account_row(core, account_id)
    assert (row.is_locked, row.failed_login_count) == (True, 3)
    assert len(await mailbox.new()) == 1  # the owner is told of the lock
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=True))  # the administrator shuts it too

    r = await client.post(OTP_REQUEST, headers=app_headers, json={"email": EMAIL})
    assert r.status_code == 204, r.text
    assert await mailbox.new() == []  # no code for an account an administrator locked
    assert_error(await client.post(OTP_AUTH, headers=app_headers, json={"email": EMAIL, "otpCode": "123456"}),
                 401, "INVALID_OTP")
    await _reset(client, app_headers, mailbox)
    assert (await state(client, admin, account_id))["isLocked"] is True
    assert_error(await login(client, app_headers, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")
    assert_error(await login(client, app_headers, EMAIL, PASSWORD), 401, "INVALID_CREDENTIALS")


async def test_a_password_reset_still_lifts_a_failure_lock(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 3, "lock_minutes": 0, "max_failed_logins_per_address": 100})
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    for _ in range(3):
        assert_error(await login(client, app_headers, EMAIL, WRONG), 401, "INVALID_CREDENTIALS")
    assert len(await mailbox.new()) == 1  # the owner is told of the lock
    await _reset(client, app_headers, mailbox)
    row = await account_row(core, account_id)
    assert (row.is_locked, row.failed_login_count) == (False, 0)
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    assert "account.unlocked" in await events(core, account_id)

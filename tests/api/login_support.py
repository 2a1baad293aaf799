"""Paths and helpers of the login-management tests (login state, lock, password changes, imports)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.support import CUSTOMER, ok
from tests.conftest import ADMIN, app_token, headers
from ticketbooth.core import Core
from ticketbooth.domain.policies import login_key

ACCOUNTS = f"{CUSTOMER}/accounts"
BY_EMAIL = f"{ACCOUNTS}/loginstatebyemailaddress"
BY_USERNAME = f"{ACCOUNTS}/loginstatebyusername"
CHANGE_PASSWORDS = f"{ACCOUNTS}/Change-Passwords"
LOGIN_STATE_KEYS = {
    "isPasswordChangeRequired", "lastPasswordChangeOn", "isLocked", "lastLockedOn", "failedLoginAttemptCount",
    "remainingLoginAttempts", "firstFailedLoginAttemptOn", "lastLoginOn", "createdOn", "updatedOn",
}
NEW_PASSWORD = "another perfectly fine passphrase"


def state_path(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}/loginstate"


def lock_path(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}/Set-Login-Locked"


def change_required_path(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}/Set-Password-Change-Required"


def change_path(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}/Change-Password"


async def admin_headers(client: httpx.AsyncClient, **extra: str) -> dict[str, str]:
    return headers(await app_token(client, ADMIN), **extra)


def as_shopper(hdrs: dict[str, str], ticket: dict[str, Any]) -> dict[str, str]:
    return {**hdrs, "x-vol-user-claims": ticket["accessToken"]}


async def state(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int) -> dict[str, Any]:
    return ok(await client.get(state_path(account_id), headers=hdrs))


def done(r: httpx.Response) -> None:
    """Kibo's empty 200."""
    assert r.status_code == 200, r.text
    assert r.content == b""


async def stored_hash(core: Core, customer_set_id: int, login: str) -> str | None:
    found = await core.store.find_login(customer_set_id, login_key(login))
    assert found is not None
    return found[1]

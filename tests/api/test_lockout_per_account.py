"""Lockout counted per account, and a failure lock that leaves the owner's sessions alone (issue 13,
finding 4). The per-address failure allowance was counted per login name: five wrong passwords through
the email and five through the username, from ONE address, locked the account, and the lock ended all
its sessions. Now an address's allowance is per (address, account), whichever login name (or spelling
of it) is used, and a lock reached by failed passwords stops new logins only; an administrator's lock
still ends the sessions.

Client addresses vary through X-Forwarded-For from the trusted proxy (the test client's peer)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.login_support import admin_headers, as_shopper, done, lock_path, state
from tests.api.support import CURRENT, assert_error, login, ok, refresh, register
from tests.api.test_lockout import account_row, from_address, set_tenant
from tests.conftest import PASSWORD
from ticketbooth.config import Settings
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "two.names@example.com"
USERNAME = "Two_Names"
WRONG = "not the password at all"
ATTACKER = "203.0.113.77"
OWNER = "198.51.100.8"
# every login name of the account, as a client might type it
SPELLINGS = [EMAIL, EMAIL.upper(), f"  {EMAIL}\t", USERNAME, USERNAME.lower(), f" {USERNAME.upper()} "]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1/32")


async def _account(client: httpx.AsyncClient, hdrs: dict[str, str], **extra: str) -> tuple[int, dict[str, str]]:
    ticket = await register(client, hdrs, EMAIL, **extra)
    return int(ticket["customerAccount"]["id"]), ticket


def _refused(r: httpx.Response) -> None:
    assert_error(r, 401, "INVALID_CREDENTIALS")


async def test_one_address_cannot_lock_a_shopper_out_through_every_login_name(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    """The README's claim, with the default settings (10 failures lock, 5 per address)."""
    account_id, _ = await _account(client, app_headers, userName=USERNAME)
    attacker = from_address(app_headers, ATTACKER)
    for _ in range(5):
        for name in SPELLINGS:
            _refused(await login(client, attacker, name, WRONG))
    row = await account_row(core, account_id)
    assert (row.failed_login_count, row.is_locked) == (5, False)  # the allowance of ONE address
    # the attacker's address is refused on every name, even with the right password
    for name in SPELLINGS:
        _refused(await login(client, attacker, name, PASSWORD))
    # the owner, elsewhere, logs in by either name
    ok(await login(client, from_address(app_headers, OWNER), USERNAME))
    ok(await login(client, from_address(app_headers, OWNER), EMAIL))


async def test_the_allowance_is_per_account_whatever_the_order_of_names(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account_id, _ = await _account(client, app_headers, userName=USERNAME)
    attacker = from_address(app_headers, ATTACKER)
    for name in [EMAIL, USERNAME, EMAIL.upper(), USERNAME.lower(), f" {EMAIL} ", USERNAME, EMAIL]:
        _refused(await login(client, attacker, name, WRONG))
    assert (await account_row(core, account_id)).failed_login_count == 5
    # another account is not touched by that address's failures
    await register(client, app_headers, "someone.else@example.com")
    ok(await login(client, attacker, "someone.else@example.com"))


async def test_a_lock_by_failed_passwords_leaves_the_owners_sessions_alive(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    """Two addresses lock an email-only account (the lock's purpose against many addresses); the
    owner's session goes on working, refreshes included; new logins are refused."""
    account_id, ticket = await _account(client, app_headers)
    for n in range(10):
        _refused(await login(client, from_address(app_headers, f"203.0.113.{1 + n // 5}"), EMAIL, WRONG))
    row = await account_row(core, account_id)
    assert (row.is_locked, row.failed_login_count) == (True, 10)
    assert (await state(client, await admin_headers(client), account_id))["isLocked"] is True

    me = as_shopper(app_headers, ticket)
    assert ok(await client.get(CURRENT, headers=me))["id"] == account_id
    renewed = ok(await refresh(client, app_headers, ticket["refreshToken"]))
    assert renewed["customerAccount"]["id"] == account_id
    assert ok(await client.get(CURRENT, headers=as_shopper(app_headers, renewed)))["isLocked"] is True
    # a new login waits for the lock (and for the account's login bucket the failures emptied)
    assert_error(await login(client, from_address(app_headers, OWNER), EMAIL), 429, "TOO_MANY_REQUESTS")
    await set_tenant(core, rate_limits={"login": {"enabled": False}})  # that bucket out of the way
    _refused(await login(client, from_address(app_headers, OWNER), EMAIL))
    assert ok(await client.get(CURRENT, headers=as_shopper(app_headers, renewed)))["id"] == account_id


async def test_an_administrators_lock_still_ends_the_sessions(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, ticket = await _account(client, app_headers)
    done(await client.post(lock_path(account_id), headers=await admin_headers(client), json=True))
    assert_error(await client.get(CURRENT, headers=as_shopper(app_headers, ticket)), 401, "INVALID_ACCESS_TOKEN")
    assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    _refused(await login(client, app_headers, EMAIL))

"""Change-Password by anyone who proves the old password (issue 13, finding 2): an app credential and an
account id were enough to guess the old password without end (no 429, no failed-login count, no audit
entry). That path now spends exactly what a password login spends: the per-address login bucket, the
account's failure bucket, the (address, account) failure allowance, the account's failed-login count
and lock, and an audit entry; and every refusal looks the same.

Client addresses vary through X-Forwarded-For from the trusted proxy (the test client's peer)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.login_support import NEW_PASSWORD, admin_headers, change_path, done, lock_path, state
from tests.api.support import assert_error, login, ok, register
from tests.api.test_lockout import account_row, from_address, set_tenant
from tests.api.test_rate_limits import assert_limited, bucket
from tests.conftest import PASSWORD
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.db import tables as t

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "guessed@example.com"
ATTACKER = "203.0.113.9"
OWNER = "198.51.100.20"
REFUSED = {"errorCode": "INVALID_CREDENTIALS",
           "message": "Invalid Credentials: the account or the old password is incorrect"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1/32")


async def _account(client: httpx.AsyncClient, hdrs: dict[str, str]) -> int:
    return int((await register(client, hdrs, EMAIL))["customerAccount"]["id"])


async def _guess(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int, old: str) -> httpx.Response:
    return await client.post(change_path(account_id), headers=hdrs,
                             json={"oldPassword": old, "newPassword": NEW_PASSWORD})


def _refused(r: httpx.Response) -> dict[str, Any]:
    body = assert_error(r, 401, "INVALID_CREDENTIALS")
    assert {k: body[k] for k in REFUSED} == REFUSED
    return body


async def _failures_audited(core: Core, account_id: int) -> list[dict[str, Any]]:
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_entries.c.detail).where(
            t.audit_entries.c.account_id == account_id, t.audit_entries.c.event == "login.failed")
            .order_by(t.audit_entries.c.id))).scalars().all()
    return [dict(r) for r in rows]


async def test_one_address_guessing_the_old_password_is_stopped_by_its_allowance(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    """The reported attack: one client, an app credential and no shopper ticket, guess after guess."""
    account_id = await _account(client, app_headers)
    attacker = from_address(app_headers, ATTACKER)
    admin = await admin_headers(client)
    for attempt in range(5):  # the default allowance of an address on one account
        _refused(await _guess(client, attacker, account_id, f"guess number {attempt}"))
        assert (await state(client, admin, account_id))["failedLoginAttemptCount"] == attempt + 1
    for attempt in range(20):
        _refused(await _guess(client, attacker, account_id, f"later guess {attempt}"))
    # the right guess from that address is refused too, and changes nothing
    _refused(await _guess(client, attacker, account_id, PASSWORD))
    s = await state(client, admin, account_id)
    assert (s["failedLoginAttemptCount"], s["isLocked"]) == (5, False)  # one address alone does not lock
    ok(await login(client, from_address(app_headers, OWNER), EMAIL, PASSWORD))
    # every attempt is in the audit trail, as a failed password login
    audited = await _failures_audited(core, account_id)
    assert len(audited) == 26
    assert audited[0] == {"reason": "bad-password", "via": "change-password"}
    assert audited[-1] == {"reason": "address-blocked", "via": "change-password"}


async def test_many_addresses_lock_the_account_and_the_right_guess_then_changes_nothing(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account_id = await _account(client, app_headers)
    before = (await account_row(core, account_id)).password_hash
    for n in range(10):  # max_failed_logins (10) by default, spread over addresses
        _refused(await _guess(client, from_address(app_headers, f"203.0.113.{100 + n // 5}"), account_id,
                              f"wrong guess {n}"))
    row = await account_row(core, account_id)
    assert (row.is_locked, row.failed_login_count) == (True, 10)
    # the right guess now: refused (the ten failures also emptied the account's login bucket: 429)
    r = await _guess(client, from_address(app_headers, "192.0.2.200"), account_id, PASSWORD)
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert (await account_row(core, account_id)).password_hash == before
    # with that bucket out of the way, the lock alone refuses it alike
    await set_tenant(core, rate_limits={"login": {"enabled": False}})
    _refused(await _guess(client, from_address(app_headers, "192.0.2.201"), account_id, PASSWORD))
    assert (await account_row(core, account_id)).password_hash == before
    assert_error(await login(client, app_headers, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")
    async with core.store.engine.connect() as conn:
        locks = (await conn.execute(select(t.audit_entries.c.detail).where(
            t.audit_entries.c.account_id == account_id, t.audit_entries.c.event == "account.locked"))).scalars().all()
    assert [d["by"] for d in locks] == ["failed-logins"]


async def test_guesses_and_logins_share_the_accounts_failure_bucket(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    """Failures through Change-Password and through login empty one per-account bucket (429 for both)."""
    await set_tenant(core, lockout={"max_failed_logins": 100, "max_failed_logins_per_address": 100},
                     rate_limits={"login": {"per_account": bucket(4)}})
    account_id = await _account(client, app_headers)
    for n in range(2):
        _refused(await _guess(client, from_address(app_headers, f"203.0.113.{n + 1}"), account_id, "wrong"))
    for n in range(2):
        assert_error(await login(client, from_address(app_headers, f"203.0.113.{n + 3}"), EMAIL, "wrong"), 401)
    assert_limited(await _guess(client, from_address(app_headers, "203.0.113.5"), account_id, PASSWORD), "account")
    assert_limited(await login(client, from_address(app_headers, "203.0.113.6"), EMAIL, PASSWORD), "account")
    assert (await account_row(core, account_id)).failed_login_count == 4


async def test_guesses_spend_the_addresses_login_bucket(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    await set_tenant(core, rate_limits={"login": {"per_address": bucket(3)}})
    account_id = await _account(client, app_headers)
    attacker = from_address(app_headers, ATTACKER)
    for _ in range(3):
        _refused(await _guess(client, attacker, account_id, "wrong"))
    assert_limited(await _guess(client, attacker, account_id, PASSWORD))
    assert_limited(await login(client, attacker, EMAIL, PASSWORD))  # the same bucket as a login's
    ok(await login(client, from_address(app_headers, OWNER), EMAIL, PASSWORD))


async def test_every_refusal_looks_the_same(client: httpx.AsyncClient, app_headers: dict[str, str],
                                            core: Core) -> None:
    account_id = await _account(client, app_headers)
    locked_id = int((await register(client, app_headers, "locked@example.com"))["customerAccount"]["id"])
    done(await client.post(lock_path(locked_id), headers=await admin_headers(client), json=True))
    answers = [
        _refused(await _guess(client, from_address(app_headers, "192.0.2.1"), account_id, "wrong")),
        _refused(await _guess(client, from_address(app_headers, "192.0.2.2"), 987_654, PASSWORD)),
        _refused(await _guess(client, from_address(app_headers, "192.0.2.3"), locked_id, PASSWORD)),
    ]
    assert answers[0] == answers[1] == answers[2]
    async with core.store.engine.connect() as conn:
        reasons = (await conn.execute(select(t.audit_entries.c.account_id, t.audit_entries.c.detail).where(
            t.audit_entries.c.event == "login.failed").order_by(t.audit_entries.c.id))).all()
    assert [(r.account_id, r.detail["reason"]) for r in reasons] == [
        (account_id, "bad-password"), (None, "unknown"), (locked_id, "locked")]


async def test_the_owner_and_the_admin_still_change_passwords(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account_id = await _account(client, app_headers)
    _refused(await _guess(client, app_headers, account_id, "wrong"))
    done(await _guess(client, app_headers, account_id, PASSWORD))
    row = await account_row(core, account_id)
    assert row.failed_login_count == 0  # a proven password starts the count again, as a login does
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    admin = await admin_headers(client)
    done(await client.post(change_path(account_id), headers=admin, json={"newPassword": PASSWORD}))
    ok(await login(client, app_headers, EMAIL, PASSWORD))

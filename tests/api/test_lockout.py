"""Lockout over HTTP: the Nth consecutive wrong password locks the account (once, however many arrive at
once), a locked account answers exactly like a wrong password, the lock ends by itself after the
tenant's period or through a password reset, an admin or Change-Password with unlockAccount, the
owner is mailed (through a real SMTP server), the owner's sessions go on through a lock by failed
passwords, and one client address that used up its failures on an account is refused there while
other addresses are not.

The client address is varied through X-Forwarded-For from a trusted proxy (the test client's peer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.api.login_support import (
    NEW_PASSWORD,
    admin_headers,
    as_shopper,
    change_path,
    done,
    lock_path,
    state,
)
from tests.api.support import CURRENT, assert_error, kibo_date, login, ok, refresh, register
from tests.conftest import TENANT, app_token, headers
from tests.smtp import SmtpServer
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.mail import SmtpTransport
from ticketbooth.mail.service import MailSender

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "lockable@example.com"
WRONG = "not the password at all"
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"
UNAUTHORIZED = {"message": "Invalid Credentials: the username or password is incorrect", "errorCode": "INVALID_CREDENTIALS"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1/32")


async def set_tenant(core: Core, **sections: dict[str, Any]) -> None:
    """Lay `sections` over the tenant's settings (e.g. lockout={...})."""
    async with core.store.engine.begin() as conn:
        settings = (await conn.execute(select(t.tenants.c.settings).where(t.tenants.c.id == TENANT))).scalar_one()
        await conn.execute(update(t.tenants).where(t.tenants.c.id == TENANT).values(settings={**settings, **sections}))
    core.directory.forget()


NO_LOGIN_RATE_LIMIT = {"login": {"enabled": False}}


@pytest.fixture
async def lockout(core: Core) -> dict[str, Any]:
    """Lock after 3, for 30 minutes; the per-address allowance out of the way; no login rate limit."""
    policy = {"max_failed_logins": 3, "lock_minutes": 30, "max_failed_logins_per_address": 1000}
    await set_tenant(core, lockout=policy, rate_limits=NO_LOGIN_RATE_LIMIT)
    return policy


def from_address(hdrs: dict[str, str], address: str) -> dict[str, str]:
    return {**hdrs, "X-Forwarded-For": address}


def refused_alike(r: httpx.Response) -> None:
    body = assert_error(r, 401, "INVALID_CREDENTIALS")
    assert {k: body[k] for k in UNAUTHORIZED} == UNAUTHORIZED


async def outbox_kinds(core: Core) -> list[str]:
    async with core.store.engine.connect() as conn:
        return [str(k) for k in (await conn.execute(select(t.outbox.c.kind).order_by(t.outbox.c.id))).scalars()]


async def account_row(core: Core, account_id: int) -> Any:
    async with core.store.engine.connect() as conn:
        return (await conn.execute(select(t.accounts).where(t.accounts.c.id == account_id))).one()


@pytest.fixture
async def mail_sender(core: Core, smtp_server: SmtpServer) -> AsyncIterator[MailSender]:
    yield MailSender(core, SmtpTransport(smtp_server.host, smtp_server.port, starttls=False, timeout=5))


# -- locking -------------------------------------------------------------------------------------------

async def test_the_nth_failure_locks_and_a_locked_account_answers_like_a_wrong_password(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, clock: ManualClock,
        lockout: dict[str, Any], mail_sender: MailSender, smtp_server: SmtpServer) -> None:
    ticket = await register(client, app_headers, EMAIL, firstName="Lou")
    account_id = int(ticket["customerAccount"]["id"])
    admin = await admin_headers(client)
    for attempt in range(2):
        refused_alike(await login(client, app_headers, EMAIL, WRONG))
        s = await state(client, admin, account_id)
        assert (s["isLocked"], s["failedLoginAttemptCount"], s["remainingLoginAttempts"]) == (False, attempt + 1, 2 - attempt)
    locked_at = clock.now()
    refused_alike(await login(client, app_headers, EMAIL, WRONG))  # the third: locks
    s = await state(client, admin, account_id)
    assert (s["isLocked"], s["failedLoginAttemptCount"], s["remainingLoginAttempts"]) == (True, 3, 0)
    assert kibo_date(s["lastLockedOn"]) == locked_at
    row = await account_row(core, account_id)
    assert row.lock_expires_at == locked_at + timedelta(minutes=30)
    # the right password is refused alike, and nothing more is counted while locked
    refused_alike(await login(client, app_headers, EMAIL))
    refused_alike(await login(client, app_headers, EMAIL, WRONG))
    assert (await state(client, admin, account_id))["failedLoginAttemptCount"] == 3
    # a lock by failed passwords stops new logins only: the owner's sessions go on (issue 13, finding 4)
    assert ok(await client.get(CURRENT, headers=as_shopper(app_headers, ticket)))["id"] == account_id
    assert ok(await refresh(client, app_headers, ticket["refreshToken"]))["customerAccount"]["id"] == account_id
    # an admin sees the lock on the account too
    account = ok(await client.get(f"/api/commerce/customer/accounts/{account_id}", headers=admin))
    assert account["isLocked"] is True

    # the owner was mailed once, saying how to get back in
    assert await outbox_kinds(core) == ["account-locked"]
    await mail_sender.run_once()
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [EMAIL]
    assert mail.message["Subject"] == "Your Test tenant account has been locked"
    assert "Hello Lou" in mail.text and "after 3 failed attempts" in mail.text
    assert "reset your password" in mail.text
    assert "one-time code" in mail.text  # OTP login is on for the site by default
    assert (locked_at + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M UTC") in mail.text
    assert WRONG not in mail.text and "reset your password" in mail.html


async def test_the_lock_expires_and_the_count_starts_again(
        client: httpx.AsyncClient, app_headers: dict[str, str], clock: ManualClock, lockout: dict[str, Any]) -> None:
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    admin = await admin_headers(client)
    for _ in range(3):
        refused_alike(await login(client, app_headers, EMAIL, WRONG))
    clock.advance(timedelta(minutes=29, seconds=59))
    refused_alike(await login(client, app_headers, EMAIL))
    assert (await state(client, admin, account_id))["isLocked"] is True
    clock.advance(timedelta(seconds=1))
    s = await state(client, admin, account_id)
    assert (s["isLocked"], s["failedLoginAttemptCount"], s["remainingLoginAttempts"]) == (False, 0, 3)
    assert s["lastLockedOn"] is not None  # when it was last locked stays
    # a failure after the expiry counts from one again, and does not lock at once
    refused_alike(await login(client, app_headers, EMAIL, WRONG))
    s = await state(client, admin, account_id)
    assert (s["isLocked"], s["failedLoginAttemptCount"]) == (False, 1)
    assert kibo_date(s["firstFailedLoginAttemptOn"]) == clock.now()
    ok(await login(client, app_headers, EMAIL))
    s = await state(client, admin, account_id)
    assert (s["isLocked"], s["failedLoginAttemptCount"]) == (False, 0)


async def test_lock_minutes_zero_locks_until_unlocked(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, clock: ManualClock) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 2, "lock_minutes": 0, "max_failed_logins_per_address": 100},
                     rate_limits=NO_LOGIN_RATE_LIMIT)
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    for _ in range(2):
        refused_alike(await login(client, app_headers, EMAIL, WRONG))
    assert (await account_row(core, account_id)).lock_expires_at is None
    clock.advance(timedelta(days=400))
    app_headers = headers(await app_token(client))  # the old application token has long expired
    refused_alike(await login(client, app_headers, EMAIL))
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=False))
    ok(await login(client, app_headers, EMAIL))


async def test_a_hundred_parallel_wrong_passwords_lock_exactly_once(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, lockout: dict[str, Any]) -> None:
    await set_tenant(core, lockout={**lockout, "max_failed_logins": 10})
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])

    answers = await asyncio.gather(*(login(client, app_headers, EMAIL, WRONG) for _ in range(100)))
    for r in answers:
        refused_alike(r)
    row = await account_row(core, account_id)
    assert (row.is_locked, row.failed_login_count) == (True, 10)
    assert await outbox_kinds(core) == ["account-locked"]  # one mail
    async with core.store.engine.connect() as conn:
        locks = (await conn.execute(select(func.count()).select_from(t.audit_entries).where(
            t.audit_entries.c.account_id == account_id, t.audit_entries.c.event == "account.locked"))).scalar_one()
        failures = (await conn.execute(select(func.count()).select_from(t.audit_entries).where(
            t.audit_entries.c.account_id == account_id, t.audit_entries.c.event == "login.failed"))).scalar_one()
    assert (locks, failures) == (1, 100)
    # right passwords while locked, also in parallel: none gets through
    for r in await asyncio.gather(*(login(client, app_headers, EMAIL) for _ in range(20))):
        refused_alike(r)


# -- per address -----------------------------------------------------------------------------------

async def test_an_address_that_used_up_its_failures_is_refused_while_others_log_in(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 10, "max_failed_logins_per_address": 3},
                     rate_limits=NO_LOGIN_RATE_LIMIT)
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    attacker, owner = from_address(app_headers, ATTACKER), from_address(app_headers, OWNER)
    for _ in range(3):
        refused_alike(await login(client, attacker, EMAIL, WRONG))
    # the attacker's address is now refused even with the right password, and its tries no longer count
    refused_alike(await login(client, attacker, EMAIL))
    for _ in range(5):
        refused_alike(await login(client, attacker, EMAIL, WRONG))
    s = await state(client, await admin_headers(client), account_id)
    assert (s["failedLoginAttemptCount"], s["isLocked"]) == (3, False)
    # the owner, from elsewhere, logs in
    ok(await login(client, owner, EMAIL))
    # the block is per account: the attacker's address may still log in to another account
    await register(client, app_headers, "someone.else@example.com")
    ok(await login(client, attacker, "someone.else@example.com"))


async def test_parallel_failures_from_one_address_count_no_more_than_its_allowance(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 10, "max_failed_logins_per_address": 4},
                     rate_limits=NO_LOGIN_RATE_LIMIT)
    account_id = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    attacker = from_address(app_headers, ATTACKER)
    for r in await asyncio.gather(*(login(client, attacker, EMAIL, WRONG) for _ in range(30))):
        refused_alike(r)
    row = await account_row(core, account_id)
    assert (row.failed_login_count, row.is_locked) == (4, False)  # one address alone cannot lock the account
    ok(await login(client, from_address(app_headers, OWNER), EMAIL))


async def test_unknown_users_are_refused_alike_and_counted_nowhere(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, lockout: dict[str, Any]) -> None:
    await register(client, app_headers, EMAIL)
    for _ in range(5):
        refused_alike(await login(client, app_headers, "nobody.here@example.com", WRONG))
    async with core.store.engine.connect() as conn:
        counted = (await conn.execute(select(func.sum(t.accounts.c.failed_login_count)))).scalar_one()
        entries = (await conn.execute(select(t.audit_entries.c.account_id, t.audit_entries.c.detail).where(
            t.audit_entries.c.event == "login.failed"))).all()
    assert counted == 0
    assert [(e.account_id, e.detail) for e in entries] == [(None, {"reason": "unknown"})] * 5


# -- unlocking ---------------------------------------------------------------------------------------

async def _locked(client: httpx.AsyncClient, app_headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    ticket = await register(client, app_headers, EMAIL)
    for _ in range(3):
        refused_alike(await login(client, app_headers, EMAIL, WRONG))
    return int(ticket["customerAccount"]["id"]), ticket


async def test_an_admin_unlocks(client: httpx.AsyncClient, app_headers: dict[str, str], core: Core,
                                lockout: dict[str, Any]) -> None:
    account_id, _ = await _locked(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(lock_path(account_id), headers=admin, json=False))
    s = await state(client, admin, account_id)
    assert (s["isLocked"], s["failedLoginAttemptCount"]) == (False, 0)
    assert (await account_row(core, account_id)).lock_expires_at is None
    ok(await login(client, app_headers, EMAIL))


async def test_change_password_with_unlock_account_unlocks(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, lockout: dict[str, Any]) -> None:
    account_id, _ = await _locked(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(change_path(account_id), headers=admin, params={"unlockAccount": "true"},
                           json={"newPassword": NEW_PASSWORD}))
    assert (await account_row(core, account_id)).lock_expires_at is None
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_change_password_without_unlock_leaves_the_lock(
        client: httpx.AsyncClient, app_headers: dict[str, str], lockout: dict[str, Any]) -> None:
    account_id, _ = await _locked(client, app_headers)
    admin = await admin_headers(client)
    done(await client.post(change_path(account_id), headers=admin, json={"newPassword": NEW_PASSWORD}))
    refused_alike(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_a_password_reset_unlocks(client: httpx.AsyncClient, app_headers: dict[str, str], core: Core,
                                        lockout: dict[str, Any], mail_sender: MailSender,
                                        smtp_server: SmtpServer) -> None:
    account_id, _ = await _locked(client, app_headers)
    r = await client.post("/api/commerce/customer/accounts/Reset-Password", headers=app_headers,
                          json={"emailAddress": EMAIL})
    assert r.status_code == 200, r.text
    await mail_sender.run_until_idle()
    reset = next(m for m in smtp_server.wait_for(2) if "reset" in str(m.message["Subject"]).lower())
    r = await client.post("/api/commerce/customer/accounts/Update-Forgotten-Password", headers=app_headers,
                          json={"userName": EMAIL, "confirmationCode": reset.code(), "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    row = await account_row(core, account_id)
    assert (row.is_locked, row.lock_expires_at, row.failed_login_count) == (False, None, 0)
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_the_lock_mail_speaks_the_locale_and_says_when_there_is_no_end(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mail_sender: MailSender,
        smtp_server: SmtpServer) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 1, "lock_minutes": 0}, rate_limits=NO_LOGIN_RATE_LIMIT)
    await register(client, app_headers, EMAIL, localeCode="fr-FR")
    refused_alike(await login(client, app_headers, EMAIL, WRONG))
    await mail_sender.run_once()
    [mail] = smtp_server.wait_for(1)
    assert mail.message["Subject"] == "Votre compte Test tenant a été verrouillé"
    assert "service client" in mail.text and "prend fin" not in mail.text

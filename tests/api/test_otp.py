"""One-time-passcode login over HTTP: /otp/request mails a 6-digit code (read from a real SMTP server),
/otp/auth logs in with it. Unknown and refused accounts get the same answer; codes cannot be guessed
(3 wrong tries void a code, requests are limited); an account locked by failed passwords still gets
in, one an administrator locked does not."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.api.code_support import OTP_AUTH, OTP_REQUEST, Mailbox, code_of, count_rows, events, set_site
from tests.api.login_support import admin_headers, lock_path, state
from tests.api.support import CURRENT, TICKET_KEYS, assert_error, login, ok, register
from tests.conftest import PASSWORD, SITE_SAME_SET
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "passwordless@example.com"


async def ask(client: httpx.AsyncClient, hdrs: dict[str, str], email: str = EMAIL) -> httpx.Response:
    return await client.post(OTP_REQUEST, headers=hdrs, json={"email": email})


async def use(client: httpx.AsyncClient, hdrs: dict[str, str], code: str, email: str = EMAIL,
              **extra: Any) -> httpx.Response:
    return await client.post(OTP_AUTH, headers=hdrs, json={"email": email, "otpCode": code, **extra})


def no_content(r: httpx.Response) -> None:
    assert (r.status_code, r.content) == (204, b""), r.text


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def new_account(client: httpx.AsyncClient, hdrs: dict[str, str], email: str = EMAIL) -> int:
    return int((await register(client, hdrs, email, firstName="Pat"))["customerAccount"]["id"])


async def test_log_in_with_a_mailed_code(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = await new_account(client, app_headers)
    no_content(await ask(client, app_headers, EMAIL.upper()))
    mail = await mailbox.one(EMAIL)
    assert mail.message["Subject"] == "Your Test tenant sign-in code"
    assert "Hello Pat," in mail.text and "3 minutes" in mail.text
    code = code_of(mail)

    body = ok(await use(client, app_headers, code, fingerprint="tablet", region="eu"))
    assert set(body) == TICKET_KEYS and body["requires2FA"] is False and body["refreshToken"]
    assert body["customerAccount"]["id"] == account
    ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": body["accessToken"]}))
    assert_error(await use(client, app_headers, code), 401, "INVALID_OTP")  # once only
    assert [e for e in await events(core, account) if e.startswith("otp.")] == ["otp.sent", "otp.verified", "otp.failed"]

    # the device it came from is now known: no second factor for it on a new-device site
    await set_site(core, two_factor=["new-device"])
    assert ok(await login(client, app_headers, EMAIL, fingerprint="tablet"))["requires2FA"] is False


async def test_unknown_and_refused_accounts_get_the_same_answer_and_no_mail(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await new_account(client, app_headers)
    inactive = await new_account(client, app_headers, "inactive@example.com")
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == inactive).values(is_active=False))
    known = await ask(client, app_headers)
    assert len(await mailbox.new()) == 1
    outbox, challenges = await count_rows(core, t.outbox), await count_rows(core, t.login_challenges)
    for email in ("nobody@example.com", "inactive@example.com"):
        r = await ask(client, app_headers, email)
        assert (r.status_code, r.content) == (known.status_code, known.content)
        assert sorted(k for k in r.headers if k not in ("x-vol-correlation", "date")) == \
            sorted(k for k in known.headers if k not in ("x-vol-correlation", "date"))
        assert_error(await use(client, app_headers, "123456", email), 401, "INVALID_OTP")
    assert await mailbox.new() == []
    assert (await count_rows(core, t.outbox), await count_rows(core, t.login_challenges)) == (outbox, challenges)


async def test_three_wrong_codes_void_it(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await new_account(client, app_headers)
    no_content(await ask(client, app_headers))
    code = await mailbox.code(EMAIL)
    for _ in range(3):
        assert_error(await use(client, app_headers, wrong(code)), 401, "INVALID_OTP")
    assert_error(await use(client, app_headers, code), 401, "INVALID_OTP")
    no_content(await ask(client, app_headers))  # a void code does not stop a new one
    ok(await use(client, app_headers, await mailbox.code(EMAIL)))


async def test_the_code_expires_after_three_minutes(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, clock: ManualClock) -> None:
    await new_account(client, app_headers)
    no_content(await ask(client, app_headers))
    code = await mailbox.code(EMAIL)
    clock.advance(timedelta(minutes=2, seconds=59))
    ok(await use(client, app_headers, code))
    no_content(await ask(client, app_headers))
    code = await mailbox.code(EMAIL)
    clock.advance(timedelta(minutes=3))
    assert_error(await use(client, app_headers, code), 401, "INVALID_OTP")


async def test_twenty_parallel_uses_of_one_code_give_one_ticket(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await new_account(client, app_headers)
    no_content(await ask(client, app_headers))
    code = await mailbox.code(EMAIL)
    families = await count_rows(core, t.token_families)
    answers = await asyncio.gather(*(use(client, app_headers, code) for _ in range(20)))
    assert sorted(r.status_code for r in answers) == [200] + [401] * 19
    assert await count_rows(core, t.token_families) == families + 1


async def test_a_second_request_while_a_code_lives_is_throttled_silently(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, clock: ManualClock) -> None:
    await new_account(client, app_headers)
    no_content(await ask(client, app_headers))
    first = await mailbox.code(EMAIL)
    no_content(await ask(client, app_headers))  # within 30 seconds: the same answer, no mail
    assert await mailbox.new() == []
    clock.advance(timedelta(seconds=30))
    no_content(await ask(client, app_headers))
    second = await mailbox.code(EMAIL)
    if second != first:
        assert_error(await use(client, app_headers, first), 401, "INVALID_OTP")  # replaced (a wrong try)
    ok(await use(client, app_headers, second))


async def test_code_requests_are_limited_alike_for_known_and_unknown_emails(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, clock: ManualClock) -> None:
    await new_account(client, app_headers)
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(5):
            no_content(await ask(client, app_headers, email))
            clock.advance(timedelta(seconds=1))
        r = await ask(client, app_headers, email)
        assert_error(r, 429, "TOO_MANY_REQUESTS")
        assert int(r.headers["Retry-After"]) >= 1


async def test_guessing_is_bounded_by_tries_requests_and_a_daily_cap(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    """An attacker who asks for codes and guesses as fast as allowed gets 3 counted guesses per code, and
    20 code attempts on the account in all (the code-verify cap, refilled over a day): then every attempt,
    the right code included, is 429 TOO_MANY_REQUESTS, so 6 digits cannot be worked through. (Code
    requests are allowed freely here, to show the cap holds whatever that limit is.)"""
    async with core.store.engine.begin() as conn:
        await conn.execute(t.tenants.update().where(t.tenants.c.id == 100).values(settings={
            "rate_limits": {"code_request": {"per_account": None}}}))
    core.directory.forget()
    account = await new_account(client, app_headers)
    attempts = 0
    refused: httpx.Response | None = None
    for _ in range(10):
        no_content(await ask(client, app_headers))
        code = await mailbox.code(EMAIL)
        clock.advance(timedelta(seconds=31))
        for _ in range(4):
            r = await use(client, app_headers, wrong(code))
            if r.status_code == 429:
                refused = r
                break
            assert_error(r, 401, "INVALID_OTP")
            attempts += 1
        if refused is not None:
            break
    assert refused is not None
    assert_error(refused, 429, "TOO_MANY_REQUESTS")
    assert attempts == 20
    assert int(refused.headers["Retry-After"]) >= 60
    no_content(await ask(client, app_headers))  # a fresh, right code is refused as well
    assert_error(await use(client, app_headers, await mailbox.code(EMAIL)), 429, "TOO_MANY_REQUESTS")
    assert [e for e in await events(core, account) if e == "otp.failed"] == ["otp.failed"] * 20


async def test_locked_by_failed_passwords_the_owner_still_gets_in_and_the_lock_ends(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = await new_account(client, app_headers)
    admin = await admin_headers(client)
    async with core.store.engine.begin() as conn:  # as ten failed logins leave it
        await conn.execute(update(t.accounts).where(t.accounts.c.id == account).values(
            is_locked=True, locked_at=core.clock.now(), lock_expires_at=core.clock.now() + timedelta(minutes=30),
            failed_login_count=10))
    assert (await state(client, admin, account))["isLocked"] is True
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")

    no_content(await ask(client, app_headers))
    ok(await use(client, app_headers, await mailbox.code(EMAIL)))
    after = await state(client, admin, account)
    assert after["isLocked"] is False and after["failedLoginAttemptCount"] == 0
    ok(await login(client, app_headers, EMAIL))
    assert "account.unlocked" in await events(core, account)


async def test_locked_for_good_by_failures_still_gets_in(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = await new_account(client, app_headers)
    async with core.store.engine.begin() as conn:  # lock_minutes 0: no end, but reached by failures
        await conn.execute(update(t.accounts).where(t.accounts.c.id == account).values(
            is_locked=True, locked_at=core.clock.now(), lock_expires_at=None, failed_login_count=10))
    no_content(await ask(client, app_headers))
    ok(await use(client, app_headers, await mailbox.code(EMAIL)))


async def test_an_administrators_lock_keeps_the_account_shut(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = await new_account(client, app_headers)
    admin = await admin_headers(client)
    r = await client.post(lock_path(account), headers=admin, json=True)
    assert r.status_code == 200, r.text
    no_content(await ask(client, app_headers))
    assert await mailbox.new() == []
    assert_error(await use(client, app_headers, "000000"), 401, "INVALID_OTP")
    assert (await state(client, admin, account))["isLocked"] is True


async def test_a_site_without_otp_login_refuses_it(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await new_account(client, app_headers)
    await set_site(core, otp_login=False)
    assert_error(await ask(client, app_headers), 403, "FORBIDDEN")
    assert_error(await use(client, app_headers, "123456"), 403, "FORBIDDEN")
    assert await mailbox.new() == []
    other_site = {**app_headers, "x-vol-site": str(SITE_SAME_SET)}  # the setting is per site
    no_content(await ask(client, other_site))
    ok(await use(client, other_site, await mailbox.code(EMAIL)))


async def test_bad_input_is_a_400(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    assert_error(await client.post(OTP_REQUEST, headers=app_headers, json={}), 400, parameter="email")
    assert_error(await ask(client, app_headers, "x" * 400), 400, parameter="email")
    assert_error(await client.post(OTP_AUTH, headers=app_headers, json={"email": EMAIL}), 400, parameter="otpCode")
    assert_error(await client.post(OTP_REQUEST, headers=app_headers, content=b"[1]"), 400)
    assert PASSWORD  # the password plays no part here

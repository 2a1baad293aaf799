"""2FA by emailed code over HTTP: the site's triggers (always, new device, region change), the pending
ticket, /2fa/request (resend, throttled) and /2fa/auth (single use, 3 wrong tries, 3 minutes). Codes
are read from the mail a real SMTP server received."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.code_support import (
    TWO_FACTOR_AUTH,
    TWO_FACTOR_REQUEST,
    Mailbox,
    code_of,
    count_rows,
    events,
    set_site,
)
from tests.api.support import (
    CURRENT,
    HEX32,
    TICKET_KEYS,
    anonymous,
    anonymous_id,
    assert_error,
    decode_jwt,
    kibo_date,
    login,
    ok,
    refresh,
    register,
)
from tests.conftest import OTHER, SITE_SAME_SET, app_token, headers
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "careful@example.com"


async def account_id(client: httpx.AsyncClient, hdrs: dict[str, str]) -> int:
    return int((await register(client, hdrs, EMAIL, firstName="Cara"))["customerAccount"]["id"])


def pending_ticket(r: httpx.Response) -> dict[str, Any]:
    """A pending 2FA ticket: requires2FA, the userId, an access token and nothing else that logs in."""
    body = ok(r)
    assert set(body) == TICKET_KEYS
    assert body["requires2FA"] is True
    assert HEX32.match(body["userId"])
    assert len(body["accessToken"]) == 64
    assert body["refreshToken"] is None and body["refreshTokenExpiration"] is None
    assert body["jwtAccessToken"] is None and body["customerAccount"] is None
    return body


async def finish(client: httpx.AsyncClient, hdrs: dict[str, str], pending: dict[str, Any], code: str,
                 **extra: Any) -> httpx.Response:
    return await client.post(TWO_FACTOR_AUTH, headers={**hdrs, "x-vol-user-claims": pending["accessToken"]},
                             json={"userId": pending["userId"], "otpCode": code, **extra})


async def resend(client: httpx.AsyncClient, hdrs: dict[str, str], pending: dict[str, Any]) -> httpx.Response:
    return await client.post(TWO_FACTOR_REQUEST, headers={**hdrs, "x-vol-user-claims": pending["accessToken"]})


async def two_factor_login(client: httpx.AsyncClient, hdrs: dict[str, str], mailbox: Mailbox,
                           **extra: Any) -> tuple[dict[str, Any], str]:
    pending = pending_ticket(await login(client, hdrs, EMAIL, **extra))
    return pending, await mailbox.code(EMAIL)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# -- the triggers ---------------------------------------------------------------------------------

async def test_no_second_factor_unless_the_site_asks(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    body = ok(await login(client, app_headers, EMAIL, fingerprint="f1", region="eu"))
    assert body["requires2FA"] is False and body["refreshToken"] and body["customerAccount"]["last2FaDate"] is None
    assert await mailbox.new() == []


async def test_always_mails_a_code_and_the_pending_ticket_only_finishes_the_login(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    account = await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    guest = await anonymous(client, app_headers)
    pending = pending_ticket(await login(client, {**app_headers, "x-vol-user-claims": guest["accessToken"]}, EMAIL))
    assert kibo_date(pending["accessTokenExpiration"]) == clock.now() + timedelta(minutes=3)

    mail = await mailbox.one(EMAIL)
    assert mail.message["Subject"] == "Your Test tenant verification code"
    assert "Hello Cara," in mail.text and "3 minutes" in mail.text
    code = code_of(mail)
    async with core.store.engine.connect() as conn:  # neither the code nor the token is stored as such
        stored = (await conn.execute(select(t.login_challenges))).one()
    assert code not in str(tuple(stored)) and pending["accessToken"] not in str(tuple(stored))

    # the pending token is no shopper ticket
    assert_error(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": pending["accessToken"]}),
                 401, "INVALID_ACCESS_TOKEN")

    clock.advance(timedelta(minutes=1))
    body = ok(await finish(client, app_headers, pending, code))
    assert set(body) == TICKET_KEYS and body["requires2FA"] is False
    assert body["userId"] == pending["userId"] and HEX32.match(body["refreshToken"])
    assert kibo_date(body["customerAccount"]["last2FaDate"]) == clock.now()
    _, claims = await decode_jwt(client, body["jwtAccessToken"])
    assert claims["sub"] == pending["userId"] and claims["prev_sub"] == anonymous_id(guest)
    ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": body["accessToken"]}))
    ok(await refresh(client, app_headers, body["refreshToken"]))

    assert_error(await finish(client, app_headers, pending, code), 401, "INVALID_OTP")  # used once
    assert [e for e in await events(core, account) if e.startswith("2fa.")] == ["2fa.sent", "2fa.verified"]


async def test_new_device_asks_for_unknown_or_missing_fingerprints(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["new-device"])
    pending, code = await two_factor_login(client, app_headers, mailbox, fingerprint="laptop", region="eu")
    ok(await finish(client, app_headers, pending, code))

    assert ok(await login(client, app_headers, EMAIL, fingerprint="laptop", region="us"))["requires2FA"] is False
    pending_ticket(await login(client, app_headers, EMAIL, fingerprint="phone"))
    pending_ticket(await login(client, app_headers, EMAIL))  # no fingerprint: cannot be a known one
    async with core.store.engine.connect() as conn:
        stored = [tuple(r) for r in (await conn.execute(select(t.known_devices))).all()]
    assert {r[1] for r in stored} == {"fingerprint", "region"}
    assert not any("laptop" in str(r) or "eu" == r[2] for r in stored)  # kept as keyed hashes only


async def test_region_change_asks_for_a_region_not_seen_before(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["region-change"])
    pending, code = await two_factor_login(client, app_headers, mailbox, region="EU-West", fingerprint="laptop")
    ok(await finish(client, app_headers, pending, code))

    assert ok(await login(client, app_headers, EMAIL, region="eu-west", fingerprint="phone"))["requires2FA"] is False
    pending, code = await two_factor_login(client, app_headers, mailbox, region="us-east")
    ok(await finish(client, app_headers, pending, code))
    assert ok(await login(client, app_headers, EMAIL, region="us-east"))["requires2FA"] is False
    pending_ticket(await login(client, app_headers, EMAIL, region="ap-south"))


async def test_a_wrong_password_never_reaches_the_second_factor(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    assert_error(await login(client, app_headers, EMAIL, "not the password"), 401, "INVALID_CREDENTIALS")
    assert await mailbox.new() == []
    assert await count_rows(core, t.login_challenges) == 0


# -- the code -------------------------------------------------------------------------------------

async def test_three_wrong_codes_void_the_login(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, code = await two_factor_login(client, app_headers, mailbox)
    for _ in range(3):
        body = assert_error(await finish(client, app_headers, pending, wrong(code)), 401, "INVALID_OTP")
        assert body["message"].startswith("Invalid OTP: ")
    assert_error(await finish(client, app_headers, pending, code), 401, "INVALID_OTP")
    assert_error(await resend(client, app_headers, pending), 401, "INVALID_OTP")
    assert [e for e in await events(core, account) if e.startswith("2fa.")] == ["2fa.sent"] + ["2fa.failed"] * 3

    # a new login starts over
    pending, code = await two_factor_login(client, app_headers, mailbox)
    ok(await finish(client, app_headers, pending, code))


async def test_another_users_id_is_a_wrong_try(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    other = await register(client, app_headers, "other@example.com")
    await set_site(core, two_factor=["always"])
    pending, code = await two_factor_login(client, app_headers, mailbox)
    assert_error(await finish(client, app_headers, {**pending, "userId": other["userId"]}, code), 401, "INVALID_OTP")
    ok(await finish(client, app_headers, pending, f"{code[:3]} {code[3:]}"))  # as typed, with a space


async def test_the_code_expires_after_three_minutes(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, code = await two_factor_login(client, app_headers, mailbox)
    clock.advance(timedelta(minutes=3))
    assert_error(await finish(client, app_headers, pending, code), 401, "INVALID_OTP")
    assert_error(await resend(client, app_headers, pending), 401, "INVALID_OTP")


async def test_twenty_parallel_uses_of_one_code_give_one_ticket(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, code = await two_factor_login(client, app_headers, mailbox)
    families = await count_rows(core, t.token_families)
    answers = await asyncio.gather(*(finish(client, app_headers, pending, code) for _ in range(20)))
    assert sorted(r.status_code for r in answers) == [200] + [401] * 19
    assert await count_rows(core, t.token_families) == families + 1


async def test_the_pending_token_works_in_the_body_for_its_application_only(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, code = await two_factor_login(client, app_headers, mailbox)
    assert_error(await client.post(TWO_FACTOR_AUTH, headers=app_headers, json={"otpCode": code}), 401, "INVALID_OTP")
    other_tenant_app = headers(await app_token(client, OTHER), tenant=300, site=400)
    assert_error(await finish(client, other_tenant_app, pending, code), 401, "INVALID_OTP")
    same_set = {**app_headers, "x-vol-site": str(SITE_SAME_SET)}
    body = ok(await client.post(TWO_FACTOR_AUTH, headers=same_set, json={
        "accessToken": pending["accessToken"], "userId": pending["userId"], "otpCode": code}))
    assert body["customerAccount"]["emailAddress"] == EMAIL


# -- resending ------------------------------------------------------------------------------------

async def test_resend_is_throttled_and_replaces_the_code(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, first = await two_factor_login(client, app_headers, mailbox)

    r = await resend(client, app_headers, pending)
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert await mailbox.new() == []

    clock.advance(timedelta(seconds=30))
    r = await resend(client, app_headers, pending)
    assert (r.status_code, r.content) == (204, b"")
    second = await mailbox.code(EMAIL)
    if second != first:  # one in a million they are equal
        assert_error(await finish(client, app_headers, pending, first), 401, "INVALID_OTP")
    clock.advance(timedelta(minutes=2, seconds=50))  # the resend gave the new code its own 3 minutes
    ok(await finish(client, app_headers, pending, second))


async def test_a_code_is_mailed_at_most_five_times(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, _ = await two_factor_login(client, app_headers, mailbox)
    for _ in range(4):
        clock.advance(timedelta(seconds=31))
        assert (await resend(client, app_headers, pending)).status_code == 204
    clock.advance(timedelta(seconds=31))
    assert_error(await resend(client, app_headers, pending), 429, "TOO_MANY_REQUESTS")
    assert len(await mailbox.new()) == 4


async def test_wrong_tries_survive_a_resend(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    pending, code = await two_factor_login(client, app_headers, mailbox)
    for _ in range(2):
        assert_error(await finish(client, app_headers, pending, wrong(code)), 401, "INVALID_OTP")
    clock.advance(timedelta(seconds=30))
    assert (await resend(client, app_headers, pending)).status_code == 204
    code = await mailbox.code(EMAIL)
    assert_error(await finish(client, app_headers, pending, wrong(code)), 401, "INVALID_OTP")
    assert_error(await finish(client, app_headers, pending, code), 401, "INVALID_OTP")  # void after 3


async def test_resends_share_the_accounts_code_request_limit(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox,
        clock: ManualClock) -> None:
    await account_id(client, app_headers)
    await set_site(core, two_factor=["always"])
    async with core.store.engine.begin() as conn:  # one code request per account, none refilled
        await conn.execute(t.tenants.update().where(t.tenants.c.id == 100).values(settings={
            "rate_limits": {"code_request": {"per_account": {"capacity": 1, "per_minute": 0.001}}}}))
    core.directory.forget()
    pending, _ = await two_factor_login(client, app_headers, mailbox)
    clock.advance(timedelta(seconds=31))
    assert (await resend(client, app_headers, pending)).status_code == 204
    clock.advance(timedelta(seconds=31))
    r = await resend(client, app_headers, pending)
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert "account" in r.json()["message"]

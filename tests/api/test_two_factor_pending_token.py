"""/2fa/auth {userId, otpCode} without the pending token (Kibo's SDK model AuthTicket2FAInfo, next to the
application's credential) still finishes a login, but cannot be used against the owner (issue 13e).

A userId is in every ticket and JWT a shopper holds, so whoever knows it may send codes that way: their
wrong codes spend an allowance of their own on the pending login (as many as the code's tries, then that
way is closed, the right code included) and a code-verify budget of their own, never the tries or the
budget of the client that passed the password and holds the pending token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.code_support import TWO_FACTOR_AUTH, Mailbox, events, set_site
from tests.api.support import anonymous, assert_error, login, ok, register
from tests.conftest import ADMIN, app_token, headers
from ticketbooth.core import Core
from ticketbooth.db import tables as t

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "pending.owner@example.com"
TRIES = 3  # CodeSettings.otp_max_failed_attempts


def wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


async def pending_login(client: httpx.AsyncClient, hdrs: dict[str, str], core: Core,
                        mailbox: Mailbox) -> tuple[int, dict[str, Any], str]:
    account = int((await register(client, hdrs, EMAIL))["customerAccount"]["id"])
    await set_site(core, two_factor=["always"])
    pending = ok(await login(client, hdrs, EMAIL))
    assert pending["requires2FA"] is True
    return account, pending, await mailbox.code(EMAIL)


async def by_user_id(client: httpx.AsyncClient, hdrs: dict[str, str], user_id: str, code: str) -> httpx.Response:
    """Kibo's SDK model alone, {userId, otpCode}, no pending token: what a stranger can send too."""
    return await client.post(TWO_FACTOR_AUTH, headers=hdrs, json={"userId": user_id, "otpCode": code})


async def by_token(client: httpx.AsyncClient, hdrs: dict[str, str], pending: dict[str, Any],
                   code: str) -> httpx.Response:
    """The owner's client: the pending ticket's access token as x-vol-user-claims."""
    return await client.post(TWO_FACTOR_AUTH, headers={**hdrs, "x-vol-user-claims": pending["accessToken"]},
                             json={"userId": pending["userId"], "otpCode": code})


async def challenge_row(core: Core) -> Any:
    async with core.store.engine.connect() as conn:
        [row] = (await conn.execute(t.login_challenges.select())).all()
    return row


async def limit_code_verify(core: Core, capacity: int) -> None:
    """`capacity` code attempts per account bucket, next to none refilled during the test."""
    async with core.store.engine.begin() as conn:
        await conn.execute(t.tenants.update().where(t.tenants.c.id == 100).values(settings={
            "rate_limits": {"code_verify": {"per_account": {"capacity": capacity, "per_minute": 0.001}}}}))
    core.directory.forget()


async def test_the_sdk_model_with_the_right_code_finishes_the_login(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    body = ok(await by_user_id(client, app_headers, pending["userId"], code))
    assert body["customerAccount"]["id"] == account and body["requires2FA"] is False and body["refreshToken"]
    assert "2fa.verified" in await events(core, account)
    # the login is done: the pending token no longer finishes it
    assert_error(await by_token(client, app_headers, pending, code), 401, "INVALID_OTP")


async def test_a_strangers_wrong_codes_by_user_id_leave_the_owner_all_tries(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    # an anonymous visitor's ticket JWT alone is no application credential: refused before anything is tried
    visitor = await anonymous(client, app_headers)
    assert_error(await by_user_id(client, headers(visitor["jwtAccessToken"]), pending["userId"], wrong(code, 7)),
                 401, "UNAUTHORIZED")
    # with the storefront's app credential: more wrong codes than the allowance
    for n in range(1, 2 * TRIES + 1):
        assert_error(await by_user_id(client, app_headers, pending["userId"], wrong(code, n)), 401, "INVALID_OTP")
    row = await challenge_row(core)
    assert (row.failed_attempts, row.used_at) == (0, None)  # the code and its tries are the owner's still
    assert row.user_id_failed_attempts == TRIES

    # the owner still has every try: two wrong codes, and the right one still works
    for n in (1, 2):
        assert_error(await by_token(client, app_headers, pending, wrong(code, n)), 401, "INVALID_OTP")
    body = ok(await by_token(client, app_headers, pending, code))
    assert body["customerAccount"]["id"] == account
    assert (await events(core, account)).count("2fa.failed") == TRIES + 2  # the stranger's are on the trail


async def test_the_user_id_way_closes_after_the_wrong_codes_it_allows(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    for n in range(1, TRIES + 1):
        assert_error(await by_user_id(client, app_headers, pending["userId"], wrong(code, n)), 401, "INVALID_OTP")
    # a guess after the allowance gets nowhere, even the right code: the answer is the same refusal
    assert_error(await by_user_id(client, app_headers, pending["userId"], code), 401, "INVALID_OTP")
    assert "2fa.verified" not in await events(core, account)
    row = await challenge_row(core)
    assert (row.failed_attempts, row.used_at) == (0, None)  # the code and its tries are the owner's still
    assert row.user_id_failed_attempts == TRIES

    ok(await by_token(client, app_headers, pending, code))  # the pending token's way is still open


async def test_parallel_guesses_by_user_id_get_no_more_than_the_allowance(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    answers = await asyncio.gather(*(by_user_id(client, app_headers, pending["userId"], wrong(code, n))
                                     for n in range(1, 11)))
    for r in answers:
        assert_error(r, 401, "INVALID_OTP")
    row = await challenge_row(core)
    assert (row.failed_attempts, row.used_at) == (0, None)
    assert row.user_id_failed_attempts == TRIES
    assert_error(await by_user_id(client, app_headers, pending["userId"], code), 401, "INVALID_OTP")
    assert ok(await by_token(client, app_headers, pending, code))["customerAccount"]["id"] == account


async def test_a_stranger_cannot_spend_the_owners_code_verify_budget(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await limit_code_verify(core, 2)
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    answers = [(await by_user_id(client, app_headers, pending["userId"], wrong(code, n))).status_code
               for n in range(1, 6)]
    assert answers == [401, 401, 429, 429, 429]  # the userId way's own budget runs out
    # the owner's budget is whole: one wrong code and the right one both get an answer, not a 429
    assert_error(await by_token(client, app_headers, pending, wrong(code)), 401, "INVALID_OTP")
    assert ok(await by_token(client, app_headers, pending, code))["customerAccount"]["id"] == account


async def test_an_unknown_user_id_is_answered_and_limited_like_a_known_one(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await limit_code_verify(core, 2)
    _, pending, code = await pending_login(client, app_headers, core, mailbox)
    seen = []
    for user_id in (pending["userId"], "0" * 32):
        answers = [await by_user_id(client, app_headers, user_id, wrong(code, n)) for n in range(1, 4)]
        seen.append([(r.status_code, r.json()["errorCode"]) for r in answers])
    assert seen[0] == seen[1] == [(401, "INVALID_OTP"), (401, "INVALID_OTP"), (429, "TOO_MANY_REQUESTS")]


async def test_another_application_cannot_reach_the_login_by_user_id(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    _, pending, code = await pending_login(client, app_headers, core, mailbox)
    admin = headers(await app_token(client, ADMIN))
    assert_error(await by_user_id(client, admin, pending["userId"], code), 401, "INVALID_OTP")
    assert (await challenge_row(core)).used_at is None
    ok(await by_user_id(client, app_headers, pending["userId"], code))

"""The one-time-passcode budgets belong to the account, not to the name it is asked for by (issue 13,
finding 11): an account that logs in with an email address and a username gets one code-verify budget
and one code-request budget, not one per name, so the username does not double an attacker's guesses.
A name nobody has gets a bucket of its own that behaves the same, so the answers do not tell whether an
account exists."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.api.code_support import OTP_AUTH, OTP_REQUEST, Mailbox
from tests.api.support import assert_error, ok, register
from tests.conftest import Seed
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL, USERNAME = "two.names@example.com", "twonames"
VERIFY_BUDGET, REQUEST_BUDGET = 4, 3


@pytest.fixture
async def small_budgets(core: Core, seeded: Seed) -> None:
    """Few code attempts and code requests per account, none refilled during a test."""
    async with core.store.engine.begin() as conn:
        await conn.execute(t.tenants.update().where(t.tenants.c.id == 100).values(settings={"rate_limits": {
            "code_verify": {"per_account": {"capacity": VERIFY_BUDGET, "per_minute": 0.0001}},
            "code_request": {"per_account": {"capacity": REQUEST_BUDGET, "per_minute": 0.0001}},
        }}))
    core.directory.forget()


async def use(client: httpx.AsyncClient, hdrs: dict[str, str], name: str, code: str) -> httpx.Response:
    return await client.post(OTP_AUTH, headers=hdrs, json={"email": name, "otpCode": code})


async def ask(client: httpx.AsyncClient, hdrs: dict[str, str], name: str) -> httpx.Response:
    return await client.post(OTP_REQUEST, headers=hdrs, json={"email": name})


@pytest.mark.usefixtures("small_budgets")
async def test_the_username_does_not_double_the_code_guesses(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, EMAIL, userName=USERNAME)
    statuses = [(await use(client, app_headers, EMAIL, "000000")).status_code for _ in range(VERIFY_BUDGET)]
    assert statuses == [401] * VERIFY_BUDGET
    for name in (EMAIL, USERNAME, USERNAME.upper()):
        assert_error(await use(client, app_headers, name, "000000"), 429, "TOO_MANY_REQUESTS")


@pytest.mark.usefixtures("small_budgets")
async def test_the_username_does_not_double_the_code_requests(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, clock: ManualClock) -> None:
    await register(client, app_headers, EMAIL, userName=USERNAME)
    for name in (EMAIL, USERNAME, EMAIL)[:REQUEST_BUDGET]:
        assert (await ask(client, app_headers, name)).status_code == 204
        clock.advance(timedelta(seconds=31))
    for name in (EMAIL, USERNAME):
        assert_error(await ask(client, app_headers, name), 429, "TOO_MANY_REQUESTS")


@pytest.mark.usefixtures("small_budgets")
async def test_unknown_names_are_limited_alike(client: httpx.AsyncClient, app_headers: dict[str, str],
                                              clock: ManualClock) -> None:
    await register(client, app_headers, EMAIL, userName=USERNAME)
    answers: dict[str, list[int]] = {}
    for name in (EMAIL, "nobody@example.com"):
        answers[name] = [(await use(client, app_headers, name, "000000")).status_code
                         for _ in range(VERIFY_BUDGET + 1)]
        answers[name] += [(await ask(client, app_headers, name)).status_code for _ in range(REQUEST_BUDGET + 1)]
    assert answers[EMAIL] == answers["nobody@example.com"] == \
        [401] * VERIFY_BUDGET + [429] + [204] * REQUEST_BUDGET + [429]


async def test_the_tries_of_one_code_are_shared_by_every_name(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL, userName=USERNAME)
    assert (await ask(client, app_headers, USERNAME)).status_code == 204
    code = await mailbox.code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for name in (EMAIL, USERNAME, EMAIL):
        assert_error(await use(client, app_headers, name, wrong), 401, "INVALID_OTP")
    assert_error(await use(client, app_headers, USERNAME, code), 401, "INVALID_OTP")  # void after 3 in all
    assert (await ask(client, app_headers, EMAIL)).status_code == 204
    ok(await use(client, app_headers, USERNAME, await mailbox.code(EMAIL)))

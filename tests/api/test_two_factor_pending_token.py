"""/2fa/auth is bound to the pending ticket of the login that passed the password (issue 13e): someone
who knows only a shopper's userId (it is in every ticket and JWT the shopper holds) cannot reach the
owner's pending 2FA login, so their wrong codes neither void the owner's code nor spend the account's
code-verify budget, and their right code does not log them in."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.code_support import TWO_FACTOR_AUTH, Mailbox, events, set_site
from tests.api.support import anonymous, assert_error, login, ok, register
from tests.conftest import headers
from tests.smtp import SmtpServer
from ticketbooth.services.core import Core
from ticketbooth.store import tables as t

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "pending.owner@example.com"


@pytest.fixture
def mailbox(core: Core, smtp_server: SmtpServer) -> Mailbox:
    return Mailbox(core, smtp_server)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def pending_login(client: httpx.AsyncClient, hdrs: dict[str, str], core: Core,
                        mailbox: Mailbox) -> tuple[int, dict[str, Any], str]:
    account = int((await register(client, hdrs, EMAIL))["customerAccount"]["id"])
    await set_site(core, two_factor=["always"])
    pending = ok(await login(client, hdrs, EMAIL))
    assert pending["requires2FA"] is True
    return account, pending, await mailbox.code(EMAIL)


async def by_user_id(client: httpx.AsyncClient, hdrs: dict[str, str], user_id: str, code: str) -> httpx.Response:
    """What a stranger can send: Kibo's plain {userId, otpCode}, no pending token."""
    return await client.post(TWO_FACTOR_AUTH, headers=hdrs, json={"userId": user_id, "otpCode": code})


async def finish(client: httpx.AsyncClient, hdrs: dict[str, str], pending: dict[str, Any], code: str) -> httpx.Response:
    return await client.post(TWO_FACTOR_AUTH, headers={**hdrs, "x-vol-user-claims": pending["accessToken"]},
                             json={"userId": pending["userId"], "otpCode": code})


async def test_a_stranger_with_the_user_id_cannot_void_the_owners_code(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    # with the storefront's app credential, and with an anonymous visitor's ticket JWT alone
    visitor = await anonymous(client, app_headers)
    stranger = headers(visitor["jwtAccessToken"])
    for hdrs in (app_headers, stranger):
        for _ in range(3):
            assert_error(await by_user_id(client, hdrs, pending["userId"], wrong(code)), 401)
    async with core.store.engine.connect() as conn:
        [tries] = (await conn.execute(t.login_challenges.select())).all()
    assert tries.failed_attempts == 0
    assert "2fa.failed" not in await events(core, account)

    body = ok(await finish(client, app_headers, pending, code))  # the owner still gets in
    assert body["customerAccount"]["id"] == account


async def test_a_stranger_with_the_user_id_and_the_right_code_does_not_get_in(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account, pending, code = await pending_login(client, app_headers, core, mailbox)
    assert_error(await by_user_id(client, app_headers, pending["userId"], code), 401, "INVALID_OTP")
    assert "2fa.verified" not in await events(core, account)
    ok(await finish(client, app_headers, pending, code))


async def test_a_stranger_cannot_spend_the_accounts_code_verify_budget(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    async with core.store.engine.begin() as conn:  # two code attempts per account, none refilled
        await conn.execute(t.tenants.update().where(t.tenants.c.id == 100).values(settings={
            "rate_limits": {"code_verify": {"per_account": {"capacity": 2, "per_minute": 0.001}}}}))
    core.directory.forget()
    _, pending, code = await pending_login(client, app_headers, core, mailbox)
    for _ in range(5):
        r = await by_user_id(client, app_headers, pending["userId"], wrong(code))
        assert r.status_code == 401, r.text
    ok(await finish(client, app_headers, pending, code))

"""A site's 2FA rule cannot be bypassed (issue 13, finding 5).

Site 200 asks a second factor (`two_factor`); site 201 shares its customer set (and so its accounts and
tickets) but asks none; the `x-vol-site` header picks the site a request acts at.

(a) A ticket acts only at sites whose 2FA triggers its login satisfied: a password login at site 201
    gives a ticket that site 200 refuses, as opaque access token, as ticket JWT and as refresh token.
(b) An emailed code alone is one factor: one-time-passcode login is refused at a site that always asks
    two, and an OTP login's ticket from the sibling site is refused there too.
(c) OTP login gives no ticket to an account that must change its password.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.code_support import OTP_AUTH, OTP_REQUEST, TWO_FACTOR_AUTH, Mailbox, events, set_site
from tests.api.login_support import admin_headers, change_required_path, done
from tests.api.support import ANONYMOUS, CURRENT, assert_error, decode_jwt, login, ok, refresh, register
from tests.conftest import SITE, SITE_SAME_SET, headers
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "two.sites@example.com"


def at(hdrs: dict[str, str], site: int) -> dict[str, str]:
    return {**hdrs, "x-vol-site": str(site)}


async def current(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any], site: int,
                  how: str) -> httpx.Response:
    """GET /accounts/current at `site` with the ticket's opaque token (`claims`), its JWT in
    x-vol-user-claims (`jwt-claims`) or its JWT alone as Bearer (`bearer`)."""
    if how == "bearer":
        return await client.get(CURRENT, headers=headers(ticket["jwtAccessToken"], site=site))
    token = ticket["accessToken"] if how == "claims" else ticket["jwtAccessToken"]
    return await client.get(CURRENT, headers={**at(hdrs, site), "x-vol-user-claims": token})


async def usable_at(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any], site: int) -> bool:
    """Whether the ticket acts at `site`, asked every way a client carries it (all must agree)."""
    answers = [await current(client, hdrs, ticket, site, how) for how in ("claims", "jwt-claims", "bearer")]
    for r in answers:
        if r.status_code != 200:
            assert_error(r, 401, "INVALID_ACCESS_TOKEN")
    statuses = {r.status_code for r in answers}
    assert len(statuses) == 1, [r.text for r in answers]
    return statuses == {200}


async def otp_login(client: httpx.AsyncClient, hdrs: dict[str, str], mailbox: Mailbox) -> httpx.Response:
    r = await client.post(OTP_REQUEST, headers=hdrs, json={"email": EMAIL})
    assert r.status_code == 204, r.text
    return await client.post(OTP_AUTH, headers=hdrs, json={"email": EMAIL, "otpCode": await mailbox.code(EMAIL)})


# -- (a) a sibling site's login ----------------------------------------------------------------------

async def test_a_password_login_at_the_sibling_site_does_not_act_at_the_2fa_site(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    await set_site(core, two_factor=["always"])
    sibling = ok(await login(client, at(app_headers, SITE_SAME_SET), EMAIL))
    assert sibling["requires2FA"] is False

    assert await usable_at(client, app_headers, sibling, SITE_SAME_SET)
    assert not await usable_at(client, app_headers, sibling, SITE)
    assert_error(await refresh(client, at(app_headers, SITE), sibling["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    # refused without being spent: the sibling site still refreshes it, and the new ticket keeps the rule
    renewed = ok(await refresh(client, at(app_headers, SITE_SAME_SET), sibling["refreshToken"]))
    assert renewed["customerAccount"]["id"] == account
    assert not await usable_at(client, app_headers, renewed, SITE)
    assert await usable_at(client, app_headers, renewed, SITE_SAME_SET)


async def test_a_two_factor_login_acts_at_both_sites(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await set_site(core, two_factor=["always"])
    pending = ok(await login(client, app_headers, EMAIL))
    assert pending["requires2FA"] is True
    ticket = ok(await client.post(TWO_FACTOR_AUTH, headers={**app_headers, "x-vol-user-claims": pending["accessToken"]},
                                  json={"userId": pending["userId"], "otpCode": await mailbox.code(EMAIL)}))
    assert await usable_at(client, app_headers, ticket, SITE)
    assert await usable_at(client, app_headers, ticket, SITE_SAME_SET)
    _, claims = await decode_jwt(client, ticket["jwtAccessToken"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]  # RFC 8176: what the login proved
    ok(await refresh(client, at(app_headers, SITE), ticket["refreshToken"]))


async def test_a_new_device_site_takes_a_login_that_passed_its_own_check_only(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await set_site(core, two_factor=["new-device"])
    pending = ok(await login(client, app_headers, EMAIL, fingerprint="laptop"))
    ok(await client.post(TWO_FACTOR_AUTH, headers={**app_headers, "x-vol-user-claims": pending["accessToken"]},
                         json={"userId": pending["userId"], "otpCode": await mailbox.code(EMAIL)}))
    known = ok(await login(client, app_headers, EMAIL, fingerprint="laptop"))  # a known device: no code
    assert known["requires2FA"] is False
    assert await usable_at(client, app_headers, known, SITE)
    _, claims = await decode_jwt(client, known["jwtAccessToken"])
    assert claims["amr"] == ["pwd"]

    # the sibling site never asked about the device: its ticket does not act here
    sibling = ok(await login(client, at(app_headers, SITE_SAME_SET), EMAIL, fingerprint="stolen-laptop"))
    assert not await usable_at(client, app_headers, sibling, SITE)


async def test_turning_the_rule_on_applies_to_sessions_already_open(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    registered = await register(client, app_headers, EMAIL)
    before = ok(await login(client, app_headers, EMAIL))
    assert await usable_at(client, app_headers, before, SITE)
    await set_site(core, two_factor=["always"])
    assert not await usable_at(client, app_headers, before, SITE)
    assert not await usable_at(client, app_headers, registered, SITE)
    assert await usable_at(client, app_headers, before, SITE_SAME_SET)
    assert_error(await refresh(client, app_headers, before["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")


async def test_anonymous_tickets_act_at_every_site_of_the_set(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    await set_site(core, two_factor=["always"])
    guest = ok(await client.get(ANONYMOUS, headers=at(app_headers, SITE_SAME_SET)))
    r = await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": guest["accessToken"]})
    assert_error(r, 404, "ITEM_NOT_FOUND")  # a shopper, anonymous: not refused as a token
    ok(await refresh(client, app_headers, guest["refreshToken"]))


# -- (b) one-time-passcode login and the 2FA rule ------------------------------------------------

async def test_otp_login_is_refused_at_a_site_that_always_asks_two_factors(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    await set_site(core, two_factor=["always"])
    assert_error(await client.post(OTP_REQUEST, headers=app_headers, json={"email": EMAIL}), 403, "FORBIDDEN")
    assert await mailbox.new() == []
    # a code mailed at the sibling site is no way in at site 200 either
    r = await client.post(OTP_REQUEST, headers=at(app_headers, SITE_SAME_SET), json={"email": EMAIL})
    assert r.status_code == 204
    code = await mailbox.code(EMAIL)
    assert_error(await client.post(OTP_AUTH, headers=app_headers, json={"email": EMAIL, "otpCode": code}),
                 403, "FORBIDDEN")
    sibling = ok(await client.post(OTP_AUTH, headers=at(app_headers, SITE_SAME_SET),
                                   json={"email": EMAIL, "otpCode": code}))
    assert sibling["customerAccount"]["id"] == account
    assert not await usable_at(client, app_headers, sibling, SITE)
    _, claims = await decode_jwt(client, sibling["jwtAccessToken"])
    assert claims["amr"] == ["otp"]


async def test_otp_login_meets_a_new_device_rule(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    """The mailed code is the very factor a new device or region is asked for."""
    await register(client, app_headers, EMAIL)
    await set_site(core, two_factor=["new-device", "region-change"])
    ticket = ok(await otp_login(client, app_headers, mailbox))
    assert await usable_at(client, app_headers, ticket, SITE)


# -- (c) one-time-passcode login and the password-change flag --------------------------------------

async def test_otp_login_gives_no_ticket_when_the_password_must_change(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    account = int((await register(client, app_headers, EMAIL))["customerAccount"]["id"])
    done(await client.post(change_required_path(account), headers=await admin_headers(client), json=True))
    body = assert_error(await otp_login(client, app_headers, mailbox), 401, "PASSWORD_CHANGE_REQUIRED")
    assert body["message"].startswith("Password Change Required: ")
    assert "otp.verified" not in await events(core, account)

"""A password reset code is good only in the customer set of its account (issue 13, item 13a): a code
mailed for an account of customer set "outlet" (site 202) sets no password when presented at a site of
another customer set of the same tenant (site 200), even where that set has an account with the same
email; it answers as a wrong code does."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import INVALID_CODE, RESET_PASSWORD, UPDATE_FORGOTTEN_PASSWORD, assert_error, login, ok, register
from tests.conftest import PASSWORD, SITE_OTHER_SET, app_token, headers
from tests.smtp import Mailbox

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "twice@example.com"
NEW_PASSWORD = "a brand new passphrase"


async def set_password(client: httpx.AsyncClient, hdrs: dict[str, str], code: str) -> httpx.Response:
    return await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=hdrs, json={"userName": EMAIL, "confirmationCode": code,
                                                          "newPassword": NEW_PASSWORD})


async def test_an_outlet_code_sets_no_password_at_a_site_of_another_customer_set(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    outlet = headers(await app_token(client), site=SITE_OTHER_SET)
    await register(client, outlet, EMAIL)
    await register(client, app_headers, EMAIL, password="the default set's own passphrase")
    r = await client.post(RESET_PASSWORD, headers=outlet, json={"emailAddress": EMAIL})
    assert r.status_code == 200, r.text
    code = (await mailbox.one(EMAIL)).code()

    body = assert_error(await set_password(client, app_headers, code), 400, "MISSING_OR_INVALID_PARAMETER",
                        "confirmationCode")
    assert body["message"] == INVALID_CODE
    # nothing changed in either customer set, and no notice went out
    assert await mailbox.new() == []
    ok(await login(client, outlet, EMAIL, PASSWORD))
    ok(await login(client, app_headers, EMAIL, "the default set's own passphrase"))
    assert_error(await login(client, outlet, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")
    assert_error(await login(client, app_headers, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")

    # at a site of its own customer set the code still works
    r = await set_password(client, outlet, code)
    assert r.status_code == 200, r.text
    ok(await login(client, outlet, EMAIL, NEW_PASSWORD))
    ok(await login(client, app_headers, EMAIL, "the default set's own passphrase"))


async def test_an_outlet_code_asked_for_by_customer_set_code_is_spent_in_that_set_only(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    """Reset-Password at site 200 may name the outlet set (customerSetCode): the code is still the
    outlet account's and is good at the outlet's sites only."""
    outlet = headers(await app_token(client), site=SITE_OTHER_SET)
    await register(client, outlet, EMAIL)
    r = await client.post(RESET_PASSWORD, headers=app_headers, json={"emailAddress": EMAIL, "customerSetCode": "outlet"})
    assert r.status_code == 200, r.text
    code = (await mailbox.one(EMAIL)).code()

    assert_error(await set_password(client, app_headers, code), 400, "MISSING_OR_INVALID_PARAMETER",
                 "confirmationCode")
    assert_error(await login(client, outlet, EMAIL, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")
    r = await set_password(client, outlet, code)
    assert r.status_code == 200, r.text
    ok(await login(client, outlet, EMAIL, NEW_PASSWORD))

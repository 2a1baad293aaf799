"""The identity-providers pages and a customer's passkeys and linked identities in a real browser
(Playwright + Debian's Chromium against `ticketbooth serve`, with a real OpenID provider, the npm
oidc-provider, for the discovery the provider form runs): an admin adds a provider through the form, a
support member removes a customer's passkey and unlinks their identity, and axe-core scans each page.
Skipped without Chromium unless TICKETBOOTH_TEST_BROWSER=required."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import STOREFRONT, LiveServer, stop_server
from tests.console.browser import SCREENSHOTS, BrowserStaff, axe_violations, console_server, need_browser
from tests.federation_e2e.support import Client, OidcProvider
from tests.passkeys.authenticator import Authenticator

SHOP = "https://shop.example.com"
SECRET = "browser-client-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcProvider]:
    need_browser()
    provider = OidcProvider([Client("browser-client", SECRET, "https://shop.example.test/callback")])
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="module")
def live_console(oidc: OidcProvider) -> Iterator[LiveServer]:
    """The console's server, allowed to call the provider on 127.0.0.1, with passkeys on at site 200."""
    tmp = Path(tempfile.mkdtemp(prefix="tb-console-methods-"))
    server = console_server(tmp, {"TICKETBOOTH_OIDC_HTTP_HOSTS": "127.0.0.1",
                                  "TICKETBOOTH_OIDC_ALLOWED_NETWORKS": "127.0.0.1/32"})
    server.cli("site", "settings", "200", "--set", "passkeys.rp_id=shop.example.com",
               "--set", f'passkeys.origins=["{SHOP}"]')
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


def database(server: LiveServer) -> str:
    return server.env["TICKETBOOTH_DATABASE_URL"].removeprefix("sqlite:///")


def shopper_with_a_passkey(server: LiveServer, email: str) -> int:
    """A shopper registered through the API, who adds a passkey (software authenticator) after a password
    login; their account id."""
    base = server.base_url
    token = httpx.post(f"{base}/api/platform/applications/authtickets/oauth", json={
        "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"},
        timeout=10).json()["access_token"]
    hdrs = {"Authorization": f"Bearer {token}", "x-vol-tenant": "100", "x-vol-site": "200"}
    password = "a perfectly fine passphrase"
    r = httpx.post(f"{base}/api/commerce/customer/accounts/Add-Account-And-Login", headers=hdrs, timeout=10,
                   json={"account": {"emailAddress": email, "userName": email}, "password": password})
    assert r.status_code == 200, r.text
    ticket = httpx.post(f"{base}/api/commerce/customer/authtickets", headers=hdrs, timeout=10,
                        json={"username": email, "password": password}).json()
    account = int(ticket["customerAccount"]["id"])
    mine = {**hdrs, "x-vol-user-claims": ticket["accessToken"]}
    path = f"{base}/api/commerce/customer/accounts/{account}/passkeys"
    options = httpx.post(f"{path}/registrationoptions", headers=mine, json={}, timeout=10).json()
    credential = Authenticator(SHOP, backup=True).create(options["options"])
    r = httpx.post(path, headers=mine, timeout=10, json={"challengeId": options["challengeId"],
                                                         "credential": credential, "name": "Anna's phone"})
    assert r.status_code == 200, r.text
    return account


def link_identity(server: LiveServer, provider_alias: str, account_id: int, subject: str) -> None:
    """A linked identity of the provider, stored as the federation flow stores one (its sign-in is the
    federation end-to-end tests' subject)."""
    with sqlite3.connect(database(server)) as db:
        [(provider_id,)] = db.execute("SELECT id FROM identity_providers WHERE alias = ?", (provider_alias,)).fetchall()
        db.execute("INSERT INTO linked_identities (tenant_id, provider_id, account_id, subject, email, created_at) "
                   "VALUES (100, ?, ?, ?, ?, ?)", (provider_id, account_id, subject, "anna@idp.example.test",
                                                   datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")))


def reauthenticate(page: Any, member: BrowserStaff) -> None:
    """The re-authentication page, if it was asked (a code of the next time step: enrolment used this one)."""
    if "/console/reauth" in page.url:
        page.get_by_label("Password").fill(member.password)
        page.get_by_label("Code from your authenticator app, or a recovery code").fill(member.code(steps_ahead=1))
        page.get_by_role("button", name="Confirm").click()


def test_an_admin_adds_a_provider_and_support_removes_a_customers_sign_in_methods(
        staff_page: Any, live_console: LiveServer, oidc: OidcProvider) -> None:
    admin: BrowserStaff = staff_page("admin")
    page = admin.page
    page.goto("/console/identity-providers")
    assert axe_violations(page) == [], "providers (empty)"
    page.get_by_label("Alias").fill("corp")
    page.get_by_label("Display name").fill("Corp ID")
    page.get_by_label("Issuer URL").fill("http://127.0.0.1:9/nothing")
    page.get_by_label("Client id").fill("browser-client")
    page.get_by_role("button", name="Add identity provider").click()
    assert page.locator("#error-issuer").is_visible()
    assert axe_violations(page) == [], "providers (an error)"
    page.get_by_label("Issuer URL").fill(oidc.issuer)
    page.get_by_label("Client secret").fill(SECRET)
    page.get_by_role("button", name="Add identity provider").click()
    reauthenticate(page, admin)
    page.wait_for_url("**/console/identity-providers/*?done=created")
    assert page.get_by_text("set (never shown)").is_visible()
    assert SECRET not in page.content()
    assert axe_violations(page) == [], "provider"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-identity-provider.png"), full_page=True)
    page.get_by_role("button", name="Switch off").click()
    page.wait_for_url("**?done=disabled")
    assert page.locator("#state").inner_text().startswith("off")

    account = shopper_with_a_passkey(live_console, f"anna-{os.getpid()}@example.test")
    link_identity(live_console, "corp", account, "corp-subject-1")
    support: BrowserStaff = staff_page("support")
    page = support.page
    page.goto(f"/console/customers/{account}")
    keys, identities = page.locator("#customer-passkeys"), page.locator("#customer-identities")
    assert "Anna's phone" in keys.inner_text() and "yes (synced)" in keys.inner_text()
    assert "Corp ID" in identities.inner_text() and "corp-subject-1" in identities.inner_text()
    assert axe_violations(page) == [], "customer with passkeys and identities"
    page.screenshot(path=str(SCREENSHOTS / "console-customer-sign-in-methods.png"), full_page=True)
    page.get_by_role("button", name="Remove the passkey Anna's phone").click()
    page.wait_for_url("**?done=passkey-removed")
    assert page.get_by_text("No passkey.", exact=True).is_visible()
    page.get_by_role("button", name="Unlink the identity at Corp ID").click()
    page.wait_for_url("**?done=identity-unlinked")  # the account keeps its password
    assert page.get_by_text("No linked identity.", exact=True).is_visible()
    assert axe_violations(page) == [], "customer after the removals"

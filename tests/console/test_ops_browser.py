"""The operator pages in a real browser (Playwright + Debian's Chromium against `ticketbooth serve`): rotating
an application secret with re-authentication, a settings form with an error, an axe-core scan of every
operator page, and the screenshots of the overview and applications pages the README shows. Skipped
without Chromium (the message says how to install it) unless TICKETBOOTH_TEST_BROWSER=required."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import STOREFRONT, LiveServer, stop_server
from tests.console.browser import SCREENSHOTS, BrowserStaff, axe_violations, console_server, need_browser

REAUTH_SECONDS = 3


@pytest.fixture(scope="module")
def live_console() -> Iterator[LiveServer]:
    """The console's server, with a re-authentication window short enough to run out within a test."""
    need_browser()
    tmp = Path(tempfile.mkdtemp(prefix="tb-console-ops-"))
    server = console_server(tmp, {"TICKETBOOTH_CONSOLE_REAUTH_SECONDS": str(REAUTH_SECONDS)})
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


def _secret_works(server: LiveServer, client_id: str, secret: str) -> bool:
    r = httpx.post(f"{server.base_url}/api/platform/applications/authtickets/oauth", json={
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}, timeout=10)
    return r.status_code == 200


def _some_traffic(server: LiveServer) -> None:
    """A registration, logins and failed logins through the API, for the overview to show."""
    base = server.base_url
    token = httpx.post(f"{base}/api/platform/applications/authtickets/oauth", json={
        "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"},
        timeout=10).json()["access_token"]
    hdrs = {"Authorization": f"Bearer {token}", "x-vol-tenant": "100", "x-vol-site": "200"}
    email = f"shopper-{time.time_ns()}@example.test"
    r = httpx.post(f"{base}/api/commerce/customer/accounts/Add-Account-And-Login", headers=hdrs, timeout=10, json={
        "account": {"emailAddress": email, "userName": email}, "password": "a perfectly fine passphrase"})
    assert r.status_code == 200, r.text
    for password in ("a perfectly fine passphrase", "wrong", "a perfectly fine passphrase", "wrong again"):
        httpx.post(f"{base}/api/commerce/customer/authtickets", headers=hdrs, timeout=10,
                   json={"username": email, "password": password})


def _clean(page: Any, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], (where, json.dumps([(v["id"], v["help"], [n["target"] for n in v["nodes"]])
                                                 for v in violations], indent=1))


def test_rotate_an_application_secret_with_reauthentication(staff_page: Any, live_console: LiveServer) -> None:
    member: BrowserStaff = staff_page("admin")
    page = member.page
    # an application of its own, made through the page: its secret is shown once
    page.get_by_role("link", name="Applications", exact=True).click()
    page.get_by_label("Client id").fill("browser.app")
    page.get_by_label("customer:admin").check()
    page.get_by_role("button", name="Create application").click()
    first = page.get_by_label("Its secret, shown this once", exact=False).input_value()
    assert _secret_works(live_console, "browser.app", first)
    page.get_by_role("link", name="Back to the application").click()

    time.sleep(REAUTH_SECONDS + 0.5)  # the sign-in's proof is now too old for a sensitive action
    page.get_by_role("button", name="Rotate secret").click()
    page.wait_for_load_state()
    assert "/console/reauth?next=" in page.url, (page.url, page.content()[:3000])
    assert page.get_by_role("heading", name="Confirm it is you").is_visible()
    assert _secret_works(live_console, "browser.app", first)  # nothing rotated yet
    page.get_by_label("Password").fill(member.password)
    page.get_by_label("Code from your authenticator app", exact=False).fill(member.code(1))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/console/application?client_id=browser.app")
    page.get_by_role("button", name="Rotate secret").click()
    assert page.get_by_role("heading", name="New application secret").is_visible()
    second = page.get_by_label("Its secret, shown this once", exact=False).input_value()
    assert second != first
    assert not _secret_works(live_console, "browser.app", first)
    assert _secret_works(live_console, "browser.app", second)
    _clean(page, "the new secret page")
    page.get_by_role("link", name="Back to the application").click()
    assert second not in page.content()


def test_settings_form_error_changes_nothing(staff_page: Any) -> None:
    member: BrowserStaff = staff_page("admin")
    page = member.page
    page.get_by_role("link", name="Settings", exact=True).click()
    field = page.locator('[id="password.min_length"]')
    assert field.input_value() == "8"
    field.fill("abc")
    page.locator('[id="lockout.lock_minutes"]').fill("45")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_role("alert").filter(has_text="The settings were not saved").is_visible()
    assert page.locator('[id="error-password.min_length"]').inner_text() == "Enter a whole number."
    assert field.get_attribute("aria-invalid") == "true"
    assert field.input_value() == "abc"  # shown again as typed
    _clean(page, "the settings page with errors")
    page.get_by_role("link", name="password.min_length").click()  # the summary links to the field
    page.goto("/console/settings")
    assert page.locator('[id="password.min_length"]').input_value() == "8"
    assert page.locator('[id="lockout.lock_minutes"]').input_value() == "30"  # nothing saved
    assert page.get_by_text("Nothing: every setting has its default.").is_visible()
    # a valid change then saves, and shows what differs
    page.locator('[id="lockout.lock_minutes"]').fill("45")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_role("status").filter(has_text="Changed: lockout.lock_minutes").is_visible()


def test_every_operator_page_passes_axe_and_screenshots(staff_page: Any, live_console: LiveServer) -> None:
    member: BrowserStaff = staff_page("admin")
    page = member.page
    page.set_viewport_size({"width": 1200, "height": 800})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _some_traffic(live_console)
    time.sleep(11)  # one more sample of the counters (every 10 s)
    pages = [
        ("/console/overview", "console-overview.png"),
        ("/console/applications", "console-applications.png"),
        (f"/console/application?client_id={STOREFRONT[0]}", None),
        ("/console/keys", None),
        ("/console/settings", None),
        ("/console/settings/sites/200", None),
        ("/console/webhooks", None),
        ("/console/staff", None),
    ]
    for path, shot in pages:
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        _clean(page, path)
        if shot:
            page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    # a form with field errors, and the pages that show a secret or a link once
    page.goto("/console/applications")
    page.get_by_label("Client id").fill("has space")
    page.get_by_role("button", name="Create application").click()
    _clean(page, "applications with a field error")
    page.goto("/console/webhooks")
    page.get_by_label("Endpoint URL").fill("ftp://nowhere")
    page.get_by_role("button", name="Create subscription").click()
    _clean(page, "webhooks with a field error")
    page.goto("/console/staff")
    email = f"invited-{time.time_ns()}@staff.example.test"
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Add staff member").click()
    if "/console/reauth" in page.url:  # the sign-in's proof ran out during the scans: adding staff asks again
        page.get_by_label("Password").fill(member.password)
        page.get_by_label("Code from your authenticator app", exact=False).fill(member.code(1))
        page.get_by_role("button", name="Confirm").click()
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Add staff member").click()
    assert page.get_by_role("heading", name="Staff member added").is_visible()
    _clean(page, "staff added")
    page.goto("/console/staff")
    _clean(page, "staff with an invited member")

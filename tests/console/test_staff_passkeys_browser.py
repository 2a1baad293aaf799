"""Staff passkeys in a real browser: Chromium's DevTools virtual authenticator (CDP `WebAuthn.enable`,
`WebAuthn.addVirtualAuthenticator`: ctap2, internal transport, resident keys, user verification) answers
the console's static/passkeys.js against a live `ticketbooth serve` whose TICKETBOOTH_CONSOLE_ORIGIN is
http://localhost:<port> (a secure context, and a host name as the relying party id must be).

Registration after enrolment, a usernameless sign-in with the passkey alone, a cloned authenticator
(the same key with a counter behind) refused, an authenticator without user verification making
nothing, the pages without JavaScript, and axe-core on the new pages. Skipped without Chromium unless
TICKETBOOTH_TEST_BROWSER=required.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, free_port, seed_cli, start_server, stop_server
from tests.console.browser import SCREENSHOTS, axe_violations, create_staff, enrol_in_browser, need_browser


@pytest.fixture(scope="module")
def passkey_console() -> Iterator[LiveServer]:
    """A seeded server whose console origin is http://localhost:<port>; base_url names it so."""
    need_browser()
    tmp = Path(tempfile.mkdtemp(prefix="tb-console-passkeys-"))
    port = free_port()
    origin = f"http://localhost:{port}"
    env = {"TICKETBOOTH_CONSOLE_ORIGIN": origin}
    url = f"sqlite:///{tmp / 'ticketbooth.db'}"
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": url, **env}, tmp)
    server = start_server(url, tmp, port=port, extra_env=env)
    try:
        yield LiveServer(origin, server.env, server.process)
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


_count = iter(range(1, 1_000_000))


class Browser:
    """A browser context with a page and a virtual authenticator attached to it."""

    def __init__(self, chromium: Any, server: LiveServer, *, verified: bool = True, javascript: bool = True) -> None:
        self.context = chromium.new_context(base_url=server.base_url, java_script_enabled=javascript)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.authenticator = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": verified, "automaticPresenceSimulation": True}})["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.cdp.send("WebAuthn.getCredentials",
                                                    {"authenticatorId": self.authenticator})["credentials"]
        return found

    def add_credential(self, credential: dict[str, Any]) -> None:
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": self.authenticator, "credential": credential})

    def close(self) -> None:
        self.context.close()


def enrolled(browser: Browser, server: LiveServer, role: str = "support") -> str:
    """A new staff member enrolled in `browser` (signed in, just authenticated); their email."""
    email = f"pk{next(_count)}-{os.getpid()}@staff.example.test"
    link = create_staff(server, role, email)
    path = link[link.index("/console/enrol/"):]  # the link names TICKETBOOTH_PUBLIC_HOST; the browser uses localhost
    enrol_in_browser(browser.page, server.base_url + path)
    browser.page.get_by_role("link", name="continue to the console").click()
    browser.page.wait_for_url("**/console")
    return email


def add_passkey(page: Any, name: str) -> None:
    page.goto("/console/account/passkeys")
    page.get_by_label("Name (to tell your passkeys apart)").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/console/account/passkeys?done=added")


def sign_in_with_passkey(page: Any) -> None:
    page.goto("/console/sign-in")
    page.get_by_role("button", name="Sign in with a passkey").click()


def test_a_staff_member_adds_a_passkey_and_signs_in_with_it_alone(chromium: Any, passkey_console: LiveServer) -> None:
    browser = Browser(chromium, passkey_console)
    try:
        email = enrolled(browser, passkey_console)
        page = browser.page
        add_passkey(page, "Test laptop")
        assert page.get_by_role("status").filter(has_text="The passkey is added").is_visible()
        assert page.get_by_role("cell", name="Test laptop", exact=True).is_visible()
        [credential] = browser.credentials()
        assert credential["isResidentCredential"] is True and credential["rpId"] == "localhost"
        staff = json.loads(passkey_console.cli("staff", "list"))["items"]
        assert [m["passkeys"] for m in staff if m["email"] == email] == [1]
        assert axe_violations(page) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-passkeys.png"))

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/console/sign-in")
        assert axe_violations(page) == []
        sign_in_with_passkey(page)  # no email typed: the browser offers the console's passkey
        page.wait_for_url("**/console")
        assert page.get_by_role("heading", name=f"Welcome, {email}").is_visible()
        assert browser.credentials()[0]["signCount"] >= 1
        page.goto("/console/account/passkeys")
        assert page.get_by_role("cell", name="Test laptop", exact=True).is_visible()
        assert "never" not in page.locator("#passkeys tbody tr").first.inner_text()  # last used: now
        # the re-authentication page offers the passkey too (allowCredentials: this member's passkeys)
        page.goto("/console/reauth?next=/console/account/sessions")
        assert axe_violations(page) == []
        page.get_by_role("button", name="Confirm with a passkey").click()
        page.wait_for_url("**/console/account/sessions")
    finally:
        browser.close()


def test_a_cloned_authenticator_is_refused(chromium: Any, passkey_console: LiveServer) -> None:
    """The same private key in another browser, its counter behind the one the console saw last."""
    first = Browser(chromium, passkey_console)
    clone = Browser(chromium, passkey_console)
    try:
        email = enrolled(first, passkey_console)
        add_passkey(first.page, "Original")
        first.page.get_by_role("button", name="Sign out").click()
        sign_in_with_passkey(first.page)
        first.page.wait_for_url("**/console")
        [credential] = first.credentials()
        assert credential["signCount"] >= 1
        clone.add_credential({**credential, "signCount": 0})
        sign_in_with_passkey(clone.page)
        clone.page.wait_for_url("**/console/sign-in/passkey/verify")
        assert clone.page.get_by_role("alert").inner_text().startswith("That passkey did not sign you in")
        clone.page.goto("/console")
        assert clone.page.url.endswith("/console/sign-in")
        first.page.goto("/console")
        assert first.page.get_by_role("heading", name=f"Welcome, {email}").is_visible()  # the original goes on
    finally:
        first.close()
        clone.close()


def test_an_authenticator_without_user_verification_makes_no_passkey(chromium: Any,
                                                                      passkey_console: LiveServer) -> None:
    browser = Browser(chromium, passkey_console, verified=False)
    try:
        enrolled(browser, passkey_console, "viewer")
        page = browser.page
        page.goto("/console/account/passkeys")
        page.get_by_role("button", name="Add a passkey").click()
        retry = page.get_by_role("button", name="Make the passkey")
        retry.wait_for()
        assert "No passkey was made" in page.locator("#passkey-status").inner_text()
        assert browser.credentials() == []
        assert axe_violations(page) == []
        page.get_by_role("link", name="Cancel").click()
        assert page.locator("#no-passkeys").is_visible()
    finally:
        browser.close()


def test_without_javascript_the_ceremony_page_says_so_and_password_sign_in_works(
        chromium: Any, passkey_console: LiveServer) -> None:
    browser = Browser(chromium, passkey_console, javascript=False)
    try:
        enrolled(browser, passkey_console, "viewer")
        page = browser.page
        page.goto("/console/account/passkeys")
        page.get_by_role("button", name="Add a passkey").click()
        assert page.locator("#passkey-needs-js").is_visible()
        assert "needs JavaScript" in page.locator("#passkey-needs-js").inner_text()
        page.get_by_role("link", name="Cancel").click()
        assert page.locator("#no-passkeys").is_visible()
    finally:
        browser.close()

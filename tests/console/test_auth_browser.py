"""The console in a real browser (Playwright + Debian's Chromium against `ticketbooth serve`): enrolment
with TOTP, sign-in, sign-out, a CSRF attempt refused, a viewer refused a support action, session expiry,
accessibility (axe-core, no serious or critical violation on any page of sign-in and the shell), and the
screenshots the README shows. Skipped without Chromium (the message says how to install it) unless
TICKETBOOTH_TEST_BROWSER=required (.ci/run)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp

from tests.conftest import LiveServer, stop_server
from tests.console.browser import (
    SCREENSHOTS,
    STAFF_PASSWORD,
    BrowserStaff,
    axe_violations,
    console_server,
    create_staff,
    enrol_in_browser,
)


def sign_in(page: Any, email: str, password: str, code: str) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(code)
    page.get_by_role("button", name="Sign in").click()


def test_enrolment_with_totp_signs_in_and_shows_the_console(staff_page: Any) -> None:
    member: BrowserStaff = staff_page("admin")
    page = member.page
    assert page.get_by_role("heading", name=f"Welcome, {member.email}").is_visible()
    assert len(member.recovery_codes) == 10
    assert page.get_by_role("navigation", name="Main").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "console-home.png"))


def test_sign_in_then_sign_out(staff_page: Any, chromium: Any, live_console: LiveServer) -> None:
    member: BrowserStaff = staff_page("support")
    context = chromium.new_context(base_url=live_console.base_url)
    try:
        page = context.new_page()
        sign_in(page, member.email, member.password, member.code(steps_ahead=1))  # enrolment used this step's
        page.wait_for_url("**/console")
        assert page.get_by_role("heading", name=f"Welcome, {member.email}").is_visible()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/console/sign-in")
        page.goto("/console")
        assert page.url.endswith("/console/sign-in")  # signed out: back to the sign-in page
    finally:
        context.close()


def test_a_wrong_code_keeps_the_staff_member_out(staff_page: Any, chromium: Any, live_console: LiveServer) -> None:
    member: BrowserStaff = staff_page("viewer")
    context = chromium.new_context(base_url=live_console.base_url)
    try:
        page = context.new_page()
        wrong = "000000" if member.code(1) != "000000" else "111111"
        sign_in(page, member.email, member.password, wrong)
        assert page.get_by_role("alert").inner_text().startswith("The email, password or code is incorrect")
        page.goto("/console")
        assert page.url.endswith("/console/sign-in")
    finally:
        context.close()


def test_a_form_posted_from_another_site_or_without_the_token_changes_nothing(staff_page: Any,
                                                                               live_console: LiveServer) -> None:
    member: BrowserStaff = staff_page("viewer")
    page = member.page
    evil = f"""<!doctype html><html lang="en"><title>Win a prize</title><body>
      <form method="post" action="{live_console.base_url}/console/sign-out">
        <input type="hidden" name="csrf" value="guessed"><button>Claim</button></form></body></html>"""
    page.context.route("http://evil.example/**", lambda route: route.fulfill(body=evil, content_type="text/html"))
    page.goto("http://evil.example/prize")
    page.get_by_role("button", name="Claim").click()
    page.wait_for_load_state()
    assert "Forbidden" in page.content() or "Sign in" in page.content()
    page.goto("/console")
    assert page.get_by_role("heading", name=f"Welcome, {member.email}").is_visible()  # still signed in
    # the console's own form with its token taken out
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("Nothing was changed").is_visible()
    page.goto("/console")
    assert page.get_by_role("heading", name=f"Welcome, {member.email}").is_visible()


def test_a_viewer_is_refused_a_support_action(staff_page: Any, live_console: LiveServer) -> None:
    support: BrowserStaff = staff_page("support")
    viewer: BrowserStaff = staff_page("viewer")
    sessions = json.loads(live_console.cli("staff", "sessions", "--email", support.email))["items"]
    assert len(sessions) == 1
    page = viewer.page
    page.goto("/console/account/sessions")
    # the viewer's own "End" form, aimed at the support member's session (a hand-made request)
    page.evaluate(f"document.querySelector('form[action^=\"/console/staff-sessions/\"]').action = "
                  f"'/console/staff-sessions/{sessions[0]['id']}/end'")
    page.get_by_role("button", name="End (this one)").click()
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert axe_violations(page) == []
    support.page.reload()
    assert support.page.get_by_role("heading", name=f"Welcome, {support.email}").is_visible()
    assert len(json.loads(live_console.cli("staff", "sessions", "--email", support.email))["items"]) == 1


def test_an_idle_session_expires(chromium: Any) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tb-console-idle-"))
    server = console_server(tmp, {"TICKETBOOTH_CONSOLE_IDLE_SECONDS": "3"})
    context = chromium.new_context(base_url=server.base_url)
    try:
        page = context.new_page()
        enrol_in_browser(page, create_staff(server, "viewer", "idle@staff.example.test"))
        page.goto("/console")
        assert page.get_by_role("heading", name="Welcome, idle@staff.example.test").is_visible()
        time.sleep(4)
        page.goto("/console")
        assert page.url.endswith("/console/sign-in")
    finally:
        context.close()
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


def test_every_page_of_sign_in_and_the_shell_is_accessible(chromium: Any, live_console: LiveServer) -> None:
    """axe-core on each page (no serious or critical violation), and the screenshots for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(base_url=live_console.base_url, viewport={"width": 1100, "height": 700})
    try:
        page = context.new_page()
        scanned: dict[str, list[dict[str, Any]]] = {}

        def scan(name: str) -> None:
            scanned[name] = axe_violations(page)

        page.goto("/console/sign-in")
        page.screenshot(path=str(SCREENSHOTS / "console-sign-in.png"))
        scan("sign-in")
        email = f"a11y-{time.time_ns()}@staff.example.test"
        link = create_staff(live_console, "admin", email)
        page.goto(link)
        page.screenshot(path=str(SCREENSHOTS / "console-enrol.png"), full_page=True)
        scan("enrol")
        page.get_by_role("button", name="Finish").click()  # empty form: the browser's own required check
        page.get_by_label("New password", exact=True).fill("short")
        page.get_by_label("New password again").fill("short")
        page.get_by_label("Code the app shows now").fill("123456")
        page.get_by_role("button", name="Finish").click()
        assert page.get_by_role("alert").is_visible()
        scan("enrol with an error")
        secret, _ = enrol_in_browser(page, link)
        page.screenshot(path=str(SCREENSHOTS / "console-recovery-codes.png"))
        scan("recovery codes")
        page.goto("/console")
        scan("home")
        page.goto("/console/account/sessions")
        scan("my sessions")
        page.goto("/console/reauth")
        scan("re-authentication")
        page.goto("/console/enrol/not-a-link")
        scan("error")
        page.goto("/console")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/console/sign-in/code")
        scan("code")
        page.get_by_label("Code from your authenticator app, or a recovery code").fill(
            str(pyotp.TOTP(secret).at(time.time() + 30)))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console")
        assert {name: found for name, found in scanned.items() if found} == {}
        # and the scan does see a page without labels or alt texts
        page.set_content('<!doctype html><html><body><img src="data:,"><input type="text"></body></html>')
        assert {v["id"] for v in axe_violations(page)} >= {"image-alt", "label"}
    finally:
        context.close()

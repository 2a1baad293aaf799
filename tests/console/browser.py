"""Browser-test infrastructure: Playwright (sync API) driving Debian's Chromium against a real
`ticketbooth serve` process.

- Without Chromium (or Playwright) the browser tests skip, saying how to install it
  (`apt-get install chromium`); with TICKETBOOTH_TEST_BROWSER=required (set by .ci/run) they fail
  instead. TICKETBOOTH_TEST_CHROMIUM names another Chromium binary (default /usr/bin/chromium).
- `live_console`: one server per test module (SQLite, seeded like `seeded`: tenant 100 with site 200...).
- `chromium`: a headless Chromium per test, with the flags this machine needs (Playwright's sync API
  keeps an event loop running while it is open, which the async tests after it could not share).
- `staff_page(role)`: a new browser context (its own cookies) whose page is signed in as a new staff
  member of `role`, enrolled through the real enrolment page (TOTP code from pyotp). Returns a
  `BrowserStaff` with the page and the member's email, password, TOTP secret and recovery codes.
- `axe_violations(page)`: the serious and critical axe-core violations of the page as it is now.

Browser tests are plain (sync) test functions: Playwright's sync API runs its own loop.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import TENANT, LiveServer, seed_cli, start_server, stop_server

CHROMIUM = os.environ.get("TICKETBOOTH_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("TICKETBOOTH_TEST_BROWSER", "") == "required"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
STAFF_PASSWORD = "browser staff passphrase 42"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install -e '.[dev]' (make install)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"Chromium is not installed at {CHROMIUM}: install it with `apt-get install chromium` "
                "(Debian/Ubuntu, as root; .ci/run does), or name one in TICKETBOOTH_TEST_CHROMIUM")
    return None


def need_browser() -> None:
    missing = browser_missing()
    if missing is None:
        return
    if REQUIRED:
        pytest.fail(f"TICKETBOOTH_TEST_BROWSER=required but {missing}")
    pytest.skip(missing)


def console_server(tmp: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    """A seeded `ticketbooth serve` on a SQLite file in `tmp` (console settings in `extra_env`)."""
    url = f"sqlite:///{tmp / 'ticketbooth.db'}"
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": url, **(extra_env or {})}, tmp)
    return start_server(url, tmp, extra_env=extra_env)


@pytest.fixture(scope="module")
def live_console() -> Iterator[LiveServer]:
    need_browser()
    tmp = Path(tempfile.mkdtemp(prefix="tb-console-"))
    server = console_server(tmp)
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def chromium() -> Iterator[Any]:
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def create_staff(server: LiveServer, role: str, email: str) -> str:
    """`ticketbooth staff create` on the server's database: the enrolment link it prints."""
    out = json.loads(server.cli("staff", "create", "--email", email, "--role", role, "--tenant-id", str(TENANT)))
    link: str = out["enrolmentLink"]
    return link


_count = iter(range(1, 1_000_000))


@dataclass
class BrowserStaff:
    page: Any
    """A playwright.sync_api.Page, signed in."""
    email: str
    role: str
    password: str
    secret: str
    recovery_codes: list[str]

    def code(self, steps_ahead: int = 0) -> str:
        """The TOTP code of the time step `steps_ahead` from now (the server accepts one step either way;
        a step once used is refused, so a second sign-in right after enrolment takes the next one)."""
        return str(pyotp.TOTP(self.secret).at(time.time() + 30 * steps_ahead))


def enrol_in_browser(page: Any, link: str, password: str = STAFF_PASSWORD) -> tuple[str, list[str]]:
    """Enrol through the page at `link`; (TOTP secret, recovery codes). The page ends on the codes page."""
    page.goto(link)
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("New password again").fill(password)
    page.get_by_label("Code the app shows now").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Finish").click()
    page.wait_for_selector("#recovery-codes")
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_inner_texts()]
    return secret, codes


@pytest.fixture
def staff_page(chromium: Any, live_console: LiveServer) -> Iterator[Callable[..., BrowserStaff]]:
    contexts: list[Any] = []

    def make(role: str = "support", email: str | None = None) -> BrowserStaff:
        address = email or f"{role}{next(_count)}-{os.getpid()}@staff.example.test"
        link = create_staff(live_console, role, address)
        context = chromium.new_context(base_url=live_console.base_url)
        contexts.append(context)
        page = context.new_page()
        secret, codes = enrol_in_browser(page, link)
        page.get_by_role("link", name="continue to the console").click()
        page.wait_for_url("**/console")
        return BrowserStaff(page, address, role, STAFF_PASSWORD, secret, codes)

    yield make
    for context in contexts:
        context.close()


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """The axe-core violations of `page` of these impacts (axe-core bundled by axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]

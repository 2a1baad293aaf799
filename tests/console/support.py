"""Helpers of the console's HTTP tests: an httpx client that behaves like a browser without JavaScript
(keeps cookies, reads each form's CSRF field from the page it came on and posts it back), and staff
enrolled through the real pages with TOTP codes from pyotp.

    member = await enrol_staff(core, client, "support")      # CLI flow + the real enrolment form
    console = member.console                                  # signed in already (enrolment signs in)
    page = await console.get("/console")
    r = await console.submit("/console/account/sessions", "/console/staff-sessions/3/end", {})

`ConsoleClient.submit(page_path, action, fields)` GETs `page_path`, takes the CSRF token of its forms and
POSTs `fields` + the token to `action`, as a browser would.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pyotp

from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock
from ticketbooth.staff import service as staff_service

STAFF_PASSWORD = "console staff passphrase 42"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SECRET = re.compile(r'name="secret" value="([A-Z2-7]+)"')
_CODES = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")
_emails = itertools.count(1)


def new_email(role: str) -> str:
    return f"{role}{next(_emails)}@staff.example.test"


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF field on the page"
    return html.unescape(found.group(1))


def code_at(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


class ConsoleClient:
    """A cookie-keeping client for /console (redirects not followed: tests see them)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def post(self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post(path, data=fields, headers=headers)

    async def csrf(self, page_path: str) -> str:
        r = await self.get(page_path)
        assert r.status_code == 200, (page_path, r.status_code, r.text[:300])
        return csrf_of(r.text)

    async def submit(self, page_path: str, action: str, fields: dict[str, str]) -> httpx.Response:
        token = await self.csrf(page_path)
        return await self.post(action, {**fields, "csrf": token})

    async def sign_in(self, email: str, password: str, code: str) -> httpx.Response:
        """Both steps through the real forms; the answer of the code step (303 to /console on success)."""
        r = await self.submit("/console/sign-in", "/console/sign-in", {"email": email, "password": password})
        if r.status_code != 303:
            return r
        assert r.headers["location"] == "/console/sign-in/code"
        return await self.submit("/console/sign-in/code", "/console/sign-in/code", {"code": code})


@dataclass
class StaffMember:
    email: str
    role: str
    password: str
    secret: str
    recovery_codes: list[str]
    console: ConsoleClient
    """Signed in (enrolment signs in)."""
    link: str = field(default="")


def fresh_client(client: httpx.AsyncClient) -> ConsoleClient:
    """Another browser: the same app, cookies of its own."""
    transport = client._transport  # the app under test
    return ConsoleClient(httpx.AsyncClient(transport=transport, base_url=str(client.base_url)))


async def invite(core: Core, role: str, email: str | None = None) -> tuple[str, str]:
    """A staff member created as `ticketbooth staff create` does: (email, enrolment path)."""
    invitation = await staff_service.create(core, email or new_email(role), role)
    path = "/console/enrol/" + invitation.link.rsplit("/console/enrol/", 1)[1]
    return invitation.staff.email, path


async def enrol_staff(core: Core, client: httpx.AsyncClient, role: str, *, email: str | None = None,
                      password: str = STAFF_PASSWORD) -> StaffMember:
    """Create a staff member and enrol them through the real enrolment page (a fresh cookie jar): TOTP
    secret read from the page, a code from pyotp at the core's clock. Signed in at the end."""
    address, path = await invite(core, role, email)
    console = fresh_client(client)
    page = await console.get(path)
    assert page.status_code == 200, page.text[:500]
    secret = _SECRET.search(page.text)
    assert secret
    r = await console.post(path, {"csrf": csrf_of(page.text), "password": password, "confirm": password,
                                  "secret": secret.group(1), "code": code_at(secret.group(1), core.clock.now())})
    assert r.status_code == 200, r.text[:1000]
    codes = _CODES.findall(r.text)
    assert len(codes) == 10
    return StaffMember(address, role, password, secret.group(1), codes, console, path)


def next_step(clock: ManualClock) -> None:
    """Move the clock to the next TOTP time step (a code of the step just used is refused)."""
    from datetime import timedelta

    clock.advance(timedelta(seconds=30))

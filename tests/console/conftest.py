"""Fixtures of the console tests.

HTTP (no browser; in-process app on the test's `core` and ManualClock, both databases):
- `console_staff(role)` -> StaffMember: a staff member of `role` enrolled through the real pages and
  signed in; `member.console` is their ConsoleClient (tests/console/support.py).

Browser (tests/console/browser.py): `live_console` (a `ticketbooth serve` process with tenant 100
seeded) and `staff_page(role)` -> a Playwright page signed in as a new staff member of `role`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.conftest import Seed
from tests.console.browser import chromium, live_console, staff_page  # noqa: F401  (fixtures)
from tests.console.support import StaffMember, enrol_staff
from ticketbooth.core import Core

StaffFactory = Callable[..., Awaitable[StaffMember]]


@pytest.fixture
async def console_staff(core: Core, client: httpx.AsyncClient, seeded: Seed) -> AsyncIterator[StaffFactory]:
    made: list[StaffMember] = []

    async def make(role: str = "support", **kwargs: str) -> StaffMember:
        member = await enrol_staff(core, client, role, **kwargs)
        made.append(member)
        return member

    yield make
    for member in made:
        await member.console.http.aclose()

"""Staff enrolment, sign-in, sessions and the console's web security over HTTP (no browser), through the
real forms, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.console.conftest import StaffFactory
from tests.console.support import code_at, fresh_client, next_step
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock


async def test_enrolment_signs_in_and_the_home_page_names_the_staff_member(console_staff: StaffFactory) -> None:
    member = await console_staff("viewer")
    r = await member.console.get("/console")
    assert r.status_code == 200
    assert member.email in r.text and "viewer" in r.text


async def test_sign_in_with_password_then_totp(console_staff: StaffFactory, client: httpx.AsyncClient,
                                               clock: ManualClock) -> None:
    member = await console_staff("support")
    next_step(clock)
    other = fresh_client(client)
    r = await other.sign_in(member.email, member.password, code_at(member.secret, clock.now()))
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert (await other.get("/console")).status_code == 200


async def test_sign_out_ends_the_session(console_staff: StaffFactory, core: Core) -> None:
    member = await console_staff("viewer")
    r = await member.console.submit("/console", "/console/sign-out", {})
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"
    r = await member.console.get("/console")
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"

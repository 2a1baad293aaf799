"""Staff enrolment, sign-in, sessions and the console's web security over HTTP (no browser), through the
real forms, on SQLite and PostgreSQL. Each attack gets a test that performs it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import Request, Response
from sqlalchemy import select

from tests.conftest import TENANT, Seed
from tests.console.conftest import StaffFactory
from tests.console.support import (
    STAFF_PASSWORD,
    ConsoleClient,
    code_at,
    csrf_of,
    enrol_staff,
    fresh_client,
    invite,
    next_step,
)
from ticketbooth.app import create_app
from ticketbooth.applications import admin
from ticketbooth.console.context import CheckedForm, RecentlyAuthenticatedStaff, SignedInStaff
from ticketbooth.console.pages import console_router, redirect
from ticketbooth.console.security import CSP
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock
from ticketbooth.staff import service as staff_service
from ticketbooth.staff.rules import STAGE_SIGNED_IN


async def staff_events(core: Core, *events: str) -> list[Any]:
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_entries).where(t.audit_entries.c.event.in_(events))
                                   .order_by(t.audit_entries.c.id))).all()
    return list(rows)


async def live_sessions(core: Core, email: str) -> int:
    staff = await staff_service.find(core, email)
    return len(await staff_service.sessions_of(core, staff))


def signed_out(r: httpx.Response) -> bool:
    return r.status_code == 303 and r.headers["location"] == "/console/sign-in"


# -- enrolment -----------------------------------------------------------------------------------------

async def test_enrolment_signs_in_and_the_home_page_names_the_staff_member(console_staff: StaffFactory,
                                                                           core: Core) -> None:
    member = await console_staff("viewer")
    r = await member.console.get("/console")
    assert r.status_code == 200
    assert member.email in r.text and "viewer" in r.text and f"(tenant {TENANT})" in r.text
    [entry] = await staff_events(core, "staff.enrolled")
    assert entry.actor == f"staff:{member.email}" and entry.account_id is None and entry.tenant_id == TENANT
    assert member.secret not in str(entry.detail) and member.password not in str(entry.detail)


async def test_an_enrolment_link_works_once(console_staff: StaffFactory, client: httpx.AsyncClient) -> None:
    member = await console_staff("viewer")
    again = fresh_client(client)
    r = await again.get(member.link)
    assert r.status_code == 404 and "not valid any more" in r.text


async def test_enrolment_page_shows_the_key_as_text_and_qr_code(core: Core, client: httpx.AsyncClient,
                                                                seeded: Seed) -> None:
    _, path = await invite(core, "viewer")
    r = await fresh_client(client).get(path)
    assert r.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in r.text
    assert "otpauth://totp/Ticketbooth:" in r.text


@pytest.mark.parametrize(("change", "field"), [
    ({"password": "short", "confirm": "short"}, "password"),
    ({"password": "password123", "confirm": "password123"}, "password"),  # a common password
    ({"confirm": "another passphrase entirely"}, "confirm"),
    ({"code": "000000"}, "code"),
])
async def test_a_bad_enrolment_form_is_refused_and_changes_nothing(core: Core, client: httpx.AsyncClient, seeded: Seed,
                                                                   change: dict[str, str], field: str) -> None:
    email, path = await invite(core, "support")
    console = fresh_client(client)
    page = (await console.get(path)).text
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page)
    assert secret
    good = {"password": STAFF_PASSWORD, "confirm": STAFF_PASSWORD, "secret": secret.group(1),
            "code": code_at(secret.group(1), core.clock.now())}
    if change.get("code") == good["code"]:
        change = {"code": "111111"}
    r = await console.post(path, {"csrf": csrf_of(page), **good, **change})
    assert r.status_code == 400 and 'role="alert"' in r.text
    staff = await staff_service.find(core, email)
    assert staff.status == "invited" and not staff.has_totp
    assert (await console.get(path)).status_code == 200  # the link still works


async def test_an_expired_enrolment_link_is_refused(core: Core, client: httpx.AsyncClient, clock: ManualClock,
                                                    seeded: Seed) -> None:
    _, path = await invite(core, "viewer")
    clock.advance(timedelta(hours=core.settings.console_enrolment_hours, seconds=1))
    assert (await fresh_client(client).get(path)).status_code == 404


# -- sign-in -------------------------------------------------------------------------------------------

async def test_sign_in_with_password_then_totp(console_staff: StaffFactory, client: httpx.AsyncClient,
                                               clock: ManualClock, core: Core) -> None:
    member = await console_staff("support")
    next_step(clock)
    other = fresh_client(client)
    r = await other.sign_in(member.email, member.password, code_at(member.secret, clock.now()))
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert (await other.get("/console")).status_code == 200
    entries = await staff_events(core, "staff.signed-in")
    assert entries[-1].actor == f"staff:{member.email}" and entries[-1].detail["method"] == "totp"


async def test_the_password_alone_opens_nothing(console_staff: StaffFactory, client: httpx.AsyncClient) -> None:
    member = await console_staff("admin")
    other = fresh_client(client)
    r = await other.submit("/console/sign-in", "/console/sign-in", {"email": member.email, "password": member.password})
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in/code"
    assert signed_out(await other.get("/console"))
    assert signed_out(await other.get("/console/account/sessions"))


async def test_a_wrong_code_is_refused_and_counted(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                   clock: ManualClock, core: Core) -> None:
    member = await console_staff("support")
    next_step(clock)
    other = fresh_client(client)
    good = code_at(member.secret, clock.now())
    r = await other.sign_in(member.email, member.password, "123456" if good != "123456" else "654321")
    assert r.status_code == 401 and "incorrect" in r.text
    assert signed_out(await other.get("/console"))
    assert (await staff_service.find(core, member.email)).failed_count == 1
    [failed] = [e for e in await staff_events(core, "staff.sign-in-failed") if e.detail.get("step") == "code"]
    assert failed.detail["reason"] == "bad-code"


async def test_a_totp_code_is_refused_the_second_time_within_its_window(console_staff: StaffFactory,
                                                                         client: httpx.AsyncClient,
                                                                         clock: ManualClock) -> None:
    member = await console_staff("support")
    used = code_at(member.secret, clock.now())  # enrolment used this step's code
    r = await fresh_client(client).sign_in(member.email, member.password, used)
    assert r.status_code == 401
    # a step before the one used is refused too, though still inside the accepted window
    earlier = code_at(member.secret, clock.now() - timedelta(seconds=30))
    r = await fresh_client(client).sign_in(member.email, member.password, earlier)
    assert r.status_code == 401
    next_step(clock)
    fine = fresh_client(client)
    code = code_at(member.secret, clock.now())
    assert (await fine.sign_in(member.email, member.password, code)).status_code == 303
    assert (await fresh_client(client).sign_in(member.email, member.password, code)).status_code == 401


async def test_a_recovery_code_signs_in_once(console_staff: StaffFactory, client: httpx.AsyncClient,
                                             core: Core) -> None:
    member = await console_staff("viewer")
    code = member.recovery_codes[3]
    first = fresh_client(client)
    assert (await first.sign_in(member.email, member.password, code.upper().replace("-", " "))).status_code == 303
    assert (await first.get("/console")).status_code == 200
    r = await fresh_client(client).sign_in(member.email, member.password, code)
    assert r.status_code == 401
    [used] = await staff_events(core, "staff.recovery-code-used")
    assert used.detail["left"] == 9 and code not in str(used.detail)
    assert (await staff_service.find(core, member.email)).recovery_codes_left == 9


async def test_unknown_and_known_emails_get_the_same_answer_after_the_same_work(
        console_staff: StaffFactory, client: httpx.AsyncClient, core: Core) -> None:
    member = await console_staff("viewer")
    hashes: list[str | None] = []
    verify = core.hashing.verify

    async def counted(stored: str | None, password: str) -> bool:
        hashes.append(stored)
        return await verify(stored, password)

    core.hashing.verify = counted  # type: ignore[method-assign]  # the real verify, counted
    answers = []
    for email in (member.email, "nobody@staff.example.test"):
        console = fresh_client(client)
        r = await console.submit("/console/sign-in", "/console/sign-in", {"email": email, "password": "wrong password!"})
        answers.append((r.status_code, re.sub(r'name="csrf" value="[^"]+"', "", r.text.replace(email, "EMAIL"))))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert len(hashes) == 2 and hashes[0] is not None and hashes[1] is None  # unknown: the dummy hash


async def test_failed_sign_ins_lock_the_staff_member(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                     core: Core, clock: ManualClock) -> None:
    await admin.settings_of(core, "tenant", TENANT, ["lockout.max_failed_logins=3", "lockout.lock_minutes=15"])
    member = await console_staff("admin")
    for _ in range(3):
        r = await fresh_client(client).submit("/console/sign-in", "/console/sign-in",
                                              {"email": member.email, "password": "not the password"})
        assert r.status_code == 401
    staff = await staff_service.find(core, member.email)
    assert staff.is_locked
    assert await live_sessions(core, member.email) == 0  # a lock ends the sessions (a stolen password)
    assert signed_out(await member.console.get("/console"))
    next_step(clock)
    r = await fresh_client(client).sign_in(member.email, member.password, code_at(member.secret, clock.now()))
    assert r.status_code == 401  # the right password, refused alike while locked
    [locked] = await staff_events(core, "staff.locked")
    assert locked.actor == f"staff:{member.email}"
    clock.advance(timedelta(minutes=15))
    next_step(clock)
    r = await fresh_client(client).sign_in(member.email, member.password, code_at(member.secret, clock.now()))
    assert r.status_code == 303


async def test_one_address_alone_cannot_lock_a_staff_member_out(console_staff: StaffFactory,
                                                                client: httpx.AsyncClient, core: Core) -> None:
    """The shoppers' rule: after max_failed_logins_per_address (5) an address's attempts on this staff
    member are refused without counting, so the lock (10) is never reached from one address."""
    member = await console_staff("viewer")
    for _ in range(12):
        await fresh_client(client).submit("/console/sign-in", "/console/sign-in",
                                          {"email": member.email, "password": "not the password"})
    staff = await staff_service.find(core, member.email)
    assert not staff.is_locked and staff.failed_count == 5


async def test_sign_in_is_rate_limited_per_address(core: Core, client: httpx.AsyncClient, seeded: Seed) -> None:
    await admin.settings_of(core, "tenant", TENANT, ['rate_limits.login.per_address={"capacity": 3, "per_minute": 1}'])
    statuses = []
    for n in range(5):
        r = await fresh_client(client).submit("/console/sign-in", "/console/sign-in",
                                              {"email": f"x{n}@staff.example.test", "password": "whatever it is"})
        statuses.append(r.status_code)
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    assert "try again in" in r.text.lower() and r.headers.get("retry-after")


# -- sessions ------------------------------------------------------------------------------------------

async def test_sign_out_ends_the_session(console_staff: StaffFactory, core: Core) -> None:
    member = await console_staff("viewer")
    r = await member.console.submit("/console", "/console/sign-out", {})
    assert signed_out(r)
    assert signed_out(await member.console.get("/console"))
    assert await live_sessions(core, member.email) == 0
    assert len(await staff_events(core, "staff.signed-out")) == 1


async def test_an_idle_session_ends(console_staff: StaffFactory, core: Core, clock: ManualClock) -> None:
    member = await console_staff("viewer")
    clock.advance(timedelta(seconds=core.settings.console_idle_seconds - 60))
    assert (await member.console.get("/console")).status_code == 200  # used: the idle time starts again
    clock.advance(timedelta(seconds=core.settings.console_idle_seconds - 60))
    assert (await member.console.get("/console")).status_code == 200
    clock.advance(timedelta(seconds=core.settings.console_idle_seconds + 1))
    assert signed_out(await member.console.get("/console"))


async def test_a_busy_session_ends_at_its_absolute_timeout(console_staff: StaffFactory, core: Core,
                                                           clock: ManualClock) -> None:
    member = await console_staff("viewer")
    elapsed = 0
    while elapsed + 600 < core.settings.console_absolute_seconds:
        clock.advance(timedelta(seconds=600))
        elapsed += 600
        assert (await member.console.get("/console")).status_code == 200
    clock.advance(timedelta(seconds=core.settings.console_absolute_seconds - elapsed))
    assert signed_out(await member.console.get("/console"))


async def test_revoking_a_staff_members_sessions_signs_them_out(console_staff: StaffFactory, core: Core) -> None:
    member = await console_staff("admin")
    staff = await staff_service.find(core, member.email)
    assert await staff_service.revoke_sessions(core, staff, by="cli") == 1
    assert signed_out(await member.console.get("/console"))
    [entry] = await staff_events(core, "staff.sessions-revoked")
    assert entry.actor == "cli" and entry.detail["sessionsEnded"] == 1


async def test_a_viewer_is_refused_ending_another_staff_members_session(console_staff: StaffFactory,
                                                                         core: Core) -> None:
    viewer = await console_staff("viewer")
    victim = await console_staff("viewer")
    [session] = await staff_service.sessions_of(core, await staff_service.find(core, victim.email))
    r = await viewer.console.submit("/console/account/sessions", f"/console/staff-sessions/{session.id}/end", {})
    assert r.status_code == 403 and "Nothing was changed" in r.text
    assert (await victim.console.get("/console")).status_code == 200
    support = await console_staff("support")
    r = await support.console.submit("/console/account/sessions", f"/console/staff-sessions/{session.id}/end", {})
    assert r.status_code == 303
    assert signed_out(await victim.console.get("/console"))
    entries = await staff_events(core, "staff.sessions-revoked")
    assert entries[-1].actor == f"staff:{support.email}"


async def test_ending_ones_own_session_from_the_sessions_page(console_staff: StaffFactory, core: Core) -> None:
    member = await console_staff("viewer")
    page = await member.console.get("/console/account/sessions")
    assert page.status_code == 200 and "End (this one)" in page.text
    [session] = await staff_service.sessions_of(core, await staff_service.find(core, member.email))
    r = await member.console.post(f"/console/staff-sessions/{session.id}/end", {"csrf": csrf_of(page.text)})
    assert signed_out(r)
    assert signed_out(await member.console.get("/console"))


async def test_disabling_a_staff_member_ends_their_sessions_and_refuses_sign_in(
        console_staff: StaffFactory, client: httpx.AsyncClient, core: Core, clock: ManualClock) -> None:
    member = await console_staff("support")
    await staff_service.set_enabled(core, member.email, False)
    assert signed_out(await member.console.get("/console"))
    next_step(clock)
    r = await fresh_client(client).sign_in(member.email, member.password, code_at(member.secret, clock.now()))
    assert r.status_code == 401


async def test_reset_2fa_makes_the_staff_member_enrol_again(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                            core: Core, clock: ManualClock) -> None:
    member = await console_staff("support")
    invitation = await staff_service.reset_second_factor(core, member.email)
    assert signed_out(await member.console.get("/console"))
    next_step(clock)
    r = await fresh_client(client).sign_in(member.email, member.password, code_at(member.secret, clock.now()))
    assert r.status_code == 401
    path = "/console/enrol/" + invitation.link.rsplit("/console/enrol/", 1)[1]
    assert (await fresh_client(client).get(path)).status_code == 200


# -- re-authentication -----------------------------------------------------------------------------------

@pytest.fixture
async def sensitive_client(core: Core) -> Any:
    """The app with one more console page whose POST is sensitive as a whole (as rotating keys is)."""
    app = create_app(core=core)
    router = console_router()
    done: list[str] = []

    @router.post("/test-sensitive")
    async def sensitive(request: Request, ctx: RecentlyAuthenticatedStaff, form: CheckedForm) -> Response:
        done.append(ctx.email)
        return redirect(request, "/console")

    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c, done


async def test_a_sensitive_action_asks_for_password_and_code_again(core: Core, clock: ManualClock, seeded: Seed,
                                                                   sensitive_client: Any) -> None:
    client, done = sensitive_client
    member = await enrol_staff(core, client, "admin")
    console = member.console
    r = await console.submit("/console", "/console/test-sensitive", {})
    assert r.status_code == 303 and done == [member.email]  # just signed in: recent enough
    clock.advance(timedelta(seconds=core.settings.console_reauth_seconds + 1))
    r = await console.post("/console/test-sensitive", {"csrf": await console.csrf("/console")},
                           headers={"referer": "http://testserver/console/account/sessions"})
    assert r.status_code == 303 and r.headers["location"] == "/console/reauth?next=/console/account/sessions"
    assert done == [member.email]
    page = await console.get(r.headers["location"])
    assert page.status_code == 200
    bad = await console.post("/console/reauth", {"csrf": csrf_of(page.text), "next": "/console/account/sessions",
                                                  "password": member.password, "code": "000000"})
    assert bad.status_code == 401
    next_step(clock)
    ok = await console.post("/console/reauth", {"csrf": csrf_of(page.text), "next": "/console/account/sessions",
                                                 "password": member.password, "code": code_at(member.secret, clock.now())})
    assert ok.status_code == 303 and ok.headers["location"] == "/console/account/sessions"
    r = await console.submit("/console", "/console/test-sensitive", {})
    assert r.status_code == 303 and done == [member.email, member.email]
    assert len(await staff_events(core, "staff.reauthenticated")) == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/commerce/customer/accounts",
                                    "/console/../api", "/console\\@evil"])
async def test_reauthentication_goes_back_only_inside_the_console(console_staff: StaffFactory, clock: ManualClock,
                                                                  target: str) -> None:
    member = await console_staff("admin")
    page = await member.console.get("/console/reauth")
    next_step(clock)
    ok = await member.console.post("/console/reauth", {"csrf": csrf_of(page.text), "next": target,
                                                        "password": member.password,
                                                        "code": code_at(member.secret, clock.now())})
    assert ok.status_code == 303 and ok.headers["location"] == "/console"


# -- web security ----------------------------------------------------------------------------------------

async def test_a_post_without_the_csrf_token_changes_nothing(console_staff: StaffFactory, core: Core) -> None:
    member = await console_staff("viewer")
    for fields in ({"other": "x"}, {"csrf": ""}, {"csrf": "0" * 64}):
        r = await member.console.post("/console/sign-out", fields)
        assert r.status_code == 403 and "Nothing was changed" in r.text
    assert (await member.console.post("/console/sign-out", {})).status_code == 400  # no form at all
    assert await live_sessions(core, member.email) == 1
    assert (await member.console.get("/console")).status_code == 200


async def test_another_staff_members_csrf_token_is_refused(console_staff: StaffFactory, core: Core) -> None:
    attacker = await console_staff("viewer")
    victim = await console_staff("viewer")
    token = await attacker.console.csrf("/console")
    r = await victim.console.post("/console/sign-out", {"csrf": token})
    assert r.status_code == 403
    assert (await victim.console.get("/console")).status_code == 200


async def test_a_form_posted_from_another_site_is_refused_before_anything_runs(console_staff: StaffFactory,
                                                                               core: Core) -> None:
    member = await console_staff("viewer")
    token = await member.console.csrf("/console")
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        r = await member.console.post("/console/sign-out", {"csrf": token}, headers=headers)
        assert r.status_code == 403
    assert (await member.console.get("/console")).status_code == 200
    r = await member.console.post("/console/sign-out", {"csrf": token}, headers={"origin": "http://testserver"})
    assert signed_out(r)


async def test_a_json_post_is_refused(console_staff: StaffFactory) -> None:
    member = await console_staff("viewer")
    token = await member.console.csrf("/console")
    r = await member.console.http.post("/console/sign-out", json={"csrf": token})
    assert r.status_code == 400


def _cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.split("=", 1)[0] == name:
            return {a.split("=", 1)[0].lower(): (a.split("=", 1)[1] if "=" in a else "") for a in attributes}
    raise AssertionError(f"no cookie {name}: {response.headers.get_list('set-cookie')}")


async def _sign_in_response(core: Core, client: httpx.AsyncClient, clock: ManualClock) -> tuple[httpx.Response, str]:
    member = await enrol_staff(core, client, "viewer")
    next_step(clock)
    console = fresh_client(client)
    r = await console.submit("/console/sign-in", "/console/sign-in", {"email": member.email, "password": member.password})
    assert r.status_code == 303
    return await console.submit("/console/sign-in/code", "/console/sign-in/code",
                                {"code": code_at(member.secret, clock.now())}), member.email


async def test_cookies_over_http_are_httponly_and_samesite_strict(core: Core, client: httpx.AsyncClient,
                                                                  clock: ManualClock, seeded: Seed) -> None:
    r, _ = await _sign_in_response(core, client, clock)
    cookie = _cookie_attributes(r, "tb_console")
    assert "httponly" in cookie and cookie["samesite"].lower() == "strict" and cookie["path"] == "/console"
    assert "secure" not in cookie


async def test_cookies_over_tls_are_secure_with_the_host_prefix(core: Core, clock: ManualClock, seeded: Seed) -> None:
    app = create_app(core=core)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as tls:
        r, _ = await _sign_in_response(core, tls, clock)
        cookie = _cookie_attributes(r, "__Host-tb_console")
        assert "secure" in cookie and "httponly" in cookie and cookie["path"] == "/"
        assert cookie["samesite"].lower() == "strict"
        assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_the_session_token_changes_at_sign_in(core: Core, client: httpx.AsyncClient, clock: ManualClock,
                                                    seeded: Seed) -> None:
    """No session fixation: the half-signed-in cookie (after the password) is not the signed-in one."""
    member = await enrol_staff(core, client, "viewer")
    next_step(clock)
    console = fresh_client(client)
    await console.submit("/console/sign-in", "/console/sign-in", {"email": member.email, "password": member.password})
    pending = console.http.cookies.get("tb_console", path="/console")
    await console.submit("/console/sign-in/code", "/console/sign-in/code", {"code": code_at(member.secret, clock.now())})
    final = console.http.cookies.get("tb_console", path="/console")
    assert pending and final and pending != final
    stale = ConsoleClient(httpx.AsyncClient(transport=client._transport, base_url="http://testserver",
                                            cookies={"tb_console": pending}))
    assert signed_out(await stale.get("/console"))


@pytest.mark.parametrize("path", ["/console/sign-in", "/console", "/console/enrol/nonsense", "/console/static/console.css",
                                  "/Console/Sign-In"])
async def test_every_console_answer_carries_the_security_headers(client: httpx.AsyncClient, seeded: Seed,
                                                                 path: str) -> None:
    r = await client.get(path)
    assert r.status_code in (200, 303, 404)
    assert r.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    if "static" not in path:
        assert r.headers["cache-control"] == "no-store"


async def test_pages_hold_no_inline_script_or_style(console_staff: StaffFactory, client: httpx.AsyncClient) -> None:
    member = await console_staff("admin")
    pages = [await member.console.get(p) for p in ("/console", "/console/account/sessions", "/console/reauth")]
    pages.append(await fresh_client(client).get("/console/sign-in"))
    for r in pages:
        assert r.status_code == 200
        assert "<script" not in r.text and "style=" not in r.text and "<style" not in r.text


async def test_the_console_can_be_switched_off(core: Core, seeded: Seed) -> None:
    core.settings.console_enabled = False
    app = create_app(core=core)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        for path in ("/console", "/console/sign-in", "/console/static/console.css"):
            assert (await c.get(path)).status_code == 404
        assert (await c.post("/console/sign-in", data={"email": "a@b.c"})).status_code == 404


def test_every_console_post_checks_the_csrf_token() -> None:
    """Each POST route under /console depends on `console_form` (the CSRF check): found in the routes
    themselves, so a page added later without it fails here."""
    from fastapi import routing

    from ticketbooth.config import Settings
    from ticketbooth.console.context import console_form

    app = create_app(Settings(database_url="sqlite://"))
    posts = [(c.path, c.original_route) for c in routing.iter_route_contexts(app.routes)
             if (c.path or "").startswith("/console") and "POST" in (c.methods or ())]
    assert len(posts) >= 5

    def calls(dependant: Any) -> set[Any]:
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    for path, route in posts:
        assert isinstance(route, routing.APIRoute)
        assert console_form in calls(route.dependant), f"{path} posts without the CSRF check"


async def test_staff_signed_in_hold_only_their_own_session(console_staff: StaffFactory, core: Core) -> None:
    a = await console_staff("viewer")
    await console_staff("viewer")
    sessions = await staff_service.sessions_of(core, await staff_service.find(core, a.email))
    assert len(sessions) == 1 and sessions[0].stage == STAGE_SIGNED_IN


# -- the audit trail ---------------------------------------------------------------------------------------

@pytest.fixture
async def unlocking_client(core: Core) -> Any:
    """The app with a console page that unlocks an account the way console-customers' pages do: the
    API's own flow, called with `ctx.caller_for(Action.UNLOCK)`."""
    from ticketbooth.login import state as login_state
    from ticketbooth.staff.rules import Action

    app = create_app(core=core)
    router = console_router()

    @router.post("/test-unlock/{account_id}")
    async def unlock(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
        await login_state.set_login_locked(ctx.core, ctx.caller_for(Action.UNLOCK), None, account_id, False)
        return redirect(request, "/console")

    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def test_a_staff_action_appears_in_the_accounts_trail_under_the_staff_members_name(
        core: Core, seeded: Seed, unlocking_client: httpx.AsyncClient) -> None:
    customer = await admin.ensure_customer(core, TENANT, None, "shopper@example.test", "a perfectly fine passphrase")
    account_id = int(customer["accountId"])
    viewer = await enrol_staff(core, unlocking_client, "viewer")
    r = await viewer.console.submit("/console", f"/console/test-unlock/{account_id}", {})
    assert r.status_code == 403
    support = await enrol_staff(core, unlocking_client, "support")
    r = await support.console.submit("/console", f"/console/test-unlock/{account_id}", {})
    assert r.status_code == 303
    entries, _ = await core.store.audit_entries(TENANT, account_id, 0, 50)
    unlocked = [e for e in entries if e.event == "account.unlocked"]
    assert len(unlocked) == 1  # the viewer's attempt changed nothing
    assert unlocked[0].actor == f"staff:{support.email}" and unlocked[0].client_id == f"staff:{support.email}"


async def test_the_staff_trail_lists_sign_ins_and_failures(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                           core: Core) -> None:
    member = await console_staff("viewer")
    await fresh_client(client).submit("/console/sign-in", "/console/sign-in",
                                      {"email": member.email, "password": "not the password"})
    await fresh_client(client).submit("/console/sign-in", "/console/sign-in",
                                      {"email": "nobody@staff.example.test", "password": "not the password"})
    staff = await staff_service.find(core, member.email)
    mine, total = await staff_service.trail(core, TENANT, staff=staff)
    assert [e.event for e in mine] == ["staff.sign-in-failed", "staff.enrolled"] and total == 2
    everyone, _ = await staff_service.trail(core, TENANT)
    unknown = [e for e in everyone if e.event == "staff.sign-in-failed" and e.actor is None]
    assert len(unknown) == 1 and unknown[0].detail == {"reason": "unknown", "step": "password"}
    assert "nobody" not in str([e.detail for e in everyone])  # what was typed for an unknown email is not kept


async def test_a_malformed_path_is_a_page_not_json(console_staff: StaffFactory) -> None:
    member = await console_staff("support")
    token = await member.console.csrf("/console")
    for path in ("/console/staff-sessions/abc/end", "/console/staff-sessions/99999999999999999999999/end",
                 "/console/staff-sessions/0/end"):
        r = await member.console.post(path, {"csrf": token})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), (path, r.text[:200])


ODD_VALUES = ["", " ", "a" * 5000, "\u202eé😀", "\x00", "'; DROP TABLE staff; --", "%00", "-1",
              "99999999999999999999999", "<script>alert(1)</script>"]


async def test_odd_form_values_never_cause_a_server_error(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                          core: Core) -> None:
    member = await console_staff("admin")
    _, enrol_path = await invite(core, "viewer")
    anonymous = fresh_client(client)
    for value in ODD_VALUES:
        fields = {"email": value, "password": value, "confirm": value, "code": value, "secret": value, "next": value}
        for console, page, action in ((anonymous, "/console/sign-in", "/console/sign-in"),
                                      (anonymous, enrol_path, enrol_path),
                                      (member.console, "/console/reauth", "/console/reauth"),
                                      (member.console, "/console/account/sessions", "/console/staff-sessions/999999/end")):
            r = await console.submit(page, action, fields)
            assert r.status_code < 500, (action, value, r.text[:300])
            assert "<script>alert" not in r.text
        if (await member.console.get("/console")).status_code != 200:  # a failed re-authentication may lock
            break


async def test_one_code_sent_twice_at_once_signs_in_once(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                          clock: ManualClock) -> None:
    """A TOTP code (or a recovery code) raced in two sign-ins: exactly one wins (one conditional UPDATE)."""
    import asyncio

    member = await console_staff("support")
    next_step(clock)
    for code in (code_at(member.secret, clock.now()), member.recovery_codes[0]):
        browsers = [fresh_client(client) for _ in range(2)]
        tokens = []
        for b in browsers:
            r = await b.submit("/console/sign-in", "/console/sign-in", {"email": member.email, "password": member.password})
            assert r.status_code == 303
            tokens.append(await b.csrf("/console/sign-in/code"))
        answers = await asyncio.gather(*(b.post("/console/sign-in/code", {"code": code, "csrf": t})
                                         for b, t in zip(browsers, tokens, strict=True)))
        assert sorted(a.status_code for a in answers) == [303, 401]


async def test_after_a_lock_ends_the_half_sign_in_the_sign_in_form_still_works(
        console_staff: StaffFactory, client: httpx.AsyncClient, core: Core, clock: ManualClock) -> None:
    """A wrong code that locks the staff member answers with the sign-in form and clears the cookie: that
    form's CSRF token must be the one the next request (without the cookie) expects."""
    await admin.settings_of(core, "tenant", TENANT, ["lockout.max_failed_logins=1", "lockout.lock_minutes=1"])
    member = await console_staff("viewer")
    console = fresh_client(client)
    r = await console.submit("/console/sign-in", "/console/sign-in", {"email": member.email, "password": member.password})
    assert r.status_code == 303
    r = await console.submit("/console/sign-in/code", "/console/sign-in/code", {"code": "000000"})
    assert r.status_code == 401 and 'action="/console/sign-in"' in r.text
    clock.advance(timedelta(minutes=1, seconds=1))
    next_step(clock)
    r = await console.post("/console/sign-in", {"csrf": csrf_of(r.text), "email": member.email,
                                                "password": member.password})
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in/code"

"""The staff page (admin) over HTTP, through the real forms, on SQLite and PostgreSQL: adding a staff member
after re-authentication (the enrolment link shown once, and working), field errors, disabling, ending
someone's sessions; each audited with the admin's identity; support refused."""

from __future__ import annotations

import html

import httpx

from tests.console.conftest import StaffFactory
from tests.console.ops_support import audit_rows, reauthenticate, shown_secret, stale
from tests.console.support import fresh_client
from ticketbooth.audit import service as audit
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock
from ticketbooth.staff import service as staff_service

STAFF = "/console/staff"


async def test_add_a_staff_member_after_reauthentication(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                         core: Core, clock: ManualClock) -> None:
    admin = await console_staff("admin")
    fields = {"email": "new.person@staff.example.test", "role": "support"}
    stale(clock, core)
    r = await admin.console.submit(STAFF, STAFF, fields)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/reauth")
    assert "new.person" not in (await admin.console.get(STAFF)).text  # nobody added yet
    await reauthenticate(admin, clock, STAFF)
    r = await admin.console.submit(STAFF, STAFF, fields)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["cache-control"] == "no-store"
    link = shown_secret(r.text)
    assert "/console/enrol/" in link
    listing = (await admin.console.get(STAFF)).text
    assert "new.person@staff.example.test" in listing and link not in listing
    # the link works once, in another browser
    path = "/console/enrol/" + link.rsplit("/console/enrol/", 1)[1]
    assert (await fresh_client(client).get(path)).status_code == 200
    member = await staff_service.find(core, "new.person@staff.example.test")
    assert member.role.value == "support" and member.created_by == f"staff:{admin.email}"
    (row,) = [r for r in await audit_rows(core, audit.Event.STAFF_CREATED) if r.actor == f"staff:{admin.email}"]
    assert row.detail == {"staff": "new.person@staff.example.test", "role": "support"}
    assert link.rsplit("/", 1)[1] not in str(row.detail)


async def test_add_staff_field_errors(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    existing = await console_staff("viewer")
    for fields, status, message in (
        ({"email": "not an email", "role": "viewer"}, 400, "email"),
        ({"email": "x@staff.example.test", "role": "owner"}, 400, "role must be one of"),
        ({"email": existing.email, "role": "admin"}, 409, "A staff member with this email exists."),
    ):
        r = await admin.console.submit(STAFF, STAFF, fields)
        assert r.status_code == status, (fields, r.status_code)
        assert message in html.unescape(r.text) and 'class="field-error"' in r.text
        assert 'class="secret"' not in r.text
    assert (await staff_service.find(core, existing.email)).role.value == "viewer"
    total = (await staff_service.list_staff(core, 100))[1]
    assert total == 2


async def test_disable_and_end_sessions(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    support = await console_staff("support")
    member = await staff_service.find(core, support.email)
    r = await admin.console.submit(STAFF, f"{STAFF}/{member.id}/revoke-sessions", {})
    assert r.status_code == 303
    r = await support.console.get("/console")
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"
    (row,) = [r for r in await audit_rows(core, audit.Event.STAFF_SESSIONS_REVOKED) if r.actor == f"staff:{admin.email}"]
    assert row.detail["staff"] == support.email and row.detail["sessionsEnded"] == 1
    activity = (await admin.console.get(STAFF)).text
    activity = activity[activity.index("Staff activity"):activity.index("Add a staff member")]
    assert "staff.sessions-revoked" in activity and "staff.enrolled" in activity and support.email in activity

    r = await admin.console.submit(STAFF, f"{STAFF}/{member.id}/enabled", {"enabled": "false"})
    assert r.status_code == 303
    assert (await staff_service.find(core, support.email)).status == "disabled"
    assert "Enable<span" in (await admin.console.get(STAFF)).text
    await admin.console.submit(STAFF, f"{STAFF}/{member.id}/enabled", {"enabled": "true"})
    assert (await staff_service.find(core, support.email)).status == "active"
    events = [r.event for r in await audit_rows(core, audit.Event.STAFF_DISABLED)] + \
        [r.event for r in await audit_rows(core, audit.Event.STAFF_ENABLED)]
    assert events == ["staff.disabled", "staff.enabled"]


async def test_an_admin_cannot_disable_themselves_nor_reach_unknown_staff(console_staff: StaffFactory,
                                                                          core: Core) -> None:
    admin = await console_staff("admin")
    me = await staff_service.find(core, admin.email)
    r = await admin.console.submit(STAFF, f"{STAFF}/{me.id}/enabled", {"enabled": "false"})
    assert r.status_code == 400 and (await staff_service.find(core, admin.email)).status == "active"
    for bad in ("999999", "abc", "0"):
        r = await admin.console.submit(STAFF, f"{STAFF}/{bad}/revoke-sessions", {})
        assert r.status_code == 404, bad


async def test_support_sees_no_staff_page_and_changes_nothing(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    support = await console_staff("support")
    target = await staff_service.find(core, admin.email)
    assert (await support.console.get(STAFF)).status_code == 403
    token = await support.console.csrf("/console")
    for action, fields in ((STAFF, {"email": "sneaky@staff.example.test", "role": "admin"}),
                           (f"{STAFF}/{target.id}/enabled", {"enabled": "false"}),
                           (f"{STAFF}/{target.id}/revoke-sessions", {})):
        r = await support.console.post(action, {**fields, "csrf": token})
        assert r.status_code == 403, action
    assert (await staff_service.find(core, admin.email)).status == "active"
    assert (await admin.console.get("/console")).status_code == 200
    assert (await staff_service.list_staff(core, 100))[1] == 2

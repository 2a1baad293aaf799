"""The console's customer pages over HTTP (no browser), through the real forms with their CSRF tokens, on
SQLite and PostgreSQL: the search by each kind and its paging, the customer page, each support action
and its effect seen through the API, a viewer refused each action, a POST without its CSRF token
refused, and the segments, attribute definitions and customer sets pages."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select

from tests.api.login_support import admin_headers
from tests.api.support import CUSTOMER, assert_error, login, ok, refresh, register
from tests.api.test_lockout import set_tenant
from tests.console.conftest import StaffFactory
from tests.console.support import ConsoleClient, StaffMember
from ticketbooth.console import customers as console_customers
from ticketbooth.core import Core
from ticketbooth.db import tables as t

ACCOUNTS = f"{CUSTOMER}/accounts"
ACTIONS = ("lock", "unlock", "send-reset", "password-change", "sessions/end")
_LINK = re.compile(r'href="/console/customers/(\d+)"')
_SESSION_FORM = re.compile(r'action="/console/customers/\d+/sessions/([0-9a-f]+)/end"')


def customer_ids(page: str) -> list[int]:
    """The customers a result page links to, in order, once each."""
    seen: list[int] = []
    for found in _LINK.findall(page):
        if int(found) not in seen:
            seen.append(int(found))
    return seen


def session_ids(page: str) -> list[str]:
    return _SESSION_FORM.findall(page)


async def search(console: ConsoleClient, q: str, start: int | None = None) -> httpx.Response:
    params: dict[str, Any] = {"q": q}
    if start is not None:
        params["start"] = start
    return await console.http.get("/console/customers", params=params)


async def act(member: StaffMember, account_id: int, action: str, **fields: str) -> httpx.Response:
    """Post an action's form from the customer page (its CSRF token read from that page)."""
    page = f"/console/customers/{account_id}"
    return await member.console.submit(page, f"{page}/{action}", fields)


def followed(r: httpx.Response, account_id: int, done: str) -> None:
    """Post/redirect/get: a 303 back to the customer page, saying what was done."""
    assert r.status_code == 303, r.text[:500]
    assert r.headers["location"] == f"/console/customers/{account_id}?done={done}"


@pytest.fixture
async def people(client: httpx.AsyncClient, app_headers: dict[str, str]) -> dict[str, int]:
    """Three customers with logins."""
    made = {}
    for key, email, extra in (
        ("anna", "anna.smith@example.com", {"firstName": "Anna", "lastName": "Smith", "userName": "annasmith"}),
        ("ben", "ben.jones@example.org", {"firstName": "Ben", "lastName": "Jones", "externalId": "CRM-4711"}),
        ("cleo", "cleo@example.net", {"firstName": "Cleo", "lastName": "Smithers"}),
    ):
        ticket = await register(client, app_headers, email, **extra)
        made[key] = int(ticket["customerAccount"]["id"])
    return made


# -- search ----------------------------------------------------------------------------------------------

async def test_search_by_each_kind(console_staff: StaffFactory, people: dict[str, int]) -> None:
    viewer = (await console_staff("viewer")).console
    anna, ben, cleo = people["anna"], people["ben"], people["cleo"]
    cases: list[tuple[str, list[int], str]] = [
        ("anna.smith@example.com", [anna], "by email address"),
        ("ANNA.SMITH@EXAMPLE.COM", [anna], "by email address"),
        (str(ben), [ben], "by id"),
        ("annasmith", [anna], "free text"),  # a username
        ("Anna Smith", [anna], "free text"),  # a name: every word
        ("smith", [anna, cleo], "free text"),
        ("crm-4711", [ben], "free text"),  # an external id
        ("@example.org", [ben], "free text"),  # part of an address: no account has it, so free text
        ("lastName eq 'Jones'", [ben], "Kibo filter"),
        ("firstName sw 'C' or id eq " + str(anna), [anna, cleo], "Kibo filter"),
        ("isLocked eq true", [], "Kibo filter"),
        ("999999999", [], "free text"),  # no such id, nor text
        ("", [anna, ben, cleo], "all customers"),
        ("nobody at all", [], "free text"),
    ]
    for q, expected, kind in cases:
        r = await search(viewer, q)
        assert r.status_code == 200, (q, r.text[:500])
        assert customer_ids(r.text) == expected, q
        assert kind in r.text, q
    # a name whose second word is a filter operator is a name, not a filter
    r = await search(viewer, "Anna le")
    assert r.status_code == 200 and "free text" in r.text and customer_ids(r.text) == [anna]  # "le": in example.com
    # control characters are refused with a message, whichever kind the text looks like
    for bad in ("anna\x01@example.com", "12\x01", "smith\x7f"):
        r = await search(viewer, bad)
        assert r.status_code == 400 and 'role="alert"' in r.text, bad
    assert (await search(viewer, "anna\x00@example.com")).status_code == 400  # refused before any route
    # what the box was given comes back escaped, never as markup
    r = await search(viewer, '<script>alert(1)</script> "x"')
    assert r.status_code == 200 and "<script>alert(1)" not in r.text
    assert html.escape("<script>alert(1)</script>") in r.text


async def test_a_bad_filter_is_a_message_not_an_error(console_staff: StaffFactory, people: dict[str, int]) -> None:
    viewer = (await console_staff("viewer")).console
    for q in ("firstName eq", "emailAddress eq 'a' and", "id gt 'abc'", "isLocked eq maybe"):
        r = await search(viewer, q)
        assert r.status_code == 400, q
        assert 'role="alert"' in r.text and "Missing or invalid parameter: filter" in r.text
        assert customer_ids(r.text) == []


async def test_search_pages(console_staff: StaffFactory, client: httpx.AsyncClient, people: dict[str, int],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    admin = await admin_headers(client)
    ids = [int(ok(await client.post(ACCOUNTS, headers=admin, json={"lastName": f"Pager{i:02d}"}))["id"])
           for i in range(30)]
    viewer = (await console_staff("viewer")).console
    first = await search(viewer, "pager")
    assert customer_ids(first.text) == ids[:25]
    assert "Customers 1 to 25 of 30" in first.text
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = await search(viewer, "pager", 25)
    assert customer_ids(second.text) == ids[25:]
    assert "Customers 26 to 30 of 30" in second.text
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    beyond = await search(viewer, "pager", 100)
    assert customer_ids(beyond.text) == [] and beyond.status_code == 200
    # beyond COUNTED matches past the page, the count stops: "more than"
    monkeypatch.setattr(console_customers, "COUNTED", 26)
    capped = await search(viewer, "pager")
    assert customer_ids(capped.text) == ids[:25] and "Customers 1 to 25 of more than 26" in capped.text
    assert 'rel="next"' in capped.text
    assert "Customers 26 to 30 of 30" in (await search(viewer, "pager", 25)).text
    for start in ("-5", "abc", "99999999999999999999"):
        assert (await viewer.http.get("/console/customers", params={"q": "pager", "start": start})).status_code == 200


async def test_pages_need_sign_in(client: httpx.AsyncClient, people: dict[str, int]) -> None:
    for path in ("/console/customers", f"/console/customers/{people['anna']}", "/console/segments",
                 "/console/attribute-definitions", "/console/customer-sets"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/console/sign-in", path
    r = await client.post(f"/console/customers/{people['anna']}/unlock", data={})
    assert r.status_code in (303, 403)


# -- the customer page -------------------------------------------------------------------------------------

async def test_the_customer_page_shows_the_account(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                   app_headers: dict[str, str], people: dict[str, int]) -> None:
    admin = await admin_headers(client)
    anna = people["anna"]
    ok(await client.post(f"{ACCOUNTS}/{anna}/notes", headers=admin, json={"content": "Called about <b>order</b> 42"}))
    ok(await client.post(f"{ACCOUNTS}/{anna}/contacts", headers=admin, json={
        "email": "anna.home@example.com", "firstName": "Anna", "lastNameOrSurname": "Smith",
        "address": {"address1": "1 Main Street", "cityOrTown": "Springfield", "countryCode": "US"},
        "phoneNumbers": {"mobile": "+1 555 0100"}, "types": [{"name": "Billing", "isPrimary": True}]}))
    segment = ok(await client.post(f"{CUSTOMER}/segments", headers=admin, json={"code": "VIP", "name": "Very important"}))
    r = await client.post(f"{CUSTOMER}/segments/{segment['id']}/accounts", headers=admin, json=[anna])
    assert r.status_code in (200, 204), r.text
    assert_error(await login(client, app_headers, "anna.smith@example.com", "wrong password"), 401, "INVALID_CREDENTIALS")
    ok(await login(client, app_headers, "anna.smith@example.com"))

    viewer = (await console_staff("viewer")).console
    r = await viewer.get(f"/console/customers/{anna}")
    assert r.status_code == 200
    page = r.text
    for shown in ("anna.smith@example.com", "annasmith", "1 Main Street", "Springfield", "+1 555 0100", "Billing",
                  "VIP", "Very important", "Called about &lt;b&gt;order&lt;/b&gt; 42", "Login failed: wrong password.",
                  "Logged in.", "Account created."):
        assert shown in page, shown
    assert "<b>order</b>" not in page
    assert re.search(r"Failed logins</dt><dd>0", page)  # a good login starts the count over
    assert len(session_ids(page)) == 0  # a viewer sees no "end" buttons...
    assert "Live sessions" in page and "storefront.app" in page  # ...but sees the session
    assert (await viewer.get("/console/customers/999999")).status_code == 404
    assert (await viewer.get("/console/customers/0")).status_code == 404


async def test_the_audit_trail_pages(console_staff: StaffFactory, client: httpx.AsyncClient,
                                     app_headers: dict[str, str], people: dict[str, int]) -> None:
    for i in range(25):
        await login(client, app_headers, "cleo@example.net", f"wrong password {i}")
    viewer = (await console_staff("viewer")).console
    first = (await viewer.get(f"/console/customers/{people['cleo']}")).text
    assert "entries 1 to 20 of" in first
    second = (await viewer.get(f"/console/customers/{people['cleo']}?trail=20")).text
    assert "entries 21 to" in second and "Account created." in second and "Account created." not in first


# -- actions and their effect through the API --------------------------------------------------------------

async def test_lock_then_unlock_and_the_customer_logs_in(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                         app_headers: dict[str, str], people: dict[str, int]) -> None:
    support = await console_staff("support")
    anna = people["anna"]
    followed(await act(support, anna, "lock"), anna, "locked")
    assert_error(await login(client, app_headers, "anna.smith@example.com"), 401, "INVALID_CREDENTIALS")
    page = (await support.console.get(f"/console/customers/{anna}?done=locked")).text
    assert "The customer is locked" in page and 'role="status"' in page and "/unlock" in page
    followed(await act(support, anna, "unlock"), anna, "unlocked")
    ticket = ok(await login(client, app_headers, "anna.smith@example.com"))
    assert ticket["customerAccount"]["id"] == anna
    # the trail names the staff member, through the API too
    trail = ok(await client.get(f"{ACCOUNTS}/{anna}/auditlog/entries", headers=await admin_headers(client)))
    by_staff = [e for e in trail["items"] if e["eventType"] in ("account.locked", "account.unlocked")]
    assert [e["entryUser"] for e in by_staff] == [f"staff:{support.email}"] * 2


async def test_a_customer_locked_by_failed_logins_is_unlocked(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                              app_headers: dict[str, str], people: dict[str, int],
                                                              core: Core) -> None:
    await set_tenant(core, lockout={"max_failed_logins": 3, "lock_minutes": 30, "max_failed_logins_per_address": 1000})
    for i in range(3):
        await login(client, app_headers, "ben.jones@example.org", f"wrong password {i}")
    assert_error(await login(client, app_headers, "ben.jones@example.org"), 401, "INVALID_CREDENTIALS")
    support = await console_staff("support")
    page = (await support.console.get(f"/console/customers/{people['ben']}")).text
    assert re.search(r'<dd id="locked">yes, since', page)
    followed(await act(support, people["ben"], "unlock"), people["ben"], "unlocked")
    ok(await login(client, app_headers, "ben.jones@example.org"))


async def test_end_one_session_and_its_refresh_fails(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                     app_headers: dict[str, str], people: dict[str, int]) -> None:
    first = ok(await login(client, app_headers, "cleo@example.net"))
    second = ok(await login(client, app_headers, "cleo@example.net"))
    support = await console_staff("support")
    cleo = people["cleo"]
    page = (await support.console.get(f"/console/customers/{cleo}")).text
    live = session_ids(page)
    assert len(live) == 3  # registration's and two logins
    newest = jwt.decode(second["jwtAccessToken"], options={"verify_signature": False})["sid"]  # the second login's
    assert newest in live
    followed(await act(support, cleo, f"sessions/{newest}/end"), cleo, "session-ended")
    assert_error(await refresh(client, app_headers, second["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    ok(await refresh(client, app_headers, first["refreshToken"]))
    assert newest not in session_ids((await support.console.get(f"/console/customers/{cleo}")).text)
    # a session that is not live (or not this customer's) is a 404 page, nothing done
    r = await act(support, people["anna"], f"sessions/{newest}/end")
    assert r.status_code == 404


async def test_end_all_sessions(console_staff: StaffFactory, client: httpx.AsyncClient, app_headers: dict[str, str],
                                people: dict[str, int]) -> None:
    tickets = [ok(await login(client, app_headers, "cleo@example.net")) for _ in range(2)]
    support = await console_staff("support")
    followed(await act(support, people["cleo"], "sessions/end"), people["cleo"], "sessions-ended")
    for ticket in tickets:
        assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert session_ids((await support.console.get(f"/console/customers/{people['cleo']}")).text) == []


async def test_require_and_clear_a_password_change(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                   app_headers: dict[str, str], people: dict[str, int]) -> None:
    support = await console_staff("support")
    anna = people["anna"]
    followed(await act(support, anna, "password-change", required="true"), anna, "change-required")
    assert_error(await login(client, app_headers, "anna.smith@example.com"), 401, "PASSWORD_CHANGE_REQUIRED")
    page = (await support.console.get(f"/console/customers/{anna}")).text
    assert '<dd id="change-required">yes' in page and "Clear password-change requirement" in page
    followed(await act(support, anna, "password-change", required="false"), anna, "change-cleared")
    ok(await login(client, app_headers, "anna.smith@example.com"))


async def test_send_a_reset_mail(console_staff: StaffFactory, core: Core, client: httpx.AsyncClient,
                                 people: dict[str, int]) -> None:
    async def outbox() -> list[str]:
        async with core.store.engine.connect() as conn:
            return [r[0] for r in (await conn.execute(select(t.outbox.c.kind))).all()]

    before = await outbox()
    support = await console_staff("support")
    followed(await act(support, people["ben"], "send-reset"), people["ben"], "reset-sent")
    assert (await outbox()) == [*before, "password-reset"]
    trail = ok(await client.get(f"{ACCOUNTS}/{people['ben']}/auditlog/entries", headers=await admin_headers(client)))
    asked = [e for e in trail["items"] if e["eventType"] == "password.reset-requested"]
    assert [e["entryUser"] for e in asked] == [f"staff:{support.email}"]
    # an account without a login gets none, and says so
    admin = await admin_headers(client)
    no_login = int(ok(await client.post(ACCOUNTS, headers=admin, json={"emailAddress": "nologin@example.com"}))["id"])
    r = await act(support, no_login, "send-reset")
    assert r.status_code == 409 and "no reset mail can be sent" in r.text
    assert (await outbox()) == [*before, "password-reset"]


# -- refusals --------------------------------------------------------------------------------------------

async def _unchanged(core: Core, account_id: int) -> tuple[Any, ...]:
    async with core.store.engine.connect() as conn:
        row = (await conn.execute(select(t.accounts.c.is_locked, t.accounts.c.password_change_required)
                                  .where(t.accounts.c.id == account_id))).one()
        families = (await conn.execute(select(func.count()).select_from(t.token_families).where(
            t.token_families.c.account_id == account_id, t.token_families.c.revoked_at.is_(None)))).scalar_one()
        mails = (await conn.execute(select(func.count()).select_from(t.outbox))).scalar_one()
    return (*row, families, mails)


async def test_a_viewer_sees_no_actions_and_is_refused_each(console_staff: StaffFactory, core: Core,
                                                           client: httpx.AsyncClient, app_headers: dict[str, str],
                                                           people: dict[str, int]) -> None:
    ok(await login(client, app_headers, "anna.smith@example.com"))
    viewer = await console_staff("viewer")
    anna = people["anna"]
    page = (await viewer.console.get(f"/console/customers/{anna}")).text
    for action in ACTIONS:
        assert f"/console/customers/{anna}/{action}\"" not in page, action
    session = ok(await client.get(f"{ACCOUNTS}/{anna}/sessions", headers=await admin_headers(client)))["items"][0]["id"]
    before = await _unchanged(core, anna)
    # forged: the viewer's own valid CSRF token, each action's form fields
    for action, fields in (("lock", {}), ("unlock", {}), ("send-reset", {}), ("password-change", {"required": "true"}),
                           ("sessions/end", {}), (f"sessions/{session}/end", {})):
        r = await act(viewer, anna, action, **fields)
        assert r.status_code == 403, (action, r.status_code)
        assert "Nothing was changed" in r.text
    assert await _unchanged(core, anna) == before


async def test_a_post_without_its_csrf_token_is_refused(console_staff: StaffFactory, core: Core,
                                                        people: dict[str, int]) -> None:
    support = await console_staff("support")
    anna = people["anna"]
    before = await _unchanged(core, anna)
    for fields in ({"required": "true"}, {"csrf": ""}, {"csrf": "not-the-token"}):
        r = await support.console.post(f"/console/customers/{anna}/lock", fields)
        assert r.status_code == 403
    # another signed-in staff member's token is not this one's
    other = await console_staff("support")
    token = await other.console.csrf(f"/console/customers/{anna}")
    assert (await support.console.post(f"/console/customers/{anna}/lock", {"csrf": token})).status_code == 403
    assert await _unchanged(core, anna) == before


# -- segments, attribute definitions, customer sets -----------------------------------------------------------

async def test_segments_admin_creates_and_edits_viewer_reads(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                             seeded: Any) -> None:
    admin = await console_staff("admin")
    r = await admin.console.submit("/console/segments/new", "/console/segments",
                                   {"code": "VIP", "name": "Very <important>", "description": "Top customers"})
    assert r.status_code == 303 and r.headers["location"] == "/console/segments?done=segment-saved"
    listed = ok(await client.get(f"{CUSTOMER}/segments", headers=await admin_headers(client)))["items"]
    assert [(s["code"], s["name"], s["description"]) for s in listed] == [("VIP", "Very <important>", "Top customers")]
    segment_id = listed[0]["id"]
    r = await admin.console.submit(f"/console/segments/{segment_id}", f"/console/segments/{segment_id}",
                                   {"code": "VIP", "name": "Very important people", "description": ""})
    assert r.status_code == 303
    listed = ok(await client.get(f"{CUSTOMER}/segments", headers=await admin_headers(client)))["items"]
    assert (listed[0]["name"], listed[0].get("description")) == ("Very important people", None)
    # a taken code: the form again, with the message, nothing added
    r = await admin.console.submit("/console/segments/new", "/console/segments", {"code": "vip", "name": "Dup"})
    assert r.status_code == 409 and 'role="alert"' in r.text and 'value="vip"' in r.text
    r = await admin.console.submit("/console/segments/new", "/console/segments", {"code": "has space", "name": "x"})
    assert r.status_code == 400

    viewer = await console_staff("viewer")
    page = (await viewer.console.get("/console/segments")).text
    assert "Very important people" in page and "/console/segments/new" not in page
    assert (await viewer.console.get("/console/segments/new")).status_code == 403
    r = await viewer.console.submit("/console/segments", "/console/segments", {"code": "X", "name": "X"})
    assert r.status_code == 403
    support = await console_staff("support")
    r = await support.console.submit("/console/segments", f"/console/segments/{segment_id}", {"code": "Y", "name": "Y"})
    assert r.status_code == 403
    assert len(ok(await client.get(f"{CUSTOMER}/segments", headers=await admin_headers(client)))["items"]) == 1


async def test_attribute_definitions_and_customer_sets(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                       people: dict[str, int]) -> None:
    admin = await admin_headers(client)
    ok(await client.post(f"{CUSTOMER}/attributedefinition/attributes", headers=admin, json={
        "namespace": "tenant", "attributeCode": "loyalty-tier", "adminName": "Loyalty tier",
        "valueType": "AdminEntered", "dataType": "String", "inputType": "TextBox", "isRequired": True}))
    viewer = (await console_staff("viewer")).console
    page = (await viewer.get("/console/attribute-definitions")).text
    assert "tenant~loyalty-tier" in page and "Loyalty tier" in page and "required" in page
    page = (await viewer.get("/console/customer-sets")).text
    assert re.search(r"<td>default</td>.*?<td>yes</td>.*?<td>200, 201</td><td>3</td>", page, re.S), page
    assert "outlet" in page


async def test_attribute_definitions_admin_creates_and_edits(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                             seeded: Any) -> None:
    admin = await console_staff("admin")
    new = "/console/attribute-definitions/new"
    fields = {"code": "tier", "data_type": "String", "admin_name": "Tier", "value_type": "Predefined",
              "input_type": "List", "vocabulary": "Gold\r\nSilver\r\n\r\nBronze", "order": "3", "is_active": "on",
              "is_visible": "on"}
    r = await admin.console.submit(new, "/console/attribute-definitions", fields)
    assert r.status_code == 303 and r.headers["location"] == "/console/attribute-definitions?done=definition-saved"
    path = f"{CUSTOMER}/attributedefinition/attributes/tenant~tier"
    made = ok(await client.get(path, headers=await admin_headers(client)))
    assert (made["adminName"], made["valueType"], made["inputType"], made["order"], made["isActive"], made["isRequired"]) \
        == ("Tier", "Predefined", "List", 3, True, False)
    assert [v["value"] for v in made["vocabularyValues"]] == ["Gold", "Silver", "Bronze"]
    page = "/console/attribute-definitions/tenant~tier"
    form = (await admin.console.get(page)).text
    assert 'value="Tier"' in form and "Gold\nSilver\nBronze" in form and 'name="code"' not in form
    r = await admin.console.submit(page, page, {**fields, "admin_name": "Loyalty tier", "is_required": "on",
                                                "code": "other", "data_type": "Number"})
    assert r.status_code == 303
    changed = ok(await client.get(path, headers=await admin_headers(client)))
    assert (changed["adminName"], changed["isRequired"], changed["attributeCode"], changed["dataType"]) == \
        ("Loyalty tier", True, "tier", "String")  # code and data type stay
    # bad input: the form again with the flow's message, nothing made
    r = await admin.console.submit(new, "/console/attribute-definitions", {**fields, "code": "nolist", "vocabulary": ""})
    assert r.status_code == 400 and "vocabularyValues" in r.text and 'value="nolist"' in r.text
    assert (await client.get(f"{CUSTOMER}/attributedefinition/attributes/tenant~nolist",
                             headers=await admin_headers(client))).status_code == 404
    # support and viewer read the list, and may not create or change
    for role in ("support", "viewer"):
        member = await console_staff(role)
        listed = (await member.console.get("/console/attribute-definitions")).text
        assert "tenant~tier" in listed and new not in listed
        assert (await member.console.get(new)).status_code == 403
        r = await member.console.submit("/console/attribute-definitions", page, {**fields, "admin_name": "x"})
        assert r.status_code == 403
    assert ok(await client.get(path, headers=await admin_headers(client)))["adminName"] == "Loyalty tier"


async def test_odd_input_gets_a_page_never_a_500(console_staff: StaffFactory, people: dict[str, int]) -> None:
    admin = await console_staff("admin")
    anna = people["anna"]
    for path in (f"/console/customers/{2**63}", "/console/customers/99999999999999999999999",
                 f"/console/customers/{anna}?trail=-1", f"/console/customers/{anna}?trail=x&done=<b>",
                 "/console/customers?q=" + "x" * 600, "/console/customers?q=%ff%fe", "/console/customers?q=id%20in%20()",
                 "/console/customers?q=" + "a " * 300, "/console/segments/0", f"/console/segments/{2**70}",
                 "/console/attribute-definitions/nothing~here", "/console/attribute-definitions/" + "x" * 2000,
                 "/console/attribute-definitions/%7E", "/console/customer-sets?start=-1", "/console/segments?start=1e9"):
        r = await admin.console.get(path)
        assert r.status_code in (200, 400, 404), (path, r.status_code)
        assert "<!doctype html>" in r.text or r.status_code == 404, path
    page = f"/console/customers/{anna}"
    for action, fields in ((f"sessions/{'f' * 500}/end", {}), ("sessions/%00/end", {}),
                           ("password-change", {"required": "\u2028"})):
        r = await admin.console.submit(page, f"{page}/{action}", fields)
        assert r.status_code in (303, 400, 404), (action, r.status_code)
    for action in ("lock", "unlock", "send-reset", "password-change", "sessions/end", "sessions/ab/end"):
        r = await admin.console.submit(page, f"/console/customers/{2**70}/{action}", {})
        assert r.status_code == 404, action
    r = await admin.console.submit("/console/segments", f"/console/segments/{2**70}", {"code": "a", "name": "b"})
    assert r.status_code == 404
    for fields in ({"code": "x" * 500, "name": "y"}, {"code": "", "name": ""}, {"code": "a\u0001", "name": "b"}):
        r = await admin.console.submit("/console/segments/new", "/console/segments", fields)
        assert r.status_code == 400, fields
    r = await admin.console.submit("/console/attribute-definitions/new", "/console/attribute-definitions",
                                   {"code": "z", "value_type": "Nope", "input_type": "TextBox", "order": "9" * 30})
    assert r.status_code == 400


async def test_a_b2b_account_shows_its_hierarchy_users_and_roles(console_staff: StaffFactory,
                                                                  client: httpx.AsyncClient,
                                                                  app_headers: dict[str, str]) -> None:
    """The console's page of a B2B account (issue 16 landed with this one): approval, parent and top account,
    and each user with their roles and membership state; a B2C customer's page has no such section."""
    from tests.api.b2b_support import B2B, PURCHASER_ROLE, add_account, add_user, user_path

    admin = await admin_headers(client)
    top = await add_account(client, admin, "Head Office")
    branch = await add_account(client, admin, "Branch", approved=False, parentAccountId=top["id"])
    ok(await add_user(client, admin, branch["id"], "ada.admin@example.com", firstName="Ada"))
    ok(await add_user(client, admin, branch["id"], "pat.purchaser@example.com", roles=(PURCHASER_ROLE,)))
    gone = ok(await add_user(client, admin, branch["id"], "rex.removed@example.com", roles=(PURCHASER_ROLE,)))
    r = await client.put(user_path(branch["id"], gone["userId"], "remove"), headers=admin)
    assert r.status_code in (200, 204), r.text

    viewer = (await console_staff("viewer")).console
    page = (await viewer.get(f"/console/customers/{branch['id']}")).text
    section = html.unescape(page[page.index('id="b2b-h"'):page.index('id="trail-h"')])
    assert "PendingApproval" in section
    assert f'href="/console/customers/{top["id"]}"' in section  # its parent, which is also its top account
    rows = re.findall(r"<tr>\s*<td>([^<]*)</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", section)
    assert sorted(rows) == [("ada.admin@example.com", "Admin", "active"),
                            ("pat.purchaser@example.com", "Purchaser", "active")]  # a removed user is gone
    top_page = (await viewer.get(f"/console/customers/{top['id']}")).text
    assert "none (a top account)" in top_page and "No user yet." in top_page
    shopper = await register(client, app_headers, "b2c.shopper@example.com")
    assert 'id="b2b-h"' not in (await viewer.get(f"/console/customers/{shopper['customerAccount']['id']}")).text
    assert ok(await client.get(f"{B2B}/{branch['id']}", headers=admin))["approvalStatus"] == "PendingApproval"

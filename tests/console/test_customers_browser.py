"""The customer pages in a real browser (Playwright + Debian's Chromium against `ticketbooth serve`):
searching, unlocking a locked customer who then logs in through the API, ending a session whose refresh
then fails, the axe-core scan of every customer page, and the screenshots the README shows. Skipped
without Chromium (the message says how to install it) unless TICKETBOOTH_TEST_BROWSER=required."""

from __future__ import annotations

import itertools
import os
from typing import Any

import httpx
import jwt

from tests.conftest import ADMIN, PASSWORD, SITE, STOREFRONT, TENANT, LiveServer
from tests.console.browser import SCREENSHOTS, BrowserStaff, axe_violations

CUSTOMER = "/api/commerce/customer"
_n = itertools.count(1)


class Api:
    """The storefront's and the admin application's calls to the live server's API."""

    def __init__(self, server: LiveServer) -> None:
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    def headers(self, creds: tuple[str, str]) -> dict[str, str]:
        r = self.http.post("/api/platform/applications/authtickets/oauth", json={
            "client_id": creds[0], "client_secret": creds[1], "grant_type": "client_credentials"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}", "x-vol-tenant": str(TENANT),
                "x-vol-site": str(SITE)}

    def register(self, email: str, **account: Any) -> int:
        r = self.http.post(f"{CUSTOMER}/accounts/Add-Account-And-Login", headers=self.headers(STOREFRONT),
                           json={"account": {"emailAddress": email, **account}, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return int(r.json()["customerAccount"]["id"])

    def login(self, email: str) -> httpx.Response:
        return self.http.post(f"{CUSTOMER}/authtickets", headers=self.headers(STOREFRONT),
                              json={"username": email, "password": PASSWORD})

    def refresh(self, token: str) -> httpx.Response:
        return self.http.put(f"{CUSTOMER}/authtickets/refresh", headers=self.headers(STOREFRONT),
                             params={"refreshToken": token})

    def lock(self, account_id: int) -> None:
        r = self.http.post(f"{CUSTOMER}/accounts/{account_id}/Set-Login-Locked", headers=self.headers(ADMIN), json=True)
        assert r.status_code == 200, r.text


def email(name: str) -> str:
    return f"{name}.{next(_n)}.{os.getpid()}@example.com"


def find(page: Any, q: str, shown: str = "#result-summary") -> None:
    page.goto("/console/customers")
    page.get_by_label("Find a customer").fill(q)
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector(shown)


def test_search_then_unlock_and_the_customer_logs_in_through_the_api(staff_page: Any, live_console: LiveServer) -> None:
    api = Api(live_console)
    address = email("lou.locked")
    account_id = api.register(address, firstName="Lou", lastName="Locked")
    api.lock(account_id)
    assert api.login(address).status_code == 401

    member: BrowserStaff = staff_page("support")
    page = member.page
    find(page, "Lou Locked")  # free text: a name
    assert page.locator("#results tbody tr").count() == 1
    page.get_by_role("link", name="Lou Locked").click()
    page.wait_for_url(f"**/console/customers/{account_id}")
    assert page.locator("#locked").inner_text().startswith("yes")
    page.get_by_role("button", name="Unlock").click()
    page.wait_for_url(f"**/console/customers/{account_id}?done=unlocked")
    assert "is unlocked" in page.get_by_role("status").inner_text()
    assert page.locator("#locked").inner_text() == "no"
    r = api.login(address)
    assert r.status_code == 200 and r.json()["customerAccount"]["id"] == account_id
    # and the trail names who did it
    assert f"staff:{member.email}" in page.locator("#trail").inner_text()


def test_search_by_email_and_by_id(staff_page: Any, live_console: LiveServer) -> None:
    api = Api(live_console)
    address = email("sid.search")
    account_id = api.register(address, firstName="Sid")
    page = staff_page("viewer").page
    find(page, address.upper())
    assert "by email address" in page.locator("#result-summary").inner_text()
    assert page.locator("#results tbody tr").count() == 1
    find(page, str(account_id))
    assert "by id" in page.locator("#result-summary").inner_text()
    assert page.locator(f'#results a[href="/console/customers/{account_id}"]').count() == 2
    # a viewer sees no action
    page.goto(f"/console/customers/{account_id}")
    assert page.get_by_role("button", name="Lock").count() == 0
    assert page.get_by_role("button", name="End all sessions").count() == 0


def test_end_a_session_and_its_refresh_fails(staff_page: Any, live_console: LiveServer) -> None:
    api = Api(live_console)
    address = email("sue.sessions")
    account_id = api.register(address, firstName="Sue")
    kept, ended = api.login(address).json(), api.login(address).json()
    session_id = jwt.decode(ended["jwtAccessToken"], options={"verify_signature": False})["sid"]

    page = staff_page("support").page
    page.goto(f"/console/customers/{account_id}")
    form = page.locator(f'form[action="/console/customers/{account_id}/sessions/{session_id}/end"]')
    assert form.count() == 1
    form.get_by_role("button").click()
    page.wait_for_url(f"**/console/customers/{account_id}?done=session-ended")
    assert page.locator(f'form[action$="/sessions/{session_id}/end"]').count() == 0
    assert api.refresh(ended["refreshToken"]).status_code == 401
    assert api.refresh(kept["refreshToken"]).status_code == 200


def test_pages_pass_axe_and_screenshots(staff_page: Any, live_console: LiveServer) -> None:
    api = Api(live_console)
    for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Edsger", "Dijkstra")):
        api.register(email(f"{first}.{last}".lower()), firstName=first, lastName=last)
    address = email("kim.customer")
    account_id = api.register(address, firstName="Kim", lastName="Customer", externalId="CRM-1001")
    admin = api.headers(ADMIN)
    api.http.post(f"{CUSTOMER}/accounts/{account_id}/notes", headers=admin, json={"content": "Asked about a refund."})
    api.http.post(f"{CUSTOMER}/accounts/{account_id}/contacts", headers=admin, json={
        "email": address, "firstName": "Kim", "lastNameOrSurname": "Customer",
        "address": {"address1": "1 Main Street", "cityOrTown": "Springfield", "countryCode": "US"},
        "types": [{"name": "Shipping", "isPrimary": True}]})
    api.login(address)
    api.http.post(f"{CUSTOMER}/authtickets", headers=api.headers(STOREFRONT),
                  json={"username": address, "password": "a wrong password"})

    member: BrowserStaff = staff_page("admin")
    page = member.page
    page.set_viewport_size({"width": 1200, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    find(page, "example.com")
    assert axe_violations(page) == [], "customers"
    page.screenshot(path=str(SCREENSHOTS / "console-customers.png"))
    page.goto(f"/console/customers/{account_id}?done=unlocked")
    assert axe_violations(page) == [], "customer"
    page.screenshot(path=str(SCREENSHOTS / "console-customer.png"), full_page=True)
    find(page, "lastName eq", "#error-summary")  # a bad filter: the message
    assert page.get_by_role("alert").is_visible()
    assert axe_violations(page) == [], "customers with an error"
    page.goto("/console/segments/new")
    page.get_by_label("Code").fill(f"VIP{next(_n)}")
    page.get_by_label("Name").fill("Very important")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/console/segments?done=segment-saved")
    assert axe_violations(page) == [], "segments"
    page.get_by_role("link", name="VIP").first.click()
    assert axe_violations(page) == [], "segment form"
    for path in ("/console/attribute-definitions", "/console/attribute-definitions/new", "/console/customer-sets"):
        page.goto(path)
        assert axe_violations(page) == [], path

"""A browser "device" of the passkey tests: its own browser context (cookies) and page, with a DevTools
virtual authenticator (CTAP2, internal transport, resident keys, user verification that succeeds,
automatic presence simulation) standing in for the device's platform authenticator; and the tests' own
calls to Ticketbooth (as the storefront app, or as an administrator app for the audit trail)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
from sqlalchemy import select

from tests.conftest import ADMIN, PASSWORD, SITE, TENANT
from tests.live_support import new_address, query
from ticketbooth.db import tables as t

from .storefront import COOKIE, CUSTOMER, Storefront

OUTCOME_WAIT_MS = 90_000
"""How long a test waits for an action of the page at most: a bound on a hang, not a timed assertion."""
_emails = itertools.count(1)


def new_email(label: str) -> str:
    return f"{label}{next(_emails)}-{os.getpid()}@passkeys.example.test"


def b64url(standard: str) -> str:
    """A credential id as DevTools gives it (standard base64, padded) in WebAuthn's base64url form."""
    return base64.urlsafe_b64encode(base64.b64decode(standard)).rstrip(b"=").decode()


AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
                 "isUserVerified": True, "automaticPresenceSimulation": True}


class Device:
    """A browser context with one page and, to start with, one virtual authenticator."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable")
        self.authenticator = self.add_authenticator()

    def add_authenticator(self) -> str:
        added = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        return str(added["authenticatorId"])

    def credentials(self, authenticator: str | None = None) -> list[dict[str, Any]]:
        """The authenticator's credentials as DevTools exports them (private key, rpId, signCount...)."""
        answer = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator or self.authenticator})
        return list(answer["credentials"])

    def add_credential(self, credential: dict[str, Any], authenticator: str | None = None) -> None:
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator or self.authenticator,
                                                 "credential": credential})

    def open(self, origin: str, query: str = "") -> None:
        """Load the storefront's page at `origin` and wait until it has asked who is signed in."""
        self.page.goto(f"{origin}/{query}")
        self.page.wait_for_selector("body[data-ready=true]", timeout=OUTCOME_WAIT_MS)

    def outcomes(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.outcomes"))

    def wait_outcome(self, count: int) -> dict[str, Any]:
        """The page's outcome number `count` (1-based), once it exists."""
        self.page.wait_for_function(f"window.outcomes.length >= {count}", timeout=OUTCOME_WAIT_MS)
        outcome: dict[str, Any] = self.outcomes()[count - 1]
        return outcome

    def act(self, button: str) -> dict[str, Any]:
        """Click the button with this id and return the outcome of the action it started."""
        count = len(self.outcomes())
        self.page.click(f"#{button}")
        return self.wait_outcome(count + 1)

    def password_sign_in(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        self.page.fill("#username", email)
        self.page.fill("#password", password)
        return self.act("password-signin")

    def add_passkey(self, name: str) -> dict[str, Any]:
        self.page.fill("#passkey-name", name)
        return self.act("passkey-add")

    def session_id(self, cookie: str = COOKIE) -> str:
        """The session id in this context's cookie of that name (the storefront's `cookie`)."""
        [value] = [c["value"] for c in self.context.cookies() if c["name"] == cookie]
        return str(value)

    def close(self) -> None:
        self.context.close()


# -- the tests' own calls to Ticketbooth --------------------------------------------------------------

def register_account(storefront: Storefront, email: str) -> int:
    """A new shopper account with a password (Add-Account-And-Login as the storefront app): its id."""
    with httpx.Client(timeout=120) as http:
        r = http.post(f"{storefront.ticketbooth}{CUSTOMER}/accounts/Add-Account-And-Login",
                      headers=storefront.app_headers(),
                      json={"account": {"emailAddress": email}, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return int(r.json()["customerAccount"]["id"])


def password_login(storefront: Storefront, username: str, password: str, address: str) -> httpx.Response:
    """A password login as the storefront app, from client `address`."""
    with httpx.Client(timeout=120) as http:
        return http.post(f"{storefront.ticketbooth}{CUSTOMER}/authtickets", headers=storefront.app_headers(address),
                         json={"username": username, "password": password})


def current_account(storefront: Storefront, ticket: dict[str, Any]) -> httpx.Response:
    """GET accounts/current with the storefront's app token and this ticket."""
    with httpx.Client(timeout=120) as http:
        return http.get(f"{storefront.ticketbooth}{CUSTOMER}/accounts/current",
                        headers={**storefront.app_headers(), "x-vol-user-claims": ticket["accessToken"]})


def sign_in_options(storefront: Storefront, username: str | None) -> dict[str, Any]:
    """POST authtickets/passkeys/options as the storefront app: the answer's body."""
    with httpx.Client(timeout=120) as http:
        r = http.post(f"{storefront.ticketbooth}{CUSTOMER}/authtickets/passkeys/options",
                      headers=storefront.app_headers(), json={} if username is None else {"username": username})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def as_admin(storefront: Storefront, path: str, **params: Any) -> dict[str, Any]:
    """GET `path` (under /api/commerce/customer) as the administrator app (customer:admin)."""
    with httpx.Client(timeout=120) as http:
        r = http.post(f"{storefront.ticketbooth}/api/platform/applications/authtickets/oauth", json={
            "client_id": ADMIN[0], "client_secret": ADMIN[1], "grant_type": "client_credentials"})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}", "x-vol-tenant": str(TENANT),
                   "x-vol-site": str(SITE), "X-Forwarded-For": new_address()}
        r = http.get(f"{storefront.ticketbooth}{CUSTOMER}{path}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def audit_events(storefront: Storefront, account_id: int) -> list[dict[str, Any]]:
    """The account's audit trail (newest first) read by the administrator app: eventType and the rest."""
    return list(as_admin(storefront, f"/accounts/{account_id}/auditlog/entries", pageSize=200)["items"])


def events_of(storefront: Storefront, account_id: int) -> list[str]:
    """The account's audit event names, oldest first."""
    return [str(e["eventType"]) for e in reversed(audit_events(storefront, account_id))]


def refusal_reasons(database_url: str, account_id: int) -> list[str]:
    """The reasons of the account's `passkey.refused` audit entries, oldest first, read from the database
    (the audit API describes an entry, not its detail). In a thread of its own: Playwright's sync API
    keeps an event loop running in this one."""
    statement = (select(t.audit_entries.c.detail).where(t.audit_entries.c.account_id == account_id,
                                                        t.audit_entries.c.event == "passkey.refused")
                 .order_by(t.audit_entries.c.at, t.audit_entries.c.id))
    with ThreadPoolExecutor(1) as pool:
        rows = pool.submit(asyncio.run, query(database_url, statement)).result()
    return [str(detail["reason"]) for (detail,) in rows]


def jwt_claims(ticket: dict[str, Any]) -> dict[str, Any]:
    """The claims of a ticket's jwtAccessToken (read, not verified: the server checks it on use)."""
    claims: dict[str, Any] = jwt.decode(ticket["jwtAccessToken"], options={"verify_signature": False})
    return claims


def no_secret_in_page(device: Device, ticket: dict[str, Any], storefront: Storefront) -> None:
    """Nothing the page holds or showed contains the shopper's tokens, the app's token or secret, or the
    word accessToken."""
    seen = device.page.content() + json.dumps(device.outcomes())
    for secret in (ticket["accessToken"], ticket["refreshToken"], ticket["jwtAccessToken"],
                   storefront.app_headers()["Authorization"].split()[1], storefront.credentials[1]):
        assert secret not in seen
    assert "accessToken" not in seen and "client_secret" not in seen

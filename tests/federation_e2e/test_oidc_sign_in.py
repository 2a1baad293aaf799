"""OpenID Connect sign-in end to end, against a real provider process (provider.mjs: the npm oidc-provider)
and a live `ticketbooth serve`, on SQLite and PostgreSQL.

Each flow is what a storefront and a browser do: the storefront's server starts the sign-in with its app
credential (`POST .../oidc/authorize`), the browser opens the authorization URL, signs in at the provider
(form posts), is sent back to Ticketbooth's callback, which sends it on to the storefront's return URL with a
one-time code, and the storefront's server exchanges the code (`POST .../oidc/exchange`) for a
CustomerAuthTicket, which then works. The attacks are done, not described: a state changed on the way back, a
nonce changed on the way out, an ID token expired on arrival, a code from another sign-in, an unverified email,
a replayed or stolen exchange code, a return URL not allowed, an identity linked to someone else."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from tests.api.support import CURRENT, LOGIN, REFRESH, REGISTER, RESET_PASSWORD, anonymous_id, ok
from tests.conftest import (
    ADMIN,
    OTHER,
    OTHER_SITE,
    OTHER_TENANT,
    PASSWORD,
    SITE,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    STOREFRONT,
    TENANT,
)
from tests.federation_e2e.conftest import ANOTHER, MAX_FAILED_LOGINS, Stack
from tests.federation_e2e.support import (
    CALLBACK,
    EXCHANGE,
    IDENTITY_PROVIDERS,
    KIBO_RETURN_URL,
    RETURN_URL,
    Browser,
    Identity,
    Landing,
    SignIn,
    Storefront,
    app_token,
    linked_identities_path,
    query_of,
    shopper_headers,
    with_query,
)
from tests.live_support import new_address, query
from ticketbooth.db import tables as t

GRAPHQL = "/graphql"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def fresh_identity(prefix: str, **kwargs: Any) -> Identity:
    """An identity nobody has signed in with, with an email nobody has (unless `email` is given)."""
    name = unique(prefix)
    return Identity(**{"sub": f"sub-{name}", "email": f"{name}@example.com", **kwargs})


@dataclass
class Federation:
    """One test's view of the stack: the storefront (and another app, and the admin app), browsers, helpers."""

    stack: Stack
    http: httpx.AsyncClient
    storefront: Storefront
    another: Storefront
    admin: dict[str, str]
    browsers: list[Browser] = field(default_factory=list)

    def browser(self) -> Browser:
        b = Browser(self.stack.base_url, new_address())
        self.browsers.append(b)
        return b

    async def start(self, identity: Identity, provider: str = "trusted", *, ticket: dict[str, Any] | None = None,
                    link: bool | None = None, storefront: Storefront | None = None) -> tuple[Browser, str]:
        """The storefront starts a sign-in; a new browser signs in at the provider as `identity`. Returns the
        browser and the URL the provider sent it back to (Ticketbooth's callback, not yet delivered)."""
        browser = self.browser()
        url = await (storefront or self.storefront).authorization_url(provider, browser.address, ticket=ticket,
                                                                      link=link)
        return browser, (await browser.sign_in(url, identity)).callback_url

    async def landing(self, identity: Identity, provider: str = "trusted", **kwargs: Any) -> Landing:
        """A whole sign-in up to the storefront's return URL."""
        browser, callback = await self.start(identity, provider, **kwargs)
        return await browser.land(callback)

    async def exchange(self, code: str, storefront: Storefront | None = None) -> httpx.Response:
        return await (storefront or self.storefront).exchange(code, new_address())

    async def ticket(self, identity: Identity, provider: str = "trusted", **kwargs: Any) -> dict[str, Any]:
        """A whole sign-in and the exchange: the CustomerAuthTicket."""
        landing = await self.landing(identity, provider, **kwargs)
        return ok(await self.exchange(landing.code))

    async def current(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """The account the ticket is for, asked with that ticket alone."""
        return ok(await self.http.get(f"{self.stack.base_url}{CURRENT}", headers=shopper_headers(ticket, new_address())))

    async def register(self, email: str) -> dict[str, Any]:
        """A shopper with a password: the ticket of Add-Account-And-Login."""
        return ok(await self.http.post(f"{self.stack.base_url}{REGISTER}", headers=self.storefront.headers(new_address()),
                                       json={"account": {"emailAddress": email}, "password": PASSWORD}))

    async def login(self, email: str) -> dict[str, Any]:
        return ok(await self.http.post(f"{self.stack.base_url}{LOGIN}", headers=self.storefront.headers(new_address()),
                                       json={"username": email, "password": PASSWORD}))

    async def accounts_with(self, email: str) -> list[dict[str, Any]]:
        page = ok(await self.http.get(f"{self.stack.base_url}/api/commerce/customer/accounts", headers=self.admin,
                                      params={"filter": f"emailAddress eq '{email}'"}))
        items: list[dict[str, Any]] = page["items"]
        return items

    async def linked(self, account_id: int, ticket: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The account's linked identities, as its owner (with `ticket`) or as the admin app."""
        hdrs = shopper_headers(ticket, new_address()) if ticket is not None else self.admin
        page = ok(await self.http.get(f"{self.stack.base_url}{linked_identities_path(account_id)}", headers=hdrs))
        assert page["totalCount"] == len(page["items"]), page
        items: list[dict[str, Any]] = page["items"]
        return items

    async def gql(self, query: str, variables: dict[str, Any], user_claims: str | None = None,
                  site: int | None = None) -> dict[str, Any]:
        """One GraphQL operation as Kibo's storefront sends it (the app's Bearer token, the shopper's claims or
        `undefined`, no tenant or site unless `site` is given)."""
        hdrs = {"Authorization": f"Bearer {self.storefront.token}", "x-vol-user-claims": user_claims or "undefined",
                "X-Forwarded-For": new_address()}
        if site is not None:
            hdrs |= {"x-vol-tenant": str(TENANT), "x-vol-site": str(site)}
        r = await self.http.post(f"{self.stack.base_url}{GRAPHQL}", json={"query": query, "variables": variables},
                                 headers=hdrs)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer


@pytest.fixture
async def fed(stack: Stack) -> AsyncIterator[Federation]:
    async with httpx.AsyncClient(timeout=60) as http:
        base = stack.base_url
        admin_token = await app_token(http, base, ADMIN)
        admin = {"Authorization": f"Bearer {admin_token}", "x-vol-tenant": str(TENANT), "x-vol-site": str(SITE),
                 "X-Forwarded-For": new_address()}
        f = Federation(stack, http, Storefront(base, await app_token(http, base, STOREFRONT), http),
                       Storefront(base, await app_token(http, base, ANOTHER), http), admin)
        try:
            yield f
        finally:
            for b in f.browsers:
                await b.close()


def amr(ticket: dict[str, Any]) -> Any:
    """How the ticket says the shopper signed in (RFC 8176 `amr` of its JWT)."""
    return jwt.decode(ticket["jwtAccessToken"], options={"verify_signature": False})["amr"]


def assert_refused_page(landing: Landing) -> None:
    """A callback Ticketbooth refuses outright (state unknown, spent or missing): a plain 400 page, no redirect
    anywhere, nothing of a ticket or code in it."""
    r = landing.response
    assert r.status_code == 400, (r.status_code, r.headers.get("location"), r.text[:300])
    assert "location" not in r.headers
    assert "accessToken" not in r.text and "code=" not in r.text


# -- the code flow -----------------------------------------------------------------------------------

async def test_a_first_sign_in_creates_an_account_whose_ticket_works(fed: Federation) -> None:
    identity = fresh_identity("first", name="First Shopper")
    landing = await fed.landing(identity)
    assert set(query_of(landing.location)) == {"code"}, "the return URL gets the code and nothing else"
    ticket = ok(await fed.exchange(landing.code))
    assert ticket["requires2FA"] is False
    assert ticket["customerAccount"]["emailAddress"] == identity.email
    assert amr(ticket) == ["fed"]
    account = await fed.current(ticket)
    assert (account["id"], account["emailAddress"]) == (ticket["customerAccount"]["id"], identity.email)
    [linked] = await fed.linked(account["id"], ticket)
    trusted = fed.stack.providers["trusted"]
    assert (linked["providerId"], linked["providerAlias"], linked["subject"]) == (trusted.id, "trusted", identity.sub)
    assert linked["emailAddress"] == identity.email
    # a ticket like any other: the storefront refreshes it with its app token
    r = await fed.http.put(f"{fed.stack.base_url}{REFRESH}", params={"refreshToken": ticket["refreshToken"]},
                           headers=fed.storefront.headers(new_address()))
    assert ok(r)["customerAccount"]["id"] == account["id"]


async def test_a_guest_who_signs_in_keeps_the_guest_cart(fed: Federation) -> None:
    """The storefront starts the sign-in with the guest's anonymous ticket: the shopper's ticket names the guest
    (`prev_sub`, Kibo's previousAnonymousUserId), so the storefront merges the guest cart."""
    guest = ok(await fed.http.get(f"{fed.stack.base_url}{LOGIN}/anonymousshopper",
                                  headers=fed.storefront.headers(new_address())))
    ticket = await fed.ticket(fresh_identity("guest"), ticket=guest)
    claims = jwt.decode(ticket["jwtAccessToken"], options={"verify_signature": False})
    assert claims["prev_sub"] == anonymous_id(guest) != ticket["userId"]


async def test_the_same_identity_again_signs_in_to_the_same_account(fed: Federation) -> None:
    identity = fresh_identity("again")
    first = await fed.ticket(identity)
    second = await fed.ticket(identity)
    assert second["customerAccount"]["id"] == first["customerAccount"]["id"]
    assert second["refreshToken"] != first["refreshToken"]
    # the provider's email changed since: the identity (provider, subject) still names the same account
    third = await fed.ticket(Identity(sub=identity.sub, email=f"{unique('moved')}@example.com"))
    assert third["customerAccount"]["id"] == first["customerAccount"]["id"]
    assert len(await fed.accounts_with(str(identity.email))) == 1
    assert len(await fed.linked(first["customerAccount"]["id"])) == 1


async def test_a_provider_posting_the_browser_back_signs_in_too(fed: Federation) -> None:
    """response_mode=form_post: the provider's page posts code and state to the callback (POST)."""
    identity = fresh_identity("posted")
    browser = fed.browser()
    sign_in = await browser.sign_in(await fed.storefront.authorization_url("posting", browser.address), identity)
    assert sign_in.form is not None and set(sign_in.form) >= {"code", "state"}
    tampered = SignIn(sign_in.callback_url, {**sign_in.form, "state": sign_in.state[::-1]})
    assert_refused_page(await browser.land(tampered))
    ticket = ok(await fed.exchange((await browser.land(sign_in)).code))
    assert (await fed.current(ticket))["emailAddress"] == identity.email
    assert_refused_page(await browser.land(sign_in))


async def test_a_provider_that_cannot_create_accounts_turns_an_unknown_email_away(fed: Federation) -> None:
    identity = fresh_identity("closed")
    landing = await fed.landing(identity, "closed")
    assert landing.error["error"] == "registration_closed"
    assert await fed.accounts_with(str(identity.email)) == []


async def test_a_shopper_who_says_no_at_the_provider_comes_back_with_an_error(fed: Federation) -> None:
    identity = fresh_identity("refused")
    browser = fed.browser()
    url = await fed.storefront.authorization_url("trusted", browser.address)
    r = await browser.client.get(url)
    interaction = str(httpx.URL(url).join(r.headers["location"]))
    r = await browser.client.post(interaction, data={"error": "access_denied"})
    callback = str(httpx.URL(interaction).join(r.headers["location"]))
    r = await browser.client.get(callback)
    back = str(httpx.URL(callback).join(r.headers["location"]))
    assert back.startswith(fed.stack.base_url) and query_of(back)["error"] == "access_denied"
    landing = await browser.land(back)
    assert landing.error["error"] == "access_denied"
    assert await fed.accounts_with(str(identity.email)) == []


async def test_a_site_asking_a_second_factor_gets_one_unless_the_provider_asserted_mfa(fed: Federation) -> None:
    """Site 202 has `two_factor: always`: a federated sign-in is one factor (a pending ticket, the mailed code
    to come), unless the provider's ID token says `amr` holds "mfa"."""
    outlet = Storefront(fed.stack.base_url, fed.storefront.token, fed.http, site=SITE_OTHER_SET)
    one = fresh_identity("one")
    pending = ok(await fed.exchange((await fed.landing(one, storefront=outlet)).code, outlet))
    assert pending["requires2FA"] is True and pending["jwtAccessToken"] is None
    # the shopper finishes it with the mailed code, as after a password
    code = await asyncio.to_thread(fed.stack.mailed_code, str(one.email))
    r = await fed.http.post(f"{fed.stack.base_url}{LOGIN}/2fa/auth",
                            headers=outlet.headers(new_address(), pending),
                            json={"userId": pending["userId"], "otpCode": code})
    ticket = ok(r)
    assert ticket["requires2FA"] is False and (await fed.current(ticket))["emailAddress"] == one.email
    two = fresh_identity("two", amr=("pwd", "mfa"))
    ticket = ok(await fed.exchange((await fed.landing(two, storefront=outlet)).code, outlet))
    assert ticket["requires2FA"] is False and amr(ticket) == ["fed", "mfa"]
    assert (await fed.current(ticket))["emailAddress"] == two.email


async def test_one_identity_signing_in_twice_at_once_makes_one_account(fed: Federation) -> None:
    identity = fresh_identity("twice")
    (first, one), (second, two) = await asyncio.gather(fed.start(identity), fed.start(identity))
    landings = await asyncio.gather(first.land(one), second.land(two))
    codes = [query_of(landing.location)["code"] for landing in landings if "code" in query_of(landing.location)]
    assert codes, [landing.location for landing in landings]
    [account] = await fed.accounts_with(str(identity.email))
    assert [i["subject"] for i in await fed.linked(account["id"])] == [identity.sub]
    for code in codes:
        assert ok(await fed.exchange(code))["customerAccount"]["id"] == account["id"]


async def test_an_inactive_account_cannot_sign_in_with_its_identity(fed: Federation) -> None:
    identity = fresh_identity("inactive")
    account_id = (await fed.ticket(identity))["customerAccount"]["id"]
    path = f"{fed.stack.base_url}/api/commerce/customer/accounts/{account_id}"
    account = ok(await fed.http.get(path, headers=fed.admin))
    ok(await fed.http.put(path, headers=fed.admin, json={**account, "isActive": False}))
    assert (await fed.landing(identity)).error["error"] == "account_unavailable"


async def test_a_lock_from_failed_passwords_does_not_stop_a_linked_identity(fed: Federation) -> None:
    """The owner of an account that guessers locked signs in with the provider, which lifts the lock (as a mailed
    one-time code does)."""
    email = f"{unique('locked')}@example.com"
    account_id = (await fed.register(email))["customerAccount"]["id"]
    identity = Identity(sub=unique("sub"), email=email)
    assert (await fed.ticket(identity))["customerAccount"]["id"] == account_id
    login = f"{fed.stack.base_url}{LOGIN}"
    for _ in range(MAX_FAILED_LOGINS):
        r = await fed.http.post(login, headers=fed.storefront.headers(new_address()),
                                json={"username": email, "password": "not the passphrase at all"})
        assert r.status_code == 401, r.text
    r = await fed.http.post(login, headers=fed.storefront.headers(new_address()),
                            json={"username": email, "password": PASSWORD})
    assert r.status_code != 200, "the account should be locked by now"
    assert (await fed.ticket(identity))["customerAccount"]["id"] == account_id
    assert (await fed.login(email))["customerAccount"]["id"] == account_id


async def test_a_provider_disabled_during_a_sign_in_ends_it(fed: Federation) -> None:
    identity = fresh_identity("switched")
    browser, callback = await fed.start(identity, "switched")
    path = f"{fed.stack.base_url}{IDENTITY_PROVIDERS}/{fed.stack.providers['switched'].id}"
    ok(await fed.http.put(path, headers=fed.admin, json={"isEnabled": False}))
    try:
        assert (await browser.land(callback)).error["error"] == "provider_disabled"
        r = await fed.storefront.authorize("switched", new_address())
        assert r.status_code == 404 and "authorizationUrl" not in r.text, r.text
    finally:
        ok(await fed.http.put(path, headers=fed.admin, json={"isEnabled": True}))
    assert await fed.accounts_with(str(identity.email)) == []


# -- state, nonce, ID token, code ------------------------------------------------------------------

async def test_a_tampered_state_is_refused_and_changes_nothing(fed: Federation) -> None:
    identity = fresh_identity("state")
    browser, callback = await fed.start(identity)
    state = query_of(callback)["state"]
    tampered = state[:-1] + ("A" if state[-1] != "A" else "B")
    assert_refused_page(await browser.land(with_query(callback, state=tampered)))
    assert_refused_page(await browser.land(with_query(callback, state=None)))
    assert_refused_page(await browser.land(with_query(callback, state="")))
    assert await fed.accounts_with(str(identity.email)) == []
    # the genuine answer still works, once
    landing = await browser.land(callback)
    ok(await fed.exchange(landing.code))
    assert_refused_page(await browser.land(callback))


async def test_bent_callbacks_and_exchanges_get_clear_refusals(fed: Federation) -> None:
    """Whatever a browser or a storefront sends, a 400 or 401, never a 500, and the genuine sign-in still works."""
    identity = fresh_identity("bent")
    browser, callback = await fed.start(identity)
    state = query_of(callback)["state"]
    for bent in (with_query(callback, state="x" * 5000), callback + "&state=" + state[::-1], callback.replace(state, "%ff%fe"),
                 with_query(callback, state=state + "\u0000"), fed.stack.base_url + CALLBACK,
                 with_query(callback, state="<script>alert(1)</script>", error="<img src=x onerror=alert(1)>")):
        r = await browser.client.get(bent)
        assert r.status_code == 400 and "location" not in r.headers, (bent[:200], r.status_code, r.text[:200])
        assert "<script>" not in r.text and "<img" not in r.text, "the page echoes no input"
    r = await browser.client.post(fed.stack.base_url + CALLBACK, content=b"\xff\xfe", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text[:200]
    exchange = f"{fed.stack.base_url}{EXCHANGE}"
    bodies: list[Any] = [{}, {"code": 12}, {"code": ""}, {"code": None}, {"code": "x" * 10_000}, [], "code"]
    for body in bodies:
        r = await fed.http.post(exchange, headers=fed.storefront.headers(new_address()), json=body)
        assert r.status_code in (400, 401), (body, r.status_code, r.text)
    r = await fed.http.post(exchange, headers=fed.storefront.headers(new_address()), content=b"{not json")
    assert r.status_code == 400, r.text
    ok(await fed.exchange((await browser.land(callback)).code))


async def test_a_code_of_another_sign_in_is_refused(fed: Federation) -> None:
    """Code injection: the state of one sign-in with the provider's code of another (whose PKCE verifier and
    nonce are not this flow's)."""
    victim, attacker = fresh_identity("victim"), fresh_identity("attacker")
    browser, callback = await fed.start(victim)
    _, other = await fed.start(attacker)
    mark = fed.stack.log_mark()
    landing = await browser.land(with_query(callback, code=query_of(other)["code"]))
    assert landing.error["error"] == "provider_error"
    # the provider refused the code (its PKCE challenge is the attacker's flow's, not this verifier's)
    assert "token endpoint answered 400 (invalid_grant)" in fed.stack.log(mark)
    assert await fed.accounts_with(str(attacker.email)) == []
    assert await fed.accounts_with(str(victim.email)) == []


async def test_a_nonce_changed_in_the_authorization_url_is_refused(fed: Federation) -> None:
    identity = fresh_identity("nonce")
    browser = fed.browser()
    url = await fed.storefront.authorization_url("trusted", browser.address)
    nonce = query_of(url)["nonce"]
    sign_in = await browser.sign_in(with_query(url, nonce=nonce[::-1] + "x"), identity)
    mark = fed.stack.log_mark()
    landing = await browser.land(sign_in)
    assert landing.error["error"] == "invalid_id_token"
    log = fed.stack.log(mark)
    assert "was refused: claim-nonce" in log
    assert nonce not in log and query_of(sign_in.callback_url)["state"] not in log
    assert await fed.accounts_with(str(identity.email)) == []


async def test_an_expired_id_token_is_refused(fed: Federation) -> None:
    identity = fresh_identity("expired", expired_by=3600)
    mark = fed.stack.log_mark()
    landing = await fed.landing(identity)
    assert landing.error["error"] == "invalid_id_token"
    assert "was refused: claim-exp" in fed.stack.log(mark)
    assert await fed.accounts_with(str(identity.email)) == []


async def test_an_id_token_signed_with_the_client_secret_is_refused(fed: Federation) -> None:
    """HS256 (the client secret as the key) proves nothing the client could not forge itself: only the
    provider's own (asymmetric) keys count."""
    identity = fresh_identity("hmac")
    mark = fed.stack.log_mark()
    assert (await fed.landing(identity, "hmac")).error["error"] == "invalid_id_token"
    assert "was refused: signature" in fed.stack.log(mark)
    assert await fed.accounts_with(str(identity.email)) == []


async def test_an_exchange_code_works_once(fed: Federation) -> None:
    browser, callback = await fed.start(fresh_identity("replay"))
    landing = await browser.land(callback)
    ticket = ok(await fed.exchange(landing.code))
    replayed = await fed.exchange(landing.code)
    assert replayed.status_code == 401 and replayed.json()["errorCode"] == "INVALID_EXCHANGE_CODE", replayed.text
    assert "accessToken" not in replayed.text
    account_id = ticket["customerAccount"]["id"]
    assert (await fed.current(ticket))["id"] == account_id
    # none of the flow's secrets is kept in the clear, logged, audited or published
    secrets_seen = [landing.code, query_of(callback)["state"], query_of(callback)["code"]]
    recorded = [json.dumps(row[0]) for row in await query(fed.stack.database_url, select(t.audit_entries.c.detail))]
    recorded += [json.dumps(row[0]) for row in await query(fed.stack.database_url,
                                                            select(t.events.c.extended_properties))]
    assert recorded and "identity.linked" in {row[0] for row in await query(
        fed.stack.database_url, select(t.audit_entries.c.event).where(t.audit_entries.c.account_id == account_id))}
    for secret in secrets_seen:
        assert secret not in fed.stack.log()
        assert not [r for r in recorded if secret in r]
    for table in (t.federation_flows, t.federation_codes, t.linked_identities):
        rows = " ".join(str(row) for row in await query(fed.stack.database_url, select(table)))
        assert not [secret for secret in secrets_seen if secret in rows], table.name


async def test_an_exchange_code_raced_gives_one_ticket(fed: Federation) -> None:
    landing = await fed.landing(fresh_identity("race"))
    answers = await asyncio.gather(*(fed.exchange(landing.code) for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [200] + [401] * 5, [r.text for r in answers]


async def test_an_exchange_code_is_for_the_application_and_site_that_started_the_sign_in(fed: Federation) -> None:
    """Another application of the tenant, an application of another tenant, the same application at another site
    of the same customer set: each is refused, and the code it tried is spent (the storefront's own exchange
    fails after it: a leaked code is worth one try, to nobody)."""
    other_tenant = Storefront(fed.stack.base_url, await app_token(fed.http, fed.stack.base_url, OTHER), fed.http,
                              site=OTHER_SITE, tenant=OTHER_TENANT)
    other_site = Storefront(fed.stack.base_url, fed.storefront.token, fed.http, site=SITE_SAME_SET)
    for thief in (fed.another, other_tenant, other_site):
        landing = await fed.landing(fresh_identity("stolen"))
        r = await fed.exchange(landing.code, thief)
        assert r.status_code == 401 and r.json()["errorCode"] == "INVALID_EXCHANGE_CODE", r.text
        assert "accessToken" not in r.text
        r = await fed.exchange(landing.code)
        assert r.status_code == 401 and r.json()["errorCode"] == "INVALID_EXCHANGE_CODE", r.text


async def test_a_code_planted_in_another_shoppers_browser_is_refused(fed: Federation) -> None:
    """Login CSRF: an attacker signs in with their own identity, stops before the storefront, and makes the
    victim's browser open the return URL with the attacker's code. The storefront exchanges it with the flowId
    of the victim's own sign-in, kept in the victim's session: refused (and the planted code is spent)."""
    victim_browser = fed.browser()
    started = ok(await fed.storefront.authorize("trusted", victim_browser.address))
    assert set(started) >= {"authorizationUrl", "expiresOn", "flowId"}
    attacker = fresh_identity("csrf")
    planted = (await fed.landing(attacker)).code
    r = await fed.storefront.exchange(planted, new_address(), started["flowId"])
    assert r.status_code == 401 and r.json()["errorCode"] == "INVALID_EXCHANGE_CODE", r.text
    r = await fed.storefront.exchange(planted, new_address())
    assert r.status_code == 401, r.text
    # the victim's own sign-in goes on, and its code works with its flowId
    victim = fresh_identity("victim")
    code = (await victim_browser.land(await victim_browser.sign_in(started["authorizationUrl"], victim))).code
    ticket = ok(await fed.storefront.exchange(code, new_address(), started["flowId"]))
    assert ticket["customerAccount"]["emailAddress"] == victim.email


async def test_a_return_url_not_allowed_is_refused(fed: Federation) -> None:
    address = new_address()
    for url in (RETURN_URL + "/", RETURN_URL + "?next=/", RETURN_URL.upper(), RETURN_URL.replace("https", "http"),
                "https://shop.example.test.evil.test/account/social/return", "https://evil.test/", KIBO_RETURN_URL,
                RETURN_URL + "#x", "javascript:alert(1)", ""):
        r = await fed.storefront.authorize("trusted", address, return_url=url)
        assert r.status_code == 400, (url, r.status_code, r.text)
        assert "authorizationUrl" not in r.text
    r = await fed.storefront.authorize("no-such-provider", address)
    assert r.status_code in (400, 404), r.text
    assert "authorizationUrl" not in r.text


# -- linking -----------------------------------------------------------------------------------------

async def test_an_unverified_email_never_links_and_tells_nothing_of_the_account(fed: Federation) -> None:
    taken = f"{unique('taken')}@example.com"
    owner = await fed.register(taken)
    nobody = f"{unique('nobody')}@example.com"
    for provider in ("trusted", "untrusted"):
        on_taken = await fed.landing(Identity(sub=unique("sub"), email=taken, email_verified=False), provider)
        on_nobody = await fed.landing(Identity(sub=unique("sub"), email=nobody, email_verified=False), provider)
        assert on_taken.error == on_nobody.error, "the answer must not tell whether the email has an account"
        assert on_taken.error["error"] == "email_unverified"
    assert await fed.linked(owner["customerAccount"]["id"]) == []
    assert await fed.accounts_with(nobody) == []


async def test_a_trusted_providers_verified_email_links_the_existing_account(fed: Federation) -> None:
    email = f"{unique('trusting')}@example.com"
    owner = await fed.register(email)
    account_id = owner["customerAccount"]["id"]
    identity = Identity(sub=unique("sub"), email=email.upper())
    ticket = await fed.ticket(identity)
    assert ticket["customerAccount"]["id"] == account_id
    [linked] = await fed.linked(account_id, owner)
    assert (linked["providerAlias"], linked["subject"]) == ("trusted", identity.sub)
    assert len(await fed.accounts_with(email)) == 1


async def test_an_untrusted_provider_needs_the_shopper_to_sign_in_and_link(fed: Federation) -> None:
    email = f"{unique('careful')}@example.com"
    owner = await fed.register(email)
    account_id = owner["customerAccount"]["id"]
    identity = Identity(sub=unique("sub"), email=email)
    landing = await fed.landing(identity, "untrusted")
    assert landing.error["error"] == "link_required"
    assert await fed.linked(account_id) == []
    # the shopper signs in with the password, then links
    signed_in = await fed.login(email)
    ticket = await fed.ticket(identity, "untrusted", ticket=signed_in, link=True)
    assert ticket["customerAccount"]["id"] == account_id
    [linked] = await fed.linked(account_id, signed_in)
    assert (linked["providerAlias"], linked["subject"]) == ("untrusted", identity.sub)
    # from now on the identity signs in to that account by itself
    again = await fed.ticket(identity, "untrusted")
    assert again["customerAccount"]["id"] == account_id


async def test_an_identity_linked_to_one_account_cannot_be_linked_to_another(fed: Federation) -> None:
    identity = fresh_identity("owned")
    first = await fed.ticket(identity)
    other_email = f"{unique('grabber')}@example.com"
    await fed.register(other_email)
    grabber = await fed.login(other_email)
    landing = await fed.landing(identity, "trusted", ticket=grabber, link=True)
    assert landing.error["error"] == "identity_linked_elsewhere"
    assert await fed.linked(grabber["customerAccount"]["id"]) == []
    assert len(await fed.linked(first["customerAccount"]["id"])) == 1


async def test_an_identity_does_not_sign_in_across_customer_sets(fed: Federation) -> None:
    """Site 202 is in customer set "outlet": the account site 200's sign-in made is not one of its shoppers, so
    the identity does not sign in there (and makes no second account: an identity is linked once)."""
    identity = fresh_identity("crossing")
    account_id = (await fed.ticket(identity))["customerAccount"]["id"]
    outlet = Storefront(fed.stack.base_url, fed.storefront.token, fed.http, site=SITE_OTHER_SET)
    landing = await fed.landing(identity, storefront=outlet)
    assert landing.error["error"] == "identity_linked_elsewhere"
    assert [a["id"] for a in await fed.accounts_with(str(identity.email))] == [account_id]


async def test_linking_needs_a_registered_shoppers_ticket(fed: Federation) -> None:
    anonymous = ok(await fed.http.get(f"{fed.stack.base_url}{LOGIN}/anonymousshopper",
                                      headers=fed.storefront.headers(new_address())))
    for ticket in (None, anonymous):
        r = await fed.storefront.authorize("untrusted", new_address(), link=True, ticket=ticket)
        assert r.status_code == 401 and "authorizationUrl" not in r.text, r.text


async def test_unlinking_keeps_a_way_to_sign_in(fed: Federation) -> None:
    # an account made by a sign-in has no password: its only identity stays
    identity = fresh_identity("only")
    ticket = await fed.ticket(identity)
    account_id = ticket["customerAccount"]["id"]
    [linked] = await fed.linked(account_id, ticket)
    path = f"{fed.stack.base_url}{linked_identities_path(account_id)}/{linked['id']}"
    r = await fed.http.delete(path, headers=shopper_headers(ticket, new_address()))
    assert r.status_code == 409 and r.json()["errorCode"] == "VALIDATION_CONFLICT", r.text
    assert len(await fed.linked(account_id)) == 1
    # an account with a password: its owner unlinks; another shopper cannot
    email = f"{unique('unlink')}@example.com"
    owner = await fed.register(email)
    account_id = owner["customerAccount"]["id"]
    identity = Identity(sub=unique("sub"), email=email)
    assert (await fed.ticket(identity))["customerAccount"]["id"] == account_id
    [linked] = await fed.linked(account_id, owner)
    path = f"{fed.stack.base_url}{linked_identities_path(account_id)}/{linked['id']}"
    r = await fed.http.delete(path, headers=shopper_headers(ticket, new_address()))
    assert r.status_code in (403, 404), r.text
    assert len(await fed.linked(account_id)) == 1
    r = await fed.http.delete(path, headers=shopper_headers(owner, new_address()))
    assert r.status_code == 204, r.text
    assert await fed.linked(account_id) == []
    # the identity names the account no more: with an email nobody has, it makes a new account
    moved = await fed.ticket(Identity(sub=identity.sub, email=f"{unique('moved')}@example.com"))
    assert moved["customerAccount"]["id"] != account_id


async def test_a_shopper_signed_in_with_one_provider_links_another_and_may_then_unlink_the_first(
        fed: Federation) -> None:
    first = fresh_identity("first-way")
    ticket = await fed.ticket(first)
    account_id = ticket["customerAccount"]["id"]
    second = Identity(sub=unique("sub"), email=f"{unique('elsewhere')}@example.com")
    linked_by = await fed.ticket(second, "untrusted", ticket=ticket, link=True)
    assert linked_by["customerAccount"]["id"] == account_id
    identities = {i["providerAlias"]: i for i in await fed.linked(account_id, ticket)}
    assert {alias: i["subject"] for alias, i in identities.items()} == {"trusted": first.sub, "untrusted": second.sub}
    r = await fed.http.delete(f"{fed.stack.base_url}{linked_identities_path(account_id)}/{identities['trusted']['id']}",
                              headers=shopper_headers(ticket, new_address()))
    assert r.status_code == 204, r.text
    # the second is now the last way in
    r = await fed.http.delete(f"{fed.stack.base_url}{linked_identities_path(account_id)}/{identities['untrusted']['id']}",
                              headers=shopper_headers(ticket, new_address()))
    assert r.status_code == 409, r.text
    assert (await fed.ticket(second, "untrusted"))["customerAccount"]["id"] == account_id


async def test_an_account_made_by_a_sign_in_may_unlink_once_it_has_a_password(fed: Federation) -> None:
    """An account a sign-in made has no password; the forgotten-password mail goes to it all the same (it signs
    in, with its identity: tests/federation sets the password with that mail), and an administrator's
    Create-Login gives it one too; from then on the identity is not the last way in."""
    identity = fresh_identity("later")
    ticket = await fed.ticket(identity)
    account_id, email = ticket["customerAccount"]["id"], str(identity.email)
    r = await fed.http.post(f"{fed.stack.base_url}{RESET_PASSWORD}", headers=fed.storefront.headers(new_address()),
                            json={"emailAddress": email})
    assert r.status_code == 200, r.text
    [(sent,)] = await query(fed.stack.database_url, select(t.audit_entries.c.detail).where(
        t.audit_entries.c.event == "password.reset-requested").order_by(t.audit_entries.c.id.desc()).limit(1))
    assert sent == {"sent": True}
    r = await fed.http.post(f"{fed.stack.base_url}/api/commerce/customer/accounts/{account_id}/Create-Login",
                            headers=fed.admin, json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert (await fed.login(email))["customerAccount"]["id"] == account_id
    [linked] = await fed.linked(account_id)
    r = await fed.http.delete(f"{fed.stack.base_url}{linked_identities_path(account_id)}/{linked['id']}",
                              headers=shopper_headers(ticket, new_address()))
    assert r.status_code == 204, r.text
    assert await fed.linked(account_id) == []


# -- GraphQL -----------------------------------------------------------------------------------------

START = """mutation start($input: OidcAuthorizationInput!) {
  createOidcAuthorization(oidcAuthorizationInput: $input) { authorizationUrl expiresOn flowId }
}"""
SECRET = "query secret($secretId: String!) { getOneTimeSecret(secretId: $secretId) { value } }"
EXCHANGE_CODE = """mutation exchange($code: String!, $flowId: String) {
  exchangeOidcCode(code: $code, flowId: $flowId) {
    accessToken jwtAccessToken refreshToken userId customerAccount { id emailAddress }
  }
}"""
UNLINK = """mutation unlink($accountId: Int!, $identityId: Int!) {
  deleteCustomerAccountLinkedIdentity(accountId: $accountId, identityId: $identityId)
}"""
LINKED = """query linked($accountId: Int!) {
  customerAccountLinkedIdentities(accountId: $accountId) { totalCount items { id providerAlias subject } }
}"""


async def test_graphql_sign_in_through_get_one_time_secret_and_exchange_oidc_code(fed: Federation) -> None:
    """Site 201 hands the code to its return URL as `secretId`, which the storefront redeems with Kibo's
    `getOneTimeSecret` (its value: the ticket); site 200 uses `exchangeOidcCode`."""
    for how, site, return_url, parameter in (("getOneTimeSecret", SITE_SAME_SET, KIBO_RETURN_URL, "secretId"),
                                             ("exchangeOidcCode", None, RETURN_URL, "code")):
        identity = fresh_identity(how)
        answer = await fed.gql(START, {"input": {"provider": "trusted", "returnUrl": return_url}}, site=site)
        assert "errors" not in answer, answer
        started = answer["data"]["createOidcAuthorization"]
        browser = fed.browser()
        sign_in = await browser.sign_in(started["authorizationUrl"], identity)
        code = (await browser.land(sign_in, return_url, parameter)).code
        if how == "getOneTimeSecret":
            answer = await fed.gql(SECRET, {"secretId": code}, site=site)
            assert "errors" not in answer, answer
            ticket = answer["data"]["getOneTimeSecret"]["value"]  # the ticket itself (an Object), as Kibo's storefront reads it
            assert isinstance(ticket, dict) and ticket["customerAccount"]["emailAddress"] == identity.email
            again = await fed.gql(SECRET, {"secretId": code}, site=site)
        else:
            answer = await fed.gql(EXCHANGE_CODE, {"code": code, "flowId": started["flowId"]})
            assert "errors" not in answer, answer
            ticket = answer["data"]["exchangeOidcCode"]
            again = await fed.gql(EXCHANGE_CODE, {"code": code, "flowId": started["flowId"]})
        assert again["errors"][0]["extensions"]["response"]["status"] == 401, again
        account = await fed.current(ticket)
        assert account["emailAddress"] == identity.email
        answer = await fed.gql(LINKED, {"accountId": account["id"]}, user_claims=ticket["accessToken"])
        assert "errors" not in answer, answer
        linked = answer["data"]["customerAccountLinkedIdentities"]
        assert [(i["providerAlias"], i["subject"]) for i in linked["items"]] == [("trusted", identity.sub)]
        # the account's only way in (no password): unlinking it is refused, as over REST
        answer = await fed.gql(UNLINK, {"accountId": account["id"], "identityId": linked["items"][0]["id"]},
                               user_claims=ticket["accessToken"])
        assert answer["errors"][0]["extensions"]["response"]["status"] == 409, answer
        assert len(await fed.linked(account["id"])) == 1


async def test_the_providers_client_secret_is_never_shown(fed: Federation) -> None:
    page = ok(await fed.http.get(f"{fed.stack.base_url}{IDENTITY_PROVIDERS}", headers=fed.admin))
    assert {p["alias"] for p in page["items"]} >= {"trusted", "untrusted", "closed"}
    for registered in fed.stack.providers.values():
        assert registered.client.client_secret not in json.dumps(page)
        assert registered.client.client_secret not in fed.stack.log()

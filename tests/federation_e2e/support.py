"""The parts of the federation end-to-end tests: the OpenID provider process (provider.mjs, the npm
oidc-provider), a shopper's browser driven with plain HTTP, and the storefront server's calls.

The browser is an httpx client with a cookie jar that follows no redirect by itself: it follows the
provider's redirects, fills the provider's sign-in form, and stops at Ticketbooth's callback, whose answer
(a 303 to the storefront's return URL, or an error page) is what the tests look at. The storefront's return
URL is never fetched: the storefront server reads `code` from it and exchanges it with its app credential."""

from __future__ import annotations

import html
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from tests.api.support import CUSTOMER
from tests.conftest import SITE, TENANT

HERE = Path(__file__).resolve().parent
PROVIDER_SCRIPT = HERE / "provider.mjs"
OIDC_PROVIDER_PACKAGE = HERE.parent / "conformance" / "node_modules" / "oidc-provider" / "package.json"

AUTHORIZE = f"{CUSTOMER}/authtickets/oidc/authorize"
CALLBACK = f"{CUSTOMER}/authtickets/oidc/callback"
EXCHANGE = f"{CUSTOMER}/authtickets/oidc/exchange"
IDENTITY_PROVIDERS = f"{CUSTOMER}/identityproviders"
RETURN_URL = "https://shop.example.test/account/social/return"
"""The storefront page the callback sends the browser back to (site 200's `federation.return_urls`)."""
KIBO_RETURN_URL = "https://kibo.example.test/cart?takeover=1"
"""Site 201's return URL, with a query of its own; its code arrives as `secretId` (`code_parameter`), the
parameter the cart-takeover page of Kibo's Next.js storefront hands to `getOneTimeSecret`."""


def linked_identities_path(account_id: int) -> str:
    return f"{CUSTOMER}/accounts/{account_id}/linkedidentities"


# -- the provider process --------------------------------------------------------------------------

@dataclass(frozen=True)
class Client:
    """A client registered at the provider (and, with the same id and secret, an identity provider at
    Ticketbooth)."""

    client_id: str
    client_secret: str
    redirect_uri: str
    id_token_alg: str = "RS256"

    def as_json(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "redirect_uri": self.redirect_uri,
                "id_token_signed_response_alg": self.id_token_alg}


class OidcProvider:
    """`node provider.mjs` with these clients: an OpenID provider at `issuer` until `stop` (or until this
    process dies: the provider exits when its stdin closes)."""

    START_SECONDS = 60.0

    def __init__(self, clients: list[Client], id_token_ttl: int = 300, workdir: Path | None = None) -> None:
        if shutil.which("node") is None:
            raise RuntimeError("node is not on PATH; the federation tests need Node.js >= 20")
        if not OIDC_PROVIDER_PACKAGE.exists():
            raise RuntimeError("oidc-provider is not installed: run `make test` (or `cd tests/conformance && npm ci`)")
        self.stderr: IO[str] = (open(workdir / "provider.log", "w+") if workdir is not None
                                else tempfile.TemporaryFile("w+"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TB_")}
        self.process = subprocess.Popen(
            ["node", str(PROVIDER_SCRIPT), "--clients", json.dumps([c.as_json() for c in clients]),
             "--id-token-ttl", str(id_token_ttl), "--timeout", "1800"],
            env=env, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.issuer = self._first_line()

    def _first_line(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.START_SECONDS)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stderr.seek(0)
            said = self.stderr.read()  # before stop() closes it
            self.stop()
            raise RuntimeError(f"provider.mjs did not start within {self.START_SECONDS:g} s (first line {line!r}): {said}")
        return line

    def stop(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


# -- the shopper's identity at the provider ------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """Who signs in at the provider: what its sign-in form is posted (see provider.mjs)."""

    sub: str
    email: str | None = None
    email_verified: bool = True
    name: str | None = None
    amr: tuple[str, ...] = ()
    expired_by: int = 0
    """Seconds by which the ID token has already expired when the provider issues it (0: a fresh token)."""

    def form(self) -> dict[str, str]:
        fields = {"sub": self.sub, "email_verified": "true" if self.email_verified else "false"}
        if self.email is not None:
            fields["email"] = self.email
        if self.name is not None:
            fields["name"] = self.name
        if self.amr:
            fields["amr"] = " ".join(self.amr)
        if self.expired_by:
            fields["expired_by"] = str(self.expired_by)
        return fields


# -- the browser -----------------------------------------------------------------------------------

def with_query(url: str, **changes: str | None) -> str:
    """`url` with these query parameters replaced (None: removed), the others kept in order."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qs(parts.query, keep_blank_values=True).items()]
    pairs = [(k, vs[-1]) for k, vs in query if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(pairs)))


def query_of(url: str) -> dict[str, str]:
    return {k: vs[-1] for k, vs in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@dataclass
class SignIn:
    """A browser's trip through the provider up to Ticketbooth's callback (not yet delivered)."""

    callback_url: str
    """Where the provider sent the browser back: Ticketbooth's callback with `code`, `state` (and `iss`) in its
    query, or (response_mode=form_post) the action of the form the provider's page posts."""
    form: dict[str, str] | None = None
    """The fields of the provider's self-submitting form (response_mode=form_post); None: a plain redirect."""

    @property
    def answer(self) -> dict[str, str]:
        """`code`, `state` (and `iss`) the provider answered with."""
        return dict(self.form) if self.form is not None else query_of(self.callback_url)

    @property
    def state(self) -> str:
        return self.answer["state"]

    @property
    def provider_code(self) -> str:
        return self.answer["code"]


FORM_POST = re.compile(r'<form method="post" action="([^"]+)">(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"/>')


def form_post(page: str) -> tuple[str, dict[str, str]] | None:
    """The action and fields of a provider's response_mode=form_post page (which a browser submits by itself)."""
    found = FORM_POST.search(page)
    if found is None:
        return None
    return html.unescape(found.group(1)), {k: html.unescape(v) for k, v in HIDDEN.findall(found.group(2))}


@dataclass
class Landing:
    """Ticketbooth's answer to the callback."""

    response: httpx.Response
    return_url: str = RETURN_URL
    code_parameter: str = "code"

    @property
    def location(self) -> str:
        assert self.response.status_code == 303, (self.response.status_code, self.response.text[:500])
        location = str(self.response.headers["location"])
        assert location.startswith(self.return_url.split("?", 1)[0] + "?"), location
        own = query_of(self.return_url)
        assert {k: v for k, v in query_of(location).items() if k in own} == own, "the return URL's own query is kept"
        return location

    @property
    def code(self) -> str:
        """The one-time exchange code the storefront's return URL received (the callback must have succeeded)."""
        params = query_of(self.location)
        assert "error" not in params, params
        return params[self.code_parameter]

    @property
    def error(self) -> dict[str, str]:
        """`error` and `error_description` the return URL received (the callback must have failed with a valid state)."""
        params = query_of(self.location)
        assert self.code_parameter not in params, params
        assert "error" in params and params.get("error_description"), params
        return {k: params[k] for k in ("error", "error_description")}


@dataclass
class Browser:
    """One shopper's browser: its cookies, the address Ticketbooth sees it at."""

    ticketbooth: str
    address: str
    client: httpx.AsyncClient = field(init=False)
    hops: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(timeout=60, follow_redirects=False,
                                        headers={"X-Forwarded-For": self.address, "Accept": "text/html"})

    async def close(self) -> None:
        await self.client.aclose()

    async def sign_in(self, authorization_url: str, identity: Identity) -> SignIn:
        """Open the authorization URL, sign in at the provider as `identity`, and stop where the provider
        sends the browser back to Ticketbooth."""
        url = authorization_url
        for _ in range(12):
            if url.startswith(self.ticketbooth):
                return SignIn(url)
            self.hops.append(url)
            r = await self.client.get(url)
            if r.status_code in (302, 303):
                url = str(httpx.URL(url).join(r.headers["location"]))
                continue
            assert r.status_code == 200, f"GET {url}: {r.status_code} {r.text[:500]}"
            posting = form_post(r.text)
            if posting is not None and posting[0].startswith(self.ticketbooth):
                return SignIn(*posting)
            assert "/interaction/" in url and "<form" in r.text, f"GET {url}: not the sign-in form: {r.text[:500]}"
            posted = await self.client.post(url, data=identity.form())
            assert posted.status_code == 303, f"POST {url}: {posted.status_code} {posted.text[:500]}"
            url = str(httpx.URL(url).join(posted.headers["location"]))
        raise AssertionError(f"the provider never sent the browser back to Ticketbooth: {self.hops}")

    async def land(self, sign_in: SignIn | str, return_url: str = RETURN_URL, code_parameter: str = "code") -> Landing:
        """Deliver the provider's answer (or this URL) to Ticketbooth's callback."""
        if isinstance(sign_in, SignIn) and sign_in.form is not None:
            return Landing(await self.client.post(sign_in.callback_url, data=sign_in.form), return_url, code_parameter)
        url = sign_in.callback_url if isinstance(sign_in, SignIn) else sign_in
        return Landing(await self.client.get(url), return_url, code_parameter)


# -- the storefront server -----------------------------------------------------------------------

@dataclass
class Storefront:
    """A storefront's server: its application token; every call from the shopper's address."""

    base_url: str
    token: str
    http: httpx.AsyncClient
    site: int = SITE
    tenant: int = TENANT

    def headers(self, address: str, ticket: dict[str, Any] | None = None) -> dict[str, str]:
        hdrs = {"Authorization": f"Bearer {self.token}", "x-vol-tenant": str(self.tenant), "x-vol-site": str(self.site),
                "X-Forwarded-For": address}
        if ticket is not None:
            hdrs["x-vol-user-claims"] = str(ticket["accessToken"])
        return hdrs

    async def authorize(self, provider: str, address: str, return_url: str = RETURN_URL, link: bool | None = None,
                        ticket: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"provider": provider, "returnUrl": return_url}
        if link is not None:
            body["link"] = link
        return await self.http.post(f"{self.base_url}{AUTHORIZE}", headers=self.headers(address, ticket), json=body)

    async def authorization_url(self, provider: str, address: str, **kwargs: Any) -> str:
        r = await self.authorize(provider, address, **kwargs)
        assert r.status_code == 200, r.text
        url: str = r.json()["authorizationUrl"]
        return url

    async def exchange(self, code: str, address: str, flow_id: str | None = None) -> httpx.Response:
        """The exchange; with `flow_id` (the one the authorization answered, kept in the shopper's session), a
        code of a sign-in that another browser started is refused (login CSRF)."""
        body = {"code": code} if flow_id is None else {"code": code, "flowId": flow_id}
        return await self.http.post(f"{self.base_url}{EXCHANGE}", headers=self.headers(address), json=body)


async def app_token(http: httpx.AsyncClient, base_url: str, creds: tuple[str, str]) -> str:
    r = await http.post(f"{base_url}/api/platform/applications/authtickets/oauth", json={
        "client_id": creds[0], "client_secret": creds[1], "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def shopper_headers(ticket: dict[str, Any], address: str) -> dict[str, str]:
    """A shopper's own calls: the ticket's JWT alone (it names tenant and site)."""
    return {"Authorization": f"Bearer {ticket['jwtAccessToken']}", "X-Forwarded-For": address}


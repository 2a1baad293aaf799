"""The storefront's server of the browser tests: a tiny web server in the test process that serves the test
page (page/) and, as a real storefront's server does, forwards the page's calls to Ticketbooth with its
own app credential (the Bearer app token from client_credentials) and the shopper's ticket
(`x-vol-user-claims`, kept in a server-side session named by an HttpOnly cookie). The page never sees
the app secret, the app token or the shopper's tokens.

The page's calls (JSON in, JSON out; a Ticketbooth error passes through with its status and Kibo body):
- POST /storefront/login {username, password}          -> authtickets (password login); {accountId, emailAddress}
- POST /storefront/passkeys/registrationoptions {}     -> accounts/{id}/passkeys/registrationoptions
- POST /storefront/passkeys {challengeId, credential, name?} -> accounts/{id}/passkeys
- GET  /storefront/passkeys                            -> accounts/{id}/passkeys
- DELETE /storefront/passkeys/{passkeyId}              -> accounts/{id}/passkeys/{passkeyId} (204)
- POST /storefront/signin/options {username?}          -> authtickets/passkeys/options
- POST /storefront/signin {challengeId, credential}    -> authtickets/passkeys; {accountId, emailAddress}
- GET  /storefront/me                                  -> accounts/current (401 when signed out)
- POST /storefront/signout {}                          -> forgets the session's ticket

A session whose `graphql` is set makes the passkey calls as Kibo's storefront makes its calls: GraphQL
operations (`POST /graphql`, the twins of the REST calls) with the app's Bearer token and x-vol-user-claims
(the string `undefined` without a ticket) and no tenant or site header; the password login and
accounts/current stay REST, as there.

Like Kibo's storefront, a session holds an anonymous shopper's ticket before anyone signs in, and sends it
with a sign-in (x-vol-user-claims), so that the shopper's ticket names the anonymous visit
(previousAnonymousUserId, the JWT's prev_sub).

`PhishingProxy` is the attacker's copy of the site at another origin: it serves the same page and passes
the page's calls through to the real storefront, optionally rewriting the relying-party id of the sign-in
options to its own host (the only id a browser there accepts).

Each server listens on 127.0.0.1 on a free port, in threads of the test process, until `close()`.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.live_support import new_address

PAGE = Path(__file__).resolve().parent / "page"
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/storefront.js": ("storefront.js", "text/javascript; charset=utf-8")}
COOKIE = "sf_session"
CUSTOMER = "/api/commerce/customer"


@dataclass
class Session:
    """A browser's session at the storefront: the client address the storefront reports for it (each its
    own rate-limit bucket) and the shopper's ticket once signed in."""

    address: str = field(default_factory=new_address)
    ticket: dict[str, Any] | None = None
    anonymous: dict[str, Any] | None = None
    """The anonymous shopper's ticket the session had before its first sign-in."""
    graphql: bool = False
    """Passkey calls over GraphQL rather than REST."""


@dataclass
class Forwarded:
    """One call the storefront made to Ticketbooth for its page."""

    session: str
    method: str
    path: str
    body: Any
    status: int
    answer: Any


TICKET_FIELDS = ("accessToken accessTokenExpiration refreshToken refreshTokenExpiration jwtAccessToken userId "
                 "customerAccount { id emailAddress }")
PASSKEY_FIELDS = "id name credentialId createdOn lastUsedOn backupEligible backedUp transports aaguid"
GRAPHQL = {
    "registrationoptions": ("mutation ($accountId: Int!) { result: createCustomerAccountPasskeyRegistrationOptions("
                            "accountId: $accountId) { challengeId options } }"),
    "register": ("mutation ($accountId: Int!, $input: PasskeyRegistrationInput) { result: createCustomerAccountPasskey("
                 f"accountId: $accountId, passkeyRegistrationInput: $input) {{ {PASSKEY_FIELDS} }} }}"),
    "list": (f"query ($accountId: Int!) {{ result: customerAccountPasskeys(accountId: $accountId) {{ totalCount "
             f"items {{ {PASSKEY_FIELDS} }} }} }}"),
    "remove": ("mutation ($accountId: Int!, $passkeyId: String!) { result: deleteCustomerAccountPasskey("
               "accountId: $accountId, passkeyId: $passkeyId) }"),
    "options": ("mutation ($input: PasskeyOptionsInput) { result: createPasskeyAuthenticationOptions("
                "passkeyOptionsInput: $input) { challengeId options } }"),
    "signin": (f"mutation ($input: PasskeyAuthInput) {{ result: createCustomerAuthTicketWithPasskey("
               f"passkeyAuthInput: $input) {{ {TICKET_FIELDS} }} }}"),
}
"""The storefront's GraphQL documents, by the REST call each stands for."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Base(BaseHTTPRequestHandler):
    server_version = "test-storefront"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _static(self) -> bool:
        path = self.path.split("?", 1)[0]
        if self.command != "GET" or path not in STATIC:
            return False
        name, content_type = STATIC[path]
        self._send(200, (PAGE / name).read_bytes(), content_type)
        return True

    def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None


class Storefront:
    """The storefront's server (see the module's docstring). `ticketbooth` may be set after the server is
    bound (its port goes into the site's allowed origins before Ticketbooth starts)."""

    def __init__(self, client_id: str, client_secret: str, tenant: int, site: int, cookie: str = COOKIE) -> None:
        self.credentials = (client_id, client_secret)
        self.tenant, self.site = tenant, site
        self.cookie = cookie
        """The session cookie's name (cookies do not tell the ports of localhost apart)."""
        self.ticketbooth = ""
        self.sessions: dict[str, Session] = {}
        self.forwarded: list[Forwarded] = []
        self._lock = threading.Lock()
        self._app_token: str | None = None
        self._http = httpx.Client(timeout=120)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self.origin = f"http://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="storefront", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    # -- what the tests read ---------------------------------------------------------------------

    def ticket(self, session_id: str) -> dict[str, Any]:
        """The shopper's ticket of a signed-in session."""
        ticket = self.sessions[session_id].ticket
        assert ticket is not None, "the session is not signed in"
        return ticket

    def calls(self, path_end: str) -> list[Forwarded]:
        """The forwarded calls whose Ticketbooth path ends with `path_end`, oldest first."""
        return [f for f in self.forwarded if f.path.lower().endswith(path_end.lower())]

    def app_headers(self, address: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}", "x-vol-tenant": str(self.tenant),
                "x-vol-site": str(self.site), "X-Forwarded-For": address or new_address()}

    # -- the server --------------------------------------------------------------------------------

    def _token(self) -> str:
        with self._lock:
            if self._app_token is None:
                r = self._http.post(f"{self.ticketbooth}/api/platform/applications/authtickets/oauth", json={
                    "client_id": self.credentials[0], "client_secret": self.credentials[1],
                    "grant_type": "client_credentials"})
                r.raise_for_status()
                self._app_token = str(r.json()["access_token"])
            return self._app_token

    def _forward(self, session_id: str, method: str, path: str, body: Any = None,
                 shopper: bool = False) -> tuple[int, Any]:
        session = self.sessions[session_id]
        headers = self.app_headers(session.address)
        if path.endswith("/authtickets") or path.endswith("/authtickets/passkeys"):  # a sign-in
            headers["x-vol-user-claims"] = self._anonymous(session)["accessToken"]
        if shopper:
            if session.ticket is None:
                return 401, {"errorCode": "SIGNED_OUT", "message": "Storefront: sign in first"}
            headers["x-vol-user-claims"] = session.ticket["accessToken"]
        r = self._http.request(method, f"{self.ticketbooth}{path}", headers=headers,
                               json=body if method == "POST" else None)
        answer = r.json() if r.content else None
        self.forwarded.append(Forwarded(session_id, method, path, body, r.status_code, answer))
        return r.status_code, answer

    def _graphql(self, session_id: str, operation: str, variables: dict[str, Any], shopper: bool = False) -> tuple[int, Any]:
        """One GraphQL operation as Kibo's storefront sends it; (the REST twin's status, its body): the
        operation's result, or the Kibo envelope of its error (errors[0].extensions.response)."""
        session = self.sessions[session_id]
        claims = "undefined"
        if shopper and session.ticket is not None:
            claims = session.ticket["accessToken"]
        elif operation == "signin":
            claims = self._anonymous(session)["accessToken"]
        headers = {"Authorization": f"Bearer {self._token()}", "x-vol-user-claims": claims,
                   "X-Forwarded-For": session.address}
        body = {"query": GRAPHQL[operation], "variables": variables}
        r = self._http.post(f"{self.ticketbooth}/graphql", headers=headers, json=body)
        answer = r.json()
        if answer.get("errors"):
            error = answer["errors"][0]
            response = error.get("extensions", {}).get("response")
            if response is None:  # not an API error (the document itself): say so to the page
                status, result = 502, {"errorCode": "GRAPHQL", "message": error.get("message")}
            else:
                status, result = int(response["status"]), response["body"]
        else:
            status, result = 200, answer["data"]["result"]
        self.forwarded.append(Forwarded(session_id, "POST", f"/graphql#{operation}", variables, status, result))
        return status, result

    def _anonymous(self, session: Session) -> dict[str, Any]:
        """The session's anonymous shopper's ticket, made on first need."""
        if session.anonymous is None:
            r = self._http.get(f"{self.ticketbooth}{CUSTOMER}/authtickets/anonymousshopper",
                               headers=self.app_headers(session.address))
            r.raise_for_status()
            session.anonymous = r.json()
        return session.anonymous

    def _account_path(self, session_id: str, rest: str) -> str | None:
        ticket = self.sessions[session_id].ticket
        if ticket is None:
            return None
        return f"{CUSTOMER}/accounts/{ticket['customerAccount']['id']}/{rest}"

    def _route(self, session_id: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        session = self.sessions[session_id]
        if session.graphql and path.startswith("/storefront/") and path not in (
                "/storefront/login", "/storefront/me", "/storefront/signout"):
            return self._route_graphql(session_id, method, path, body)
        if (method, path) == ("POST", "/storefront/login"):
            status, answer = self._forward(session_id, "POST", f"{CUSTOMER}/authtickets", {
                "username": body.get("username"), "password": body.get("password")})
            return self._signed_in(session, status, answer)
        if (method, path) == ("POST", "/storefront/signin/options"):
            return self._forward(session_id, "POST", f"{CUSTOMER}/authtickets/passkeys/options", body or {})
        if (method, path) == ("POST", "/storefront/signin"):
            status, answer = self._forward(session_id, "POST", f"{CUSTOMER}/authtickets/passkeys", body)
            return self._signed_in(session, status, answer)
        if (method, path) == ("GET", "/storefront/me"):
            status, answer = self._forward(session_id, "GET", f"{CUSTOMER}/accounts/current", shopper=True)
            if status != 200:
                return status, answer
            return 200, {"id": answer["id"], "emailAddress": answer["emailAddress"]}
        if (method, path) == ("POST", "/storefront/signout"):
            session.ticket = None
            return 200, {}
        account_calls = {("POST", "/storefront/passkeys/registrationoptions"): "passkeys/registrationoptions",
                         ("POST", "/storefront/passkeys"): "passkeys", ("GET", "/storefront/passkeys"): "passkeys"}
        if method == "DELETE" and path.startswith("/storefront/passkeys/"):
            account_calls[(method, path)] = f"passkeys/{path.rsplit('/', 1)[1]}"
        if (method, path) in account_calls:
            target = self._account_path(session_id, account_calls[(method, path)])
            if target is None:
                return 401, {"errorCode": "SIGNED_OUT", "message": "Storefront: sign in first"}
            status, answer = self._forward(session_id, method, target, body if method == "POST" else None, shopper=True)
            return (200, {}) if status == 204 else (status, answer)
        return 404, {"errorCode": "NOT_FOUND", "message": f"Storefront: no {method} {path}"}

    def _route_graphql(self, session_id: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        session = self.sessions[session_id]
        if (method, path) == ("POST", "/storefront/signin/options"):
            return self._graphql(session_id, "options", {"input": body or {}})
        if (method, path) == ("POST", "/storefront/signin"):
            status, answer = self._graphql(session_id, "signin", {"input": body})
            return self._signed_in(session, status, answer)
        if session.ticket is None:
            return 401, {"errorCode": "SIGNED_OUT", "message": "Storefront: sign in first"}
        account = {"accountId": int(session.ticket["customerAccount"]["id"])}
        if (method, path) == ("POST", "/storefront/passkeys/registrationoptions"):
            return self._graphql(session_id, "registrationoptions", account, shopper=True)
        if (method, path) == ("POST", "/storefront/passkeys"):
            return self._graphql(session_id, "register", {**account, "input": body}, shopper=True)
        if (method, path) == ("GET", "/storefront/passkeys"):
            return self._graphql(session_id, "list", account, shopper=True)
        if method == "DELETE" and path.startswith("/storefront/passkeys/"):
            status, answer = self._graphql(session_id, "remove", {**account, "passkeyId": path.rsplit("/", 1)[1]},
                                           shopper=True)
            return (200, {}) if status == 200 and answer is True else (status, answer)
        return 404, {"errorCode": "NOT_FOUND", "message": f"Storefront: no {method} {path}"}

    @staticmethod
    def _signed_in(session: Session, status: int, answer: Any) -> tuple[int, Any]:
        """A ticket answer is kept in the session; the page learns only who signed in. A password login
        that needs the mailed second factor (requires2FA) keeps nothing (this page has no code step)."""
        if status != 200:
            return status, answer
        if answer.get("requires2FA"):
            session.ticket = None
            return 200, {"requires2FA": True}
        session.ticket = answer
        account = answer["customerAccount"]
        return 200, {"accountId": account["id"], "emailAddress": account["emailAddress"]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        storefront = self

        class Handler(_Base):
            def _session(self) -> tuple[str, dict[str, str]]:
                cookie, name = SimpleCookie(self.headers.get("Cookie") or ""), storefront.cookie
                session_id = cookie[name].value if name in cookie else ""
                if session_id in storefront.sessions:
                    return session_id, {}
                session_id = secrets.token_urlsafe(16)
                storefront.sessions[session_id] = Session()
                return session_id, {"Set-Cookie": f"{name}={session_id}; Path=/; HttpOnly; SameSite=Strict"}

            def _serve(self) -> None:
                session_id, set_cookie = self._session()
                if self._static():
                    return
                status, answer = storefront._route(session_id, self.command, self.path.split("?", 1)[0], self._json())
                self._send(status, json.dumps(answer).encode(), headers=set_cookie)

            do_GET = do_POST = do_DELETE = _serve

        return Handler


class PhishingProxy:
    """The attacker's copy of the storefront at `host` (e.g. "localhost" on another port, or
    "evil.localhost"): the same page, its calls passed through to the real storefront. With `rp_id`, the
    sign-in options' `rpId` is rewritten to it (a page at evil.localhost may only ask for its own)."""

    def __init__(self, storefront: Storefront, host: str, rp_id: str | None = None) -> None:
        self.upstream = f"http://127.0.0.1:{storefront.port}"
        self.rp_id = rp_id
        self._http = httpx.Client(timeout=120)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self.origin = f"http://{host}:{self.port}"
        threading.Thread(target=self._server.serve_forever, name="phishing-proxy", daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(_Base):
            def _serve(self) -> None:
                if self._static():
                    return
                path = self.path.split("?", 1)[0]
                headers = {"Cookie": self.headers["Cookie"]} if self.headers.get("Cookie") else {}
                body = self._json()
                r = proxy._http.request(self.command, f"{proxy.upstream}{path}", headers=headers,
                                        json=body if self.command == "POST" else None)
                content = r.content
                if proxy.rp_id and path == "/storefront/signin/options" and r.status_code == 200:
                    answer = r.json()
                    answer["options"]["rpId"] = proxy.rp_id
                    content = json.dumps(answer).encode()
                cookie = {"Set-Cookie": r.headers["set-cookie"]} if "set-cookie" in r.headers else {}
                self._send(r.status_code, content, headers=cookie)

            do_GET = do_POST = _serve

        return Handler

"""Kibo's GraphQL storefront against a live `ticketbooth serve`, with Kibo's own client.

The REST ticket calls (app token, anonymous ticket, refresh) are made by @kibocommerce/graphql-client
1.0.3-beta.10 (the version Kibo's Next.js storefront pins: its APIAuthClient and ShopperAuthClient); the
GraphQL operations are `POST /graphql` with the storefront's documents (tests/graphql/support.py) and its
headers: the app's Bearer token and `x-vol-user-claims`, the cookie's accessToken or the string `undefined`
on app-only calls, no tenant or site (kibo_storefront.mjs). One query also goes through the client's own
Apollo links. The checks are what the storefront reads: the cookie fields of each ticket, the JWT's
`https://www.kibocommerce.com/user_claims`.bv, and errors[0].extensions.response.status and .body.message.

Past the sign-in, the storefront's My Account pages, each flow as it sends them: the profile (name and email,
then a login with the new email), the address book and the saved cards (with their billing contact, a masked
number, and a full number refused with 400), the password change then a login with the new password, and the
forgotten password with the code from the mail (a real SMTP server the server's own sender delivers to); and
what another shopper is told when trying any of them on this shopper's account.

Each flow's GraphQL calls go through one node process (the driver's `session`); one seeded server per backend
serves the module: SQLite and, when TICKETBOOTH_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from aiosmtpd.controller import Controller

from tests.conformance.conftest import DRIVER_ENV, HEX32, parse_date
from tests.conftest import (
    ADMIN,
    BACKENDS,
    PASSWORD,
    SITE,
    STOREFRONT,
    TENANT,
    LiveServer,
    _empty_postgres,
    seed_cli,
    start_server,
    stop_server,
)
from tests.graphql.support import (
    ANONYMOUS,
    CARDS,
    CHANGE_PASSWORD,
    CONTACTS,
    CREATE_CARD,
    CREATE_CONTACT,
    CURRENT,
    DELETE_CARD,
    DELETE_CONTACT,
    FORGOTTEN_PASSWORD,
    LOGIN,
    REFRESH,
    REGISTER,
    RESET_PASSWORD,
    UPDATE_ACCOUNT,
    UPDATE_CARD,
    UPDATE_CONTACT,
)
from tests.smtp import CODE, Delivered, Recorder, SmtpServer, free_port
from tests.smtp import _run as run_smtp

pytestmark = pytest.mark.conformance

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "kibo_storefront.mjs"
CLIENT = HERE / "node_modules" / "@kibocommerce" / "graphql-client" / "package.json"
COOKIE = {"accessToken", "accessTokenExpiration", "refreshToken", "refreshTokenExpiration", "userId"}
"""The fields of the storefront's ticket cookie that come from a ticket (`accountId` is the account's id)."""
ENVELOPE = {"message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"}
ACCOUNTS = ("query getCustomerAccounts($filter: String) { customerAccounts(filter: $filter) "
            "{ totalCount items { id userId emailAddress } } }")
EMAIL = "storefront.shopper@example.com"


@pytest.fixture(scope="module", autouse=True)
def _graphql_client() -> None:
    """The pinned client must be installed: a missing package is a failure, not a silent skip."""
    if not CLIENT.exists():
        pytest.fail("@kibocommerce/graphql-client is not installed: run `make test` (or `cd tests/conformance && npm ci`)")
    assert json.loads(CLIENT.read_text())["version"] == "1.0.3-beta.10"


@dataclass
class Stack:
    server: LiveServer
    smtp: SmtpServer
    log: Path
    """The server's log (what it wrote to stdout and stderr)."""

    def mail_to(self, address: str, count: int = 1, seconds: float = 20.0) -> list[Delivered]:
        """The first `count` messages to `address`, waiting for the server's background sender to send them."""
        deadline = time.monotonic() + seconds
        while len(self.smtp.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        messages = self.smtp.to(address)
        assert len(messages) >= count, f"{len(messages)} of {count} messages to {address} arrived"
        return messages[:count]


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One seeded `ticketbooth serve` per backend for the module (each test uses shoppers of its own), mailing
    through an SMTP server of the module's own."""
    yield from live_stack(request, tmp_path_factory, "storefront")


def live_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Stack]:
    """A seeded `ticketbooth serve` on the backend of `request.param`, with an SMTP server of its own (the body
    of a module's `stack` fixture)."""
    workdir = tmp_path_factory.mktemp(f"{name}-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{workdir / 'ticketbooth.db'}"
    else:
        database_url = request.getfixturevalue("postgres_database")
        _empty_postgres(database_url)
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, workdir)
    recorder, port = Recorder(), free_port()
    for smtp in run_smtp(Controller(recorder, hostname="127.0.0.1", port=port), SmtpServer("127.0.0.1", port, recorder)):
        server = start_server(database_url, workdir, extra_env={
            "TICKETBOOTH_SMTP_HOST": smtp.host, "TICKETBOOTH_SMTP_PORT": str(smtp.port),
            "TICKETBOOTH_SMTP_STARTTLS": "false", "TICKETBOOTH_MAIL_DIR": str(workdir / "mail"),
            "TICKETBOOTH_MAIL_POLL_SECONDS": "0.5"})
        try:
            yield Stack(server, smtp, workdir / f"server-{server.base_url.rsplit(':', 1)[1]}.log")
        finally:
            stop_server(server)


def checked(answers: list[dict[str, Any]], user_claims: str | None) -> list[dict[str, Any]]:
    """The storefront fetcher's answers, with the transport checked: HTTP 200 and the headers it sends."""
    for answer in answers:
        assert answer["status"] == 200, answer
        assert answer["sent"]["headers"] == {"x-vol-user-claims": user_claims or "undefined", "bearer": True}
    return answers


class Storefront:
    """Runs kibo_storefront.mjs scenarios as one application (the storefront's client id and secret)."""

    def __init__(self, base_url: str, creds: tuple[str, str] = STOREFRONT) -> None:
        self.env = {"TB_BASE_URL": base_url, "TB_CLIENT_ID": creds[0], "TB_CLIENT_SECRET": creds[1]}

    def run(self, scenario: str, *args: str) -> Any:
        env = {k: v for k, v in os.environ.items() if not DRIVER_ENV.match(k)} | self.env
        done = subprocess.run(["node", str(DRIVER), scenario, *args], env=env, cwd=HERE, capture_output=True,
                              timeout=120, text=True)
        assert done.returncode == 0, f"kibo_storefront.mjs {scenario} exited {done.returncode}: {done.stderr}{done.stdout}"
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 1, f"kibo_storefront.mjs {scenario} printed {done.stdout!r} {done.stderr!r}"
        out: dict[str, Any] = json.loads(lines[0])
        assert out["scenario"] == scenario and out["ok"] is True, out
        return out["result"]

    def gql(self, document: str, variables: dict[str, Any] | None = None, user_claims: str | None = None,
            at_once: int = 1) -> list[dict[str, Any]]:
        """The storefront's fetcher, `at_once` times in parallel; each answer with what was sent and the claims
        the storefront decodes. Checks the transport: HTTP 200 and the headers the storefront sends."""
        answers: list[dict[str, Any]] = self.run("gql", document, json.dumps(variables or {}), user_claims or "",
                                                 str(at_once))
        return checked(answers, user_claims)

    def one(self, document: str, variables: dict[str, Any] | None = None, user_claims: str | None = None) -> Any:
        """The data of one operation answered without errors."""
        (answer,) = self.gql(document, variables, user_claims)
        assert "errors" not in answer["body"], answer["body"]
        return answer["body"]["data"]

    def session(self) -> Session:
        """One node process for many GraphQL calls (the driver's `session` scenario)."""
        return Session(self)


class Session:
    """kibo_storefront.mjs `session`: one node process, one app token, a GraphQL call for each line written to it
    and its answer read back before the next, so a flow can use what the last call answered. The same `gql` and
    `one` as Storefront's; `close` checks that the driver ended well."""

    TIMEOUT = 120.0

    def __init__(self, storefront: Storefront) -> None:
        env = {k: v for k, v in os.environ.items() if not DRIVER_ENV.match(k)} | storefront.env
        self.stderr: IO[str] = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(["node", str(DRIVER), "session"], env=env, cwd=HERE, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.calls = 0

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.process.kill()
            self.process.wait()
            self.stderr.close()

    def _line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            self.process.wait()
            self.stderr.seek(0)
            raise AssertionError(f"kibo_storefront.mjs session gave no answer (exit {self.process.returncode}): "
                                 f"{self.stderr.read()}")
        out: dict[str, Any] = json.loads(line)
        return out

    def gql(self, document: str, variables: dict[str, Any] | None = None, user_claims: str | None = None,
            at_once: int = 1) -> list[dict[str, Any]]:
        assert self.process.stdin is not None
        call = {"document": document, "variables": variables or {}, "userClaims": user_claims, "n": at_once}
        self.process.stdin.write(json.dumps(call) + "\n")
        self.process.stdin.flush()
        self.calls += 1
        out = self._line()
        assert out["ok"] is True, out
        answers: list[dict[str, Any]] = out["result"]
        return checked(answers, user_claims)

    def one(self, document: str, variables: dict[str, Any] | None = None, user_claims: str | None = None) -> Any:
        (answer,) = self.gql(document, variables, user_claims)
        assert "errors" not in answer["body"], answer["body"]
        return answer["body"]["data"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        last = self._line()
        code = self.process.wait(timeout=self.TIMEOUT)
        self.stderr.close()
        assert code == 0 and last == {"scenario": "session", "ok": True, "result": {"calls": self.calls}}, last


def minutes_from_now(value: str) -> float:
    return (parse_date(value) - dt.datetime.now(dt.UTC)).total_seconds() / 60


def assert_cookie(ticket: dict[str, Any], *, signed_in: bool) -> None:
    """The storefront's cookie of this ticket is whole: tokens, ISO dates in the future and, for a signed-in
    shopper only, a userId (its /my-account guard admits any cookie with one)."""
    assert set(ticket) >= COOKIE, ticket
    assert ticket["accessToken"] and HEX32.match(ticket["refreshToken"])
    assert 14 <= minutes_from_now(ticket["accessTokenExpiration"]) <= 15
    assert minutes_from_now(ticket["refreshTokenExpiration"]) > 60
    if signed_in:
        assert HEX32.match(ticket["userId"]), ticket
    else:
        assert ticket["userId"] is None, ticket


def kibo_error(answer: dict[str, Any], field: str, status: int, code: str) -> str:
    """A refusal as the storefront reads it: the field null, errors[0].extensions.response.status and
    .body.message (Kibo's whole envelope). The message is returned."""
    body = answer["body"]
    assert body["data"] is None or body["data"][field] is None, body
    error = body["errors"][0]
    assert error["path"] == [field]
    response = error["extensions"]["response"]
    assert response["status"] == status, error
    assert set(response["body"]) == ENVELOPE and response["body"]["errorCode"] == code, error
    message: str = response["body"]["message"]
    assert message and error["message"] == message
    return message


def registration(email: str, password: str) -> dict[str, Any]:
    """The storefront's registration variables."""
    return {"customerAccountAndAuthInfoInput": {
        "account": {"emailAddress": email, "userName": email, "firstName": "Stella", "lastName": "Front",
                    "acceptsMarketing": False, "id": 0},
        "password": password, "externalPassword": "", "isImport": False}}


def test_a_storefront_signs_a_shopper_in_with_kibos_client(stack: Stack) -> None:
    live_server = stack.server
    shop = Storefront(live_server.base_url)
    with shop.session() as session:  # the GraphQL calls; the REST ones are scenarios of their own
        # a new visitor: the anonymous ticket through the client's ShopperAuthClient (REST), and over GraphQL
        visitor = shop.run("anonymous")
        assert_cookie(visitor, signed_in=False)
        assert set(visitor) == COOKIE  # what the client's normalizeShopperAuthResponse keeps
        older = session.one(ANONYMOUS)["getAnonymousShopperToken"]
        assert_cookie(older, signed_in=False)
        (answer,) = session.gql(ANONYMOUS)
        claims = answer["claims"]["getAnonymousShopperToken"]["claims"]
        assert claims["anon"] == "1" and claims["bv"] == [] and claims["st"] == "Shopper"
        assert (claims["b"]["TenantId"], claims["b"]["SiteId"]) == (TENANT, SITE) and "AccountId" not in claims["b"]

        # its cookie expired: the storefront refreshes it in several requests at once, with one refresh token
        renewed = shop.run("refresh", visitor["refreshToken"], "3")
        assert len({json.dumps(t, sort_keys=True) for t in renewed}) == 1, renewed  # one new ticket for all
        assert_cookie(renewed[0], signed_in=False)
        assert renewed[0]["accessToken"] != visitor["accessToken"]

        # an anonymous shopper has no current account: null and a 404, never an account
        kibo_error(session.gql(CURRENT, user_claims=renewed[0]["accessToken"])[0], "customerAccount", 404, "ITEM_NOT_FOUND")

        # registration, with the visitor's cookie as x-vol-user-claims
        (answer,) = session.gql(REGISTER, registration(EMAIL, PASSWORD), renewed[0]["accessToken"])
        assert "errors" not in answer["body"], answer["body"]
        registered = answer["body"]["data"]["account"]
        assert_cookie(registered, signed_in=True)
        account_id = registered["customerAccount"]["id"]  # the cookie's accountId
        assert isinstance(account_id, int) and registered["customerAccount"]["emailAddress"] == EMAIL
        seen = answer["claims"]["account"]
        assert isinstance(seen["claims"]["bv"], list) and seen["behaviors"] == []  # a B2C shopper: no behaviors
        assert seen["claims"]["anon"] == "0" and seen["claims"]["uid"] == registered["userId"]
        assert seen["claims"]["b"]["AccountId"] == account_id

        # login
        (answer,) = session.gql(LOGIN, {"loginInput": {"username": EMAIL, "password": PASSWORD}})
        assert "errors" not in answer["body"], answer["body"]
        ticket = answer["body"]["data"]["account"]
        assert_cookie(ticket, signed_in=True)
        assert ticket["userId"] == registered["userId"] and ticket["customerAccount"]["id"] == account_id
        assert answer["claims"]["account"]["behaviors"] == [] and isinstance(answer["claims"]["account"]["claims"]["bv"], list)

        # My Account: the current account, with the cookie's accessToken
        me = session.one(CURRENT, user_claims=ticket["accessToken"])["customerAccount"]
        assert (me["id"], me["userId"], me["emailAddress"], me["isAnonymous"]) == (account_id, ticket["userId"], EMAIL, False)

        # the same query through the client's own Apollo links, with a cookie whose access token has expired:
        # the client refreshes it over REST (ShopperAuthClient) and sends the new one
        stale = {**ticket, "accessTokenExpiration": "2020-01-01T00:00:00.000Z"}
        through_apollo = shop.run("apollo", CURRENT, "{}", json.dumps(stale))
        assert through_apollo["data"]["customerAccount"]["id"] == account_id
        after = through_apollo["ticketAfter"]
        assert after["accessToken"] != ticket["accessToken"] and after["userId"] == ticket["userId"]
        assert_cookie(after, signed_in=True)

        # the newer storefront refreshes over GraphQL, also several at once with one refresh token
        answers = session.gql(REFRESH, {"refreshToken": after["refreshToken"]}, at_once=3)
        tickets = [a["body"]["data"]["refreshCustomerAuthTickets"] for a in answers]
        assert all("errors" not in a["body"] for a in answers), answers
        assert len({t["accessToken"] for t in tickets}) == 1 and len({t["refreshToken"] for t in tickets}) == 1
        assert_cookie(tickets[0], signed_in=True)
        assert tickets[0]["userId"] == ticket["userId"] and tickets[0]["customerAccount"]["id"] == account_id
        # ... and the new ticket is the shopper's
        assert session.one(CURRENT, user_claims=tickets[0]["accessToken"])["customerAccount"]["id"] == account_id

        # a wrong password: the storefront shows errors[0].extensions.response.body.message
        (answer,) = session.gql(LOGIN, {"loginInput": {"username": EMAIL, "password": "not the right passphrase"}})
        message = kibo_error(answer, "account", 401, "INVALID_CREDENTIALS")
        assert message.startswith("Invalid Credentials")
        # an unknown shopper reads the same
        (answer,) = session.gql(LOGIN, {"loginInput": {"username": "nobody@example.com", "password": PASSWORD}})
        assert kibo_error(answer, "account", 401, "INVALID_CREDENTIALS") == message

        # customerAccounts(filter: "userId eq ..."), app only (x-vol-user-claims: undefined): an admin application
        admin = Storefront(live_server.base_url, ADMIN)
        page = admin.one(ACCOUNTS, {"filter": f"userId eq '{ticket['userId']}'"})["customerAccounts"]
        assert page["totalCount"] == 1 and page["items"] == [{"id": account_id, "userId": ticket["userId"],
                                                              "emailAddress": EMAIL}]
        # ... which a plain storefront application, and its shopper, may not list
        (answer,) = session.gql(ACCOUNTS, {"filter": f"userId eq '{ticket['userId']}'"})
        kibo_error(answer, "customerAccounts", 403, "FORBIDDEN")
        (answer,) = session.gql(ACCOUNTS, {"filter": f"userId eq '{ticket['userId']}'"}, tickets[0]["accessToken"])
        kibo_error(answer, "customerAccounts", 403, "FORBIDDEN")


# -- My Account: the storefront's profile, address book, saved cards and password pages ---------------------

NEW_PASSWORD = "a second fine passphrase"
NEWEST_PASSWORD = "a third passphrase, from the mail"


@dataclass
class Shopper:
    """A registered shopper as the storefront's cookie holds it, logged in just now."""

    email: str
    account_id: int
    user_id: str
    access_token: str


def signed_in(session: Session, email: str, password: str = PASSWORD) -> Shopper:
    """Register `email` and log in, as the storefront does (the login is what makes the cookie's ticket)."""
    session.one(REGISTER, registration(email, password))
    ticket = session.one(LOGIN, {"loginInput": {"username": email, "password": password}})["account"]
    return Shopper(email, ticket["customerAccount"]["id"], ticket["userId"], ticket["accessToken"])


def logs_in(session: Session, email: str, password: str) -> dict[str, Any]:
    """The storefront's login answer for this email and password (the data, or the error it reads)."""
    (answer,) = session.gql(LOGIN, {"loginInput": {"username": email, "password": password}})
    body: dict[str, Any] = answer["body"]
    return body


def address(**fields: Any) -> dict[str, Any]:
    """Kibo's address fields, as the storefront's address form fills them."""
    return {"address1": "1 Market Street", "address2": "Suite 400", "address3": None, "address4": None,
            "cityOrTown": "San Francisco", "stateOrProvince": "CA", "postalOrZipCode": "94105", "countryCode": "US",
            "addressType": "Residential", "isValidated": False, **fields}


def contact(account_id: int, kind: str, **fields: Any) -> dict[str, Any]:
    """The storefront's customerContactInput: a Shipping or Billing address with the shopper's name and phones."""
    return {"accountId": account_id, "types": [{"name": kind, "isPrimary": True}], "email": "stella@example.com",
            "firstName": "Stella", "middleNameOrInitial": "Q", "lastNameOrSurname": "Front",
            "phoneNumbers": {"home": "4155550100", "mobile": "4155550101", "work": None}, "address": address(),
            **fields}


def test_my_account_profile_and_address_book(stack: Stack) -> None:
    shop = Storefront(stack.server.base_url)
    with shop.session() as session:
        me = signed_in(session, "my.profile@example.com")
        other = signed_in(session, "other.profile@example.com")

        # the profile page: name and email, as the storefront sends them (its id, no password, no userName)
        renamed = "my.new.profile@example.com"
        changed = session.one(UPDATE_ACCOUNT, {"accountId": me.account_id, "customerAccountInput": {
            "id": me.account_id, "firstName": "Estelle", "lastName": "Fronte", "emailAddress": renamed}},
            me.access_token)["updateCustomerAccount"]
        assert changed == {"firstName": "Estelle", "lastName": "Fronte", "emailAddress": renamed}
        current = session.one(CURRENT, user_claims=me.access_token)["customerAccount"]
        assert (current["id"], current["firstName"], current["lastName"], current["emailAddress"]) == (
            me.account_id, "Estelle", "Fronte", renamed)
        login = logs_in(session, renamed, PASSWORD)
        assert "errors" not in login and login["data"]["account"]["customerAccount"]["id"] == me.account_id
        # ... and the old address is told of the change
        [notice] = stack.mail_to(me.email)
        assert f"email address of the account {me.email} was just changed" in notice.text

        # another shopper's account, or the storefront application alone: the status and message it reads
        for claims in (other.access_token, None):
            (answer,) = session.gql(UPDATE_ACCOUNT, {"accountId": me.account_id, "customerAccountInput": {
                "id": me.account_id, "firstName": "Mallory"}}, claims)
            assert kibo_error(answer, "updateCustomerAccount", 403, "FORBIDDEN").startswith("Forbidden: ")
        assert session.one(CURRENT, user_claims=me.access_token)["customerAccount"]["firstName"] == "Estelle"

        # the address book: empty, two addresses added, one changed, one deleted
        page = {"accountId": me.account_id, "startIndex": 0, "pageSize": 5}
        empty = session.one(CONTACTS, page, me.access_token)["customerAccountContacts"]
        assert (empty["totalCount"], empty["items"]) == (0, [])
        shipping = session.one(CREATE_CONTACT, {"accountId": me.account_id,
                                                "customerContactInput": contact(me.account_id, "Shipping")},
                               me.access_token)["createCustomerAccountContact"]
        assert isinstance(shipping["id"], int)
        assert shipping == {**contact(me.account_id, "Shipping"), "id": shipping["id"]}
        billing_input = contact(me.account_id, "Billing", address=address(address1="2 Mission Street", address2=None,
                                                                           addressType="Commercial"))
        billing = session.one(CREATE_CONTACT, {"accountId": me.account_id, "customerContactInput": billing_input},
                              me.access_token)["createCustomerAccountContact"]
        assert billing == {**billing_input, "id": billing["id"]} and billing["id"] != shipping["id"]
        listed = session.one(CONTACTS, page, me.access_token)["customerAccountContacts"]
        assert listed["totalCount"] == 2 and {c["id"] for c in listed["items"]} == {shipping["id"], billing["id"]}
        assert {c["id"]: c for c in listed["items"]} == {shipping["id"]: shipping, billing["id"]: billing}

        moved_input = {**contact(me.account_id, "Shipping", address=address(address1="3 Howard Street",
                                                                             postalOrZipCode="94103")),
                       "id": shipping["id"]}
        moved = session.one(UPDATE_CONTACT, {"accountId": me.account_id, "contactId": shipping["id"],
                                             "userId": me.user_id, "customerContactInput": moved_input},
                            me.access_token)["updateCustomerAccountContact"]
        assert moved == moved_input

        # the other shopper reads, adds, changes and deletes nothing of this address book
        foreign: list[tuple[str, str, dict[str, Any]]] = [(CONTACTS, "customerAccountContacts", page),
                   (CREATE_CONTACT, "createCustomerAccountContact",
                    {"accountId": me.account_id, "customerContactInput": contact(me.account_id, "Shipping")}),
                   (UPDATE_CONTACT, "updateCustomerAccountContact",
                    {"accountId": me.account_id, "contactId": shipping["id"], "userId": other.user_id,
                     "customerContactInput": {**moved_input, "firstName": "Mallory"}}),
                   (DELETE_CONTACT, "deleteCustomerAccountContact",
                    {"accountId": me.account_id, "contactId": billing["id"]})]
        for document, field, variables in foreign:
            (answer,) = session.gql(document, variables, other.access_token)
            kibo_error(answer, field, 403, "FORBIDDEN")

        assert session.one(DELETE_CONTACT, {"accountId": me.account_id, "contactId": billing["id"]},
                           me.access_token) == {"deleteCustomerAccountContact": True}
        left = session.one(CONTACTS, page, me.access_token)["customerAccountContacts"]
        assert (left["totalCount"], left["items"]) == (1, [moved])
        # deleting it again: the 404 the storefront reads
        (answer,) = session.gql(DELETE_CONTACT, {"accountId": me.account_id, "contactId": billing["id"]},
                                me.access_token)
        kibo_error(answer, "deleteCustomerAccountContact", 404, "ITEM_NOT_FOUND")


def card(contact_id: int, **fields: Any) -> dict[str, Any]:
    """The storefront's cardInput: the id its payment service gave the card, the masked number, the billing
    contact."""
    return {"id": "8f3e1c5a9b7d4e2f8a6c3b1d5e7f9a2c", "nameOnCard": "Stella Front", "cardType": "VISA",
            "expireMonth": 4, "expireYear": 2031, "cardNumberPart": "************1111", "contactId": contact_id,
            "isDefaultPayMethod": True, **fields}


def test_my_account_saved_cards(stack: Stack) -> None:
    shop = Storefront(stack.server.base_url)
    with shop.session() as session:
        me = signed_in(session, "my.cards@example.com")
        other = signed_in(session, "other.cards@example.com")
        mine = {"accountId": me.account_id}
        assert session.one(CARDS, mine, me.access_token)["customerAccountCards"] == {"items": []}

        # the payment page saves the billing address first, then the card with it
        billing = session.one(CREATE_CONTACT, {**mine, "customerContactInput": contact(me.account_id, "Billing")},
                              me.access_token)["createCustomerAccountContact"]
        visa = session.one(CREATE_CARD, {**mine, "cardInput": card(billing["id"])},
                           me.access_token)["createCustomerAccountCard"]
        assert visa == card(billing["id"])
        mastercard_input = card(billing["id"], id="1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a", cardType="MC",
                                cardNumberPart="************4444", expireMonth=11, expireYear=2029)
        mastercard = session.one(CREATE_CARD, {**mine, "cardInput": mastercard_input},
                                 me.access_token)["createCustomerAccountCard"]
        assert mastercard == mastercard_input
        # one default card: the new default took the flag from the first
        items = session.one(CARDS, mine, me.access_token)["customerAccountCards"]["items"]
        assert {c["id"]: c for c in items} == {visa["id"]: {**visa, "isDefaultPayMethod": False},
                                                mastercard["id"]: mastercard}

        # a new expiry date, the card id in the argument and in the input, as the storefront sends it
        renewed_input = {**visa, "expireMonth": 9, "expireYear": 2033, "isDefaultPayMethod": True}
        renewed = session.one(UPDATE_CARD, {**mine, "cardId": visa["id"], "cardInput": renewed_input},
                              me.access_token)["updateCustomerAccountCard"]
        assert renewed == renewed_input

        # a full card number is refused (400) in the masked number's place and never repeated back
        for number in ("4111111111111111", "4111 1111 1111 1111"):
            (answer,) = session.gql(CREATE_CARD, {**mine, "cardInput": card(
                billing["id"], id="0f1e2d3c4b5a69788796a5b4c3d2e1f0", cardNumberPart=number)}, me.access_token)
            message = kibo_error(answer, "createCustomerAccountCard", 400, "MISSING_OR_INVALID_PARAMETER")
            assert "4111" not in json.dumps(answer["body"]), answer["body"]
            assert message.startswith("Missing or invalid parameter: ")
            (answer,) = session.gql(UPDATE_CARD, {**mine, "cardId": visa["id"], "cardInput": {
                **renewed_input, "cardNumberPart": number}}, me.access_token)
            kibo_error(answer, "updateCustomerAccountCard", 400, "MISSING_OR_INVALID_PARAMETER")
            assert "4111" not in json.dumps(answer["body"]), answer["body"]

        # another shopper reads, adds, changes and deletes none of these cards
        foreign: list[tuple[str, str, dict[str, Any]]] = [(CARDS, "customerAccountCards", mine),
                   (CREATE_CARD, "createCustomerAccountCard",
                    {**mine, "cardInput": card(billing["id"], id="aa1e2d3c4b5a69788796a5b4c3d2e1f0")}),
                   (UPDATE_CARD, "updateCustomerAccountCard",
                    {**mine, "cardId": visa["id"], "cardInput": {**renewed_input, "nameOnCard": "Mallory"}}),
                   (DELETE_CARD, "deleteCustomerAccountCard", {**mine, "cardId": visa["id"]})]
        for document, field, variables in foreign:
            (answer,) = session.gql(document, variables, other.access_token)
            kibo_error(answer, field, 403, "FORBIDDEN")
        after = session.one(CARDS, mine, me.access_token)["customerAccountCards"]["items"]
        assert {c["id"]: c for c in after} == {visa["id"]: renewed,
                                                mastercard["id"]: {**mastercard, "isDefaultPayMethod": False}}

        assert session.one(DELETE_CARD, {**mine, "cardId": mastercard["id"]},
                           me.access_token) == {"deleteCustomerAccountCard": True}
        assert session.one(CARDS, mine, me.access_token)["customerAccountCards"] == {"items": [renewed]}
        (answer,) = session.gql(DELETE_CARD, {**mine, "cardId": mastercard["id"]}, me.access_token)
        kibo_error(answer, "deleteCustomerAccountCard", 404, "ITEM_NOT_FOUND")
        # the other shopper's own wallet is still empty
        assert session.one(CARDS, {"accountId": other.account_id},
                           other.access_token)["customerAccountCards"] == {"items": []}


def test_my_account_password_change_and_forgotten_password(stack: Stack) -> None:
    shop = Storefront(stack.server.base_url)
    with shop.session() as session:
        me = signed_in(session, "my.password@example.com")
        other = signed_in(session, "other.password@example.com")

        # the profile page's password change: accountId, userId and the passwords (the Next.js storefront sends no
        # unlockAccount); a wrong old password is the message the storefront shows
        def change(old: str, new: str, who: Shopper = me) -> dict[str, Any]:
            (answer,) = session.gql(CHANGE_PASSWORD, {"accountId": me.account_id, "userId": me.user_id,
                                                      "passwordInfoInput": {"oldPassword": old, "newPassword": new}},
                                    who.access_token)
            return answer

        wrong = kibo_error(change("not the old passphrase", NEW_PASSWORD), "changeCustomerAccountPassword", 401,
                           "INVALID_CREDENTIALS")
        assert wrong.startswith("Invalid Credentials: ")
        # another shopper's account, with that shopper's own (right) password even
        foreign = kibo_error(change(PASSWORD, NEW_PASSWORD, other), "changeCustomerAccountPassword", 403, "FORBIDDEN")
        assert foreign.startswith("Forbidden: ")
        assert "errors" not in logs_in(session, me.email, PASSWORD)  # nothing changed

        done = change(PASSWORD, NEW_PASSWORD)
        assert done["body"] == {"data": {"changeCustomerAccountPassword": True}}
        # ... then the storefront logs in with the new password; the old one no longer works
        login = logs_in(session, me.email, NEW_PASSWORD)
        assert "errors" not in login and login["data"]["account"]["userId"] == me.user_id
        old = logs_in(session, me.email, PASSWORD)
        assert old["errors"][0]["extensions"]["response"]["status"] == 401
        # the shopper's own ticket still holds (every other session ended)
        assert session.one(CURRENT, user_claims=me.access_token)["customerAccount"]["id"] == me.account_id

        # forgotten: the storefront asks for a reset by email and user name (an unknown address reads the same)
        def reset(email: str) -> Any:
            return session.one(RESET_PASSWORD, {"resetPasswordInfoInput": {
                "emailAddress": email, "userName": email, "customerSetCode": ""}})

        assert reset("nobody.here@example.com") == {"resetPassword": True}
        assert reset(me.email) == {"resetPassword": True}
        [mail] = stack.mail_to(me.email)
        code = mail.code()

        def forgotten(user: str, confirmation: str, new: str) -> dict[str, Any]:
            (answer,) = session.gql(FORGOTTEN_PASSWORD, {"confirmationInfoInput": {
                "userName": user, "confirmationCode": confirmation, "newPassword": new}})
            return answer

        # a wrong code, and the right code for another user: the 400 the storefront reads
        for user, confirmation in ((me.email, "0" * 32), (other.email, code)):
            message = kibo_error(forgotten(user, confirmation, NEWEST_PASSWORD), "updatePassword", 400,
                                 "MISSING_OR_INVALID_PARAMETER")
            assert message.startswith("Missing or invalid parameter: ") and code not in message
        assert forgotten(me.email, code, NEWEST_PASSWORD)["body"] == {"data": {"updatePassword": True}}
        login = logs_in(session, me.email, NEWEST_PASSWORD)
        assert "errors" not in login and login["data"]["account"]["customerAccount"]["id"] == me.account_id
        for stale in (PASSWORD, NEW_PASSWORD):
            assert logs_in(session, me.email, stale)["errors"][0]["extensions"]["response"]["status"] == 401
        # the shopper is told the password was reset, in a second mail without the code
        [_, notice] = stack.mail_to(me.email, 2)
        assert CODE.search(notice.text) is None
        # the code is spent
        kibo_error(forgotten(me.email, code, "yet another passphrase"), "updatePassword", 400,
                   "MISSING_OR_INVALID_PARAMETER")
        # the other shopper was not touched, and nothing was mailed to the unknown address
        assert "errors" not in logs_in(session, other.email, PASSWORD)
        assert stack.smtp.to("nobody.here@example.com") == []

    # no code and no password in the server's log
    log = stack.log.read_text()
    for secret in (code, PASSWORD, NEW_PASSWORD, NEWEST_PASSWORD):
        assert secret not in log

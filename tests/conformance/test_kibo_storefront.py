"""Kibo's GraphQL storefront against a live `ticketbooth serve`, with Kibo's own client.

The REST ticket calls (app token, anonymous ticket, refresh) are made by @kibocommerce/graphql-client
1.0.3-beta.10 (the version Kibo's Next.js storefront pins: its APIAuthClient and ShopperAuthClient); the
GraphQL operations are `POST /graphql` with the storefront's documents (tests/graphql/support.py) and its
headers: the app's Bearer token and `x-vol-user-claims`, the cookie's accessToken or the string `undefined`
on app-only calls, no tenant or site (kibo_storefront.mjs). One query also goes through the client's own
Apollo links. The checks are what the storefront reads: the cookie fields of each ticket, the JWT's
`https://www.kibocommerce.com/user_claims`.bv, and errors[0].extensions.response.status and .body.message.
On SQLite and, when TICKETBOOTH_TEST_POSTGRES_URL is set, PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import DRIVER_ENV, HEX32, parse_date
from tests.conftest import ADMIN, PASSWORD, SITE, STOREFRONT, TENANT, LiveServer
from tests.graphql.support import ANONYMOUS, CURRENT, LOGIN, REFRESH, REGISTER

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
        for answer in answers:
            assert answer["status"] == 200, answer
            assert answer["sent"]["headers"] == {"x-vol-user-claims": user_claims or "undefined", "bearer": True}
        return answers

    def one(self, document: str, variables: dict[str, Any] | None = None, user_claims: str | None = None) -> Any:
        """The data of one operation answered without errors."""
        (answer,) = self.gql(document, variables, user_claims)
        assert "errors" not in answer["body"], answer["body"]
        return answer["body"]["data"]


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


def test_a_storefront_signs_a_shopper_in_with_kibos_client(live_server: LiveServer) -> None:
    shop = Storefront(live_server.base_url)

    # a new visitor: the anonymous ticket through the client's ShopperAuthClient (REST), and over GraphQL
    visitor = shop.run("anonymous")
    assert_cookie(visitor, signed_in=False)
    assert set(visitor) == COOKIE  # what the client's normalizeShopperAuthResponse keeps
    older = shop.one(ANONYMOUS)["getAnonymousShopperToken"]
    assert_cookie(older, signed_in=False)
    (answer,) = shop.gql(ANONYMOUS)
    claims = answer["claims"]["getAnonymousShopperToken"]["claims"]
    assert claims["anon"] == "1" and claims["bv"] == [] and claims["st"] == "Shopper"
    assert (claims["b"]["TenantId"], claims["b"]["SiteId"]) == (TENANT, SITE) and "AccountId" not in claims["b"]

    # its cookie expired: the storefront refreshes it in several requests at once, with one refresh token
    renewed = shop.run("refresh", visitor["refreshToken"], "3")
    assert len({json.dumps(t, sort_keys=True) for t in renewed}) == 1, renewed  # one new ticket for all
    assert_cookie(renewed[0], signed_in=False)
    assert renewed[0]["accessToken"] != visitor["accessToken"]

    # an anonymous shopper has no current account: null and a 404, never an account
    kibo_error(shop.gql(CURRENT, user_claims=renewed[0]["accessToken"])[0], "customerAccount", 404, "ITEM_NOT_FOUND")

    # registration, with the visitor's cookie as x-vol-user-claims
    (answer,) = shop.gql(REGISTER, registration(EMAIL, PASSWORD), renewed[0]["accessToken"])
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
    (answer,) = shop.gql(LOGIN, {"loginInput": {"username": EMAIL, "password": PASSWORD}})
    assert "errors" not in answer["body"], answer["body"]
    ticket = answer["body"]["data"]["account"]
    assert_cookie(ticket, signed_in=True)
    assert ticket["userId"] == registered["userId"] and ticket["customerAccount"]["id"] == account_id
    assert answer["claims"]["account"]["behaviors"] == [] and isinstance(answer["claims"]["account"]["claims"]["bv"], list)

    # My Account: the current account, with the cookie's accessToken
    me = shop.one(CURRENT, user_claims=ticket["accessToken"])["customerAccount"]
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
    answers = shop.gql(REFRESH, {"refreshToken": after["refreshToken"]}, at_once=3)
    tickets = [a["body"]["data"]["refreshCustomerAuthTickets"] for a in answers]
    assert all("errors" not in a["body"] for a in answers), answers
    assert len({t["accessToken"] for t in tickets}) == 1 and len({t["refreshToken"] for t in tickets}) == 1
    assert_cookie(tickets[0], signed_in=True)
    assert tickets[0]["userId"] == ticket["userId"] and tickets[0]["customerAccount"]["id"] == account_id
    # ... and the new ticket is the shopper's
    assert shop.one(CURRENT, user_claims=tickets[0]["accessToken"])["customerAccount"]["id"] == account_id

    # a wrong password: the storefront shows errors[0].extensions.response.body.message
    (answer,) = shop.gql(LOGIN, {"loginInput": {"username": EMAIL, "password": "not the right passphrase"}})
    message = kibo_error(answer, "account", 401, "INVALID_CREDENTIALS")
    assert message.startswith("Invalid Credentials")
    # an unknown shopper reads the same
    (answer,) = shop.gql(LOGIN, {"loginInput": {"username": "nobody@example.com", "password": PASSWORD}})
    assert kibo_error(answer, "account", 401, "INVALID_CREDENTIALS") == message

    # customerAccounts(filter: "userId eq ..."), app only (x-vol-user-claims: undefined): an admin application
    admin = Storefront(live_server.base_url, ADMIN)
    page = admin.one(ACCOUNTS, {"filter": f"userId eq '{ticket['userId']}'"})["customerAccounts"]
    assert page["totalCount"] == 1 and page["items"] == [{"id": account_id, "userId": ticket["userId"],
                                                          "emailAddress": EMAIL}]
    # ... which a plain storefront application, and its shopper, may not list
    (answer,) = shop.gql(ACCOUNTS, {"filter": f"userId eq '{ticket['userId']}'"})
    kibo_error(answer, "customerAccounts", 403, "FORBIDDEN")
    (answer,) = shop.gql(ACCOUNTS, {"filter": f"userId eq '{ticket['userId']}'"}, tickets[0]["accessToken"])
    kibo_error(answer, "customerAccounts", 403, "FORBIDDEN")

"""No request makes the server fail: malformed and adversarial requests to every route under
/api/commerce/customer, from an admin application, the storefront application and a shopper, get a
response below 500 and, when it is an error, the Kibo envelope with the response's own status.

The cases are drawn with a fixed seed and bounded in number, so a run is repeatable and quick; a
failure lists every request that failed (method, path, query, body) so it can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx
import pytest

from tests.api.parts_support import ACCOUNTS, SEGMENTS, Shopper, admin_headers, define, part, shopper
from tests.api.support import CUSTOMER, assert_error, ok
from tests.conftest import PASSWORD, Seed
from ticketbooth.accounts.routes import accounts, customer_definitions
from ticketbooth.accounts.routes import parts as account_parts
from ticketbooth.audit import routes as audit
from ticketbooth.login.routes import logins, password_reset
from ticketbooth.purchase_orders import routes as purchase_orders
from ticketbooth.sessions import routes as sessions
from ticketbooth.tickets.routes import authtickets

SEED = 20261127
PER_FIELD = {"admin": 2, "storefront": 1, "shopper": 1}
"""Odd values tried per body field (drawn from WEIRD), by caller: most of what the applications without
customer:admin send is refused before its body is read."""
PER_PATH_PARAMETER = 4
PER_QUERY_PARAMETER = 3
REQUEST_TIMEOUT = 10.0

BodyKind = Literal["none", "object", "array", "ids", "flag", "name"]
Caller = Literal["admin", "storefront", "shopper"]

LONG = "x" * 5000
WEIRD: list[Any] = [
    None, True, False, 0, -1, 1.5, -0.0, 1e308, -1e308, 2**70, -(2**70), 2**63, 2**63 - 1, 2**31, -(2**63) - 1,
    float("nan"), float("inf"), "", " ", LONG, "\ud800", "a\udfffb", "\u202eevil\u202c", "\u200f\u200b", "😀" * 50,
    "e\u0301", "\ufeff", "%00", "'; drop table accounts; --", "2026-13-45", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "NaN", "1e400", "-1", "true", {}, {"a": {"b": [1, {"c": None}]}}, [], [1, "x", None],
    [LONG], ["\ud800"], [{}],
]
WHOLE_BODIES: list[bytes] = [
    b"[]", b"[1,2,3]", b'"a string"', b"42", b"1e308", b"-1", b"true", b"null", b"{", b"}", b"{]", b"\xff\xfe\x00",
    b'{"a":1,}', b"{'single': 1}", b'"\\ud800"', b'{"\\ud800": "\\udc00"}', b"NaN", b"Infinity", b"[" * 200 + b"]" * 200,
    b'{"a":' * 100 + b"1" + b"}" * 100, b" ", b"\x00", b'{"x": 1}' + b" " * 10, b"\xef\xbb\xbf{}",
    b"9" * 5000, b'{"emailaddress": 1, "EMAILADDRESS": "dup"}',
]
ODD_PATH: list[str] = [
    "0", "-1", str(2**63), str(2**64), str(2**31), str(2**63 - 1), "abc", "%2F", "%2f..%2f", "1.5", "1e3", "%20",
    "%00", "%ED%A0%80", "%F0%9F%98%80", "%E2%80%AE", "x" * 3000, "..", "~", "tenant~", "~x", "%25", "+1", "0x10", "\u0661",
]
ODD_QUERY: dict[str, list[str]] = {
    "pageSize": ["0", "-1", "abc", str(2**64), "1e3", "201", " ", "1.0", "\u0661", "9" * 400, "\u00b2", "\u2460"],
    "startIndex": ["-1", "abc", str(2**63), str(2**31), "2147483647", "1e9", "\u0000", "9" * 400, "\u00b2", "1\u00b9"],
    "sortBy": ["", "firstName desc", "nope", "firstName sideways", "a,b,c" * 200, "'; drop", "id asc,id desc",
               "id asc asc", ",,,", "\u202eid", "\ud800"],
    "filter": ["firstName eq", "firstName eq 'x", "id eq 99999999999999999999999", "id eq 9223372036854775807",
               "id eq -9223372036854775808", "id gt 2147483648", "id in [2147483648, -2147483649]", "(((", ")",
               "createDate gt 2026-99-99", "createDate gt 0001-01-01T00:00:00Z", "createDate lt 9999-12-31T23:59:59Z",
               "isActive eq maybe", "a eq 1 and or b eq 2", "firstName eq '\u0000'", "x" * 5000,
               "id in [" + ",".join(["1"] * 300) + "]", "not id eq 1", "firstName sw '%_\\\\'", "id eq null",
               "attributeDefinitionId eq 9223372036854775807", "code eq '\ud800'", "isDefault eq true",
               "(" * 40 + "id eq 1" + ")" * 40, " or ".join(["id eq 1"] * 150), "userId in ['a', 'b']"],
    "q": ["", "   ", "%", "_", "\\", "x" * 300, " ".join("w" * 11), "'", "\ud800", "\u0000", "😀", "a%_b"],
    "responseFields": ["(((", "a,b)c", "x" * 5000, "items(id,", "", "id,id,id"],
    "responseGroups": ["(", "x" * 5000, "Attributes,,Bogus"],
    "userId": ["", "abc", "x" * 5000, "\u0000", "%00", "0" * 32],
    "refreshToken": ["", "x" * 5000, "a" * 32, "\u0000"],
    "accountId": ["0", "-1", "abc", str(2**64), "\u00b2", "\u2460"],
    "emailAddress": ["", "@", "x" * 5000, "\u0000", "a@b.c"],
    "userName": ["", "x" * 5000, "\u202e"],
    "customerSetCode": ["", "nope", "x" * 5000, "\u0000", "OUTLET"],
    "unlockAccount": ["maybe", "", "TRUE", "2"],
    "accountType": ["", "B2B", "b2c", "x" * 5000, "\u0000", "\ud800"],
}
"""Query parameter -> odd values; each route sends the ones it reads."""

LIST_QUERY = ("pageSize", "startIndex", "sortBy", "filter", "responseFields", "responseGroups")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """With {accountId}, {contactId}, {noteId}, {cardId}, {attributeFQN}, {id}, {code}, {sessionId} for path
    parameters."""
    body: BodyKind = "none"
    query: tuple[str, ...] = ("responseFields",)


def _routes() -> list[Route]:
    a, d, s = "/api/commerce/customer/accounts", "/api/commerce/customer/{defs}/attributes", SEGMENTS.lower()
    parts = f"{a}/{{accountId}}"
    routes = [
        Route("GET", f"{CUSTOMER}/authtickets/anonymousshopper"),
        Route("POST", f"{CUSTOMER}/authtickets", "object"),
        Route("PUT", f"{CUSTOMER}/authtickets/refresh", query=("refreshToken", "accountId", "responseFields")),
        Route("POST", f"{CUSTOMER}/authtickets/2fa/request", "object"),
        Route("POST", f"{CUSTOMER}/authtickets/2fa/auth", "object"),
        Route("POST", f"{CUSTOMER}/authtickets/otp/request", "object"),
        Route("POST", f"{CUSTOMER}/authtickets/otp/auth", "object"),
        Route("POST", f"{CUSTOMER}/authtickets/impersonatecart", "object"),
        Route("GET", f"{parts}/loginstate", query=("userId", "responseFields")),
        Route("POST", f"{a}/loginstatebyemailaddress", "name", ("emailAddress", "customerSetCode", "responseFields")),
        Route("POST", f"{a}/loginstatebyusername", "name", ("userName", "customerSetCode", "responseFields")),
        Route("POST", f"{parts}/set-login-locked", "flag", ("userId",)),
        Route("POST", f"{parts}/set-password-change-required", "flag", ("userId",)),
        Route("POST", f"{parts}/change-password", "object", ("userId", "unlockAccount")),
        Route("POST", f"{a}/change-passwords", "object"),
        Route("POST", f"{a}/reset-password", "object"),
        Route("POST", f"{a}/update-forgotten-password", "object"),
        Route("GET", f"{parts}/cards"),
        Route("POST", f"{parts}/cards", "object"),
        Route("GET", f"{parts}/cards/{{cardId}}"),
        Route("PUT", f"{parts}/cards/{{cardId}}", "object"),
        Route("DELETE", f"{parts}/cards/{{cardId}}", query=()),
        Route("GET", f"{parts}/contacts", query=LIST_QUERY),
        Route("POST", f"{parts}/contacts", "object"),
        Route("PUT", f"{parts}/contacts", "array"),
        Route("GET", f"{parts}/contacts/{{contactId}}"),
        Route("PUT", f"{parts}/contacts/{{contactId}}", "object"),
        Route("GET", f"{parts}/notes", query=LIST_QUERY),
        Route("POST", f"{parts}/notes", "object"),
        Route("GET", f"{parts}/notes/{{noteId}}"),
        Route("PUT", f"{parts}/notes/{{noteId}}", "object"),
        Route("GET", f"{parts}/attributes", query=LIST_QUERY),
        Route("POST", f"{parts}/attributes", "object"),
        Route("GET", f"{parts}/attributes/{{attributeFQN}}"),
        Route("PUT", f"{parts}/attributes/{{attributeFQN}}", "object"),
        Route("GET", f"{parts}/segments", query=LIST_QUERY),
        Route("GET", d, query=LIST_QUERY),
        Route("POST", d, "object"),
        Route("GET", f"{d}/{{attributeFQN}}", query=("responseFields", "responseGroups")),
        Route("PUT", f"{d}/{{attributeFQN}}", "object"),
        Route("GET", f"{d}/{{attributeFQN}}/vocabularyvalues", query=("responseFields", "responseGroups")),
        Route("GET", s, query=LIST_QUERY),
        Route("POST", s, "object"),
        Route("GET", f"{s}/{{id}}"),
        Route("PUT", f"{s}/{{id}}", "object"),
        Route("POST", f"{s}/{{id}}/accounts", "ids", ()),
        Route("GET", f"{CUSTOMER}/customersets", query=LIST_QUERY),
        Route("GET", f"{CUSTOMER}/customersets/{{code}}"),
        Route("POST", f"{a}/add-account-and-login", "object"),
        Route("POST", f"{a}/bulk", "array"),
        Route("GET", f"{a}/current", query=("responseFields", "responseGroups")),
        Route("POST", f"{parts}/create-login", "object"),
        Route("GET", a, query=(*LIST_QUERY, "q")),
        Route("POST", a, "object"),
        Route("GET", parts, query=("responseFields", "responseGroups")),
        Route("PUT", parts, "object"),
        Route("GET", f"{parts}/sessions", query=("pageSize", "startIndex", "responseFields")),
        Route("GET", f"{parts}/purchaseorderaccount"),
        Route("POST", f"{parts}/purchaseorderaccount", "object"),
        Route("PUT", f"{parts}/purchaseorderaccount", "object"),
        Route("GET", f"{parts}/purchaseordertransaction", query=LIST_QUERY),
        Route("POST", f"{parts}/purchaseordertransaction", "object"),
        Route("GET", f"{a}/purchaseorderaccounts", query=(*LIST_QUERY, "accountType")),
        Route("POST", f"{a}/purchaseorderaccounts", query=(*LIST_QUERY, "accountType")),
        Route("GET", f"{parts}/auditlog/entries", query=(*LIST_QUERY,)),
        # deletes last: they remove what the routes above act on
        Route("DELETE", f"{CUSTOMER}/authtickets", "object", ("refreshToken",)),
        Route("DELETE", f"{parts}/sessions/{{sessionId}}", query=()),
        Route("DELETE", f"{parts}/sessions", query=()),
        Route("DELETE", f"{parts}/contacts/{{contactId}}", query=()),
        Route("DELETE", f"{parts}/notes/{{noteId}}", query=()),
        Route("DELETE", f"{parts}/attributes/{{attributeFQN}}", query=()),
        Route("DELETE", f"{s}/{{id}}/accounts/{{accountId}}", query=()),
        Route("DELETE", f"{s}/{{id}}", query=()),
        Route("DELETE", parts, query=()),
    ]
    both = ("attributedefinition", "accountattributedefinition")
    return [Route(r.method, r.path.replace("{defs}", defs), r.body, r.query)
            for r in routes for defs in (both if "{defs}" in r.path else both[:1])]


ROUTES = _routes()


def test_every_customer_route_is_fuzzed() -> None:
    """The table above covers every route the customer routers declare (so a new route is not missed)."""
    declared = {
        (method, route.path.replace(":int", "").lower())
        for module in (authtickets, sessions, audit, logins, password_reset, account_parts, customer_definitions,
                       purchase_orders, accounts)
        for route in module.router.routes for method in getattr(route, "methods", ())
    }
    fuzzed = {(r.method, r.path.lower()) for r in ROUTES}
    assert declared <= fuzzed, declared - fuzzed


# -- the world the requests act on -------------------------------------------------------------------

@dataclass
class World:
    ids: dict[str, str]
    """Path parameter -> an existing value (an id, an FQN, a code)."""
    bodies: dict[tuple[str, str], Any]
    """(method, path) -> a well-formed body the fuzzer then breaks."""
    callers: dict[Caller, dict[str, str]]
    email: str
    user_id: str


async def _world(client: httpx.AsyncClient, app_hdrs: dict[str, str]) -> World:
    admin = await admin_headers(client)
    nina: Shopper = await shopper(client, app_hdrs, "nina.fuzz@example.com")
    acct = nina.account_id
    contact = ok(await client.post(part(acct, "contacts"), headers=admin, json={"email": "c@example.com"}))
    note = ok(await client.post(part(acct, "notes"), headers=admin, json={"content": "a note"}))
    card_body = {"id": "0f5e4d3c2b1a49788796a5b4c3d2e1f0", "nameOnCard": "N F", "cardType": "VISA", "expireMonth": 1,
                 "expireYear": 2030, "cardNumberPart": "************1111", "contactId": contact["id"],
                 "isDefaultPayMethod": True}
    card = ok(await client.post(part(acct, "cards"), headers=admin, json=card_body))
    po_body = {"isEnabled": True, "creditLimit": 100.5, "overdraftAllowance": 5, "overdraftAllowanceType": "Percent",
               "customerPurchaseOrderPaymentTerms": [{"siteId": 200, "code": "NET30", "description": "d"}]}
    ok(await client.post(part(acct, "purchaseorderaccount"), headers=admin, json=po_body))
    await define(client, admin, "color")
    await define(client, admin, "size", dataType="Number", inputType="List",
                 vocabularyValues=[{"value": "1"}, {"value": "2.5"}], isMultiValued=True)
    await define(client, admin, "born", dataType="Date", inputType="Date",
                 validation={"minDateTime": "1900-01-01T00:00:00Z", "maxDateTime": "2100-01-01T00:00:00Z"})
    await define(client, admin, "vip", dataType="Bool", inputType="YesNo")
    await define(client, admin, "score", dataType="Number", validation={"minNumericValue": -5, "maxNumericValue": 5})
    ok(await client.put(part(acct, "attributes", "tenant~color"), headers=admin, json={"values": ["red"]}))
    segment = ok(await client.post(SEGMENTS, headers=admin, json={"code": "fuzz", "name": "Fuzz"}))
    r = await client.post(f"{SEGMENTS}/{segment['id']}/accounts", headers=admin, json=[acct])
    assert r.status_code == 204, r.text
    ids = {"accountId": str(acct), "contactId": str(contact["id"]), "noteId": str(note["id"]), "cardId": card["id"],
           "attributeFQN": "tenant~color", "id": str(segment["id"]), "code": "default",
           "sessionId": "0" * 32}
    email = "nina.fuzz@example.com"
    address = {"address1": "1 Main St", "cityOrTown": "Town", "stateOrProvince": "TX", "postalOrZipCode": "78701",
               "countryCode": "US", "addressType": "Residential", "isValidated": True}
    contact_body = {"id": 0, "email": "d@example.com", "firstName": "D", "lastNameOrSurname": "E", "label": "home",
                    "address": address, "phoneNumbers": {"home": "555", "mobile": "556", "work": "557"},
                    "types": [{"name": "Billing", "isPrimary": True}], "faxNumber": "1", "companyOrOrganization": "C"}
    account_body = {"emailAddress": "new.fuzz@example.com", "userName": "newfuzz", "firstName": "N", "lastName": "F",
                    "companyOrOrganization": "C", "taxExempt": False, "taxId": "T", "acceptsMarketing": True,
                    "externalId": "X", "localeCode": "en-US", "accountType": "B2C", "customerSet": "default",
                    "contacts": [contact_body], "notes": [{"content": "n"}, "plain"],
                    "attributes": [{"fullyQualifiedName": "tenant~color", "values": ["blue"]}],
                    "segments": [{"id": segment["id"]}, {"code": "fuzz"}]}
    lifetimes = {"authTicketTtlMinutes": 5, "refreshTokenTtlMinutes": 60, "fingerprint": "fp", "region": "eu"}
    register_body = {"account": account_body, "password": PASSWORD, "externalPassword": "ext", "isImport": False,
                     **lifetimes}
    definition_body = {
        "attributeCode": "fz", "namespace": "tenant", "attributeFQN": "tenant~fz", "adminName": "Fz",
        "inputType": "List", "valueType": "ShopperEntered", "dataType": "Number", "displayGroup": "g",
        "attributeMetadata": [{"key": "k", "value": "v"}], "content": {"localeCode": "en-US", "value": "Fz"},
        "validation": {"regularExpression": "(a+)+$", "minStringLength": 1, "maxStringLength": 10,
                       "minNumericValue": 0, "maxNumericValue": 10, "minDateTime": "2026-01-01T00:00:00Z",
                       "maxDateTime": "2027-01-01T00:00:00Z"},
        "vocabularyValues": [{"value": "1", "sequence": 1, "isHidden": False,
                              "content": {"localeCode": "en-US", "value": "one"}}],
        "isActive": True, "isRequired": False, "isReadOnly": False, "isMultiValued": True, "isVisible": True,
        "order": 1, "availableForOrderRouting": False, "availableForDiscounts": False,
    }
    password_info = {"oldPassword": PASSWORD, "newPassword": PASSWORD + "!", "externalPassword": "ext"}
    a, parts = "/api/commerce/customer/accounts", "/api/commerce/customer/accounts/{accountId}"
    bodies: dict[tuple[str, str], Any] = {
        ("POST", f"{CUSTOMER}/authtickets"): {"username": email, "emailAddress": email, "password": PASSWORD,
                                             "accountId": acct, **lifetimes},
        ("POST", f"{a}/loginstatebyemailaddress"): {"emailAddress": email},
        ("POST", f"{a}/loginstatebyusername"): {"userName": email},
        ("POST", f"{parts}/change-password"): password_info,
        ("POST", f"{a}/change-passwords"): {"totalCount": 1, "items": [
            {"accountId": acct, "userId": nina.user_id, "unlockAccount": True, "passwordInfo": password_info}]},
        ("POST", f"{a}/reset-password"): {"emailAddress": email, "userName": email, "customerSetCode": "default"},
        ("POST", f"{a}/update-forgotten-password"): {"userName": email, "confirmationCode": "0" * 32,
                                                    "newPassword": PASSWORD},
        ("POST", f"{parts}/contacts"): contact_body,
        ("PUT", f"{parts}/contacts"): [contact_body, {**contact_body, "id": contact["id"]}],
        ("PUT", f"{parts}/contacts/{{contactId}}"): contact_body,
        ("POST", f"{parts}/cards"): {**card_body, "id": None},
        ("PUT", f"{parts}/cards/{{cardId}}"): card_body,
        ("POST", f"{parts}/notes"): {"content": "hello"},
        ("POST", f"{parts}/purchaseorderaccount"): po_body,
        ("PUT", f"{parts}/purchaseorderaccount"): po_body,
        ("POST", f"{parts}/purchaseordertransaction"): {
            "transactionTypeId": 2, "transactionAmount": 1.25, "orderId": "o", "purchaseOrderNumber": "p",
            "externalId": "x", "additionalTransactionDetail": "d", "author": "a"},
        ("PUT", f"{parts}/notes/{{noteId}}"): {"content": "changed"},
        ("POST", f"{parts}/attributes"): {"fullyQualifiedName": "tenant~score", "attributeDefinitionId": 1,
                                          "values": [3]},
        ("PUT", f"{parts}/attributes/{{attributeFQN}}"): {"fullyQualifiedName": "tenant~born",
                                                          "values": ["2000-01-01T00:00:00Z"]},
        ("POST", f"{CUSTOMER}/attributedefinition/attributes"): definition_body,
        ("POST", f"{CUSTOMER}/accountattributedefinition/attributes"): definition_body,
        ("PUT", f"{CUSTOMER}/attributedefinition/attributes/{{attributeFQN}}"): definition_body,
        ("PUT", f"{CUSTOMER}/accountattributedefinition/attributes/{{attributeFQN}}"): definition_body,
        ("POST", SEGMENTS.lower()): {"id": 7, "code": "seg", "name": "Seg", "description": "d"},
        ("PUT", f"{SEGMENTS.lower()}/{{id}}"): {"id": 7, "code": "seg2", "name": "Seg", "description": "d"},
        ("POST", f"{SEGMENTS.lower()}/{{id}}/accounts"): [acct],
        ("POST", f"{a}/add-account-and-login"): register_body,
        ("POST", f"{a}/bulk"): [register_body],
        ("POST", f"{parts}/create-login"): {"emailAddress": "login.fuzz@example.com", "username": "loginfuzz",
                                            "password": PASSWORD, "externalPassword": "e", "isImport": False,
                                            **lifetimes},
        ("POST", a): account_body,
        ("PUT", parts): {"id": acct, "isActive": True, **{k: v for k, v in account_body.items()
                                                          if k not in ("contacts", "notes", "attributes", "segments")}},
    }
    return World(ids, bodies, {"admin": admin, "storefront": app_hdrs, "shopper": nina.headers}, email, nina.user_id)


# -- drawing requests --------------------------------------------------------------------------------

@dataclass
class Case:
    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    content: bytes | None = None

    def target(self) -> str:
        """The URL with the query percent-encoded as UTF-8; a lone surrogate as the bytes a lax client
        sends for it (`%ED%A0%80`), which httpx itself refuses to encode."""
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}" for k, v in self.params)
        return f"{self.url}?{query}" if query else self.url

    def __str__(self) -> str:
        body = "" if self.content is None else f" body={self.content[:300]!r}"
        return f"{self.method} {self.url[:300]} params={[(k, v[:80]) for k, v in self.params]}{body}"


def _encode(value: Any) -> bytes:
    """JSON as a client may send it: lone surrogates escaped (`"\\ud800"`), NaN and Infinity as bare words."""
    return json.dumps(value, ensure_ascii=True).encode()


def _unique(content: bytes, n: int) -> bytes:
    """The body with the names of the accounts and logins it creates made unique, so that each request
    gets past the duplicate checks to what it tries."""
    for name in (b"new.fuzz@", b"newfuzz", b"login.fuzz@", b"loginfuzz"):
        content = content.replace(name, name.rstrip(b"@") + str(n).encode() + (b"@" if name.endswith(b"@") else b""))
    return content


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a body a value may be swapped: each key and each list item, nested ones too."""
    if path:
        yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))


def _swap(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _swap(value[head], rest, new)}
    copy = list(value)
    copy[head] = _swap(copy[head], rest, new)
    return copy


def _bodies(rng: random.Random, route: Route, good: Any, per_field: int) -> Iterator[bytes | None]:
    if route.body == "none":
        yield None
        yield b'{"unexpected": "body"}'
        return
    yield None
    yield from rng.sample(WHOLE_BODIES, 6)
    if route.body == "flag":
        yield from (b"true", b"false", b'"TRUE"', b'"yes"', b"1", b"{}", b'{"value": true}', _encode("\ud800"))
        return
    if route.body == "name":
        for v in rng.sample(WEIRD, 10):
            yield _encode(v)
            yield _encode({k: v for k in good})
        return
    if route.body == "ids":
        for v in rng.sample(WEIRD, 12):
            yield _encode([v])
        yield _encode([1] * 1001)
        return
    for where in _leaves(good):
        for v in rng.sample(WEIRD, per_field):
            yield _encode(_swap(good, where, v))
    yield _encode(good)
    if route.body == "array":
        yield _encode([good[0]] * 1001)
        yield _encode([None, 1, "x", []])


def _paths(rng: random.Random, route: Route, world: World) -> Iterator[str]:
    def fill(overrides: dict[str, str]) -> str:
        return route.path.format(**{**world.ids, **overrides})

    names = [n for n in world.ids if "{" + n + "}" in route.path]
    if route.method != "DELETE":
        yield fill({})
    for name in names:
        for odd in rng.sample(ODD_PATH, PER_PATH_PARAMETER):
            yield fill({name: odd})
    if route.method == "DELETE":
        yield fill({})


def _queries(rng: random.Random, route: Route, world: World) -> Iterator[list[tuple[str, str]]]:
    yield []
    for name in route.query:
        for odd in rng.sample(ODD_QUERY[name], min(PER_QUERY_PARAMETER, len(ODD_QUERY[name]))):
            yield [(name, odd)]
    if route.query:
        yield [(name, rng.choice(ODD_QUERY[name])) for name in route.query]
    if "userId" in route.query:
        yield [("userId", world.user_id)]


def cases(rng: random.Random, world: World, per_field: int) -> Iterator[Case]:
    for route in ROUTES:
        good = world.bodies.get((route.method, route.path))
        for path in _paths(rng, route, world):
            yield Case(route.method, path)
        for query in _queries(rng, route, world):
            yield Case(route.method, route.path.format(**world.ids), query)
        for n, body in enumerate(_bodies(rng, route, good, per_field)):
            yield Case(route.method, route.path.format(**world.ids), [], None if body is None else _unique(body, n))


# -- the tests -----------------------------------------------------------------------------------------

async def _send(client: httpx.AsyncClient, case: Case, hdrs: dict[str, str]) -> str | None:
    """None when the response is fine, else what was wrong with it."""
    headers = {**hdrs, "content-type": "application/json"} if case.content is not None else hdrs
    try:
        r = await asyncio.wait_for(client.request(case.method, case.target(), content=case.content, headers=headers),
                                   REQUEST_TIMEOUT)
    except TimeoutError:
        return f"no answer in {REQUEST_TIMEOUT} s"
    except Exception as exc:  # the app raised: what a server answers with a 500
        return f"raised {exc!r}"[:500]
    if r.status_code >= 500:
        return f"{r.status_code}: {r.text[:300]}"
    if r.status_code >= 400:
        try:
            assert_error(r, r.status_code)
        except (AssertionError, ValueError) as exc:
            return f"{r.status_code} without the Kibo envelope: {exc}"[:500]
    return None


@pytest.mark.parametrize("caller", ["admin", "storefront", "shopper"])
async def test_no_request_fails_the_server(client: httpx.AsyncClient, app_headers: dict[str, str], seeded: Seed,
                                           caller: Caller) -> None:
    world = await _world(client, app_headers)
    rng = random.Random(f"{SEED}-{caller}")
    hdrs = world.callers[caller]
    failures, count = [], 0
    for case in cases(rng, world, PER_FIELD[caller]):
        count += 1
        problem = await _send(client, case, hdrs)
        if problem is not None:
            failures.append(f"{case}\n    -> {problem}")
    assert count > 1000
    assert not failures, f"{len(failures)} of {count} requests failed:\n" + "\n".join(failures[:40])


async def test_odd_paths_with_quoting(client: httpx.AsyncClient, app_headers: dict[str, str], seeded: Seed) -> None:
    """Path parameters quoted as clients quote them (`quote(value, safe="")`), whatever they hold."""
    world = await _world(client, app_headers)
    hdrs = world.callers["admin"]
    failures = []
    odd = ["a/b", "a?b", "a#b", "\u202e", "😀", "a b", "%", "\\", "'", "\"", "tenant~" + "x" * 400, "\ud800"]
    for route in ROUTES:
        for name in (n for n in world.ids if "{" + n + "}" in route.path):
            for value in odd:
                url = route.path.format(**{**world.ids, name: quote(value, safe="", errors="surrogatepass")})
                problem = await _send(client, Case(route.method, url), hdrs)
                if problem is not None:
                    failures.append(f"{route.method} {url[:200]} -> {problem}")
    assert not failures, "\n".join(failures[:40])


ODD_HEADERS: dict[str, list[bytes]] = {
    "x-vol-tenant": [b"", b"0", b"-1", b"abc", b"\xb2", b"1\xb9", b"2147483648", b"9" * 400, b" 100 ", b"100, 100"],
    "x-vol-site": [b"", b"0", b"-1", b"abc", b"\xb2", b"\xb3", b"202", b"400", b"2147483648", b"9" * 400],
    "x-vol-user-claims": [b"", b"x", b"a.b.c", b"x" * 5000, b"\xff\xfe", b"e30.e30.e30", b"0" * 32],
    "authorization": [b"", b"Bearer", b"Bearer ", b"Basic abc", b"Bearer a.b.c", b"Bearer \xff", b"Bearer " + b"x" * 5000],
    "x-vol-app-claims": [b"", b"x", b"a.b.c", b"\xb2"],
    "content-type": [b"text/plain", b"application/json; charset=latin-1", b"\xff", b"multipart/form-data; boundary=x"],
    "host": [b"t100-s200.example.test", b"t0-s0.x", b"t999999999-s999999999.x", b"t100-s202.x", b"\xb2"],
}


async def test_odd_headers(client: httpx.AsyncClient, app_headers: dict[str, str], seeded: Seed) -> None:
    """Each route once per odd value of each header the context reads, over the admin's other headers."""
    world = await _world(client, app_headers)
    rng = random.Random(f"{SEED}-headers")
    failures = []
    for name, values in ODD_HEADERS.items():
        for value in values:
            for route in rng.sample([r for r in ROUTES if r.method != "DELETE"], 6):
                good = world.bodies.get((route.method, route.path))
                base = {k: v for k, v in world.callers["admin"].items() if k.lower() != name}
                hdrs: dict[str, Any] = {**base, name: value}
                case = Case(route.method, route.path.format(**world.ids), [],
                            None if good is None else _encode(good))
                problem = await _send(client, case, hdrs)
                if problem is not None:
                    failures.append(f"{case} {name}={value[:40]!r}\n    -> {problem}")
    assert not failures, "\n".join(failures[:40])


async def test_every_filter_and_attribute_value(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                seeded: Seed) -> None:
    """Every odd filter, sortBy and q on every list an admin reads; every odd value for an attribute of each
    data type."""
    world = await _world(client, app_headers)
    admin = world.callers["admin"]
    failures = []
    lists = [r for r in ROUTES if r.method == "GET" and "filter" in r.query]
    for route in lists:
        for name in ("filter", "sortBy", "q", "pageSize", "startIndex"):
            for value in ODD_QUERY[name]:
                case = Case("GET", route.path.format(**world.ids), [(name, value)])
                problem = await _send(client, case, admin)
                if problem is not None:
                    failures.append(f"{case}\n    -> {problem}")
    for fqn in ("tenant~color", "tenant~size", "tenant~born", "tenant~vip", "tenant~score"):
        for value in WEIRD:
            for values in ([value], [value, value, "1"]):
                case = Case("PUT", part(int(world.ids["accountId"]), "attributes", fqn), [], _encode({"values": values}))
                problem = await _send(client, case, admin)
                if problem is not None:
                    failures.append(f"{case}\n    -> {problem}")
    assert not failures, "\n".join(failures[:40])


EDGES: list[Any] = [2**63, 2**31, "x" * 4096, "😀" * 1024]
"""Values at or just past the bounds the request models allow: they reach the services and the database."""


async def test_edge_values_in_every_body_field(client: httpx.AsyncClient, app_headers: dict[str, str],
                                               seeded: Seed) -> None:
    """Every field of every body an admin sends, set to each value at the edge of what the models accept."""
    world = await _world(client, app_headers)
    admin = world.callers["admin"]
    failures, count = [], 0
    for route in ROUTES:
        good = world.bodies.get((route.method, route.path))
        if route.body not in ("object", "array") or good is None:
            continue
        for where in _leaves(good):
            for value in EDGES:
                count += 1
                body = _unique(_encode(_swap(good, where, value)), count)
                case = Case(route.method, route.path.format(**world.ids), [], body)
                problem = await _send(client, case, admin)
                if problem is not None:
                    failures.append(f"{case}\n    -> {problem}")
    assert count > 1000
    assert not failures, f"{len(failures)} of {count} requests failed:\n" + "\n".join(failures[:40])


# -- what the fuzzing above found, pinned ------------------------------------------------------------

async def test_digits_int_refuses_are_400(client: httpx.AsyncClient, app_headers: dict[str, str], seeded: Seed) -> None:
    """"²" and "①" are digits to str.isdigit but not to int(): a 400 naming the parameter, not a 500."""
    admin = await admin_headers(client)
    for name in ("pageSize", "startIndex"):
        for raw in ("\u00b2", "\u2460", "1\u00b9", "\u0661"):
            r = await client.get(ACCOUNTS, headers=admin, params={name: raw})
            assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", name)
    for name in ("x-vol-tenant", "x-vol-site"):
        r = await client.get(ACCOUNTS, headers={**admin, name: b"\xb2"})  # type: ignore[dict-item]
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", name)


async def test_a_bare_segment_id_out_of_range_is_400(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                     seeded: Seed) -> None:
    """CustomerAccount.segments may list bare ids; one past what a segment id can be is a 400 and adds nothing."""
    admin = await admin_headers(client)
    for i, bad in enumerate((2**31, 2**63, -(2**63), 0)):
        body = {"emailAddress": f"seg{i}@example.com", "segments": [bad]}
        assert_error(await client.post(ACCOUNTS, headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER",
                     "segments[0].id" if bad else "segments[0]")
    assert ok(await client.get(ACCOUNTS, headers=admin))["totalCount"] == 0


async def test_concurrent_duplicates(client: httpx.AsyncClient, app_headers: dict[str, str], seeded: Seed) -> None:
    """The same creating request sent several times at once: one wins, the others are errors (a conflict),
    never a 500 from a unique constraint the checks before the insert could not see coming."""
    world = await _world(client, app_headers)
    admin = world.callers["admin"]
    failures = []
    for route in ROUTES:
        good = world.bodies.get((route.method, route.path))
        if route.method not in ("POST", "PUT") or good is None:
            continue
        case = Case(route.method, route.path.format(**world.ids), [], _unique(_encode(good), 999))
        for problem in await asyncio.gather(*(_send(client, case, admin) for _ in range(6))):
            if problem is not None:
                failures.append(f"{case}\n    -> {problem}")
    assert not failures, "\n".join(failures[:40])

"""Paths and small helpers shared by the HTTP tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from tests.conftest import PASSWORD

CUSTOMER = "/api/commerce/customer"
ANONYMOUS = f"{CUSTOMER}/authtickets/anonymousshopper"
LOGIN = f"{CUSTOMER}/authtickets"
RESET_PASSWORD = f"{CUSTOMER}/accounts/Reset-Password"
UPDATE_FORGOTTEN_PASSWORD = f"{CUSTOMER}/accounts/Update-Forgotten-Password"
INVALID_CODE = "Missing or invalid parameter: confirmationCode is invalid or has expired"
"""The answer to a wrong, spent or expired reset code."""
REFRESH = f"{CUSTOMER}/authtickets/refresh"
REGISTER = f"{CUSTOMER}/accounts/Add-Account-And-Login"
CURRENT = f"{CUSTOMER}/accounts/current"
OAUTH = "/api/platform/applications/authtickets/oauth"
APP_TICKETS = "/api/platform/applications/authtickets"

JSON_TYPE = "application/json; charset=utf-8"
ENVELOPE_KEYS = {"message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"}
TICKET_KEYS = {"accessToken", "accessTokenExpiration", "refreshToken", "refreshTokenExpiration", "jwtAccessToken",
               "userId", "customerAccount", "requires2FA"}
ACCOUNT_KEYS = {
    "accountType", "attributes", "auditInfo", "commerceSummary", "companyOrOrganization", "contacts", "customerSet",
    "customerSinceDate", "externalId", "id", "migrationRequired", "notes", "segments", "taxExempt", "taxId",
    "acceptsMarketing", "emailAddress", "firstName", "hasExternalPassword", "isActive", "isAnonymous", "isLocked",
    "last2FaDate", "lastName", "localeCode", "userId", "userName",
}
HEX32 = re.compile(r"^[0-9a-f]{32}$")
KIBO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_error(r: httpx.Response, status: int, code: str | None = None, parameter: str | None = None) -> dict[str, Any]:
    """The response is a Kibo error envelope with every key, the status and (when given) the code and
    the ParameterName entry."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == JSON_TYPE
    body: dict[str, Any] = r.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert isinstance(body["message"], str) and ": " in body["message"], body
    assert isinstance(body["applicationName"], str) and body["applicationName"]
    assert body["items"] == []
    assert body["exceptionDetail"] is None
    assert isinstance(body["additionalErrorData"], list)
    if code is not None:
        assert body["errorCode"] == code, body
    if parameter is not None:
        assert body["additionalErrorData"] == [{"name": "ParameterName", "value": parameter}], body
    return body


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON_TYPE
    body: dict[str, Any] = r.json()
    return body


def kibo_date(value: str) -> datetime:
    """A Kibo date (`2026-11-27T12:15:00.000Z`), parsed; fails on any other form."""
    assert KIBO_DATE.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


async def register(client: httpx.AsyncClient, hdrs: dict[str, str], email: str, password: str = PASSWORD,
                   **account: Any) -> dict[str, Any]:
    r = await client.post(REGISTER, headers=hdrs, json={"account": {"emailAddress": email, **account},
                                                        "password": password})
    return ok(r)


async def login(client: httpx.AsyncClient, hdrs: dict[str, str], username: str, password: str = PASSWORD,
                **extra: Any) -> httpx.Response:
    return await client.post(LOGIN, headers=hdrs, json={"username": username, "password": password, **extra})


async def refresh(client: httpx.AsyncClient, hdrs: dict[str, str], token: str) -> httpx.Response:
    return await client.put(REFRESH, headers=hdrs, params={"refreshToken": token})


async def anonymous(client: httpx.AsyncClient, hdrs: dict[str, str]) -> dict[str, Any]:
    return ok(await client.get(ANONYMOUS, headers=hdrs))


def anonymous_id(ticket: dict[str, Any]) -> str:
    """An anonymous visitor's identity: its ticket answers `userId: null` (as Kibo's do), the JWT's `sub`
    names it (read unverified: the tests that check signatures use `decode_jwt`)."""
    assert ticket["userId"] is None
    sub: str = jwt.decode(ticket["jwtAccessToken"], options={"verify_signature": False})["sub"]
    return sub


async def decode_jwt(client: httpx.AsyncClient, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a ticket JWT, verified with the key the JWKS publishes under its kid. Time
    claims are not checked here (the tests run on a manual clock)."""
    header = jwt.get_unverified_header(token)
    keys = ok(await client.get("/.well-known/jwks.json"))["keys"]
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    key = jwt.PyJWK(jwk).key
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["ES256"], audience="ticketbooth", issuer="http://shop.example.test",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return header, claims

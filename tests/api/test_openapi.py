"""The OpenAPI document (/openapi.json) and the docs page (/docs): complete, valid OpenAPI 3.1, in Kibo's
schema names, every error documented as the envelope, and strict enough to catch a shape that drifts.
(tests/test_schema_fuzz.py drives a live server with it.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from tests.api.support import ANONYMOUS, CURRENT, REGISTER, assert_error, ok
from tests.conftest import PASSWORD, Seed
from ticketbooth.app import create_app
from ticketbooth.config import Settings
from ticketbooth.kibo import openapi

KIBO_SPECS = Path("/work/shared/reference")
OURS = {
    # what Kibo's published specs lack: the error envelope (its SDKs' ApiError), our additions and requests
    "ApiError", "CustomerSession", "CustomerSessionCollection", "Tenant", "TenantSite", "JsonWebKeySet",
    "OpenIdConfiguration", "Liveness", "Readiness", "TwoFactorInfo", "OtpRequestInfo", "OtpAuthInfo",
    "CustomerAccountUpdate", "ApplicationSubscriptionCollection", "ApplicationSubscriptionCreated", "WebhookDelivery",
    "WebhookDeliveryCollection",
    # Kibo's event contracts (Event Pull API: mozu-java's contracts/event), in neither of the two specs
    "Event", "EventCollection", "EventExtendedProperty",
    # in Kibo's REST SDK (clients/Customer/models), not in its published spec
    "Behavior", "BehaviorCollection", "BehaviorCategory", "BehaviorCategoryCollection",
    "B2BRole", "B2BRoleInput", "B2BRoleCollection",
    # passkeys (issue 19)
    "Passkey", "PasskeyCollection", "PasskeyOptions", "PasskeyRegistrationInput", "PasskeyUpdateInput",
    "PasskeyOptionsInput", "PasskeyAuthInput",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app as the service builds it (no database is opened: the document needs none)."""
    return create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'unused.db'}"))


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in document["paths"].items() for m, op in item.items()]


def test_every_served_route_is_documented_and_nothing_else(app: FastAPI, document: dict[str, Any]) -> None:
    missing, unserved = openapi.gaps(app)
    assert missing == [], f"served but not described in kibo/openapi.py OPERATIONS: {missing}"
    assert unserved == [], f"described in OPERATIONS but not served: {unserved}"
    served = set(openapi.served(app))
    assert openapi.documented(document) == served
    assert len(served) >= 77  # every operation of issue 6's list, at least
    # the hot paths are documented whatever kind of route serves them
    for method, path in [("GET", "/api/commerce/customer/authtickets/anonymousshopper"),
                         ("PUT", "/api/commerce/customer/authtickets/refresh"),
                         ("GET", "/api/commerce/customer/accounts/current")]:
        assert (method, path) in served


def test_a_route_missing_from_the_table_is_caught(tmp_path: Path) -> None:
    """A route added without a description: the gap is reported (the test above fails on it) and the
    route is still in the document, so /openapi.json never breaks."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}"))
    before = openapi.gaps(app)[0]

    async def extra(request: Request) -> Response:
        return Response()

    app.router.add_route("/api/commerce/customer/extra", extra, methods=["POST"])
    assert openapi.gaps(app)[0] == sorted([*before, "POST /api/commerce/customer/extra"])
    assert "post" in app.openapi()["paths"]["/api/commerce/customer/extra"]


def test_plain_starlette_routes_are_documented_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hot path served by a plain Starlette Route (FastAPI's generator skips it) gets its parameters,
    answers and security from OPERATIONS."""
    path = "/api/commerce/customer/authtickets/refresh"
    monkeypatch.setattr(openapi, "OPERATIONS", {("PUT", path): openapi.OPERATIONS["PUT", path]})
    app = FastAPI()

    async def refresh(request: Request) -> Response:
        return Response()

    app.router.add_route(path, refresh, methods=["PUT"])
    op = openapi.build(app)["paths"][path]["put"]
    assert {p["name"] for p in op["parameters"] if p["in"] == "query"} == {"refreshToken", "accountId", "responseFields"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": openapi.REF + "CustomerAuthTicket"}
    assert op["summary"] == "Refresh a user auth ticket" and op["security"] == openapi.SECURITY[openapi.APP_ONLY]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    operations = [result.ok() for result in schema.get_all_operations()]  # every $ref resolves
    assert len(operations) == len(_operations(document))
    ids = [op["operationId"] for _, _, op in _operations(document)]
    assert len(ids) == len(set(ids))
    refs = set(_refs(document))
    assert refs <= {openapi.REF + name for name in document["components"]["schemas"]} | {
        "#/components/headers/x-vol-correlation"}


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "$ref"] + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_kibo_schema_names(document: dict[str, Any]) -> None:
    """The shapes carry Kibo's names; only what Kibo's specs lack carries ours (or Kibo's name + Input)."""
    kibo = set()
    for spec in ("kibo-openapi-customer.json", "kibo-openapi-appdevelopment.json"):
        kibo |= set(json.loads((KIBO_SPECS / spec).read_text())["components"]["schemas"])
    ours = {name for name in document["components"]["schemas"] if name not in kibo and name not in OURS}
    assert {name for name in ours if not (name.endswith("Input") and name.removesuffix("Input") in kibo)} == set()
    ops = document["paths"]

    def answer(path: str, method: str) -> str:
        ref: str = ops[path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return ref.removeprefix(openapi.REF)

    def body(path: str, method: str) -> str:
        ref: str = ops[path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return ref.removeprefix(openapi.REF)

    c = "/api/commerce/customer"
    assert answer(f"{c}/authtickets/anonymousshopper", "get") == "CustomerAuthTicket"
    assert answer(f"{c}/authtickets/refresh", "put") == "CustomerAuthTicket"
    assert (answer(f"{c}/authtickets", "post"), body(f"{c}/authtickets", "post")) == ("CustomerAuthTicket",
                                                                                      "CustomerUserAuthInfo")
    assert body(f"{c}/accounts/add-account-and-login", "post") == "CustomerAccountAndAuthInfo"
    assert answer(f"{c}/accounts", "get") == "CustomerAccountCollection"
    assert answer(f"{c}/accounts/current", "get") == "CustomerAccount"
    assert answer(f"{c}/accounts/{{accountId}}/loginstate", "get") == "LoginState"
    assert answer("/api/platform/applications/authtickets/oauth", "post") == "OAuthAccessTokenResponse"


def test_every_error_is_documented_as_the_kibo_envelope(document: dict[str, Any]) -> None:
    envelope = document["components"]["schemas"]["ApiError"]
    assert set(envelope["required"]) == set(envelope["properties"]) == {
        "message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"}
    for method, path, op in _operations(document):
        errors = {int(s) for s in op["responses"] if int(s) >= 400}
        assert {400, 413} <= errors, (method, path)
        if path.startswith("/api/commerce"):
            assert {401, 503} <= errors, (method, path)
        for status in errors:
            content = op["responses"][str(status)]["content"]
            if (path, status) == ("/graphql", 400):  # not one operation, or no valid document: GraphQL's errors
                assert content == {"application/json": {"schema": openapi.GRAPHQL_ERRORS}}
                continue
            assert content == {"application/json": {"schema": {"$ref": openapi.REF + "ApiError"}}}, (method, path)
        assert "422" not in op["responses"]  # validation errors answer 400, never FastAPI's 422


def test_the_document_catches_a_drifting_shape(document: dict[str, Any]) -> None:
    """A ticket as sent validates; a ticket with a field the document lacks does not (no additional
    properties), nor one with a field of another type."""
    validator = jsonschema_rs.validator_for({"$ref": openapi.REF + "CustomerAuthTicket", **document})
    good = {"accessToken": "a" * 32, "accessTokenExpiration": "2026-11-27T05:31:56.123Z", "refreshToken": None,
            "refreshTokenExpiration": None, "jwtAccessToken": "x.y.z", "userId": "b" * 32, "customerAccount": None,
            "requires2FA": True}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "sessionId": "new"})
    assert not validator.is_valid({**good, "requires2FA": "yes"})


async def test_openapi_json_and_the_docs_page_are_served(client: httpx.AsyncClient, seeded: Seed) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    served = r.json()
    assert served["openapi"] == "3.1.0" and len(served["paths"]) >= 55
    docs = await client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text and "swagger-ui" in docs.text.lower()


async def test_full_answers_hold_every_documented_field(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                        document: dict[str, Any]) -> None:
    """Without responseFields, the ticket and the account hold exactly the fields the document lists."""
    schemas = document["components"]["schemas"]
    anonymous = ok(await client.get(ANONYMOUS, headers=app_headers))
    assert set(anonymous) == set(schemas["CustomerAuthTicket"]["properties"])
    ticket = ok(await client.post(REGISTER, headers=app_headers, json={
        "account": {"emailAddress": "doc@example.com"}, "password": PASSWORD}))
    assert set(ticket) == set(schemas["CustomerAuthTicket"]["properties"])
    account = ok(await client.get(CURRENT, headers={**app_headers, "x-vol-user-claims": ticket["accessToken"]}))
    assert set(account) == set(schemas["CustomerAccount"]["properties"])
    for name, value in [("CommerceSummary", account["commerceSummary"]), ("AdminUserAuditInfo", account["auditInfo"])]:
        assert set(value) == set(schemas[name]["properties"]), name


async def test_an_undocumented_method_is_a_405_envelope_on_every_path(client: httpx.AsyncClient,
                                                                     document: dict[str, Any]) -> None:
    """405 is no operation's answer (it is the path's, for a method the path does not serve), so it is not
    in the document: every documented path answers PATCH, which none serves, with 405 in the envelope."""
    for path in document["paths"]:
        r = await client.patch(re.sub(r"\{\w+\}", "1", path), json={})
        assert_error(r, 405, "METHOD_NOT_ALLOWED")
        assert r.headers["x-vol-correlation"], path

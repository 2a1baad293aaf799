"""KiboTolerance: case-insensitive paths and query names, optional trailing slash, the correlation
header, and the body size limit (KIBO_COMPAT sections 3 and 4)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Query, Request
from starlette.types import Message, Receive, Scope, Send

from ticketbooth.kibo.middleware import KiboTolerance

LIMIT = 1024
ENVELOPE_KEYS = {"message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"}


def make_app() -> tuple[FastAPI, list[dict[str, Any]]]:
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    @app.put("/api/commerce/customer/authtickets/refresh")
    async def refresh(request: Request, refreshToken: str | None = Query(None),
                      responseFields: str | None = Query(None)) -> dict[str, Any]:
        body = await request.body()
        seen.append({"path": request.url.path})
        return {"refreshToken": refreshToken, "responseFields": responseFields, "bodyLength": len(body)}

    @app.api_route("/{rest:path}", methods=["GET", "POST"])
    async def echo(request: Request, rest: str) -> dict[str, Any]:
        seen.append({"path": request.url.path})
        return {"path": request.scope["path"], "rawPath": request.scope["raw_path"].decode(),
                "params": request.query_params.multi_items()}

    return app, seen


STATIC = frozenset({"api", "commerce", "customer", "authtickets", "refresh", "some", "where"})


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, list[dict[str, Any]]]]:
    app, seen = make_app()
    wrapped = KiboTolerance(app, max_body_bytes=LIMIT, static_segments=STATIC)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://testserver") as c:
        yield c, seen


# -- paths ---------------------------------------------------------------------------------------

async def test_path_is_lower_cased(client: Any) -> None:
    c, _ = client
    r = await c.put("/API/Commerce/Customer/AuthTickets/Refresh?refreshToken=abc")
    assert r.status_code == 200, r.text
    assert r.json()["refreshToken"] == "abc"


async def test_trailing_slash_is_dropped(client: Any) -> None:
    c, _ = client
    r = await c.put("/api/commerce/customer/authtickets/refresh/?refreshToken=abc")
    assert r.status_code == 200, r.text
    assert r.json()["refreshToken"] == "abc"


async def test_path_and_raw_path_are_both_normalized(client: Any) -> None:
    c, _ = client
    r = await c.get("/Some/Where/")
    assert r.json()["path"] == "/some/where"
    assert r.json()["rawPath"] == "/some/where"


async def test_only_the_routes_fixed_words_are_folded(client: Any) -> None:
    """Path parameters (an attribute name, a customer set code) keep the case the client sent."""
    c, _ = client
    r = await c.get("/Some/tenant~Tier/Where/Outlet/")
    assert r.json()["path"] == "/some/tenant~Tier/where/Outlet"


async def test_root_path_stays_root(client: Any) -> None:
    c, _ = client
    r = await c.get("/")
    assert r.json()["path"] == "/"


# -- query names ---------------------------------------------------------------------------------

async def test_query_names_are_canonicalized(client: Any) -> None:
    c, _ = client
    r = await c.put("/api/commerce/customer/authtickets/refresh?refreshtoken=abc&RESPONSEFIELDS=userId")
    assert r.json() == {"refreshToken": "abc", "responseFields": "userId", "bodyLength": 0}


@pytest.mark.parametrize("name, canonical", [
    ("ACCOUNTID", "accountId"), ("responsegroups", "responseGroups"), ("UserId", "userId"),
    ("startindex", "startIndex"), ("PAGESIZE", "pageSize"), ("SortBy", "sortBy"), ("Filter", "filter"), ("Q", "q"),
])
async def test_every_known_name_is_canonicalized(client: Any, name: str, canonical: str) -> None:
    c, _ = client
    r = await c.get(f"/x?{name}=1")
    assert r.json()["params"] == [[canonical, "1"]]


async def test_unknown_query_names_are_kept_as_given(client: Any) -> None:
    c, _ = client
    r = await c.get("/x?SomeThing=1&other=2&refreshtoken=3")
    assert r.json()["params"] == [["SomeThing", "1"], ["other", "2"], ["refreshToken", "3"]]


async def test_query_values_survive_unchanged(client: Any) -> None:
    c, _ = client
    values = ["a b", "a+b", "x&y=z", "é", "100%", "accessToken,customerAccount(id,contacts(email))", ""]
    r = await c.get("/x", params=[("q", v) for v in values])
    assert r.json()["params"] == [["q", v] for v in values]


async def test_unencoded_response_fields_value_is_kept(client: Any) -> None:
    c, _ = client
    r = await c.get("/x?responsefields=accessToken,customerAccount(id,contacts(email))")
    assert r.json()["params"] == [["responseFields", "accessToken,customerAccount(id,contacts(email))"]]


async def test_blank_values_and_repeated_names_are_kept(client: Any) -> None:
    c, _ = client
    r = await c.get("/x?responseFields=&q=1&Q=2")
    assert r.json()["params"] == [["responseFields", ""], ["q", "1"], ["q", "2"]]


# -- correlation ---------------------------------------------------------------------------------

async def test_the_callers_correlation_id_is_echoed(client: Any) -> None:
    c, _ = client
    r = await c.get("/x", headers={"x-vol-correlation": "req-123"})
    assert r.headers["x-vol-correlation"] == "req-123"


async def test_a_correlation_id_is_generated_when_none_is_sent(client: Any) -> None:
    c, _ = client
    first, second = await c.get("/x"), await c.get("/x")
    ids = [first.headers["x-vol-correlation"], second.headers["x-vol-correlation"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]


async def test_a_long_correlation_id_is_cut(client: Any) -> None:
    c, _ = client
    r = await c.get("/x", headers={"x-vol-correlation": "k" * 1000})
    assert r.headers["x-vol-correlation"] == "k" * 128


async def test_only_one_correlation_header_is_sent(client: Any) -> None:
    c, _ = client
    r = await c.get("/x", headers={"x-vol-correlation": "abc"})
    assert r.headers.get_list("x-vol-correlation") == ["abc"]


# -- body limit ----------------------------------------------------------------------------------

async def test_a_body_over_the_limit_is_refused_with_413_and_the_kibo_envelope(client: Any) -> None:
    c, seen = client
    r = await c.put("/api/commerce/customer/authtickets/refresh", content=b"x" * (LIMIT + 1),
                    headers={"x-vol-correlation": "big-one"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["x-vol-correlation"] == "big-one"
    body = r.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["errorCode"] == "REQUEST_TOO_LARGE"
    assert body["additionalErrorData"] == [] and body["items"] == [] and body["exceptionDetail"] is None
    assert str(LIMIT) in body["message"]
    assert seen == []  # the app never saw the request


async def test_a_body_at_the_limit_passes(client: Any) -> None:
    c, seen = client
    r = await c.put("/api/commerce/customer/authtickets/refresh", content=b"x" * LIMIT)
    assert r.status_code == 200
    assert r.json()["bodyLength"] == LIMIT
    assert len(seen) == 1


async def test_the_default_limit_is_64_kib() -> None:
    app, _ = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=KiboTolerance(app)), base_url="http://t") as c:
        assert (await c.put("/api/commerce/customer/authtickets/refresh", content=b"x" * 65536)).status_code == 200
        assert (await c.put("/api/commerce/customer/authtickets/refresh", content=b"x" * 65537)).status_code == 413


# -- other scopes --------------------------------------------------------------------------------

async def test_non_http_scopes_pass_through_untouched() -> None:
    received: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(scope)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    await KiboTolerance(inner)(scope, receive, send)
    assert received == [scope]

"""The error envelope, unknown routes and methods, the correlation header, responseFields errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import (
    ANONYMOUS,
    CURRENT,
    CUSTOMER,
    JSON_TYPE,
    LOGIN,
    OAUTH,
    REFRESH,
    REGISTER,
    TICKET_KEYS,
    assert_error,
    ok,
)
from tests.conftest import PASSWORD
from ticketbooth.app import create_app
from ticketbooth.core import Core
from ticketbooth.tickets import service as tickets

pytestmark = pytest.mark.usefixtures("seeded")


async def test_every_error_has_the_full_envelope(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """One of each kind: the envelope keys, the JSON content type, the code."""
    answers = [
        (await client.get(ANONYMOUS), 401, "UNAUTHORIZED"),
        (await client.get(CURRENT, headers=app_headers), 401, "INVALID_ACCESS_TOKEN"),
        (await client.post(LOGIN, headers=app_headers, json={"username": "x@example.com", "password": "wrong"}),
         401, "INVALID_CREDENTIALS"),
        (await client.put(REFRESH, headers=app_headers, params={"refreshToken": "0" * 32}), 401, "INVALID_REFRESH_TOKEN"),
        (await client.put(REFRESH, headers=app_headers), 400, "MISSING_OR_INVALID_PARAMETER"),
        (await client.post(REGISTER, headers=app_headers, json={"account": {"emailAddress": "a@example.com"},
                                                                "password": "short"}), 400, "ADD_CUSTOMER_FAILED"),
        (await client.post("/api/commerce/customer/accounts/1/Create-Login", headers=app_headers,
                           json={"password": PASSWORD}), 403, "FORBIDDEN"),
        (await client.get("/api/nothing/here", headers=app_headers), 404, "ITEM_NOT_FOUND"),
        (await client.delete(ANONYMOUS, headers=app_headers), 405, None),
        (await client.post(OAUTH, json={"grant_type": "password"}), 400, "MISSING_OR_INVALID_PARAMETER"),
    ]
    for r, status, code in answers:
        assert_error(r, status, code)


async def test_duplicate_registration_envelope(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    body = {"account": {"emailAddress": "dup@example.com"}, "password": PASSWORD}
    ok(await client.post(REGISTER, headers=app_headers, json=body))
    assert_error(await client.post(REGISTER, headers=app_headers, json=body), 409, "VALIDATION_CONFLICT")


async def test_application_name_by_area(client: httpx.AsyncClient) -> None:
    assert assert_error(await client.get(ANONYMOUS), 401)["applicationName"] == "Customer"
    assert assert_error(await client.post(OAUTH, json={}), 401)["applicationName"] == "AppDev"


async def test_unknown_route_is_404_envelope(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for path in ("/nope", "/api/commerce/customer/authtickets/nope", "/api/commerce/customer/accounts/1/nope"):
        body = assert_error(await client.get(path, headers=app_headers), 404, "ITEM_NOT_FOUND")
        assert body["message"].startswith("Item not found: ")
    # no app token needed to learn that a route does not exist, and still the envelope
    assert_error(await client.post("/api/unknown"), 404, "ITEM_NOT_FOUND")


async def test_wrong_method_is_405_envelope(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for method, path in (("DELETE", ANONYMOUS), ("GET", LOGIN), ("POST", REFRESH), ("GET", OAUTH), ("PUT", CURRENT)):
        r = await client.request(method, path, headers=app_headers)
        body = assert_error(r, 405)
        assert body["errorCode"] == "METHOD_NOT_ALLOWED"
        assert r.headers.get("allow")


async def test_path_case_and_trailing_slash(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    ok(await client.get("/API/Commerce/Customer/AuthTickets/AnonymousShopper/", headers=app_headers))
    ok(await client.get("/api/commerce/customer/authtickets/anonymousshopper/", headers=app_headers))


async def test_correlation_header_on_every_response(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    answers = [
        await client.get(ANONYMOUS, headers=app_headers),
        await client.get(ANONYMOUS),
        await client.get("/nope"),
        await client.delete(ANONYMOUS, headers=app_headers),
        await client.get("/.well-known/jwks.json"),
        await client.get("/healthz"),
    ]
    ids = [r.headers.get("x-vol-correlation") for r in answers]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)  # a new one per request when none is sent


async def test_correlation_header_is_echoed(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for hdrs, expected_status in ((app_headers, 200), ({}, 401)):
        r = await client.get(ANONYMOUS, headers={**hdrs, "x-vol-correlation": "req-123abc"})
        assert r.status_code == expected_status
        assert r.headers["x-vol-correlation"] == "req-123abc"
    r = await client.get("/nope", headers={"x-vol-correlation": "req-404"})
    assert r.headers["x-vol-correlation"] == "req-404"


async def test_unexpected_error_is_500_envelope_with_correlation(core: Core, app_headers: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(tickets, "issue_anonymous", broken)
    transport = httpx.ASGITransport(app=create_app(core=core), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get(ANONYMOUS, headers={**app_headers, "x-vol-correlation": "req-500"})
        body = assert_error(r, 500, "UNEXPECTED_ERROR")
        assert "secret detail" not in r.text
        assert body["exceptionDetail"] is None
        assert r.headers["x-vol-correlation"] == "req-500"
        r = await c.get(ANONYMOUS, headers=app_headers)
        assert_error(r, 500, "UNEXPECTED_ERROR")
        assert r.headers.get("x-vol-correlation")


async def test_malformed_response_fields_is_400(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for raw in ("accessToken(", "accessToken)", "customerAccount(id", "(id)", "a,b)c", "x" * 5000):
        r = await client.get(ANONYMOUS, headers=app_headers, params={"responseFields": raw})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "responseFields")


async def test_response_fields_forms(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.get(f"{ANONYMOUS}?responseFields=accessToken%2CuserId", headers=app_headers)
    assert set(ok(r)) == {"accessToken", "userId"}
    r = await client.get(f"{ANONYMOUS}?ResponseFields=accessToken,customerAccount(id)", headers=app_headers)
    assert ok(r) == {"accessToken": r.json()["accessToken"], "customerAccount": None}
    r = await client.get(f"{ANONYMOUS}?responseFields=", headers=app_headers)
    assert set(ok(r)) == TICKET_KEYS
    r = await client.get(f"{ANONYMOUS}?responseFields=unknownName", headers=app_headers)
    assert ok(r) == {}


async def test_success_content_type(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    for r in (await client.get(ANONYMOUS, headers=app_headers), await client.get("/.well-known/jwks.json"),
              await client.get("/.well-known/openid-configuration")):
        assert r.status_code == 200
        assert r.headers["content-type"] == JSON_TYPE


async def test_oversized_body_is_refused(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.post(LOGIN, headers=app_headers, json={"username": "a" * 70000, "password": "x"})
    assert_error(r, 413, "REQUEST_TOO_LARGE")
    assert r.headers.get("x-vol-correlation")


async def test_nul_characters_are_400_wherever_they_come(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """No id, name, code or password holds a NUL character and PostgreSQL cannot store one: a request
    carrying one is a 400 naming where it was, never a 500, on both databases."""
    accounts = f"{CUSTOMER}/accounts"
    sent = [
        (client.get(f"{CUSTOMER}/customerSets/out%00let", headers=app_headers), "path"),
        (client.put(f"{REFRESH}?refreshtoken=ab%00cd", headers=app_headers), "refreshToken"),
        (client.post(f"{accounts}/Reset-Password", headers=app_headers, json={"emailAddress": "a\u0000b@example.com"}),
         "emailAddress"),
        (client.post(LOGIN, headers=app_headers, json={"username": "nina\u0000", "password": PASSWORD}), "username"),
        (client.post(f"{accounts}/Update-Forgotten-Password", headers=app_headers,
                     json={"userName": "nina", "confirmationCode": "ab", "newPassword": "pass\u0000word long"}),
         "newPassword"),
        (client.post(REGISTER, headers=app_headers, json={"account": {"emailAddress": "n@example.com",
                                                                      "contacts": [{"label\u0000": "x"}]}}), "body"),
        (client.post(OAUTH, content=b"client_id=a%00b&client_secret=x&grant_type=client_credentials",
                     headers={"content-type": "application/x-www-form-urlencoded"}), "client_id"),
    ]
    for request, parameter in sent:
        assert_error(await request, 400, "MISSING_OR_INVALID_PARAMETER", parameter)


async def test_error_answers_are_built_on_the_event_loop(core: Core, app_headers: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Starlette runs a plain function handler in its thread pool: one thread hop per error answer, which
    made a login flood's refusals as costly as tickets. The handlers run on the loop, and the log of a
    500 keeps the exception it is about."""
    import threading

    from starlette import concurrency

    hops: list[str] = []
    real = concurrency.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    for module in ("starlette._exception_handler", "starlette.middleware.errors"):
        monkeypatch.setattr(f"{module}.run_in_threadpool", counted)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded")

    transport = httpx.ASGITransport(app=create_app(core=core), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert_error(await c.get(ANONYMOUS), 401, "UNAUTHORIZED")
        assert_error(await c.get("/nope"), 404, "ITEM_NOT_FOUND")
        assert_error(await c.get(ANONYMOUS, headers=app_headers, params={"responseFields": "("}), 400,
                     "MISSING_OR_INVALID_PARAMETER")
        monkeypatch.setattr(tickets, "issue_anonymous", broken)
        with caplog.at_level("ERROR"):
            assert_error(await c.get(ANONYMOUS, headers=app_headers), 500, "UNEXPECTED_ERROR")
    assert hops == []
    (record,) = [r for r in caplog.records if r.levelname == "ERROR" and "unexpected error" in r.getMessage()]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert record.thread == threading.get_ident()

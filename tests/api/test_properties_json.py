"""Arbitrary, oversized and deeply nested JSON through the HTTP API, on both databases: whatever
document a route that reads a body gets (any shape, any depth up to what fits in the size limit),
the answer is below 500 and, when an error, the Kibo envelope; nesting past what the service reads
(32 levels in a body, orjson's 1024 for the parser itself) is a 400 naming the body, never a 500 or
a RecursionError. The same holds for the nested query syntaxes (responseFields, filter)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.api.support import CUSTOMER, LOGIN, OAUTH, REGISTER, assert_error
from tests.conftest import ADMIN, Seed, app_token, headers
from tests.hypothesis_profiles import examples

ACCOUNTS = f"{CUSTOMER}/accounts"
ROUTES = [
    ("POST", LOGIN), ("POST", REGISTER), ("POST", ACCOUNTS), ("POST", f"{ACCOUNTS}/Bulk"),
    ("POST", f"{ACCOUNTS}/Change-Passwords"), ("POST", OAUTH), ("POST", f"{ACCOUNTS}/1/contacts"),
    ("PUT", f"{ACCOUNTS}/1/contacts"), ("PUT", f"{ACCOUNTS}/1"), ("POST", f"{CUSTOMER}/authtickets/impersonatecart"),
]
NAMES = st.sampled_from(["account", "emailAddress", "userName", "password", "username", "items", "contacts",
                         "client_id", "accountId", "types", "address", "EMAILADDRESS", "", "\u00e9"]) | st.text(max_size=6)
LEAVES = (st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=False, allow_infinity=False)
          | st.text(max_size=30))
DOCUMENTS: st.SearchStrategy[Any] = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=5), max_leaves=40,
)


def nested(depth: int, kind: str) -> bytes:
    """A document `depth` levels deep: arrays, objects, or objects inside the field a route reads."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"account": {"contacts": ' + b"[" * depth + b"]" * depth + b'}, "password": "x"}'


@pytest.fixture
async def admin(client: httpx.AsyncClient, seeded: Seed) -> dict[str, str]:
    return {**headers(await app_token(client, ADMIN)), "content-type": "application/json"}


async def send_all(client: httpx.AsyncClient, hdrs: dict[str, str], body: bytes) -> list[httpx.Response]:
    return [await client.request(method, path, headers=hdrs, content=body) for method, path in ROUTES]


def assert_handled(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.request.method, r.request.url.path, r.text)
    if r.status_code >= 400:
        assert_error(r, r.status_code)


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=DOCUMENTS)
@example(document={"account": {"emailAddress": "a@example.com", "contacts": [[[[[]]]]]}, "password": "x"})
@example(document=[{"accountId": 1, "passwordInfo": {"newPassword": [{}] * 3}}])
async def test_any_json_document_gets_an_answer_below_500(client: httpx.AsyncClient, admin: dict[str, str],
                                                           document: Any) -> None:
    for r in await send_all(client, admin, json.dumps(document).encode()):
        assert_handled(r)


async def test_deep_nesting_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for depth in (33, 100, 1023, 1024, 1025, 10000):
        for kind in ("array", "object", "field"):
            body = nested(depth, kind)
            assert len(body) <= 65536
            for r in await send_all(client, admin, body):
                assert_handled(r)
                assert r.status_code in (400, 401, 403, 404), (depth, kind, r.request.url.path, r.text)


async def test_deep_nesting_in_a_read_body_names_the_body(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for depth in (40, 1025, 10000):
        r = await client.post(REGISTER, headers=admin, content=nested(depth, "field"))
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "body")


DEEP_QUERIES = [
    ("responseFields", "a(" * 2000), ("responseFields", "a(" * 33 + ")" * 33), ("responseFields", "(" * 4000),
    ("filter", "(" * 1000 + "id eq 1" + ")" * 1000), ("filter", "(" * 17 + "id eq 1" + ")" * 17),
]


async def test_deep_query_syntax_is_a_400(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for parameter, value in DEEP_QUERIES:
        r = await client.get(ACCOUNTS, headers=admin, params={parameter: value})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", parameter)

"""The transport itself: malformed bodies and documents, unknown fields, Kibo operations not served here,
the depth and size limits, batching, introspection and the document cache. Never a 500."""

from __future__ import annotations

import httpx
import pytest

from graphql import get_introspection_query
from tests.graphql.support import ANONYMOUS, GRAPHQL, REGISTER, data, gql, storefront
from ticketbooth.kibo.graphql.endpoint import documents_of

pytestmark = pytest.mark.usefixtures("seeded")


def _error(answer: dict[str, object]) -> str:
    errors = answer["errors"]
    assert isinstance(errors, list) and errors
    message = errors[0]["message"]
    assert isinstance(message, str)
    return message


@pytest.mark.parametrize("body", [b"", b"{not json", b"42", b'"query"', b'{"query": 5}', b'{"query": ""}',
                                  b'{"query": "{ getCurrentAccount { id } }", "variables": [1]}',
                                  b'{"query": "{ getCurrentAccount { id } }", "operationName": 3}'])
async def test_a_body_that_is_not_one_operation_is_a_400(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                         body: bytes) -> None:
    r = await client.post(GRAPHQL, headers={**storefront(app_headers), "content-type": "application/json"},
                          content=body)
    assert r.status_code == 400 and r.json()["errors"][0]["message"].startswith("Bad request")


async def test_batching_is_refused(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.post(GRAPHQL, headers=storefront(app_headers), json=[{"query": ANONYMOUS}, {"query": ANONYMOUS}])
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "BATCHING_NOT_SERVED"


async def test_malformed_documents_and_unknown_fields_get_graphqls_errors(client: httpx.AsyncClient,
                                                                           app_headers: dict[str, str]) -> None:
    hdrs = storefront(app_headers)
    assert _error(await gql(client, hdrs, "{ getCurrentAccount { id ", status=400)).startswith("Syntax Error")
    assert "Cannot query field 'nope'" in _error(await gql(client, hdrs, "{ nope }", status=400))
    assert "Cannot query field 'passwordHash'" in _error(
        await gql(client, hdrs, "{ getCurrentAccount { passwordHash } }", status=400))
    assert "Unknown argument" in _error(await gql(client, hdrs, "{ customerAccount(accountId: 1, x: 2) { id } }",
                                                 status=400))
    # a variable of the wrong type: graphql-core's error, the operation does not run
    answer = await gql(client, hdrs, "query q($id: Int!) { customerAccount(accountId: $id) { id } }",
                       {"id": "abc"})
    assert answer.get("data") is None and "Int cannot represent" in _error(answer)


@pytest.mark.parametrize("operation", ["cart", "orders", "products", "customerAccountTransactions"])
async def test_kibo_operations_not_served_here_are_named(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                        operation: str) -> None:
    answer = await gql(client, storefront(app_headers), f"{{ {operation} {{ __typename }} }}", status=400)
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "OPERATION_NOT_SERVED"
    assert f"'{operation}' is an operation of Kibo Commerce's API that Ticketbooth does not serve" in error["message"]


async def test_kibo_mutations_not_served_here_are_named(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    answer = await gql(client, storefront(app_headers), 'mutation { createCartForUser(userId: "x") { id } }', status=400)
    assert answer["errors"][0]["extensions"]["code"] == "OPERATION_NOT_SERVED"


async def test_depth_and_size_limits(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    hdrs = storefront(app_headers)
    deep = "{ __schema { types { fields { type " + "{ ofType " * 14 + "{ name }" + " }" * 14 + " } } } }"
    answer = await gql(client, hdrs, deep, status=400)
    assert answer["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    wide = "{ getCurrentAccount { " + " ".join(f"a{i}: id" for i in range(1001)) + " } }"
    assert (await gql(client, hdrs, wide, status=400))["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    # fragments count each time they are spread: nesting them cannot hide the size
    fragments = "fragment f0 on CustomerAccount { id userId emailAddress firstName lastName }\n" + "\n".join(
        f"fragment f{i} on CustomerAccount {{ ...f{i - 1} a{i}: id ...f{i - 1} }}" for i in range(1, 12))
    bomb = "{ getCurrentAccount { ...f11 } }\n" + fragments
    assert (await gql(client, hdrs, bomb, status=400))["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


async def test_introspection_is_on_and_within_the_limits(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    schema = data(await gql(client, storefront(app_headers), get_introspection_query()))["__schema"]
    names = {t["name"] for t in schema["types"]}
    assert {"CustomerAuthTicket", "CustomerAccount", "LoginState"} <= names


async def test_documents_are_parsed_once_per_text(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    hdrs = storefront(app_headers)
    first = data(await gql(client, hdrs, ANONYMOUS))["getAnonymousShopperToken"]
    second = data(await gql(client, hdrs, ANONYMOUS))["getAnonymousShopperToken"]
    assert first["refreshToken"] != second["refreshToken"]  # executed each time, validated once
    documents = documents_of(client._transport.app)
    assert documents.get(ANONYMOUS) is documents.get(ANONYMOUS)


async def test_a_variable_of_the_wrong_shape_is_refused_without_repeating_its_value(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    """graphql-core quotes the value it refuses ("got invalid value {...}"): a password sent in an input of
    the wrong shape must not come back in the error (nothing secret in errors)."""
    secret = "a perfectly fine passphrase"
    wrong_shapes = [
        [{"account": {"emailAddress": "x@example.com"}, "password": secret}],  # a list for an object
        {"account": {"emailAddress": "x@example.com"}, "password": {"text": secret}},  # an object for a String
        {"account": {"emailAddress": "x@example.com"}, "password": secret, "unknownField": secret},
    ]
    for value in wrong_shapes:
        answer = await gql(client, app_headers, REGISTER, {"customerAccountAndAuthInfoInput": value})
        assert answer.get("data") is None
        assert secret not in str(answer)
        for error in answer["errors"]:
            assert error["message"].startswith("Variable '$customerAccountAndAuthInfoInput' has invalid value")

"""The executor of POST /graphql (kibo/graphql/execution.py) answers as graphql-core's own does.

Each document runs on our SDL over plain data (the root value a dict, every field resolved by
graphql-core's default resolver, as below our root resolvers), once with graphql-core's stock executor
and twice with `PlainDataExecutor` (the second time from the document's cache of collected
sub-selections): data, key order and errors (messages, paths, locations, order) must be the same. The
values include what the shorter path hands back to graphql-core: callables, coroutines, values of the
wrong type for their scalar, nulls in non-null fields and list items, and documents with directives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from ariadne import make_executable_schema

from graphql import ExecutionResult, GraphQLSchema, execute
from ticketbooth.kibo.graphql.documents import Documents
from ticketbooth.kibo.graphql.execution import PlainDataExecutor, is_plain_or_awaitable
from ticketbooth.kibo.graphql.schema import sdl
from ticketbooth.kibo.wire import date

ACCOUNT_FIELDS = ("id userId emailAddress userName firstName lastName isAnonymous isActive isLocked customerSet "
                  "acceptsMarketing hasExternalPassword customerSinceDate accountType "
                  "contacts { id email types { name isPrimary } address { address1 cityOrTown countryCode } "
                  "phoneNumbers { home mobile work } } attributes { fullyQualifiedName values } "
                  "segments { id code } notes { id content } commerceSummary { orderCount totalOrderAmount { amount } } "
                  "auditInfo { createDate updateDate }")
CURRENT = f"query getUser {{ customerAccount: getCurrentAccount {{ {ACCOUNT_FIELDS} }} }}"


@pytest.fixture(scope="module")
def plain_schema() -> GraphQLSchema:
    """Our SDL without resolvers: every field, the root ones too, read from the root value."""
    return make_executable_schema(sdl())


def account(**changes: Any) -> dict[str, Any]:
    """A CustomerAccount as wire.account shapes one, with two contacts, an attribute, notes and a segment."""
    stamp = "2026-11-27T05:31:56.123Z"
    audit = {"createBy": None, "createDate": stamp, "updateBy": None, "updateDate": stamp}
    contact = {"id": 7, "accountId": 5, "email": "a@example.com", "types": [{"name": "Billing", "isPrimary": True}],
               "address": {"address1": "1 Main St", "cityOrTown": "Austin", "countryCode": "US"},
               "phoneNumbers": {"home": None, "mobile": "555", "work": None}, "auditInfo": audit}
    base: dict[str, Any] = {
        "accountType": "B2C", "attributes": [{"fullyQualifiedName": "tenant~color", "values": ["red", {"a": 1}, 3]}],
        "auditInfo": audit,
        "commerceSummary": {"lastOrderDate": None, "orderCount": 0, "totalOrderAmount": {"amount": 0, "currencyCode": None},
                            "visitsCount": 0, "wishlistCount": 0},
        "companyOrOrganization": None, "contacts": [contact, {**contact, "id": 8, "types": []}],
        "customerSet": "default", "customerSinceDate": stamp, "externalId": None, "id": 5,
        "notes": [{"id": 1, "content": "hello"}], "segments": [{"id": 3, "code": "vip"}], "taxId": None,
        "acceptsMarketing": False, "emailAddress": "u@example.com", "firstName": "Ada", "hasExternalPassword": False,
        "isActive": True, "isAnonymous": False, "isLocked": False, "lastName": None, "localeCode": None,
        "userId": "abc", "userName": "u@example.com",
    }
    base.update(changes)
    return base


def formatted(result: ExecutionResult) -> tuple[bytes, list[dict[str, Any]]]:
    return orjson.dumps(result.data), [error.formatted for error in result.errors or ()]


async def settled(result: Any) -> ExecutionResult:
    if not isinstance(result, ExecutionResult):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


async def same_answers(schema: GraphQLSchema, text: str, root: Callable[[], Any],
                       variables: dict[str, Any] | None = None) -> ExecutionResult:
    """The stock answer, after checking that PlainDataExecutor gives the same twice (`root()` makes a fresh
    root value each time: a coroutine is awaited once)."""
    checked = Documents(schema, max_depth=20, max_cost=500, size=8).get(text)
    assert checked.document is not None, checked.errors
    stock = await settled(execute(schema, checked.document, root_value=root(), variable_values=variables))
    for _ in range(2):
        plain = await settled(execute(schema, checked.document, root_value=root(), variable_values=variables,
                                      executor_class=PlainDataExecutor, is_awaitable=is_plain_or_awaitable,
                                      subfields=checked.subfields))
        assert formatted(plain) == formatted(stock)
    return stock


async def test_an_account_answers_as_the_stock_executor_does(plain_schema: GraphQLSchema) -> None:
    answer = await same_answers(plain_schema, CURRENT, lambda: {"getCurrentAccount": account()})
    assert answer.errors is None
    data = answer.data["customerAccount"]  # type: ignore[index]
    assert data["contacts"][1] == {"id": 8, "email": "a@example.com", "types": [], "address": {
        "address1": "1 Main St", "cityOrTown": "Austin", "countryCode": "US"},
        "phoneNumbers": {"home": None, "mobile": "555", "work": None}}
    assert data["attributes"] == [{"fullyQualifiedName": "tenant~color", "values": ["red", {"a": 1}, 3]}]


async def test_null_account_and_empty_lists(plain_schema: GraphQLSchema) -> None:
    answer = await same_answers(plain_schema, CURRENT, lambda: {"getCurrentAccount": None})
    assert answer.data == {"customerAccount": None}
    empty = account(contacts=[], attributes=[], notes=[], segments=[], commerceSummary=None, auditInfo=None)
    answer = await same_answers(plain_schema, CURRENT, lambda: {"getCurrentAccount": empty})
    assert answer.data["customerAccount"]["contacts"] == []  # type: ignore[index]


@pytest.mark.parametrize("changes", [
    {"id": None},                                   # null in a non-null field: the account becomes null
    {"id": "five"},                                 # not an Int in a non-null field
    {"isLocked": "yes"},                            # not a Boolean in a nullable field: null and an error
    {"firstName": 12, "userName": 1.5, "isActive": 1},  # coerced as graphql-core coerces them
    {"commerceSummary": {"orderCount": None, "totalOrderAmount": None}},  # non-null inside a nullable object
    {"commerceSummary": {"orderCount": 2, "totalOrderAmount": {"amount": float("nan")}}},
    {"commerceSummary": "plenty"},                  # not an object
    {"contacts": "none"},                           # not a list
    {"contacts": [None, {"id": "seven"}]},          # null item; not an Int in an item
    {"attributes": [{"fullyQualifiedName": "a", "values": [None, 1]}]},  # null in a list of non-null items
    {"customerSinceDate": date(None), "segments": ({"id": 1, "code": "x"},)},  # a tuple is not plain: stock path
    {"firstName": lambda info: info.field_name.upper()},  # a callable: the default resolver calls it
    {"emailAddress": ValueError("broken")},         # an exception as a value: raised as the field's error
])
async def test_wrong_values_give_the_same_errors(plain_schema: GraphQLSchema, changes: dict[str, Any]) -> None:
    answer = await same_answers(plain_schema, CURRENT, lambda: {"getCurrentAccount": account(**changes)})
    if {"id", "isLocked", "commerceSummary", "contacts", "attributes", "emailAddress"} & set(changes):
        assert answer.errors


async def test_awaitable_values_below_plain_objects(plain_schema: GraphQLSchema) -> None:
    async def later(value: Any) -> Any:
        return value

    async def failing() -> Any:
        raise ValueError("failed later")

    def root() -> dict[str, Any]:
        return {"getCurrentAccount": account(firstName=later("Ada"), commerceSummary={
            "orderCount": failing(), "totalOrderAmount": {"amount": later(2.5)}})}

    answer = await same_answers(plain_schema, CURRENT, root)
    assert answer.data["customerAccount"]["firstName"] == "Ada"  # type: ignore[index]
    assert answer.data["customerAccount"]["commerceSummary"] is None  # type: ignore[index]


async def test_fragments_aliases_typename_and_repeated_fields(plain_schema: GraphQLSchema) -> None:
    text = """query q { a: getCurrentAccount { ...who id id contacts { ... on CustomerContact { id email } id }
                                             __typename } b: getCurrentAccount { id } }
              fragment who on CustomerAccount { userId emailAddress first: firstName contacts { email } }"""
    answer = await same_answers(plain_schema, text, lambda: {"getCurrentAccount": account()})
    assert answer.data["a"]["__typename"] == "CustomerAccount"  # type: ignore[index]


@pytest.mark.parametrize("shown", [True, False])
async def test_a_document_with_directives_collects_by_its_variables(plain_schema: GraphQLSchema, shown: bool) -> None:
    text = ("query q($shown: Boolean!) { getCurrentAccount { id contacts @include(if: $shown) { id } "
            "commerceSummary { orderCount @skip(if: $shown) } } }")
    checked = Documents(plain_schema, max_depth=20, max_cost=500, size=8).get(text)
    assert checked.subfields is None  # the collected fields depend on the variables: never kept
    answer = await same_answers(plain_schema, text, lambda: {"getCurrentAccount": account()}, {"shown": shown})
    assert ("contacts" in answer.data["getCurrentAccount"]) is shown  # type: ignore[index]


def test_a_document_without_directives_keeps_its_collected_fields(plain_schema: GraphQLSchema) -> None:
    documents = Documents(plain_schema, max_depth=20, max_cost=500, size=8)
    checked = documents.get(CURRENT)
    assert checked.subfields == {}
    result = execute(plain_schema, checked.document,  # type: ignore[arg-type]
                     root_value={"getCurrentAccount": account()}, executor_class=PlainDataExecutor,
                     is_awaitable=is_plain_or_awaitable, subfields=checked.subfields)
    assert isinstance(result, ExecutionResult) and result.errors is None
    assert checked.subfields  # CustomerAccount, CustomerContact, ContactType, ...
    assert documents.get(CURRENT) is checked

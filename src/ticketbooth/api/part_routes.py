"""One registration for the routes of an account's part (contacts, notes, attribute values, segments):
list, add, get, replace and delete at /api/commerce/customer/accounts/{accountId}/<part>[/{key}].

The handlers of every part do the same thing: resolve the caller (the shopper optional), read the
body in Kibo's names, call one service function with `(core, caller, shopper, accountId, ...)` and
answer in Kibo's shape. A `Part` names what differs: the path, the key's name and type, the body,
the service functions and the wire shape. Each handler keeps its own name (the route's name that
metrics and the access log see), summary and parameters, so the OpenAPI document is what it would be
with the handlers written out one by one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from ticketbooth.api.context import core_of, read_json, resolve
from ticketbooth.api.lists import PagingParams, collection
from ticketbooth.api.wire import KiboJSON, respond
from ticketbooth.domain.filters import FilterField

B = TypeVar("B", bound=BaseModel)

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PartId = Annotated[int, Path(ge=1, le=2**63 - 1)]

Service = Callable[..., Awaitable[Any]]
"""A service function called as `(core, caller, shopper, account_id, *args)`."""


@dataclass(frozen=True, slots=True)
class Op:
    """One route of a part: its handler's name, its summary and the service function it calls."""

    name: str
    summary: str
    call: Service


@dataclass(frozen=True, slots=True)
class Part(Generic[B]):
    """What differs between the parts. An op left None is not served."""

    path: str
    """The part's path below the account, e.g. "/contacts"."""
    key: str
    """The name of the item's path parameter, e.g. "contactId"."""
    key_type: Any
    """Its type with its limits, e.g. `PartId`."""
    vocabulary: Mapping[str, FilterField]
    """The filter and sortBy names of the list."""
    shape: Callable[[Any], dict[str, Any]]
    """The item in Kibo's JSON (api/wire.py)."""
    body: type[B] | None = None
    value: Callable[[B], Any] | None = None
    """The value the add and replace service functions take, from the body."""
    list: Op | None = None
    add: Op | None = None
    get: Op | None = None
    update: Op | None = None
    delete: Op | None = None


_KW = inspect.Parameter.KEYWORD_ONLY
_REQUEST = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
_ACCOUNT = inspect.Parameter("accountId", _KW, annotation=AccountId)
_PAGING = inspect.Parameter("paging", _KW, annotation=PagingParams)
_FIELDS = inspect.Parameter("responseFields", _KW, default=Query(None), annotation=str | None)

Run = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def _handler(name: str, params: list[inspect.Parameter], returns: type[Response], run: Run) -> Callable[..., Any]:
    """An endpoint named `name` whose signature (what FastAPI reads its parameters from) is `params`."""

    async def endpoint(**values: Any) -> Response:
        return await run(values.pop("request"), values)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__signature__ = inspect.Signature([_REQUEST, *params], return_annotation=returns)  # type: ignore[attr-defined]
    return endpoint


def register(router: APIRouter, part: Part[B]) -> None:
    """Add the part's routes to `router` (whose prefix holds {accountId}) in the order list, add, get,
    replace, delete."""
    key = inspect.Parameter(part.key, _KW, annotation=part.key_type)
    item_path = f"{part.path}/{{{part.key}}}"

    async def body_value(request: Request) -> Any:
        assert part.body is not None and part.value is not None, f"{part.path}: add and replace need a body"
        return part.value(await read_json(request, part.body))

    if (op := part.list) is not None:
        async def list_items(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await resolve(request, shopper="optional")
            page = await call(core_of(request), ctx.caller, ctx.shopper, v["accountId"], v["paging"].query(part.vocabulary))
            return respond(collection(page, part.shape), v["responseFields"])
        router.get(part.path, summary=op.summary)(_handler(op.name, [_ACCOUNT, _PAGING, _FIELDS], KiboJSON, list_items))

    if (op := part.add) is not None:
        async def add_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await resolve(request, shopper="optional")
            value = await body_value(request)
            return respond(part.shape(await call(core_of(request), ctx.caller, ctx.shopper, v["accountId"], value)),
                           v["responseFields"])
        router.post(part.path, summary=op.summary)(_handler(op.name, [_ACCOUNT, _FIELDS], KiboJSON, add_item))

    if (op := part.get) is not None:
        async def get_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await resolve(request, shopper="optional")
            found = await call(core_of(request), ctx.caller, ctx.shopper, v["accountId"], v[part.key])
            return respond(part.shape(found), v["responseFields"])
        router.get(item_path, summary=op.summary)(_handler(op.name, [_ACCOUNT, key, _FIELDS], KiboJSON, get_item))

    if (op := part.update) is not None:
        async def update_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await resolve(request, shopper="optional")
            value = await body_value(request)
            saved = await call(core_of(request), ctx.caller, ctx.shopper, v["accountId"], v[part.key], value)
            return respond(part.shape(saved), v["responseFields"])
        router.put(item_path, summary=op.summary)(_handler(op.name, [_ACCOUNT, key, _FIELDS], KiboJSON, update_item))

    if (op := part.delete) is not None:
        async def delete_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await resolve(request, shopper="optional")
            await call(core_of(request), ctx.caller, ctx.shopper, v["accountId"], v[part.key])
            return Response(status_code=204)
        router.delete(item_path, status_code=204, summary=op.summary)(
            _handler(op.name, [_ACCOUNT, key], Response, delete_item))

"""One registration for the routes of a resource kept in a list: list, add, get, replace and delete at
`<path>` and `<path>/{key}`. It serves an account's parts (contacts, notes, attribute values,
segments: /api/commerce/customer/accounts/{accountId}/<part>) and the tenant's customer definitions
(segments, attribute definitions).

The handlers of every such resource do the same thing: resolve the caller, read the body in Kibo's
names, call one service function with `(core, caller[, shopper, accountId], [key], ...)` and answer in
Kibo's shape. A `Resource` names what differs: the path, the scope (an account's, for its shopper or
an admin application, or the tenant's), the key's name and type, the body and the arguments the
service takes from it, the service functions and the wire shape. Each handler keeps its own name (the
route's name that metrics and the access log see), summary and parameters, so the OpenAPI document is
what it is with the handlers written out one by one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from ticketbooth.api.context import Context, ShopperNeed, core_of, resolve, resolve_and_read
from ticketbooth.api.lists import PagingParams, collection
from ticketbooth.api.wire import KiboJSON, respond
from ticketbooth.domain.filters import FilterField

B = TypeVar("B", bound=BaseModel)

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PartId = Annotated[int, Path(ge=1, le=2**63 - 1)]

Service = Callable[..., Awaitable[Any]]
"""A service function called as `(core, caller, *scope, [key], *body arguments)`."""

_KW = inspect.Parameter.KEYWORD_ONLY
_REQUEST = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
_PAGING = inspect.Parameter("paging", _KW, annotation=PagingParams)
_FIELDS = inspect.Parameter("responseFields", _KW, default=Query(None), annotation=str | None)
_GROUPS = inspect.Parameter("responseGroups", _KW, default=Query(None), annotation=str | None)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the resource lives: the path parameters before the item's key, and whether a shopper
    may call (then the shopper's ticket is read when sent and passed to the service after the caller)."""

    params: tuple[inspect.Parameter, ...]
    shopper: bool

    def args(self, ctx: Context, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The service's arguments after `core`: the caller, the shopper if any, the scope's parameters."""
        shopper = (ctx.shopper,) if self.shopper else ()
        return (ctx.caller, *shopper, *(values[p.name] for p in self.params))


ACCOUNT = Scope((inspect.Parameter("accountId", _KW, annotation=AccountId),), shopper=True)
"""An account's part, for the account's own shopper or an admin application."""
TENANT = Scope((), shopper=False)
"""The tenant's definitions, for applications."""


@dataclass(frozen=True, slots=True)
class Op:
    """One route of a resource: its handler's name, its summary and the service function it calls."""

    name: str
    summary: str
    call: Service


@dataclass(frozen=True, slots=True)
class Resource(Generic[B]):
    """What differs between the resources. An op left None is not served."""

    path: str | tuple[str, ...]
    """The resource's path below the router's prefix, e.g. "/contacts", or the paths that serve it
    alike (each route is added at each, in this order)."""
    scope: Scope
    key: str
    """The name of the item's path parameter, e.g. "contactId"."""
    key_type: Any
    """Its type with its limits, e.g. `PartId`."""
    shape: Callable[[Any], dict[str, Any]]
    """The item in Kibo's JSON (api/wire.py)."""
    vocabulary: Mapping[str, FilterField] = field(default_factory=dict)
    """The filter and sortBy names of the list."""
    body: type[B] | None = None
    args: Callable[[B], tuple[Any, ...]] | None = None
    """The arguments the add and replace service functions take from the body (after the key)."""
    response_groups: bool = False
    """Whether the reads (list and get) accept Kibo's responseGroups (and ignore it)."""
    paged: bool = True
    """Whether the list is paged (startIndex, pageSize, sortBy, filter; the answer {startIndex, pageSize,
    pageCount, totalCount, items}); else the list service takes no query and the answer is the whole list
    as {totalCount, items} (Kibo's CardCollection)."""
    list: Op | None = None
    add: Op | None = None
    get: Op | None = None
    update: Op | None = None
    delete: Op | None = None


Run = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def _handler(name: str, params: list[inspect.Parameter], returns: type[Response], run: Run) -> Callable[..., Any]:
    """An endpoint named `name` whose signature (what FastAPI reads its parameters from) is `params`."""

    async def endpoint(**values: Any) -> Response:
        return await run(values.pop("request"), values)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__signature__ = inspect.Signature([_REQUEST, *params], return_annotation=returns)  # type: ignore[attr-defined]
    return endpoint


def _add(method: Callable[..., Callable[[Any], Any]], paths: tuple[str, ...], op: Op, endpoint: Callable[..., Any],
         **options: Any) -> None:
    """Serve `endpoint` at each of `paths` with the router's `method` (router.get, router.put, ...)."""
    for path in paths:
        method(path, summary=op.summary, **options)(endpoint)


def register(router: APIRouter, r: Resource[B]) -> None:
    """Add the resource's routes to `router` in the order list, add, get, replace, delete."""
    scope = r.scope
    paths = (r.path,) if isinstance(r.path, str) else r.path
    item_paths = tuple(f"{path}/{{{r.key}}}" for path in paths)
    key = [inspect.Parameter(r.key, _KW, annotation=r.key_type)]
    groups = [_GROUPS] if r.response_groups else []

    need: ShopperNeed = "optional" if scope.shopper else "none"

    async def caller(request: Request) -> Context:
        return await resolve(request, shopper=need)

    async def caller_and_args(request: Request) -> tuple[Context, tuple[Any, ...]]:
        assert r.body is not None and r.args is not None, f"{r.path}: add and replace need a body"
        ctx, body = await resolve_and_read(request, r.body, shopper=need)
        return ctx, r.args(body)

    if (op := r.list) is not None and not r.paged:
        async def list_all(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await caller(request)
            items = [r.shape(item) for item in await call(core_of(request), *scope.args(ctx, v))]
            return respond({"totalCount": len(items), "items": items}, v["responseFields"])
        _add(router.get, paths, op, _handler(op.name, [*scope.params, _FIELDS, *groups], KiboJSON, list_all))
    elif (op := r.list) is not None:
        async def list_items(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await caller(request)
            page = await call(core_of(request), *scope.args(ctx, v), v["paging"].query(r.vocabulary))
            return respond(collection(page, r.shape), v["responseFields"])
        _add(router.get, paths, op, _handler(op.name, [*scope.params, _PAGING, _FIELDS, *groups], KiboJSON, list_items))

    if (op := r.add) is not None:
        async def add_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx, args = await caller_and_args(request)
            return respond(r.shape(await call(core_of(request), *scope.args(ctx, v), *args)), v["responseFields"])
        _add(router.post, paths, op, _handler(op.name, [*scope.params, _FIELDS], KiboJSON, add_item))

    if (op := r.get) is not None:
        async def get_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await caller(request)
            return respond(r.shape(await call(core_of(request), *scope.args(ctx, v), v[r.key])), v["responseFields"])
        _add(router.get, item_paths, op, _handler(op.name, [*scope.params, *key, _FIELDS, *groups], KiboJSON, get_item))

    if (op := r.update) is not None:
        async def update_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx, args = await caller_and_args(request)
            saved = await call(core_of(request), *scope.args(ctx, v), v[r.key], *args)
            return respond(r.shape(saved), v["responseFields"])
        _add(router.put, item_paths, op, _handler(op.name, [*scope.params, *key, _FIELDS], KiboJSON, update_item))

    if (op := r.delete) is not None:
        async def delete_item(request: Request, v: dict[str, Any], call: Service = op.call) -> Response:
            ctx = await caller(request)
            await call(core_of(request), *scope.args(ctx, v), v[r.key])
            return Response(status_code=204)
        _add(router.delete, item_paths, op, _handler(op.name, [*scope.params, *key], Response, delete_item),
             status_code=204)

"""The request a resolver serves, and its caller: resolved by `api.context.resolve`, the one resolution of
credentials, tenant and site for every transport, with `writes` from the operation (a mutation writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from graphql import GraphQLResolveInfo, OperationType
from ticketbooth.core import Core
from ticketbooth.kibo.context import Context, ShopperNeed, core_of, item_as, lower_keys, resolve


@dataclass(slots=True)
class RequestContext:
    """GraphQL's `context_value`: the HTTP request, and the callers resolved so far (a document with several
    root fields resolves each kind of caller once)."""

    request: Request
    resolved: dict[tuple[ShopperNeed, bool], Context] = field(default_factory=dict)


Info = GraphQLResolveInfo[RequestContext]
"""What a resolver receives as `info`."""
M = TypeVar("M", bound=BaseModel)


def core(info: Info) -> Core:
    context = info.context
    return core_of(context.request)


async def caller(info: Info, *, shopper: ShopperNeed = "none", app_credential: bool = False) -> Context:
    """The caller of this field, as a REST route resolves it (`shopper`, `app_credential`: see
    `api.context.resolve`)."""
    context = info.context
    key = (shopper, app_credential)
    found = context.resolved.get(key)
    if found is None:
        found = await resolve(context.request, shopper=shopper, app_credential=app_credential,
                              writes=info.operation.operation == OperationType.MUTATION)
        context.resolved[key] = found
    return found




def read_input(model: type[M], value: dict[str, Any] | None, name: str) -> M:
    """A GraphQL input object as the REST body model of the same Kibo shape (kibo/bodies.py): the same
    checks, the same 400 naming the field (under the argument's `name`). Absent is an empty object."""
    return item_as(model, lower_keys(value or {}, name=name), name)

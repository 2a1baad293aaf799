"""Resolvers of the tenant's customer sets (`customerSets`, `customerSet`), as REST's /customersets: for
any application of the tenant."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.accounts.routes.customer_definitions import CUSTOMER_SET_FIELDS
from ticketbooth.applications import customer_sets
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import lower_keys
from ticketbooth.kibo.graphql.context import Info, caller, core
from ticketbooth.kibo.graphql.paging import paging
from ticketbooth.kibo.lists import collection

query = QueryType()
mutation = MutationType()

MAX_CODE = 200
"""As REST's `{code}` path parameter."""


@query.field("customerSets")
async def list_customer_sets(_: Any, info: Info, startIndex: int | None = None, pageSize: int | None = None,
                             sortBy: str | None = None) -> dict[str, Any]:
    ctx = await caller(info)
    page = await customer_sets.list_customer_sets(core(info), ctx.caller,
                                                  paging(startIndex, pageSize, sortBy).query(CUSTOMER_SET_FIELDS))
    return collection(page, wire.customer_set)


@query.field("customerSet")
async def customer_set(_: Any, info: Info, code: str) -> dict[str, Any]:
    ctx = await caller(info)
    if not code or len(code) > MAX_CODE:
        raise InvalidParameter("code", f"Missing or invalid parameter: code must be 1 to {MAX_CODE} characters",
                               code[:50])
    lower_keys(code, name="code")  # no code holds a NUL character: a 400 naming it, as REST's path
    return wire.customer_set(await customer_sets.get_customer_set(core(info), ctx.caller, code))

"""Resolvers of the B2B hierarchy: `getB2BAccountHierarchy` and `changeB2BAccountParent`, the twins of
b2b/routes/hierarchy.py (see the package docstring for the pattern). Neither is in Kibo's published schemas
(the 2024 types have changeB2BAccountParent's arguments only): they are typed as the REST operations,
B2BAccountHierarchyResult and B2BAccount (tools/graphql_schema.py ADDED)."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.b2b import hierarchy
from ticketbooth.b2b.graphql import paths
from ticketbooth.b2b.routes import hierarchy as rest
from ticketbooth.b2b.routes.admin import b2b_account
from ticketbooth.kibo.graphql.context import Info, caller, core

query = QueryType()
mutation = MutationType()


@query.field("getB2BAccountHierarchy")
async def get_b2b_account_hierarchy(_: Any, info: Info, accountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return await rest.hierarchy_result(core(info), ctx, paths.account_id(accountId))


@mutation.field("changeB2BAccountParent")
async def change_b2b_account_parent(_: Any, info: Info, accountId: int, parentAccountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    account_id = paths.account_id(accountId)
    parent_id = paths.account_id(parentAccountId, "parentAccountId")
    await hierarchy.change_parent(core(info), ctx.caller, account_id, parent_id, ctx.shopper)
    return await b2b_account(core(info), ctx, account_id)

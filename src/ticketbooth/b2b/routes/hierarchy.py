"""/api/commerce/customer/b2baccounts/{accountId}/hierarchy (getB2BAccountHierarchy) and
/b2baccounts/{accountId}/changeparent/{parentAccountId} (changeParentAccount). The flows are in b2b/hierarchy.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ticketbooth.b2b import hierarchy
from ticketbooth.b2b.hierarchy import Tree
from ticketbooth.b2b.routes import openapi_more as _documented  # noqa: F401  (describes these routes)
from ticketbooth.b2b.routes.admin import b2b_account
from ticketbooth.core import Core
from ticketbooth.kibo.context import Context, core_of, resolve
from ticketbooth.kibo.resource_routes import AccountId
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/commerce/customer/b2baccounts", tags=["B2BAccount hierarchy"])


def node(tree: Tree, account_id: int, below: dict[int, list[int]]) -> dict[str, Any]:
    """Kibo's AccountHierarchyNode: the account's id and its children's nodes, nested."""
    return {"id": account_id, "children": [node(tree, child, below) for child in below.get(account_id, [])]}


async def hierarchy_result(core: Core, ctx: Context, account_id: int) -> dict[str, Any]:
    """Kibo's B2BAccountHierarchyResult: every account of the tree (B2BAccount) and the nesting from its top
    (REST and GraphQL)."""
    tree = await hierarchy.hierarchy(core, ctx.caller, ctx.shopper, account_id)
    accounts = [await b2b_account(core, ctx, n.account_id) for n in tree.nodes]
    return {"accounts": accounts, "hierarchy": node(tree, tree.root, tree.children())}


@router.get("/{accountId:int}/hierarchy", summary="The hierarchy a B2B account belongs to")
async def get_hierarchy(request: Request, accountId: AccountId, responseFields: str | None = Query(None),
                        responseGroups: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await hierarchy_result(core_of(request), ctx, accountId), responseFields)


@router.post("/{accountId:int}/changeparent/{parentAccountId:int}",
             summary="Move a B2B account, with the accounts below it, under another parent")
async def change_parent(request: Request, accountId: AccountId, parentAccountId: AccountId,
                        responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    core = core_of(request)
    await hierarchy.change_parent(core, ctx.caller, accountId, parentAccountId, ctx.shopper)
    return respond(await b2b_account(core, ctx, accountId), responseFields)

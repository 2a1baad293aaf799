"""/api/commerce/customer/b2baccounts: what a merchant does to B2B accounts besides their users and roles: the
status actions, sales reps, upgrading B2C accounts, and /b2bcontacts (the contacts of every B2B account).
The flows are in b2b/status.py, b2b/sales_reps.py, b2b/upgrade.py and b2b/contacts.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.accounts.routes.parts import CONTACT_FIELDS
from ticketbooth.b2b import accounts as b2b_accounts
from ticketbooth.b2b import contacts, sales_reps, status, upgrade
from ticketbooth.b2b.routes import openapi_more as _documented  # noqa: F401  (describes these routes)
from ticketbooth.b2b.routes import wire as b2b_wire
from ticketbooth.b2b.rules import ExtendedContact
from ticketbooth.core import Core
from ticketbooth.domain.filters import FilterField
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import Context, core_of, read_array, resolve
from ticketbooth.kibo.lists import INTEGER, TEXT, PagingParams, by_kibo_name, collection
from ticketbooth.kibo.resource_routes import AccountId
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/commerce/customer/b2baccounts", tags=["B2BAccount"])
contacts_router = APIRouter(prefix="/api/commerce/customer/b2bcontacts", tags=["B2BContact"])

UserId = Annotated[str, Path(min_length=1, max_length=200)]
ActionName = Annotated[str, Path(min_length=1, max_length=50)]

B2B_CONTACT_FIELDS = {**CONTACT_FIELDS, **by_kibo_name({
    "accountId": FilterField("account_id", INTEGER), "accountName": FilterField("account_name", TEXT)})}


async def b2b_account(core: Core, ctx: Context, account_id: int) -> dict[str, Any]:
    """Kibo's B2BAccount of the account, as the caller may see it (what the operations here answer)."""
    return b2b_wire.b2b_account(await b2b_accounts.get_account(core, ctx.caller, ctx.shopper, account_id))


# -- status -------------------------------------------------------------------------------------------

@router.put("/{accountId:int}/status/{actionName}", summary="Approve, deny, enable or disable a B2B account")
async def change_status(request: Request, accountId: AccountId, actionName: ActionName,
                        responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    core = core_of(request)
    await status.change_status(core, ctx.caller, accountId, actionName)
    return respond(await b2b_account(core, ctx, accountId), responseFields)


# -- sales reps ---------------------------------------------------------------------------------------

@router.post("/{accountId:int}/addsalesreps", summary="Assign sales reps to a B2B account")
async def add_sales_reps(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    sales_reps.require_merchant(ctx.caller)
    core = core_of(request)
    await sales_reps.add_sales_reps(core, ctx.caller, accountId, await read_array(request, "body"))
    return respond(await b2b_account(core, ctx, accountId), responseFields)


@router.put("/{accountId:int}/salesrep", summary="Replace the sales reps of a B2B account")
async def replace_sales_reps(request: Request, accountId: AccountId,
                             responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    sales_reps.require_merchant(ctx.caller)
    core = core_of(request)
    await sales_reps.replace_sales_reps(core, ctx.caller, accountId, await read_array(request, "body"))
    return respond(await b2b_account(core, ctx, accountId), responseFields)


@router.post("/{accountId:int}/salesrep/{userId}", summary="Assign a sales rep to a B2B account")
async def add_sales_rep(request: Request, accountId: AccountId, userId: UserId,
                        responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    core = core_of(request)
    await sales_reps.add_sales_rep(core, ctx.caller, accountId, userId)
    return respond(await b2b_account(core, ctx, accountId), responseFields)


@router.delete("/{accountId:int}/salesrep/{userId}", summary="Unassign a sales rep from a B2B account")
async def remove_sales_rep(request: Request, accountId: AccountId, userId: UserId,
                           responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    core = core_of(request)
    await sales_reps.remove_sales_rep(core, ctx.caller, accountId, userId)
    return respond(await b2b_account(core, ctx, accountId), responseFields)


@router.get("/salesrep/{userId}", summary="The B2B accounts of a sales rep")
async def accounts_of_sales_rep(request: Request, userId: UserId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    return respond(await sales_reps.accounts_of_sales_rep(core_of(request), ctx.caller, userId), responseFields)


# -- upgrading B2C accounts ---------------------------------------------------------------------------

@router.put("/upgradeaccounts", summary="Upgrade B2C accounts to B2B accounts")
async def upgrade_accounts(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    upgrade.require_merchant(ctx.caller)
    result = await upgrade.upgrade_accounts(core_of(request), ctx.caller, await read_array(request, "body"))
    return respond(upgrade_response(result), responseFields)


def upgrade_response(result: upgrade.UpgradeResult) -> dict[str, Any]:
    """Kibo's UpgradeToB2BAccountResponse."""
    return {"successAccountIds": result.succeeded, "skippedAccountIds": result.skipped,
            "errorAccountIds": [{"accountID": a, "errorMessage": m} for a, m in result.errors]}


# -- contacts of B2B accounts -------------------------------------------------------------------------

def extended_contact(x: ExtendedContact) -> dict[str, Any]:
    """Kibo's ExtendedCustomerContact: a CustomerContact with its account's id and name."""
    return {**wire.contact(x.contact), "accountName": x.account_name}


@contacts_router.get("", summary="The contacts of the B2B accounts")
async def b2b_contacts(request: Request, paging: PagingParams, q: str | None = Query(None),
                       qLimit: str | None = Query(None), responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    contacts.require_merchant(ctx.caller)
    page = await contacts.b2b_contacts(core_of(request), ctx.caller, paging.query(B2B_CONTACT_FIELDS, q))
    return respond(collection(page, extended_contact), responseFields)


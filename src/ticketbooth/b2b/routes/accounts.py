"""/api/commerce/customer/b2baccounts: the B2B account resource (list, add, get, update), as Kibo's
B2BAccountApi (@kibocommerce/rest-sdk). The account id is matched as digits (`{accountId:int}`), so the named
paths (/behaviors, /accountsbyuser, /priority/..., /roles/...) are never taken for one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.accounts.routes.accounts import ACCOUNT_FIELDS, details_of
from ticketbooth.accounts.service import KEEP, AccountChanges
from ticketbooth.b2b import accounts as b2b_accounts
from ticketbooth.b2b.accounts import B2BChanges, B2BDetails, NewB2BAccount
from ticketbooth.b2b.routes import openapi as _documented  # noqa: F401  (describes these routes)
from ticketbooth.b2b.routes.bodies import B2BAccountIn
from ticketbooth.b2b.routes.users import new_user
from ticketbooth.b2b.routes.wire import b2b_account
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.filters import FieldType, FilterField
from ticketbooth.domain.models import B2BAccount, Shopper
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import Context, core_of, read_json, resolve
from ticketbooth.kibo.lists import Paging, PagingParams, by_kibo_name
from ticketbooth.kibo.wire import KiboJSON, respond

BASE = "/api/commerce/customer/b2baccounts"
router = APIRouter(prefix=BASE, tags=["B2BAccount"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]

_T, _I = FieldType.TEXT, FieldType.INTEGER
B2B_ACCOUNT_FIELDS = {
    **{name: f for name, f in ACCOUNT_FIELDS.items() if f.name not in (
        "username", "is_locked", "has_external_password", "last_login_at")},
    **by_kibo_name({
        "approvalStatus": FilterField("approval_status", _T),
        "parentAccountId": FilterField("parent_account_id", _I),
        "rootAccountId": FilterField("root_account_id", _I),
        "depth": FilterField("depth", _I),
        "priceList": FilterField("price_list", _T),
    }),
}
"""The names a filter or sortBy of the B2B account list may use: the customer account list's (but the login's)
and the B2B account's own."""

_PROFILE = {"firstName": "first_name", "lastName": "last_name", "companyOrOrganization": "company_or_organization",
            "taxExempt": "tax_exempt", "taxId": "tax_id", "acceptsMarketing": "accepts_marketing",
            "externalId": "external_id", "localeCode": "locale_code"}
_NOT_NULL = frozenset({"taxExempt", "acceptsMarketing"})


def new_account(body: B2BAccountIn) -> NewB2BAccount:
    """A new B2B account from Kibo's B2BAccount (REST and GraphQL)."""
    details = details_of(body)
    reps = [rep.adminUserId or "" for rep in body.salesReps or []]
    return NewB2BAccount(
        details=details,
        b2b=B2BDetails(approval_status=body.approvalStatus, parent_account_id=body.parentAccountId,
                       price_list=body.priceList, is_active=body.isActive, sales_reps=reps),
        users=[new_user(u, None) for u in body.users or []],
    )


def changes_of(body: B2BAccountIn) -> tuple[AccountChanges, B2BChanges]:
    """What an update asks (REST and GraphQL): fields absent keep their value. approvalStatus, parentAccountId,
    users and salesReps have operations of their own and are ignored here."""
    given = body.model_fields_set
    profile: dict[str, Any] = {}
    for name, column in _PROFILE.items():
        value = getattr(body, name)
        if name in given and not (value is None and name in _NOT_NULL):
            profile[column] = value
    return (AccountChanges(email=body.emailAddress if "emailAddress" in given else KEEP,
                           is_active=body.isActive if body.isActive is not None else KEEP, profile=profile,
                           id=body.id),
            B2BChanges(price_list=body.priceList if "priceList" in given else KEEP))


def shaped(found: B2BAccount, shopper: Shopper | None) -> dict[str, Any]:
    """B2BAccount, with `priority` the ticket's user's priority of it when a B2B user reads it."""
    priority = None
    if shopper is not None and shopper.user_account_id is not None:
        priority = next((u.priority for u in found.users if u.user.id == shopper.user_account_id), None)
    return b2b_account(found, priority)


@router.get("", summary="List B2B accounts")
async def list_b2b_accounts(
    request: Request, paging: PagingParams, q: str | None = Query(None), fields: str | None = Query(None),
    qLimit: str | None = Query(None), responseFields: str | None = Query(None),
    responseGroups: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await account_page(core_of(request), ctx, paging, q), responseFields)


async def account_page(core: Core, ctx: Context, paging: Paging, q: str | None) -> dict[str, Any]:
    """A page of the B2B accounts the caller may see (REST and GraphQL)."""
    query = paging.query(B2B_ACCOUNT_FIELDS, q)
    found, total = await b2b_accounts.list_accounts(core, ctx.caller, ctx.shopper, query)
    return wire.collection([shaped(b, ctx.shopper) for b in found], query.offset, query.limit, total)


@router.post("", summary="Add a B2B account")
async def add_b2b_account(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, B2BAccountIn)
    return respond(shaped(await add_from(core_of(request), ctx, body), ctx.shopper), responseFields)


async def add_from(core: Core, ctx: Context, body: B2BAccountIn) -> B2BAccount:
    return await b2b_accounts.create_account(core, ctx.caller, ctx.shopper, new_account(body))


@router.get("/{accountId:int}", summary="A B2B account")
async def get_b2b_account(request: Request, accountId: AccountId, responseFields: str | None = Query(None),
                          responseGroups: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await b2b_accounts.get_account(core_of(request), ctx.caller, ctx.shopper, accountId)
    return respond(shaped(found, ctx.shopper), responseFields)


@router.put("/{accountId:int}", summary="Change a B2B account")
async def update_b2b_account(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, B2BAccountIn, required=True)
    return respond(shaped(await update_from(core_of(request), ctx.caller, ctx.shopper, accountId, body), ctx.shopper),
                   responseFields)


async def update_from(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                      body: B2BAccountIn) -> B2BAccount:
    changes, b2b = changes_of(body)
    return await b2b_accounts.update_account(core, caller, shopper, account_id, changes, b2b)

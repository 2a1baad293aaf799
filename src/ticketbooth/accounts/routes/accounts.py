"""/api/commerce/customer/accounts: the CustomerAccount resource (get, list, add, bulk add, update,
delete), registration with login, creating a login, and the current account.

Route order matters: the named routes (/current, /bulk, /add-account-and-login) come before the
/{accountId} ones, and the app includes this router after the routers of the account's parts. The
account id is matched as digits (`{accountId:int}`), so `PUT /accounts/current` is a 405 and
`/accounts/abc` a 404, as for any unknown path; 0 or an id past 2**63-1 is a 400 naming accountId.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ticketbooth.accounts import access
from ticketbooth.accounts import service as accounts
from ticketbooth.accounts.routes.parts import parts_of
from ticketbooth.accounts.service import KEEP, AccountChanges, AccountDetails, NewLogin
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, InvalidParameter
from ticketbooth.domain.filters import FieldType, FilterField
from ticketbooth.domain.models import Account, IssuedTicket, Profile
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import (
    CustomerAccountAndAuthInfo,
    CustomerAccountIn,
    CustomerAccountUpdate,
    CustomerLoginInfo,
)
from ticketbooth.kibo.context import (
    Context,
    core_of,
    item_as,
    plain_route,
    query,
    read_array,
    read_json,
    resolve,
    resolve_and_read,
)
from ticketbooth.kibo.lists import Paging, PagingParams, by_kibo_name
from ticketbooth.kibo.wire import KiboJSON, respond
from ticketbooth.tickets import service as tickets
from ticketbooth.tickets.service import RequestedLifetimes

router = APIRouter(prefix="/api/commerce/customer/accounts", tags=["CustomerAccount"])
# The current account, read on most storefront pages: included before every other router (see
# authtickets.hot_router). Its path is fixed, so no other route can shadow it or be shadowed by it.
hot_router = APIRouter()

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]

_T, _I, _B, _D = FieldType.TEXT, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.DATE
# The names a filter or sortBy may use (Kibo's, compared case-insensitively) -> the account field.
ACCOUNT_FIELDS = by_kibo_name({
    "id": FilterField("id", _I),
    "userId": FilterField("user_id", _T),
    "emailAddress": FilterField("email", _T),
    "userName": FilterField("username", _T),
    "firstName": FilterField("first_name", _T),
    "lastName": FilterField("last_name", _T),
    "companyOrOrganization": FilterField("company_or_organization", _T),
    "taxId": FilterField("tax_id", _T),
    "externalId": FilterField("external_id", _T),
    "localeCode": FilterField("locale_code", _T),
    "accountType": FilterField("account_type", _T),
    "isActive": FilterField("is_active", _B),
    "isLocked": FilterField("is_locked", _B),
    "acceptsMarketing": FilterField("accepts_marketing", _B),
    "taxExempt": FilterField("tax_exempt", _B),
    "hasExternalPassword": FilterField("has_external_password", _B),
    "customerSinceDate": FilterField("created_at", _D),
    "createDate": FilterField("created_at", _D),
    "auditInfo.createDate": FilterField("created_at", _D),
    "updateDate": FilterField("updated_at", _D),
    "auditInfo.updateDate": FilterField("updated_at", _D),
    "auditInfo.createBy": FilterField("created_by", _T),
    "auditInfo.updateBy": FilterField("updated_by", _T),
    "lastLoginDate": FilterField("last_login_at", _D),
})

# CustomerAccount name -> Profile field, for new accounts and updates
_PROFILE_NAMES = {
    "firstName": "first_name", "lastName": "last_name", "companyOrOrganization": "company_or_organization",
    "taxExempt": "tax_exempt", "taxId": "tax_id", "acceptsMarketing": "accepts_marketing",
    "externalId": "external_id", "localeCode": "locale_code", "accountType": "account_type",
}
_NOT_NULL = frozenset({"taxExempt", "acceptsMarketing"})
"""Profile fields that hold true or false: absent or null is false for a new account."""


def _details(a: CustomerAccountIn) -> AccountDetails:
    given: dict[str, Any] = {field: bool(getattr(a, name)) if name in _NOT_NULL else getattr(a, name)
                             for name, field in _PROFILE_NAMES.items()}
    profile = Profile(**given)
    return AccountDetails(email=a.emailAddress, username=a.userName, profile=profile, customer_set=a.customerSet,
                          parts=parts_of(a.contacts, a.notes, a.attributes, a.segments))


def details_of(a: CustomerAccountIn) -> AccountDetails:
    """The account fields of Kibo's CustomerAccount (and of the shapes that extend it: B2BAccount)."""
    return _details(a)


def _changes(body: CustomerAccountUpdate) -> AccountChanges:
    """What the body asks to change: fields absent keep their value, a null clears a nullable one
    (a null where only true or false fits changes nothing)."""
    given = body.model_fields_set
    profile: dict[str, Any] = {}
    for name, field in _PROFILE_NAMES.items():
        value = getattr(body, name)
        if name in given and not (value is None and name in _NOT_NULL):
            profile[field] = value
    return AccountChanges(
        email=body.emailAddress if "emailAddress" in given else KEEP,
        username=body.userName if "userName" in given else KEEP,
        is_active=body.isActive if body.isActive is not None else KEEP,
        profile=profile, id=body.id, password=body.password,
    )


async def _read_entries(request: Request) -> list[CustomerAccountAndAuthInfo]:
    """Bulk's body: a JSON array of CustomerAccountAndAuthInfo; a malformed entry is a 400 naming
    it as `[index].field`."""
    data = await read_array(request, "body")
    if len(data) > accounts.MAX_BULK:
        raise InvalidParameter(
            "body", f"Missing or invalid parameter: at most {accounts.MAX_BULK} accounts may be added at once")
    return [item_as(CustomerAccountAndAuthInfo, item, f"[{index}]") for index, item in enumerate(data)]


def _new_login(entry: CustomerAccountAndAuthInfo, index: int) -> NewLogin:
    if entry.account is None:
        raise InvalidParameter(f"[{index}].account", f"Missing or invalid parameter: entry {index}: account is required")
    return NewLogin(_details(entry.account), entry.password, entry.externalPassword, bool(entry.isImport))


# -- registration and logins -------------------------------------------------------------------------

@router.post("/add-account-and-login", summary="Add an account and log it in")
async def add_account_and_login(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, CustomerAccountAndAuthInfo, shopper="lenient", app_credential=True)
    return respond(wire.ticket(await register(core_of(request), ctx, body)), responseFields)


async def register(core: Core, ctx: Context, body: CustomerAccountAndAuthInfo) -> IssuedTicket:
    """Registration with login from Kibo's CustomerAccountAndAuthInfo (REST and GraphQL)."""
    if body.account is None:
        raise InvalidParameter("account", "Missing or invalid parameter: account is required")
    return await accounts.register(
        core, ctx.caller, _details(body.account), body.password,
        external_password=body.externalPassword, is_import=bool(body.isImport),
        requested=RequestedLifetimes(body.authTicketTtlMinutes, body.refreshTokenTtlMinutes), previous=ctx.shopper,
    )


@router.post("/bulk", summary="Add accounts with logins, all or none")
async def add_accounts(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    access.require_admin(ctx.caller, "adding accounts in bulk")
    return respond(await add_accounts_from(core_of(request), ctx.caller, await _read_entries(request)), responseFields)


async def add_accounts_from(core: Core, caller: Caller, entries: list[CustomerAccountAndAuthInfo]) -> dict[str, Any]:
    """Accounts with logins, all or none, from Kibo's CustomerAccountAndAuthInfo entries, as a
    CustomerAccountCollection (REST and GraphQL; the caller checked the admin right before reading them)."""
    added = await accounts.add_accounts(core, caller, [_new_login(entry, i) for i, entry in enumerate(entries)])
    return wire.collection([wire.account(a) for a in added], 0, len(added), len(added))


@plain_route(hot_router, "/api/commerce/customer/accounts/current", "GET")
async def current(request: Request) -> Response:
    """The current shopper's account (a plain Starlette route, as authtickets' hot routes)."""
    ctx = await resolve(request, shopper="optional")
    account = await tickets.current_account(core_of(request), ctx.shopper)
    return respond(wire.account(account), query(request, "responseFields"))



@router.post("/{accountId:int}/create-login", summary="Create a login for an existing account")
async def create_login(
    request: Request, accountId: AccountId, responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx, body = await resolve_and_read(request, CustomerLoginInfo, app_credential=True)
    return respond(wire.ticket(await create_login_for(core_of(request), ctx.caller, accountId, body)), responseFields)


async def create_login_for(core: Core, caller: Caller, account_id: int, body: CustomerLoginInfo) -> IssuedTicket:
    """A login for an existing account from Kibo's CustomerLoginInfo (REST and GraphQL)."""
    return await accounts.create_login(
        core, caller, account_id, body.emailAddress, body.username, body.password,
        external_password=body.externalPassword, is_import=bool(body.isImport),
        requested=RequestedLifetimes(body.authTicketTtlMinutes, body.refreshTokenTtlMinutes),
    )


# -- the account resource ----------------------------------------------------------------------------

@router.get("", summary="List the accounts of the site's customer set")
async def list_accounts(
    request: Request, paging: PagingParams, q: str | None = Query(None),
    responseFields: str | None = Query(None), responseGroups: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request)
    return respond(await account_page(core_of(request), ctx.caller, paging, q), responseFields)


async def account_page(core: Core, caller: Caller, paging: Paging, q: str | None) -> dict[str, Any]:
    """A page of the accounts list, for an admin application (REST and GraphQL)."""
    access.require_admin(caller, "listing accounts")
    query = paging.query(ACCOUNT_FIELDS, q)
    found, total = await accounts.list_accounts(core, caller, query)
    return wire.collection([wire.account(a) for a in found], query.offset, query.limit, total)


@router.post("", summary="Add an account without a login")
async def add_account(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    access.require_admin(ctx.caller, "adding an account")
    body = await read_json(request, CustomerAccountIn)
    return respond(wire.account(await add_account_from(core_of(request), ctx.caller, body)), responseFields)


async def add_account_from(core: Core, caller: Caller, body: CustomerAccountIn) -> Account:
    """An account without a login from Kibo's CustomerAccount (REST and GraphQL; the caller checked the
    admin right before reading the body)."""
    return await accounts.add_account(core, caller, _details(body))


@router.get("/{accountId:int}", summary="An account, for its shopper or an admin application")
async def get_account(
    request: Request, accountId: AccountId, responseFields: str | None = Query(None),
    responseGroups: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    account = await accounts.get_account(core_of(request), ctx.caller, ctx.shopper, accountId)
    return respond(wire.account(account), responseFields)


@router.put("/{accountId:int}", summary="Change an account's profile, email or username")
async def update_account(
    request: Request, accountId: AccountId, responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    require_may_change(ctx, accountId)
    body = await read_json(request, CustomerAccountUpdate, required=True)
    return respond(wire.account(await update_account_from(core_of(request), ctx, accountId, body)), responseFields)


def require_may_change(ctx: Context, account_id: int) -> None:
    """The right to change the account, checked before its body is read (REST and GraphQL)."""
    if not access.may_act_on(ctx.caller, ctx.shopper, account_id):
        raise Forbidden("Forbidden: only the account's own shopper or an application with the customer:admin "
                        "behavior may change it")


async def update_account_from(core: Core, ctx: Context, account_id: int, body: CustomerAccountUpdate) -> Account:
    """The account changed as Kibo's CustomerAccount body asks (REST and GraphQL; after `require_may_change`)."""
    return await accounts.update_account(core, ctx.caller, ctx.shopper, account_id, _changes(body))


@router.delete("/{accountId:int}", status_code=204, summary="Delete an account, its logins and its parts")
async def delete_account(request: Request, accountId: AccountId) -> Response:
    ctx = await resolve(request)
    await accounts.delete_account(core_of(request), ctx.caller, accountId)
    return Response(status_code=204)

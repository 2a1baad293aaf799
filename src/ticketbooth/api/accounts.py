"""/api/commerce/customer/accounts: registration with login, creating a login, the current account."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.api import wire
from ticketbooth.api.bodies import CustomerAccountAndAuthInfo, CustomerAccountIn, CustomerLoginInfo
from ticketbooth.api.context import core_of, read_json, resolve
from ticketbooth.api.wire import KiboJSON, respond
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import Profile
from ticketbooth.services import accounts, tickets
from ticketbooth.services.accounts import AccountDetails
from ticketbooth.services.tickets import RequestedLifetimes

router = APIRouter(prefix="/api/commerce/customer/accounts", tags=["CustomerAccount"])


def _no_import(is_import: bool | None, external_password: str | None) -> None:
    if is_import or external_password:
        raise InvalidParameter(
            "externalPassword", "Missing or invalid parameter: importing external password hashes is not supported yet")


def _details(a: CustomerAccountIn) -> AccountDetails:
    unsupported = [name for name in ("contacts", "notes", "attributes", "segments") if getattr(a, name)]
    profile = Profile(
        first_name=a.firstName, last_name=a.lastName, company_or_organization=a.companyOrOrganization,
        tax_exempt=bool(a.taxExempt), tax_id=a.taxId, accepts_marketing=bool(a.acceptsMarketing),
        external_id=a.externalId, locale_code=a.localeCode, account_type=a.accountType,
    )
    return AccountDetails(email=a.emailAddress, username=a.userName, profile=profile, customer_set=a.customerSet,
                          unsupported=unsupported)


@router.post("/add-account-and-login", summary="Add an account and log it in")
async def add_account_and_login(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="lenient")
    body = await read_json(request, CustomerAccountAndAuthInfo)
    if body.account is None:
        raise InvalidParameter("account", "Missing or invalid parameter: account is required")
    _no_import(body.isImport, body.externalPassword)
    issued = await accounts.register(
        core_of(request), ctx.caller, _details(body.account), body.password,
        requested=RequestedLifetimes(body.authTicketTtlMinutes, body.refreshTokenTtlMinutes), previous=ctx.shopper,
    )
    return respond(wire.ticket(issued), responseFields)


@router.post("/{accountId}/create-login", summary="Create a login for an existing account")
async def create_login(
    request: Request, accountId: int = Path(..., ge=1, le=2**63), responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request)
    body = await read_json(request, CustomerLoginInfo)
    _no_import(body.isImport, body.externalPassword)
    issued = await accounts.create_login(
        core_of(request), ctx.caller, accountId, body.emailAddress, body.username, body.password,
        requested=RequestedLifetimes(body.authTicketTtlMinutes, body.refreshTokenTtlMinutes),
    )
    return respond(wire.ticket(issued), responseFields)


@router.get("/current", summary="The current shopper's account")
async def current(
    request: Request, responseFields: str | None = Query(None), responseGroups: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    account = await tickets.current_account(core_of(request), ctx.shopper)
    return respond(wire.account(account), responseFields)

"""/api/commerce/customer/authtickets: anonymous shopper tickets, login and refresh."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from ticketbooth.api.bodies import CustomerUserAuthInfo
from ticketbooth.api.context import core_of, parse_id, read_json, resolve
from ticketbooth.api.wire import KiboJSON, respond, ticket
from ticketbooth.services import tickets
from ticketbooth.services.tickets import RequestedLifetimes

router = APIRouter(prefix="/api/commerce/customer/authtickets", tags=["StorefrontAuthTicket"])


@router.get("/anonymousshopper", summary="Create an anonymous shopper auth ticket")
async def anonymous_shopper(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    return respond(ticket(await tickets.issue_anonymous(core_of(request), ctx.caller)), responseFields)


@router.post("", summary="Create a user auth ticket (log in)")
async def create_user_auth_ticket(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="lenient")
    body = await read_json(request, CustomerUserAuthInfo)
    issued = await tickets.login(
        core_of(request), ctx.caller, body.username or body.emailAddress, body.password, account_id=body.accountId,
        requested=RequestedLifetimes(body.authTicketTtlMinutes, body.refreshTokenTtlMinutes), previous=ctx.shopper,
    )
    return respond(ticket(issued), responseFields)


@router.put("/refresh", summary="Refresh a user auth ticket")
async def refresh_user_auth_ticket(
    request: Request, refreshToken: str | None = Query(None, max_length=256),
    accountId: str | None = Query(None, max_length=20), responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request)
    issued = await tickets.refresh(core_of(request), ctx.caller, refreshToken, parse_id("accountId", accountId))
    return respond(ticket(issued), responseFields)

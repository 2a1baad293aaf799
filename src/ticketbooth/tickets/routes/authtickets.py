"""/api/commerce/customer/authtickets: anonymous shopper tickets, login and refresh, the second factor
of a login (/2fa/request, /2fa/auth) and the one-time-passcode login (/otp/request, /otp/auth)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Unauthorized
from ticketbooth.domain.models import IssuedTicket
from ticketbooth.kibo.bodies import CustomerUserAuthInfo, OtpAuthInfo, OtpRequestInfo, TwoFactorInfo
from ticketbooth.kibo.context import (
    Context,
    client_address,
    core_of,
    parse_id,
    plain_route,
    query,
    read_json,
    resolve,
    resolve_and_read,
)
from ticketbooth.kibo.wire import KiboJSON, respond, ticket
from ticketbooth.login import challenges
from ticketbooth.login import password as password_login
from ticketbooth.tickets import service as tickets
from ticketbooth.tickets.service import RequestedLifetimes

PREFIX = "/api/commerce/customer/authtickets"
router = APIRouter(prefix=PREFIX, tags=["StorefrontAuthTicket"])


# -- the hot routes: almost every storefront request is one of the first two ------------------------------
# Plain Starlette routes: FastAPI's parameter handling cost a tenth of their time, and the app includes
# `hot_router` before every other router, so matching them does not scan the other routes first. Their
# parameters are read with `context.query` and documented in kibo/openapi.py.

hot_router = APIRouter()


@plain_route(hot_router, f"{PREFIX}/anonymousshopper", "GET")
async def anonymous_shopper(request: Request) -> Response:
    """Create an anonymous shopper auth ticket."""
    ctx = await resolve(request, app_credential=True)
    return respond(ticket(await tickets.issue_anonymous(core_of(request), ctx.caller)),
                   query(request, "responseFields"))


@plain_route(hot_router, f"{PREFIX}/refresh", "PUT")
async def refresh_user_auth_ticket(request: Request) -> Response:
    """Refresh a user auth ticket (the application's credential and the refresh token: a ticket JWT cannot
    renew itself)."""
    ctx = await resolve(request, app_credential=True)
    issued = await tickets.refresh(core_of(request), ctx.caller, query(request, "refreshToken", 256),
                                   parse_id("accountId", query(request, "accountId", 20)))
    return respond(ticket(issued), query(request, "responseFields"))


@plain_route(hot_router, PREFIX, "POST")
async def create_user_auth_ticket(request: Request) -> Response:
    """Create a user auth ticket (log in). Plain too: beside the password hash, FastAPI's handling was a
    good part of what a login costs the event loop (bench/README.md)."""
    ctx, body = await resolve_and_read(request, CustomerUserAuthInfo, shopper="lenient", app_credential=True)
    return respond(ticket(await log_in(core_of(request), ctx, body)), query(request, "responseFields"))


async def log_in(core: Core, ctx: Context, body: CustomerUserAuthInfo) -> IssuedTicket:
    """A login from Kibo's CustomerUserAuthInfo (REST's body, GraphQL's `customerUserAuthInfoInput`)."""
    return await password_login.login(
        core, ctx.caller, body.username or body.emailAddress, body.password, account_id=body.accountId,
        requested=RequestedLifetimes(body.authTicketTtlMinutes, body.refreshTokenTtlMinutes), previous=ctx.shopper,
        fingerprint=body.fingerprint, region=body.region,
    )


# -- codes: the second factor of a login, and the one-time-passcode login ---------------------------

async def _two_factor_caller(request: Request) -> tuple[Caller, str | None]:
    """The caller of a 2FA route and the pending ticket's token it sent, if any. The token comes in
    x-vol-user-claims (as a Kibo client sends a ticket, next to the app credential), in the body, or as
    the Bearer credential alone (Kibo's SDK configured with the pending token as its access token): then
    the pending login itself names the application, tenant and site."""
    try:
        return (await resolve(request, app_credential=True)).caller, request.headers.get("x-vol-user-claims")
    except Unauthorized:
        bearer = _bearer(request)
        if not bearer or "." in bearer:
            raise
        caller = await challenges.caller_of_pending_token(
            core_of(request), bearer, client_address(request), request.headers.get("user-agent", "")[:300])
        if caller is None:
            raise
        return caller, bearer


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


@router.post("/2fa/request", summary="Mail a new code for a login waiting for its second factor", status_code=204)
async def request_two_factor_code(request: Request, responseFields: str | None = Query(None)) -> Response:
    caller, token = await _two_factor_caller(request)
    body = await read_json(request, TwoFactorInfo)
    await challenges.resend_two_factor(core_of(request), caller, token or body.accessToken)
    return Response(status_code=204)


@router.post("/2fa/auth", summary="Finish a login with its second factor")
async def two_factor_auth(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    caller, token = await _two_factor_caller(request)
    body = await read_json(request, TwoFactorInfo)
    issued = await challenges.complete_two_factor(core_of(request), caller, token or body.accessToken,
                                                  body.userId, body.otpCode)
    return respond(ticket(issued), responseFields)


@router.post("/otp/request", summary="Mail a one-time passcode to log in with", status_code=204)
async def request_otp(request: Request, responseFields: str | None = Query(None)) -> Response:
    ctx, body = await resolve_and_read(request, OtpRequestInfo, app_credential=True)
    await challenges.request_otp(core_of(request), ctx.caller, body.email or body.emailAddress)
    return Response(status_code=204)


@router.post("/otp/auth", summary="Log in with a one-time passcode")
async def otp_auth(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, OtpAuthInfo, shopper="lenient", app_credential=True)
    issued = await challenges.login_with_otp(
        core_of(request), ctx.caller, body.email or body.emailAddress, body.otpCode, body.fingerprint, body.region,
        previous=ctx.shopper)
    return respond(ticket(issued), responseFields)

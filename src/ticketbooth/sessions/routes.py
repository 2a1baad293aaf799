"""Sessions and impersonation on the wire:

- `DELETE /api/commerce/customer/authtickets?refreshToken=` (or a JSON body `{refreshToken}`): log out
  of one session; 204 whatever the token was;
- `POST /api/commerce/customer/authtickets/impersonatecart` (CartAuthTicketRequest): an impersonation
  ticket, for applications with `customer-auth:impersonate`;
- `/api/commerce/customer/accounts/{accountId}/sessions`: `GET` lists the live sessions (admin),
  `DELETE` ends them all (owner or admin), `DELETE .../{sessionId}` ends one (owner or admin).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ticketbooth.accounts import access
from ticketbooth.domain.models import Session
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import AuthTicketRequest, CartAuthTicketRequest
from ticketbooth.kibo.context import core_of, read_json, resolve, resolve_and_read
from ticketbooth.kibo.lists import collection, window
from ticketbooth.kibo.wire import KiboJSON, respond
from ticketbooth.sessions import impersonation
from ticketbooth.sessions import service as sessions

router = APIRouter(prefix="/api/commerce/customer", tags=["Sessions"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def session(s: Session) -> dict[str, Any]:
    """One session as listed: never a token or a hash of one."""
    return {
        "id": s.id,
        "createdOn": wire.date(s.created_at),
        "lastUsedOn": wire.date(s.last_used_at),
        "expiresOn": wire.date(s.expires_at),
        "clientAddress": s.client_address,
        "userAgent": s.user_agent,
        "applicationId": s.client_id,
        "siteId": s.site_id,
        "isImpersonation": s.is_impersonation,
    }


@router.delete("/authtickets", status_code=204, summary="Log out: end the session of a refresh token")
async def logout(request: Request, refreshToken: str | None = Query(None)) -> Response:
    ctx = await resolve(request)
    token = refreshToken
    if not (token and token.strip()):
        token = (await read_json(request, AuthTicketRequest)).refreshToken
    await sessions.logout(core_of(request), ctx.caller, token)
    return Response(status_code=204)


@router.post("/authtickets/impersonatecart", summary="Impersonate a shopper (for their cart)")
async def impersonate_cart(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, CartAuthTicketRequest, app_credential=True)
    issued = await impersonation.impersonate(core_of(request), ctx.caller, body.accountId, body.userId, body.cartId)
    return respond(wire.ticket(issued), responseFields)


@router.get("/accounts/{accountId:int}/sessions", summary="An account's live sessions (admin)")
async def list_sessions(
    request: Request, accountId: AccountId, startIndex: str | None = Query(None),
    pageSize: str | None = Query(None), responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request)
    access.require_admin(ctx.caller, "listing an account's sessions")  # before reading the paging (403, not 400)
    start, size = window(startIndex, pageSize)
    page = await sessions.list_sessions(core_of(request), ctx.caller, accountId, start, size)
    return respond(collection(page, session), responseFields)


@router.delete("/accounts/{accountId:int}/sessions", status_code=204, summary="End every session of an account")
async def revoke_sessions(request: Request, accountId: AccountId) -> Response:
    ctx = await resolve(request, shopper="optional")
    await sessions.revoke_all(core_of(request), ctx.caller, ctx.shopper, accountId)
    return Response(status_code=204)


@router.delete("/accounts/{accountId:int}/sessions/{sessionId}", status_code=204,
               summary="End one session of an account")
async def end_session(request: Request, accountId: AccountId, sessionId: str) -> Response:
    ctx = await resolve(request, shopper="optional")
    await sessions.end_session(core_of(request), ctx.caller, ctx.shopper, accountId, sessionId)
    return Response(status_code=204)

"""/api/platform: application tokens (OAuth client credentials and the legacy ticket calls) and
tenant discovery."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import ValidationError

from ticketbooth.applications import service as applications
from ticketbooth.domain.errors import InvalidParameter, Unauthorized
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import AppAuthInfo, AuthTicketRequest, OauthAuthRequest
from ticketbooth.kibo.context import client_address, core_of, invalid, lower_keys, read_body, read_json, resolve
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/platform", tags=["AppAuthTickets"])


@router.post("/applications/authtickets/oauth", summary="OAuth 2 client credentials (or refresh token) grant")
async def oauth(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl((await read_body(request)).decode("utf-8", "replace")))
        try:
            body = OauthAuthRequest.model_validate(lower_keys(form))
        except ValidationError as exc:  # a 400 naming the field, as for a JSON body (was a 500)
            raise invalid(exc) from None
    else:
        body = await read_json(request, OauthAuthRequest)
    core = core_of(request)
    grant = (body.grant_type or "client_credentials").lower()
    if grant == "client_credentials":
        token = await applications.authenticate(core, body.client_id, body.client_secret, client_address(request),
                                                body.refresh_token)
    elif grant == "refresh_token":
        token = await applications.refresh(core, body.refresh_token)
    else:
        raise InvalidParameter("grant_type", "Missing or invalid parameter: grant_type must be client_credentials "
                               "or refresh_token", body.grant_type)
    return respond(wire.oauth_token(token), responseFields)


@router.post("/applications/authtickets", summary="Authenticate an application (legacy)")
async def app_ticket(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    body = await read_json(request, AppAuthInfo)
    token = await applications.authenticate(core_of(request), body.applicationId, body.sharedSecret,
                                            client_address(request))
    return respond(wire.app_ticket(token), responseFields)


@router.put("/applications/authtickets/refresh-ticket", summary="Refresh an application ticket (legacy)")
async def refresh_app_ticket(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    body = await read_json(request, AuthTicketRequest)
    token = await applications.refresh(core_of(request), body.refreshToken)
    return respond(wire.app_ticket(token), responseFields)


@router.delete("/applications/authtickets/{refreshToken}", status_code=204,
               summary="Delete an application ticket (legacy)")
async def delete_app_ticket(request: Request, refreshToken: str = Path(..., max_length=256)) -> Response:
    await applications.revoke(core_of(request), refreshToken.strip().lower())
    return Response(status_code=204)


@router.get("/tenants/{tenantId}", summary="Tenant discovery: the tenant's domain and sites")
async def tenant(request: Request, tenantId: int = Path(..., ge=1, le=2**31 - 1),
                 responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    if ctx.caller.tenant.id != tenantId:
        raise Unauthorized(f"Unauthorized: the application is not authorized for tenant {tenantId}")
    core = core_of(request)
    domain = core.settings.public_host
    sites = await core.store.list_sites(tenantId)
    body = {
        "id": tenantId,
        "name": ctx.caller.tenant.name,
        "domain": domain,
        "isDevTenant": False,
        "sites": [
            {"id": s.id, "siteId": s.id, "tenantId": s.tenant_id, "name": s.name, "domain": domain,
             "customerSetId": s.customer_set_id}
            for s in sites
        ],
    }
    return respond(body, responseFields)

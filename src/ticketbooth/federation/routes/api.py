"""The REST routes of federation (issue 19), ours beyond Kibo's API:

- `/api/commerce/customer/identityproviders[/{providerId}]`: a tenant's identity providers (customer:admin);
- `/api/commerce/customer/authtickets/oidc/authorize`, `/callback`, `/exchange`: the sign-in (flows.py);
- `/api/commerce/customer/accounts/{accountId}/linkedidentities[/{identityId}]`: an account's linked identities.

The callback is the one route a browser calls directly (sent by the provider): it answers a 303 to the
storefront's return URL, or, when the `state` names no sign-in that may continue, a plain 400 page (no
redirect: such a request names no return URL we may trust).
"""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ticketbooth.federation import flows, identities, providers
from ticketbooth.federation.providers import ProviderInput
from ticketbooth.federation.routes import openapi as _openapi  # noqa: F401  (the operations' descriptions)
from ticketbooth.federation.routes import wire as fed_wire
from ticketbooth.federation.routes.bodies import IdentityProviderIn, OidcAuthorizationIn, OidcExchangeIn
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import client_address, core_of, read_body, resolve, resolve_and_read
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(tags=["Federation"])
PROVIDERS = "/api/commerce/customer/identityproviders"
OIDC = "/api/commerce/customer/authtickets/oidc"
IDENTITIES = "/api/commerce/customer/accounts/{accountId}/linkedidentities"
Id64 = Annotated[int, Path(ge=1, le=2**63 - 1)]
QUERY_VALUE_MAX = 4096
FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


def provider_input(body: IdentityProviderIn) -> ProviderInput:
    return ProviderInput(alias=body.alias, display_name=body.displayName, issuer=body.issuer, client_id=body.clientId,
                         client_secret=body.clientSecret, scopes=body.scopes, trust_email=body.trustEmail,
                         create_accounts=body.createAccounts, is_enabled=body.isEnabled,
                         response_mode=body.responseMode)


# -- identity providers ----------------------------------------------------------------------------------

@router.get(PROVIDERS, summary="The tenant's identity providers (OpenID Connect)")
async def list_providers(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    core = core_of(request)
    found = await providers.listing(core, ctx.caller)
    items = [fed_wire.provider(p, flows.callback_url(core)) for p in found]
    return respond(wire.collection(items, 0, max(len(items), 1), len(items)), responseFields)


@router.post(PROVIDERS, summary="Add an identity provider (discovery from its issuer)")
async def create_provider(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, IdentityProviderIn)
    core = core_of(request)
    created = await providers.create(core, ctx.caller, provider_input(body))
    return respond(fed_wire.provider(created, flows.callback_url(core)), responseFields)


@router.get(PROVIDERS + "/{providerId}", summary="An identity provider")
async def get_provider(request: Request, providerId: Id64, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    core = core_of(request)
    return respond(fed_wire.provider(await providers.get(core, ctx.caller, providerId), flows.callback_url(core)),
                   responseFields)


@router.put(PROVIDERS + "/{providerId}", summary="Change an identity provider (discovery runs again)")
async def update_provider(request: Request, providerId: Id64, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, IdentityProviderIn)
    core = core_of(request)
    changed = await providers.update(core, ctx.caller, providerId, provider_input(body))
    return respond(fed_wire.provider(changed, flows.callback_url(core)), responseFields)


@router.delete(PROVIDERS + "/{providerId}", summary="Delete an identity provider and its linked identities",
               status_code=204)
async def delete_provider(request: Request, providerId: Id64) -> Response:
    ctx = await resolve(request)
    await providers.delete(core_of(request), ctx.caller, providerId)
    return Response(status_code=204)


# -- the sign-in ----------------------------------------------------------------------------------------------

@router.post(OIDC + "/authorize", summary="Start a sign-in with an identity provider")
async def authorize(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, OidcAuthorizationIn, shopper="lenient", app_credential=True)
    started = await flows.authorize(core_of(request), ctx.caller, ctx.shopper, body.provider, body.returnUrl,
                                    bool(body.link))
    return respond(fed_wire.authorization(started), responseFields)


def _refused_page(reason: str) -> HTMLResponse:
    text = html.escape(reason)
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>"
            f"<body><h1>Sign-in failed</h1><p>{text}.</p><p>Go back to the shop and start the sign-in again.</p>"
            "</body></html>")
    return HTMLResponse(page, status_code=400, headers={
        **NO_STORE, "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})


async def _callback(request: Request, values: dict[str, str]) -> Response:
    def value(name: str) -> str | None:
        found = values.get(name)
        return found[:QUERY_VALUE_MAX] if found is not None else None

    try:
        target = await flows.callback(core_of(request), flows.CallbackRequest(
            state=value("state"), code=value("code"), error=value("error"), client_address=client_address(request),
            user_agent=request.headers.get("user-agent", "")[:300]))
    except flows.CallbackRefused as exc:
        return _refused_page(str(exc))
    return RedirectResponse(target, status_code=303, headers=NO_STORE)


@router.get(OIDC + "/callback", summary="Where the provider sends the browser back (?code=&state=)",
            response_class=HTMLResponse, include_in_schema=False)
async def callback(request: Request) -> Response:
    return await _callback(request, dict(request.query_params))


@router.post(OIDC + "/callback", summary="Where the provider posts the browser back (response_mode=form_post)",
             response_class=HTMLResponse, include_in_schema=False)
async def callback_form(request: Request) -> Response:
    values: dict[str, str] = {}
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM:
        try:
            text = (await read_body(request)).decode("utf-8")
            values = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=20))
        except (UnicodeDecodeError, ValueError):  # not a form: as a request without state
            values = {}
    return await _callback(request, values)


@router.post(OIDC + "/exchange", summary="Exchange a sign-in's one-time code for the shopper's ticket")
async def exchange(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, OidcExchangeIn, shopper="lenient", app_credential=True)
    issued = await flows.exchange(core_of(request), ctx.caller, body.code, fingerprint=body.fingerprint,
                                  region=body.region, previous=ctx.shopper, flow_id=body.flowId)
    return respond(wire.ticket(issued), responseFields)


# -- an account's linked identities --------------------------------------------------------------------

@router.get(IDENTITIES, summary="An account's linked identities")
async def list_identities(request: Request, accountId: Id64, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await identities.listing(core_of(request), ctx.caller, ctx.shopper, accountId)
    return respond(fed_wire.identities(found), responseFields)


@router.delete(IDENTITIES + "/{identityId}", summary="Unlink an identity (never the account's last way in)",
               status_code=204)
async def unlink(request: Request, accountId: Id64, identityId: Id64) -> Response:
    ctx = await resolve(request, shopper="optional")
    await identities.unlink(core_of(request), ctx.caller, ctx.shopper, accountId, identityId)
    return Response(status_code=204)

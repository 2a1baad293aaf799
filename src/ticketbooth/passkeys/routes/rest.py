"""/api/commerce/customer/accounts/{accountId}/passkeys (an account's passkeys: registration, list, rename,
remove) and /api/commerce/customer/authtickets/passkeys (sign-in with a passkey). README "Passkeys"."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ticketbooth.kibo import wire
from ticketbooth.kibo.context import core_of, read_json, resolve, resolve_and_read
from ticketbooth.kibo.wire import KiboJSON, respond
from ticketbooth.passkeys import service
from ticketbooth.passkeys.routes import openapi as _openapi  # noqa: F401  (the operations described)
from ticketbooth.passkeys.routes import wire as passkey_wire
from ticketbooth.passkeys.routes.bodies import (
    PasskeyAuthInput,
    PasskeyOptionsInput,
    PasskeyRegistrationInput,
    PasskeyUpdateInput,
)

router = APIRouter(tags=["Passkeys"])
ACCOUNTS = "/api/commerce/customer/accounts/{accountId}/passkeys"
AUTHTICKETS = "/api/commerce/customer/authtickets/passkeys"

AccountId = Path(..., ge=1, le=2**63 - 1)
PasskeyId = Path(..., ge=1, le=2**63 - 1)


@router.post(f"{ACCOUNTS}/registrationoptions", summary="Options to add a passkey (the shopper, just logged in)")
async def registration_options(request: Request, accountId: int = AccountId,
                               responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    await read_json(request, PasskeyUpdateInput)  # `{}`: nothing is read, but the body must be JSON
    challenge_id, options = await service.registration_options(core_of(request), ctx.caller, ctx.shopper, accountId)
    return respond(passkey_wire.options(challenge_id, options), responseFields)


@router.post(ACCOUNTS, summary="Add a passkey (the browser's credential.toJSON())")
async def add_passkey(request: Request, accountId: int = AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, PasskeyRegistrationInput, shopper="optional")
    kept = await service.register(core_of(request), ctx.caller, ctx.shopper, accountId, body.challengeId,
                                  body.credential, body.name)
    return respond(passkey_wire.passkey(kept), responseFields)


@router.get(ACCOUNTS, summary="An account's passkeys")
async def list_passkeys(request: Request, accountId: int = AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await service.passkeys(core_of(request), ctx.caller, ctx.shopper, accountId)
    items = [passkey_wire.passkey(p) for p in found]
    return respond(wire.collection(items, 0, max(len(items), 1), len(items)), responseFields)


@router.put(f"{ACCOUNTS}/{{passkeyId}}", summary="Rename a passkey")
async def rename_passkey(request: Request, accountId: int = AccountId, passkeyId: int = PasskeyId,
                         responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, PasskeyUpdateInput, shopper="optional")
    renamed = await service.rename(core_of(request), ctx.caller, ctx.shopper, accountId, passkeyId, body.name)
    return respond(passkey_wire.passkey(renamed), responseFields)


@router.delete(f"{ACCOUNTS}/{{passkeyId}}", summary="Remove a passkey", status_code=204)
async def delete_passkey(request: Request, accountId: int = AccountId, passkeyId: int = PasskeyId) -> Response:
    ctx = await resolve(request, shopper="optional")
    await service.remove(core_of(request), ctx.caller, ctx.shopper, accountId, passkeyId)
    return Response(status_code=204)


@router.post(f"{AUTHTICKETS}/options", summary="Options to sign in with a passkey")
async def authentication_options(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, PasskeyOptionsInput, app_credential=True)
    challenge_id, options = await service.authentication_options(core_of(request), ctx.caller, body.username)
    return respond(passkey_wire.options(challenge_id, options), responseFields)


@router.post(AUTHTICKETS, summary="Sign in with a passkey (the browser's credential.toJSON())")
async def sign_in(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, PasskeyAuthInput, shopper="lenient", app_credential=True)
    issued = await service.sign_in(core_of(request), ctx.caller, body.challengeId, body.credential,
                                   fingerprint=body.fingerprint, region=body.region, previous=ctx.shopper)
    return respond(wire.ticket(issued), responseFields)

"""Resolvers of passkeys, the twins of passkeys/routes/rest.py: each resolves the caller as its REST twin
does, reads its input with the same body model, calls the same flow and shapes the answer with the same
wire function. None of these root fields is in Kibo's schema (tools/graphql_schema.py ADDED)."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.domain.errors import NotFound
from ticketbooth.kibo import wire
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.passkeys import service
from ticketbooth.passkeys.routes import wire as passkey_wire
from ticketbooth.passkeys.routes.bodies import (
    PasskeyAuthInput,
    PasskeyOptionsInput,
    PasskeyRegistrationInput,
    PasskeyUpdateInput,
)
from ticketbooth.tickets.graphql import ticket

query = QueryType()
mutation = MutationType()

_MAX_ID = 2**63 - 1


def _passkey_id(value: str) -> int:
    """A passkey's id as the answers give it (a string of digits); any other is no passkey's."""
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= _MAX_ID:
        raise NotFound(f"Item not found: passkey {text[:40]} does not exist")
    return int(text)


@query.field("customerAccountPasskeys")
async def customer_account_passkeys(_: Any, info: Info, accountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    found = await service.passkeys(core(info), ctx.caller, ctx.shopper, accountId)
    items = [passkey_wire.passkey(p) for p in found]
    return wire.collection(items, 0, max(len(items), 1), len(items))


@mutation.field("createCustomerAccountPasskeyRegistrationOptions")
async def create_registration_options(_: Any, info: Info, accountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    challenge_id, options = await service.registration_options(core(info), ctx.caller, ctx.shopper, accountId)
    return passkey_wire.options(challenge_id, options)


@mutation.field("createCustomerAccountPasskey")
async def create_passkey(_: Any, info: Info, accountId: int,
                         passkeyRegistrationInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    body = read_input(PasskeyRegistrationInput, passkeyRegistrationInput, "passkeyRegistrationInput")
    kept = await service.register(core(info), ctx.caller, ctx.shopper, accountId, body.challengeId, body.credential,
                                  body.name)
    return passkey_wire.passkey(kept)


@mutation.field("updateCustomerAccountPasskey")
async def update_passkey(_: Any, info: Info, accountId: int, passkeyId: str,
                         passkeyUpdateInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    body = read_input(PasskeyUpdateInput, passkeyUpdateInput, "passkeyUpdateInput")
    renamed = await service.rename(core(info), ctx.caller, ctx.shopper, accountId, _passkey_id(passkeyId), body.name)
    return passkey_wire.passkey(renamed)


@mutation.field("deleteCustomerAccountPasskey")
async def delete_passkey(_: Any, info: Info, accountId: int, passkeyId: str) -> bool:
    ctx = await caller(info, shopper="optional")
    await service.remove(core(info), ctx.caller, ctx.shopper, accountId, _passkey_id(passkeyId))
    return True


@mutation.field("createPasskeyAuthenticationOptions")
async def create_authentication_options(_: Any, info: Info,
                                        passkeyOptionsInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, app_credential=True)
    body = read_input(PasskeyOptionsInput, passkeyOptionsInput, "passkeyOptionsInput")
    challenge_id, options = await service.authentication_options(core(info), ctx.caller, body.username)
    return passkey_wire.options(challenge_id, options)


@mutation.field("createCustomerAuthTicketWithPasskey")
async def create_ticket_with_passkey(_: Any, info: Info,
                                     passkeyAuthInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="lenient", app_credential=True)
    body = read_input(PasskeyAuthInput, passkeyAuthInput, "passkeyAuthInput")
    issued = await service.sign_in(core(info), ctx.caller, body.challengeId, body.credential,
                                   fingerprint=body.fingerprint, region=body.region, previous=ctx.shopper)
    return ticket(issued)

"""Resolvers of federation, the twins of federation/routes/api.py (ours, beyond Kibo's schema:
tools/graphql_schema.py ADDED), and Kibo's `getOneTimeSecret`.

`getOneTimeSecret(secretId) { value }` is what Kibo's Next.js storefront calls from its cart-takeover page
(`/api/cart-takeover?secretId=`, pages/api/cart-takeover.ts with lib/api/operations/get-cart-takeover.ts): it
reads `value.accessToken`, `value.refreshToken`, `value.accessTokenExpiration`, `value.refreshTokenExpiration`,
`value.jwtAccessToken`, `value.userId`, `value.customerAccount.id` and `.firstName` straight off `value`, without
`JSON.parse`, to write its `kibo_at` cookie. So `value` (an `Object`) is the CustomerAuthTicket itself, as REST
answers it; the secret id is a sign-in's exchange code, redeemed once as `exchangeOidcCode` redeems it. A site whose
`federation.code_parameter` is `secretId` sends the shopper back to such a page unchanged.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.federation import flows, identities
from ticketbooth.federation.routes import wire as fed_wire
from ticketbooth.federation.routes.bodies import OidcAuthorizationIn
from ticketbooth.kibo import wire
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.tickets.graphql import ticket

query = QueryType()
mutation = MutationType()

ID_MAX = 2**63 - 1
TEXT_MAX = 4096


def _id(name: str, value: int) -> int:
    if not 1 <= value <= ID_MAX:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is out of range", value)
    return value


def _text(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > TEXT_MAX:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} may be at most {TEXT_MAX} characters")
    return value


@query.field("getOneTimeSecret")
async def get_one_time_secret(_: Any, info: Info, secretId: str | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="lenient", app_credential=True)
    issued = await flows.exchange(core(info), ctx.caller, _text("secretId", secretId), previous=ctx.shopper,
                                  parameter="secretId")
    return {"value": wire.ticket(issued)}


@mutation.field("exchangeOidcCode")
async def exchange_oidc_code(_: Any, info: Info, code: str | None = None, flowId: str | None = None,
                             fingerprint: str | None = None, region: str | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="lenient", app_credential=True)
    issued = await flows.exchange(core(info), ctx.caller, _text("code", code), fingerprint=_text("fingerprint", fingerprint),
                                  region=_text("region", region), previous=ctx.shopper, flow_id=_text("flowId", flowId))
    return ticket(issued)


@mutation.field("createOidcAuthorization")
async def create_oidc_authorization(_: Any, info: Info,
                                    oidcAuthorizationInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="lenient", app_credential=True)
    body = read_input(OidcAuthorizationIn, oidcAuthorizationInput, "oidcAuthorizationInput")
    started = await flows.authorize(core(info), ctx.caller, ctx.shopper, body.provider, body.returnUrl,
                                    bool(body.link))
    return fed_wire.authorization(started)


@query.field("customerAccountLinkedIdentities")
async def customer_account_linked_identities(_: Any, info: Info, accountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    found = await identities.listing(core(info), ctx.caller, ctx.shopper, _id("accountId", accountId))
    return fed_wire.identities(found)


@mutation.field("deleteCustomerAccountLinkedIdentity")
async def delete_customer_account_linked_identity(_: Any, info: Info, accountId: int, identityId: int) -> bool:
    ctx = await caller(info, shopper="optional")
    await identities.unlink(core(info), ctx.caller, ctx.shopper, _id("accountId", accountId),
                            _id("identityId", identityId))
    return True

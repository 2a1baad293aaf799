"""Resolvers of shopper tickets: the anonymous ticket, login, refresh (Kibo's `CustomerAuthTicket`).

Each calls the service function (or the shared REST function) its REST twin calls and shapes the answer
with the same wire function; see the package docstring for the pattern.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import IssuedTicket
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import CustomerUserAuthInfo
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.tickets import service as tickets
from ticketbooth.tickets.routes.authtickets import log_in

query = QueryType()
mutation = MutationType()

MAX_REFRESH_TOKEN = 256
"""As REST's `refreshToken` query parameter."""


def ticket(issued: IssuedTicket) -> dict[str, Any]:
    """Kibo's CustomerAuthTicket as REST answers it. Kibo's GraphQL type has no `requires2FA` and a
    non-null `refreshTokenExpiration`: a login waiting for its second factor (no refresh token) answers
    the time its pending ticket lapses there, and `refreshToken: null`, as on REST."""
    shaped = wire.ticket(issued)
    if shaped["refreshTokenExpiration"] is None:
        shaped["refreshTokenExpiration"] = shaped["accessTokenExpiration"]
    return shaped


@query.field("getAnonymousShopperToken")
async def get_anonymous_shopper_token(_: Any, info: Info) -> dict[str, Any]:
    ctx = await caller(info, app_credential=True)
    return ticket(await tickets.issue_anonymous(core(info), ctx.caller))


@mutation.field("createCustomerAuthTicket")
async def create_customer_auth_ticket(_: Any, info: Info,
                                      customerUserAuthInfoInput: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="lenient", app_credential=True)
    body = read_input(CustomerUserAuthInfo, customerUserAuthInfoInput, "customerUserAuthInfoInput")
    return ticket(await log_in(core(info), ctx, body))


@mutation.field("refreshCustomerAuthTickets")
async def refresh_customer_auth_tickets(_: Any, info: Info, refreshToken: str | None = None,
                                        accountId: int | None = None) -> dict[str, Any]:
    ctx = await caller(info, app_credential=True)
    if refreshToken is not None and len(refreshToken) > MAX_REFRESH_TOKEN:
        raise InvalidParameter("refreshToken", f"Missing or invalid parameter: refreshToken may be at most "
                               f"{MAX_REFRESH_TOKEN} characters", refreshToken[:50])
    return ticket(await tickets.refresh(core(info), ctx.caller, refreshToken, accountId))

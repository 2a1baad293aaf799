"""Impersonation (/authtickets/impersonatecart): an application with the `customer-auth:impersonate`
behavior (a call-centre or assisted-selling tool) acts as a shopper, for example to work on their cart.

The ticket is short-lived (the tenant's `tokens.impersonation_minutes`, 15 by default) and has no
refresh token: it is a token family of its own whose refresh token is never handed out (and refused
if it ever were presented). Its JWT names the acting application in an `act` claim (RFC 8693) and the
cart in `cart_id`; its opaque access token works as `x-vol-user-claims` like any shopper's, and the
session shows in the account's session list as an impersonation. Each one is in the audit trail.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, InvalidParameter, NotFound
from ticketbooth.domain.models import BEHAVIOR_IMPERSONATE, IssuedTicket
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events
from ticketbooth.tickets.service import open_family

# Kibo's cart ids are 32 hex characters; other carts' ids are allowed, but only plain ones.
_CART_ID = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")


async def impersonate(core: Core, caller: Caller, account_id: int | None, user_id: str | None,
                      cart_id: str | None) -> IssuedTicket:
    """A ticket for the account `account_id` of the caller's customer set, acting as its shopper.
    Forbidden without the behavior; NotFound for an account the caller's site does not know; a 400
    when the userId given is not the account's, or the account is inactive or locked."""
    if not caller.app.has(BEHAVIOR_IMPERSONATE):
        raise Forbidden(f"Forbidden: impersonating a shopper needs an application with the {BEHAVIOR_IMPERSONATE} "
                        "behavior")
    if account_id is None:
        raise InvalidParameter("accountId", "Missing or invalid parameter: accountId is required")
    cart = cart_id.strip() if cart_id else None
    if cart is not None and not _CART_ID.match(cart):
        raise InvalidParameter("cartId", "Missing or invalid parameter: cartId must be 1 to 128 letters, digits "
                               "or . _ ~ -", cart_id[:50] if cart_id else None)
    account = await core.store.get_account(account_id)
    if (account is None or account.tenant_id != caller.tenant.id
            or account.customer_set_id != caller.site.customer_set_id):
        raise NotFound(f"Item not found: account {account_id} does not exist")
    if user_id is not None and user_id.strip() and user_id.strip().lower() != account.user_id.lower():
        raise InvalidParameter("userId", "Missing or invalid parameter: userId is not the user of the account",
                               user_id[:50])
    if not account.is_active or account.settle_lock(core.clock.now()).is_locked:  # a lock that ran out is none
        raise InvalidParameter("accountId", f"Missing or invalid parameter: account {account_id} is inactive or locked",
                               account_id)

    ttl = timedelta(minutes=caller.tenant.settings.tokens.impersonation_minutes)
    extra: dict[str, Any] = {"cart_id": cart} if cart else {}
    async with core.store.transaction() as tx:
        issued = await open_family(
            core, tx, caller, user_id=account.user_id, account=account, previous_anonymous=None,
            access_ttl=ttl, refresh_ttl=ttl, acting_client_id=caller.app.client_id, extra_claims=extra,
        )
        await audit.record(core, audit.Event.IMPERSONATED, caller=caller, account_id=account.id,
                           actor=caller.app.client_id, detail={"cartId": cart}, store=tx)
        await events.publish(core, tx, topics.IMPERSONATION_STARTED, entity_id=account.id, caller=caller,
                             extended={"applicationId": caller.app.id})
    # the family's refresh token stays here: an impersonation ends when its access token does
    return dataclasses.replace(issued, refresh_token=None, refresh_expires_at=None)


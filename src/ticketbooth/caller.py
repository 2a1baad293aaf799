"""The request's principal: who is calling, for which tenant and site, from where.

Every service flow takes a `Caller`; the transports (api/) build it from the request. It lives in a
module of its own, beside `core.Core` (the dependencies handed to services), so that any service may
take one without importing the ticket flows, and the ticket flows may import any service.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ticketbooth.domain.models import Application, Site, Tenant


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the authenticated application, the tenant and site the call is for, and the
    client's network address and user agent (as far as the edge can tell; for rate limits, sessions
    and the audit trail).

    `app_credential` says whether the application proved itself with its own credential (an app token
    or a legacy app ticket). Only then does `app` carry the application's behaviors: a caller known
    from a shopper's credential alone (a ticket JWT as Bearer, a pending 2FA token) names the
    application that issued it, for tenant, site and audit, but holds none of its rights. This is the
    one place that rule is kept, so every `caller.app.has(...)` obeys it.

    `forwarded_for` is the shopper's address a storefront server says it calls for (the transport reads
    it from the request's forwarding headers). It is believed only from a storefront server that proved
    itself (`storefront_server`): then it becomes `client_address` (for rate limits, the lockout's
    per-address allowance, sessions and the audit trail) and stays set, so the limits know the
    address was forwarded. From anyone else it is dropped here: a browser that forges the header
    holds no application secret, and stays its own address."""

    app: Application
    tenant: Tenant
    site: Site
    client_address: str = ""
    user_agent: str = ""
    app_credential: bool = False
    forwarded_for: str = ""

    def __post_init__(self) -> None:
        if not self.app_credential and self.app.behaviors:
            object.__setattr__(self, "app", dataclasses.replace(self.app, behaviors=frozenset()))
        if self.forwarded_for and self.storefront_server:
            object.__setattr__(self, "client_address", self.forwarded_for)
        elif self.forwarded_for:
            object.__setattr__(self, "forwarded_for", "")

    @property
    def storefront_server(self) -> bool:
        """The call comes from a storefront's server (an application flagged so) that proved itself with
        its own credential: never from a shopper's ticket of that application."""
        return self.app_credential and self.app.storefront_server

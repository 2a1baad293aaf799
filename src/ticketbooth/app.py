"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ticketbooth import __version__
from ticketbooth.accounts.routes import accounts, customer_definitions
from ticketbooth.accounts.routes import parts as account_parts
from ticketbooth.applications import routes as platform
from ticketbooth.audit import routes as audit_log
from ticketbooth.audit import service as audit
from ticketbooth.b2b.routes import accounts as b2b_accounts
from ticketbooth.b2b.routes import admin as b2b_admin
from ticketbooth.b2b.routes import attributes as b2b_attributes
from ticketbooth.b2b.routes import hierarchy as b2b_hierarchy
from ticketbooth.b2b.routes import roles as b2b_roles
from ticketbooth.b2b.routes import users as b2b_users
from ticketbooth.config import Settings
from ticketbooth.console import auth as console_auth
from ticketbooth.console import customers as console_customers
from ticketbooth.console import ops as console_ops
from ticketbooth.console.pages import STATIC as CONSOLE_STATIC
from ticketbooth.console.security import ConsoleSecurity
from ticketbooth.core import Core, common_passwords, open_core
from ticketbooth.events import routes as event_log
from ticketbooth.events.rules import TOPICS
from ticketbooth.health import overview
from ticketbooth.health import routes as health
from ticketbooth.health.routes import RequestMetrics
from ticketbooth.infra import metrics
from ticketbooth.infra.clock import Clock
from ticketbooth.kibo import errors, openapi
from ticketbooth.kibo.graphql import endpoint as graphql
from ticketbooth.kibo.middleware import KiboTolerance
from ticketbooth.login.routes import logins, password_reset
from ticketbooth.mail.service import MailSender, transport_for
from ticketbooth.passkeys.routes import rest as passkeys
from ticketbooth.purchase_orders import routes as purchase_orders
from ticketbooth.sessions import routes as sessions
from ticketbooth.tickets.routes import authtickets, wellknown
from ticketbooth.webhooks import routes as webhooks
from ticketbooth.webhooks.delivery import Deliverer

log = logging.getLogger("ticketbooth")


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, core: Core | None = None) -> FastAPI:
    """The app. Given a `core`, it is used as is (tests); else one is opened at startup and closed
    at shutdown."""
    settings = settings or (core.settings if core else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = core is None
        app.state.core = core or await open_core(settings, clock)
        audit.listen(app.state.core, _count_security_event)
        await app.state.core.keys.refresh()
        await asyncio.to_thread(common_passwords)  # load the list now, not in the first registration
        # Everything loaded so far lives as long as the process: move it out of the collector's reach, so
        # full collections stop walking it (they paused requests for about 100 ms under load).
        gc.collect()
        gc.freeze()
        sender = MailSender(app.state.core, transport_for(app.state.core.settings))
        sender.start()
        deliverer = Deliverer(app.state.core)
        deliverer.start()
        # the console's overview: the counters sampled every few seconds, for their growth per minute
        sampler = asyncio.get_running_loop().create_task(overview.sample(app.state.core, app.state.metrics_history))
        try:
            yield
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            await deliverer.stop()
            await sender.stop()
            if own:
                await app.state.core.close()

    app = FastAPI(
        title="Ticketbooth", version=__version__, lifespan=lifespan,
        description="Shopper identity service speaking Kibo Commerce's Storefront Auth Ticket API.",
    )
    app.state.metrics_history = metrics.History()
    if core is not None:
        app.state.core = core
        audit.listen(core, _count_security_event)  # now: a test may serve it without running the lifespan
    errors.install(app)
    # The hot routes first (a request is matched against the routes in order, router by router); accounts
    # last: its /accounts/{accountId} routes must not shadow the named /accounts/... routes.
    modules = (health, wellknown, platform, sessions, authtickets, logins, password_reset, account_parts,
               customer_definitions, audit_log, purchase_orders, event_log, webhooks, b2b_roles, b2b_hierarchy,
               b2b_admin, b2b_attributes, b2b_users, b2b_accounts, passkeys, accounts)
    # the web console (console/): its pages after the API's, its assets served by Ticketbooth itself
    console = (console_auth, console_customers, console_ops)
    routers = [authtickets.hot_router, accounts.hot_router, graphql.router, *(module.router for module in modules),
               b2b_admin.contacts_router, *(module.router for module in console)]
    for router in routers:
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC), name="console-static")
    openapi.install(app)  # /openapi.json (and /docs): every route above, in Kibo's schema names
    # inside KiboTolerance: it sees the folded path and the route the router matched
    # innermost: it sees the folded path (KiboTolerance folds /Console to /console before it)
    app.add_middleware(ConsoleSecurity, enabled=settings.console_enabled)
    app.add_middleware(RequestMetrics, access_log=settings.access_log)
    app.add_middleware(KiboTolerance, max_body_bytes=settings.max_body_bytes, static_segments=static_segments(routers))
    metrics.known_security_events(sorted(audit.COUNTED_IN_METRICS))
    metrics.known_topics(sorted(name for name, info in TOPICS.items() if info.counted))
    return app


def _count_security_event(event: str) -> None:
    """An audit listener: counts the event in /metrics when it is one that may be counted."""
    if event in audit.COUNTED_IN_METRICS:
        metrics.security_event(event)


def static_segments(routers: Sequence[APIRouter]) -> frozenset[str]:
    """The fixed words of every route path (lower case), which the middleware folds to lower case
    in request paths so that paths match whatever their case while parameters keep theirs."""
    return frozenset(
        segment.lower() for router in routers for route in router.routes
        for segment in getattr(route, "path", "").split("/") if segment and "{" not in segment
    )

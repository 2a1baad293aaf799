"""Helpers of the webhook tests: settings that allow the receivers on 127.0.0.1, events written into the log
as the flows write them, and running a deliverer until a condition holds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert, select

from tests.conftest import SITE, TENANT
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.webhooks.delivery import Deliverer

SUBSCRIPTIONS = "/api/platform/appdev/appsubscriptions"
ALLOW_LOCAL = {"webhook_http_hosts": "127.0.0.1", "webhook_allowed_networks": "127.0.0.1/32"}
FAST = {"webhook_timeout_seconds": 2.0, "webhook_retry_seconds": 0.05, "webhook_poll_seconds": 0.05}


def webhook_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", **{**ALLOW_LOCAL, **FAST, **overrides})


async def add_event(core: Core, topic: str, entity_id: str, *, tenant: int = TENANT,
                    extended: dict[str, Any] | None = None, correlation_id: str | None = "corr-1") -> str:
    """One row of the event log, as events.publish writes it (the table is the contract); its eventId."""
    event_id = str(uuid.uuid4())
    async with core.store._begin(write=True) as conn:
        await conn.execute(insert(tables.events).values(
            event_id=event_id, tenant_id=tenant, site_id=SITE, topic=topic, entity_id=entity_id,
            correlation_id=correlation_id, is_test=False, extended_properties=extended,
            created_at=datetime.now(UTC)))
    return event_id


async def delivery_rows(core: Core) -> list[Any]:
    async with core.store.engine.connect() as conn:
        return list((await conn.execute(select(tables.webhook_deliveries).order_by(tables.webhook_deliveries.c.id)))
                    .all())


async def run_until(deliverer: Deliverer, done: Callable[[], bool], within: float = 15.0) -> None:
    """Run rounds of `deliverer` (as its background loop does) until `done()`."""
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("the deliveries did not happen in time")
        await deliverer.run_once()
        await asyncio.sleep(0.02)
    await deliverer.drain()


async def subscribe(client: httpx.AsyncClient, hdrs: dict[str, str], url: str, *topics: str,
                    **more: Any) -> dict[str, Any]:
    r = await client.post(f"{SUBSCRIPTIONS}/events", headers=hdrs, json={
        "applicationEndPoint": url, "events": [{"eventName": t} for t in topics], **more})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body

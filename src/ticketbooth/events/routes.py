"""Kibo's Event Pull API (the paths of mozu-node-sdk's `clients/event/eventNotification`): the tenant's event
log, for catching up after downtime or instead of push delivery.

- `GET /api/event/pull?startIndex=&pageSize=&sortBy=&filter=`: one page of the log as Kibo's
  EventCollection, in log order (`id`, ascending) unless `sortBy` says otherwise. `filter` takes Kibo's
  syntax over `id` (the log order: `id gt 1234` reads on from a cursor), `eventId`, `topic`
  (`topic in [customeraccount.created, customeraccount.deleted]`), `entityId`, `siteId`, `isTest`,
  `correlationId` and `createDate` (`createDate ge 2026-12-01T00:00:00Z`);
- `GET /api/event/pull/{eventId}`: one event.

Only applications with the customer:admin behavior read it (403 for others), and only their own
tenant's events: another tenant's event is not found, as an unknown one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query, Request

from ticketbooth.domain.filters import FilterField, SortKey
from ticketbooth.domain.models import EventRecord
from ticketbooth.events import service as events
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import core_of, resolve
from ticketbooth.kibo.lists import BOOLEAN, DATE, INTEGER, TEXT, PagingParams, by_kibo_name, collection

router = APIRouter(prefix="/api/event/pull", tags=["Events"])

FIELDS = by_kibo_name({
    "id": FilterField("id", INTEGER), "eventId": FilterField("event_id", TEXT), "topic": FilterField("topic", TEXT),
    "entityId": FilterField("entity_id", TEXT), "siteId": FilterField("site_id", INTEGER),
    "isTest": FilterField("is_test", BOOLEAN), "correlationId": FilterField("correlation_id", TEXT),
    "createDate": FilterField("created_at", DATE), "auditInfo.createDate": FilterField("created_at", DATE),
})


def event_json(e: EventRecord) -> dict[str, Any]:
    """Kibo's Event (mozu-java's contracts/event/Event): ids only; `timestamp` is ours, the push
    notification's name of `auditInfo.createDate`."""
    return {
        "id": str(e.id),
        "eventId": e.event_id,
        "topic": e.topic,
        "entityId": e.entity_id,
        "correlationId": e.correlation_id,
        "isTest": e.is_test,
        "tenantId": e.tenant_id,
        "siteId": e.site_id,
        "catalogId": None,
        "masterCatalogId": None,
        "timestamp": wire.date(e.created_at),
        "auditInfo": {"createBy": None, "createDate": wire.date(e.created_at), "updateBy": None,
                      "updateDate": wire.date(e.created_at)},
        "extendedProperties": [{"key": k, "value": v} for k, v in (e.extended_properties or {}).items()],
    }


@router.get("", summary="Read the tenant's event log (Kibo's Event Pull API)")
async def get_events(request: Request, paging: PagingParams, responseFields: str | None = Query(None)) -> wire.KiboJSON:
    ctx = await resolve(request)
    events.require_events_reader(ctx.caller)
    query = paging.query(FIELDS)
    if not query.sort:  # the log order
        query = dataclasses.replace(query, sort=(SortKey("id", INTEGER),))
    page = await events.pull(core_of(request), ctx.caller, query)
    return wire.respond(collection(page, event_json), responseFields)


@router.get("/{eventId}", summary="Get one event of the tenant's log")
async def get_event(request: Request, eventId: str, responseFields: str | None = Query(None)) -> wire.KiboJSON:
    ctx = await resolve(request)
    return wire.respond(event_json(await events.get(core_of(request), ctx.caller, eventId)), responseFields)

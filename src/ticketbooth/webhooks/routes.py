"""/api/platform/appdev/appsubscriptions: Kibo's event subscriptions (ApplicationSubscription), and the
deliveries of a subscription with their redelivery (ours).

Kibo's paths: POST and PUT .../appsubscriptions/events (create; change, the id in the body), DELETE
.../appsubscriptions/events/{applicationSubscriptionId}, GET .../appsubscriptions/{subscriptionId}. Ours:
GET .../appsubscriptions/events (the caller's subscriptions), GET .../appsubscriptions/{subscriptionId}/
deliveries (newest first; `status`, `startIndex`, `pageSize`) and POST .../deliveries/{deliveryId}/redeliver.
A subscription's topics are its `events`, each an AppDevEvent whose `eventName` is the topic
(`customeraccount.created`); `noCallback` true pauses it (no deliveries are made for it). The creation's
answer alone carries `sharedSecret`, the subscription's signing secret (webhooks/service.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import AppDevEventIn, ApplicationSubscriptionIn
from ticketbooth.kibo.context import core_of, resolve, resolve_and_read
from ticketbooth.kibo.wire import KiboJSON, respond
from ticketbooth.webhooks import service as webhooks
from ticketbooth.webhooks.delivery import known_topics
from ticketbooth.webhooks.rules import Delivery, Subscription, topic_by_number, topic_number

router = APIRouter(prefix="/api/platform/appdev/appsubscriptions", tags=["AppEvent"])

Id32 = Annotated[int, Path(ge=1, le=2**31 - 1)]
Id64 = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _event(topic: str) -> dict[str, Any]:
    return {"eventId": topic_number(topic), "eventName": topic,
            "eventCategory": topic.split(".", 1)[0], "apiVersionNumber": None}


def subscription(sub: Subscription) -> dict[str, Any]:
    """Kibo's ApplicationSubscription."""
    return {"applicationSubscriptionId": sub.id, "applicationEndPoint": sub.endpoint,
            "events": [_event(topic) for topic in sub.topics], "packageId": sub.package_id or 0,
            "noCallback": not sub.is_active}


def delivery(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "applicationSubscriptionId": d.subscription_id, "eventId": d.event_id, "topic": d.topic,
            "entityId": d.entity_id, "status": d.status, "attempts": d.attempts,
            "createDate": wire.date(d.created_at), "nextAttemptDate": wire.date(d.next_attempt_at),
            "lastAttemptDate": wire.date(d.last_attempt_at), "lastStatusCode": d.last_status_code,
            "lastError": d.last_error, "deliveredDate": wire.date(d.delivered_at),
            "failedDate": wire.date(d.failed_at)}


def _topics(events: list[AppDevEventIn] | None) -> list[str | None] | None:
    if events is None:
        return None
    return [e.eventName if e.eventName is not None or e.eventId is None
            else topic_by_number(e.eventId, known_topics()) for e in events]


@router.post("/events", summary="Create an application event subscription")
async def create(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, ApplicationSubscriptionIn)
    sub, secret = await webhooks.create(core_of(request), ctx.caller, body.applicationEndPoint,
                                        _topics(body.events) or [], body.packageId, bool(body.noCallback))
    return respond({**subscription(sub), "sharedSecret": secret}, responseFields)


@router.put("/events", summary="Update an application event subscription")
async def update(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx, body = await resolve_and_read(request, ApplicationSubscriptionIn)
    sub = await webhooks.update(core_of(request), ctx.caller, body.applicationSubscriptionId,
                                body.applicationEndPoint, _topics(body.events), body.packageId, body.noCallback)
    return respond(subscription(sub), responseFields)


@router.get("/events", summary="The calling application's event subscriptions")
async def listing(request: Request, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    subs = await webhooks.listing(core_of(request), ctx.caller)
    items = [subscription(s) for s in subs]
    return respond(wire.collection(items, 0, len(items), len(items)), responseFields)


@router.delete("/events/{applicationSubscriptionId}", summary="Delete an application event subscription")
async def delete(request: Request, applicationSubscriptionId: Id32) -> Any:
    ctx = await resolve(request)
    await webhooks.delete(core_of(request), ctx.caller, applicationSubscriptionId)
    return wire.done()


@router.get("/{subscriptionId}", summary="Get an application event subscription")
async def get(request: Request, subscriptionId: Id32, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    return respond(subscription(await webhooks.get(core_of(request), ctx.caller, subscriptionId)), responseFields)


@router.get("/{subscriptionId}/deliveries", summary="A subscription's deliveries, newest first")
async def deliveries(request: Request, subscriptionId: Id32, status: str | None = Query(None, max_length=20),
                     startIndex: int = Query(0, ge=0, le=2**31 - 1), pageSize: int = Query(20, ge=1, le=200),
                     responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    items, total = await webhooks.deliveries(core_of(request), ctx.caller, subscriptionId, status, startIndex,
                                             pageSize)
    return respond(wire.collection([delivery(d) for d in items], startIndex, pageSize, total), responseFields)


@router.post("/{subscriptionId}/deliveries/{deliveryId}/redeliver", summary="Send a delivery again")
async def redeliver(request: Request, subscriptionId: Id32, deliveryId: Id64,
                    responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    d = await webhooks.redeliver(core_of(request), ctx.caller, subscriptionId, deliveryId)
    return respond(delivery(d), responseFields)

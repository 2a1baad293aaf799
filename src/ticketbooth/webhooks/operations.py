"""The operator's flows over webhook subscriptions and deliveries, as the console's pages use them: the
subscriptions of the caller's tenant (any of its applications'), kept to that tenant (another tenant's
subscription or delivery is not found), each change audited with who made it (`actor`).

The checks of an endpoint, the topics, the secret shown once and the redelivery are webhooks/service.py's,
called as the operator (`caller` None) once the tenant is checked here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.webhooks import service
from ticketbooth.webhooks.delivery import known_topics
from ticketbooth.webhooks.persistence import WebhooksPersistence
from ticketbooth.webhooks.rules import STATUSES, Delivery, Subscription

__all__ = ["STATUSES", "known_topics"]


def _store(core: Core) -> WebhooksPersistence:
    return core.store


async def subscriptions(core: Core, caller: Caller, start: int, size: int) -> tuple[list[Subscription], int]:
    """One page of the tenant's subscriptions (by id) and how many it has."""
    every = await _store(core).list_subscriptions(caller.tenant.id)
    start, size = max(0, start), min(max(1, size), 200)
    return every[start:start + size], len(every)


async def subscription(core: Core, caller: Caller, subscription_id: int) -> Subscription:
    sub = await _store(core).get_subscription(subscription_id, caller.tenant.id)
    if sub is None:
        raise NotFound(f"Item not found: subscription {subscription_id}")
    return sub


async def create(core: Core, caller: Caller, actor: str, client_id: str, endpoint: str,
                 topics: Sequence[str]) -> tuple[Subscription, str]:
    """A subscription for one of the tenant's applications, and its signing secret (shown this once)."""
    app = await core.store.get_application(client_id.strip())
    if app is None or app.tenant_id != caller.tenant.id:
        raise InvalidParameter("clientId", "Choose one of this tenant's applications.")
    sub, secret = await service.create(core, None, endpoint, list(topics), tenant_id=caller.tenant.id,
                                       client_id=app.client_id)
    await audit.record(core, audit.Event.WEBHOOK_SUBSCRIPTION_CREATED, caller=caller, actor=actor, detail={
        "subscriptionId": sub.id, "clientId": sub.client_id, "topics": list(sub.topics)})
    return sub, secret


async def set_active(core: Core, caller: Caller, actor: str, subscription_id: int, active: bool) -> Subscription:
    """Pause (no deliveries) or resume a subscription."""
    sub = await subscription(core, caller, subscription_id)
    updated = await _store(core).update_subscription(caller.tenant.id, sub.id, None, {"is_active": active},
                                                     core.clock.now())
    if updated is None:
        raise NotFound(f"Item not found: subscription {subscription_id}")
    await audit.record(core, audit.Event.WEBHOOK_SUBSCRIPTION_CHANGED, caller=caller, actor=actor, detail={
        "subscriptionId": sub.id, "clientId": sub.client_id, "active": active})
    return updated


async def deliveries(core: Core, caller: Caller, subscription_id: int, status: str | None, start: int,
                     size: int) -> tuple[list[Delivery], int]:
    sub = await subscription(core, caller, subscription_id)
    return await service.deliveries(core, None, sub.id, status or None, max(0, start), min(max(1, size), 200))


async def redeliver(core: Core, caller: Caller, actor: str, subscription_id: int, delivery_id: int) -> Delivery:
    """Send a delivered or given-up delivery again (same body and eventId)."""
    sub = await subscription(core, caller, subscription_id)
    delivery = await service.redeliver(core, None, sub.id, delivery_id)
    await audit.record(core, audit.Event.WEBHOOK_REDELIVERED, caller=caller, actor=actor, detail={
        "subscriptionId": sub.id, "deliveryId": delivery.id, "eventId": delivery.event_id})
    return delivery

"""Push subscriptions (Kibo's ApplicationSubscription): create, change, read, delete, and their deliveries'
inspection and redelivery.

Who: an application with the customer:admin behavior, for its own subscriptions in its tenant (another
application's, or another tenant's, are not found: 404); the operator through the `ticketbooth webhook`
commands, for any (`caller` None).

The signing secret: our applications keep only a keyed hash of their shared secret (infra/app_secrets.py),
so a delivery cannot be signed with it as Kibo signs with the app's. Each subscription gets its own secret
instead, generated here, answered once (`sharedSecret` in the creation's answer, printed by `webhook add`),
and stored sealed with AES-GCM under the server secret, as the outbox seals mail (infra/mail.py `Sealer`).
It is never logged, never answered again, never in an error. The receiver uses it as the `sharedSecret` of
mozu-node-sdk's is-request-valid.js, or as its Standard Webhooks secret (it is in `whsec_` form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ticketbooth.accounts.access import require_admin
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.webhooks import rules
from ticketbooth.webhooks.delivery import check_resolves, endpoint_policy, known_topics
from ticketbooth.webhooks.persistence import WebhooksPersistence
from ticketbooth.webhooks.rules import Delivery, Subscription
from ticketbooth.webhooks.sealing import seal_secret

PAGE_MAX = 200


def _store(core: Core) -> WebhooksPersistence:
    return core.store


@dataclass(frozen=True)
class Owner:
    """Whose subscriptions a call may see: an application's own in its tenant, or (operator) all."""

    tenant_id: int | None
    client_id: str | None


def owner_of(caller: Caller | None) -> Owner:
    if caller is None:
        return Owner(None, None)
    require_admin(caller, "managing event subscriptions")
    return Owner(caller.tenant.id, caller.app.client_id)


def _not_found(subscription_id: int) -> NotFound:
    return NotFound(f"Item not found: application subscription {subscription_id}")


async def _endpoint(core: Core, url: str | None) -> str:
    policy = endpoint_policy(core.settings)
    endpoint = rules.parse_endpoint(url, policy)
    await check_resolves(endpoint, policy)
    return endpoint.url


async def create(core: Core, caller: Caller | None, endpoint: str | None, topics: list[str | None],
                 package_id: int | None = None, no_callback: bool = False, *, tenant_id: int | None = None,
                 client_id: str | None = None) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (shown this once). The operator names the tenant and the
    application it is for."""
    if caller is not None:
        owner = owner_of(caller)
        tenant_id, client_id = owner.tenant_id, owner.client_id
    if tenant_id is None or not client_id:
        raise InvalidParameter("tenantId", "Missing or invalid parameter: a subscription needs a tenant and an "
                                           "application")
    names = rules.topics_of(topics, known_topics())
    url = await _endpoint(core, endpoint)
    secret = rules.new_secret()
    sub = await _store(core).add_subscription(tenant_id, client_id, url, names, package_id, not no_callback,
                                              seal_secret(core, tenant_id, client_id, secret), core.clock.now())
    return sub, secret


async def update(core: Core, caller: Caller | None, subscription_id: int | None, endpoint: str | None,
                 topics: list[str | None] | None, package_id: int | None = None,
                 no_callback: bool | None = None) -> Subscription:
    """Change a subscription's endpoint, topics or whether it is paused (`noCallback`); what is not given
    stays. Its secret stays."""
    owner = owner_of(caller)
    if subscription_id is None:
        raise InvalidParameter("applicationSubscriptionId",
                               "Missing or invalid parameter: applicationSubscriptionId is required")
    current = await _store(core).get_subscription(subscription_id, owner.tenant_id, owner.client_id)
    if current is None:
        raise _not_found(subscription_id)
    changes: dict[str, object] = {}
    if endpoint is not None:
        changes["endpoint"] = await _endpoint(core, endpoint)
    if topics is not None:
        changes["topics"] = rules.topics_of(topics, known_topics())
    if package_id is not None:
        changes["package_id"] = package_id
    if no_callback is not None:
        changes["is_active"] = not no_callback
    updated = await _store(core).update_subscription(current.tenant_id, subscription_id, owner.client_id, changes,
                                                     core.clock.now())
    if updated is None:
        raise _not_found(subscription_id)
    return updated


async def get(core: Core, caller: Caller | None, subscription_id: int) -> Subscription:
    owner = owner_of(caller)
    sub = await _store(core).get_subscription(subscription_id, owner.tenant_id, owner.client_id)
    if sub is None:
        raise _not_found(subscription_id)
    return sub


async def listing(core: Core, caller: Caller | None, tenant_id: int | None = None) -> list[Subscription]:
    owner = owner_of(caller)
    return await _store(core).list_subscriptions(owner.tenant_id if caller is not None else tenant_id,
                                                 owner.client_id)


async def delete(core: Core, caller: Caller | None, subscription_id: int) -> None:
    owner = owner_of(caller)
    if not await _store(core).delete_subscription(subscription_id, owner.tenant_id, owner.client_id):
        raise _not_found(subscription_id)


async def deliveries(core: Core, caller: Caller | None, subscription_id: int, status: str | None, start: int,
                     size: int) -> tuple[list[Delivery], int]:
    """A page of a subscription's deliveries, newest first (`status`: pending, delivered or failed)."""
    if status is not None and status.lower() not in rules.STATUSES:
        raise InvalidParameter("status", "Missing or invalid parameter: status must be pending, delivered or failed",
                               status[:50])
    if start < 0 or not 1 <= size <= PAGE_MAX:
        raise InvalidParameter("pageSize", f"Missing or invalid parameter: startIndex >= 0, pageSize 1..{PAGE_MAX}")
    sub = await get(core, caller, subscription_id)
    return await _store(core).list_deliveries(sub.id, status.lower() if status else None, start, size)


async def redeliver(core: Core, caller: Caller | None, subscription_id: int, delivery_id: int) -> Delivery:
    """Send a delivery again, with the same body and eventId, from now on with a fresh retry window."""
    sub = await get(core, caller, subscription_id)
    delivery = await _store(core).redeliver(sub.id, delivery_id, core.clock.now())
    if delivery is None:
        raise NotFound(f"Item not found: delivery {delivery_id}")
    return delivery


async def purge(core: Core) -> int:
    """Housekeeping: drop delivered and given-up deliveries older than `event_retention_days`."""
    keep = timedelta(days=core.settings.event_retention_days)
    return await _store(core).purge_deliveries(core.clock.now() - keep)

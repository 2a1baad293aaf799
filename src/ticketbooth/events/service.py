"""Publishing events (issue 17): every flow that changes something a subscriber may care about calls
`publish` with the transaction of the change (`tx`), so the event commits with the change or not at
all: no event for a change rolled back, no change without its event. Reading the log (`pull`) is for
admin applications of the tenant.

An event holds ids only (events/rules.py `check_extended`): the receiver calls back for details.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Forbidden, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN, EventRecord, Page
from ticketbooth.events.persistence import EventLog
from ticketbooth.events.rules import check_extended, check_topic
from ticketbooth.infra.logging import correlation_id

MAX_ID = 100


async def publish(
    core: Core, tx: EventLog, topic: str, *, entity_id: str | int, caller: Caller | None = None,
    tenant_id: int | None = None, site_id: int | None = None, extended: Mapping[str, object] | None = None,
) -> None:
    """Write one event of `topic` about `entity_id` in the transaction `tx` (pass the change's `tx`, not
    `core.store`, whenever the event reports a change). The tenant and site come from `caller` when given
    (else `tenant_id` is required); the correlation id is the request's."""
    await tx.add_events([row(core, topic, entity_id=entity_id, caller=caller, tenant_id=tenant_id, site_id=site_id,
                             extended=extended)])


def row(
    core: Core, topic: str, *, entity_id: str | int, caller: Caller | None = None, tenant_id: int | None = None,
    site_id: int | None = None, extended: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The row of one event (see `publish`), for a store method that writes it with its change."""
    if caller is None and tenant_id is None:
        raise ValueError("an event needs a caller or a tenant")
    entity = str(entity_id)
    if not entity or len(entity) > MAX_ID:
        raise ValueError("an event's entity id must be 1 to 100 characters")
    cid = correlation_id.get()
    return {
        "event_id": str(uuid.uuid4()),
        "tenant_id": caller.tenant.id if caller else tenant_id,
        "site_id": caller.site.id if caller else site_id,
        "topic": check_topic(topic),
        "entity_id": entity,
        "correlation_id": cid[:MAX_ID] if cid else None,
        "is_test": False,
        "extended_properties": check_extended(extended),
        "created_at": core.clock.now(),
        "dispatched_at": None,
    }


def require_events_reader(caller: Caller) -> None:
    """Only an application with the customer:admin behavior reads the log: it names the tenant's accounts
    and their security events, as the audit trail does."""
    if not caller.app.has(BEHAVIOR_CUSTOMER_ADMIN):
        raise Forbidden("Forbidden: reading the event log needs an application with the customer:admin behavior")


async def pull(core: Core, caller: Caller, query: ListQuery) -> Page[EventRecord]:
    """One page of the caller's tenant's log (admin applications only): Kibo's Event Pull API."""
    require_events_reader(caller)
    items, total = await core.store.event_page(caller.tenant.id, query)
    return Page(items, total, query.offset, query.limit)


async def get(core: Core, caller: Caller, event_id: str) -> EventRecord:
    """One event of the caller's tenant by its eventId (admin applications only); another tenant's is
    not found, as an unknown one."""
    require_events_reader(caller)
    found = await core.store.event_by_event_id(caller.tenant.id, event_id.strip().lower()[:MAX_ID])
    if found is None:
        raise NotFound(f"Item not found: event {event_id[:40]} does not exist")
    return found

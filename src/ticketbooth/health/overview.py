"""The console's overview: how the service is doing, from what is already kept.

- the counters of /metrics (infra/metrics.py), for the whole deployment: logins and failures, refresh
  replays, 429 answers, webhook deliveries, minute by minute from the samples the app takes
  (`metrics.History`) and in total since the process started;
- the backlogs of the mail outbox and of webhook deliveries, counted in the database;
- locks: `account.locked` is deliberately not a metric (a lock happens only to a real account, so a count
  an outsider could read would tell that one exists); the overview counts them in the signed-in staff
  member's tenant's audit trail instead, which staff may read anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ticketbooth.audit.service import Event
from ticketbooth.core import Core
from ticketbooth.health.persistence import OverviewPersistence
from ticketbooth.infra import metrics

log = logging.getLogger("ticketbooth.health")

MINUTES = 15
"""How many minutes the overview shows, newest first."""
CHECK_TIMEOUT_SECONDS = 2.0

SERIES: tuple[tuple[str, str], ...] = (
    (str(Event.LOGIN_SUCCEEDED), "Logins"),
    (str(Event.LOGIN_FAILED), "Failed logins"),
    (str(Event.REFRESH_REPLAYED), "Refresh token replays"),
    (metrics.HTTP_429, "Rate-limited answers (429)"),
    ("webhook.delivered", "Webhook deliveries"),
    ("webhook.failed", "Webhook deliveries given up"),
)
TENANT_EVENTS: tuple[tuple[str, str], ...] = (
    (str(Event.ACCOUNT_LOCKED), "Accounts locked"),
    (str(Event.ACCOUNT_UNLOCKED), "Accounts unlocked"),
)


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    total: float
    """Since the process (or, with several workers, the deployment's metrics directory) began."""
    minutes: list[tuple[datetime, float | None]]
    """Newest first: each minute's start and how much the counter grew in it (None: not sampled then)."""


@dataclass(frozen=True, slots=True)
class Overview:
    series: list[Series]
    tenant_counts: list[tuple[str, int]]
    """(label, count in the tenant's audit trail in the last hour)."""
    outbox_backlog: int | None
    webhook_backlog: int | None
    taken_at: datetime


def _store(core: Core) -> OverviewPersistence:
    return core.store


async def _measured(what: str, read: Awaitable[int]) -> int | None:
    try:
        return await asyncio.wait_for(read, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # the rest of the overview is still worth having
        log.warning("overview: %s not measured: %s", what, type(exc).__name__)
        return None


async def overview(core: Core, tenant_id: int, history: metrics.History, minutes: int = MINUTES) -> Overview:
    now = time.time()
    totals = metrics.counter_totals(core.settings.metrics_multiprocess_dir)
    history.add(now, totals)
    series = [
        Series(key, label, totals.get(key, 0.0),
               [(datetime.fromtimestamp(start, UTC), value) for start, value in history.per_minute(key, now, minutes)])
        for key, label in SERIES
    ]
    counts = await _store(core).audit_event_counts(
        tenant_id, [key for key, _ in TENANT_EVENTS], core.clock.now() - timedelta(hours=1))
    outbox = await _measured("outbox backlog", _store(core).outbox_backlog())
    webhooks = await _measured("webhook backlog", _store(core).webhook_backlog())
    return Overview(series, [(label, counts.get(key, 0)) for key, label in TENANT_EVENTS], outbox, webhooks,
                    datetime.fromtimestamp(now, UTC))


async def sample(core: Core, history: metrics.History) -> None:
    """Take a sample of the counters every `History.SAMPLE_SECONDS`, until cancelled (the app's lifespan)."""
    while True:
        try:
            history.add(time.time(), metrics.counter_totals(core.settings.metrics_multiprocess_dir))
        except Exception as exc:  # a failed sample is a gap in the overview, not a reason to stop
            log.warning("overview: counters not sampled: %s", type(exc).__name__)
        await asyncio.sleep(history.SAMPLE_SECONDS)

"""Prometheus metrics: what the service counts and how /metrics renders it.

- `ticketbooth_http_requests_total{method,route,status}` and
  `ticketbooth_http_request_duration_seconds{method,route}`: every HTTP request, labelled with the
  matched route's path template (`/api/commerce/customer/accounts/{accountId}`), never the raw path:
  label values stay bounded whatever clients send (`unmatched` when no route matched, `other` for a
  method outside the standard ones);
- `ticketbooth_password_hash_duration_seconds{operation}`: each Argon2 hash or verify, timed in the
  worker thread that runs it (the time spent waiting for a slot is not in it);
- `ticketbooth_security_events_total{event}`: audit events (audit/service.py) by type:
  `login.succeeded`, `login.failed`, `refresh.replayed`, ..., only those whose count cannot tell
  whether an account exists (`audit.COUNTED_IN_METRICS`: not `otp.sent` nor `account.locked`);
- `ticketbooth_events_written_total{topic}`: events committed to the event log (events/), by topic, only
  the topics whose count cannot tell whether an account exists (`TopicInfo.counted`: not
  `customeraccount.locked` nor `customeraccount.loginfailed`);
- `ticketbooth_webhook_deliveries_total{outcome}` (delivered, retried, failed: given up),
  `ticketbooth_webhook_attempt_duration_seconds` and `ticketbooth_webhook_delivery_latency_seconds` (from
  an event's dispatch to its delivery), and `ticketbooth_webhook_backlog` (measured at scrape, like the
  outbox's): push delivery of events (webhooks/);
- `ticketbooth_mail_outbox_backlog`: messages waiting to be sent, counted in the database when
  /metrics is scraped (one number for the whole deployment, whichever process answers). It goes up
  only for mail to real accounts: one reason /metrics is for the operator alone (TICKETBOOTH_METRICS_TOKEN).

Several processes (`ticketbooth serve --workers N`): `serve` points PROMETHEUS_MULTIPROC_DIR at a
fresh directory before the workers start (cli.py, the one place that sets it: prometheus-client reads
that variable itself when it is imported), prometheus-client then keeps every process's counters in
files there, and whichever worker answers /metrics adds them all up (`render` is given the directory
from the settings, `Settings.metrics_multiprocess_dir`). A single process keeps
them in memory and also reports its own `process_*` metrics (CPU, memory, open files).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import ParamSpec, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series: they double the output

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "ticketbooth_http_requests_total", "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "ticketbooth_http_request_duration_seconds", "Time from receiving a request to its last response byte.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HASH_SECONDS = Histogram(
    "ticketbooth_password_hash_duration_seconds", "Time of one password hash or verify in its worker thread.",
    ["operation"],
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5),
)
SECURITY_EVENTS = Counter(
    "ticketbooth_security_events_total", "Security events recorded in the audit trail, by type.", ["event"],
)

EVENTS_WRITTEN = Counter(
    "ticketbooth_events_written_total", "Events committed to the event log, by topic.", ["topic"],
)
WEBHOOK_DELIVERIES = Counter(
    "ticketbooth_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retried (failed, tried again later), failed (given up).",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "ticketbooth_webhook_attempt_duration_seconds", "Time of one webhook delivery attempt, connection included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
WEBHOOK_LATENCY_SECONDS = Histogram(
    "ticketbooth_webhook_delivery_latency_seconds",
    "Time from an event's dispatch to its successful delivery (retries included).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0),
)
for _outcome in ("delivered", "retried", "failed"):
    WEBHOOK_DELIVERIES.labels(_outcome)

# Label children cost a dictionary lookup and a lock in prometheus-client: keep ours at hand.
_request_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

P = ParamSpec("P")
T = TypeVar("T")


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    key = (method if method in METHODS else "other", route or UNMATCHED, str(status))
    children = _request_children.get(key)
    if children is None:
        children = (REQUESTS.labels(*key), REQUEST_SECONDS.labels(key[0], key[1]))
        _request_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def timed_hash(operation: str, fn: Callable[P, T]) -> Callable[P, T]:
    """`fn`, recording how long each call takes under `operation` (hash, verify)."""
    histogram = HASH_SECONDS.labels(operation)

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - started)

    return run


def known_security_events(names: Iterable[str]) -> None:
    """Show every event type at 0 from the start (a counter that appears later breaks rate() queries)."""
    for name in names:
        SECURITY_EVENTS.labels(name)


def security_event(event: str) -> None:
    """Counts one security event (the app's audit listener passes on those that may be counted)."""
    SECURITY_EVENTS.labels(str(event)).inc()


def known_topics(names: Iterable[str]) -> None:
    """Show every counted topic at 0 from the start."""
    for name in names:
        EVENTS_WRITTEN.labels(name)


def events_written(counts: Mapping[str, int]) -> None:
    """Count committed events by topic (the event store calls it once their transaction commits)."""
    for topic, n in counts.items():
        EVENTS_WRITTEN.labels(topic).inc(n)
def webhook_attempt(seconds: float) -> None:
    WEBHOOK_ATTEMPT_SECONDS.observe(seconds)


def webhook_delivered(latency_seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels("delivered").inc()
    WEBHOOK_LATENCY_SECONDS.observe(max(0.0, latency_seconds))


def webhook_retried() -> None:
    WEBHOOK_DELIVERIES.labels("retried").inc()


def webhook_failed() -> None:
    WEBHOOK_DELIVERIES.labels("failed").inc()


class _Values(Collector):
    """Values measured at scrape time (from the database), reported as gauges."""

    def __init__(self, outbox_backlog: int | None, webhook_backlog: int | None = None) -> None:
        self.outbox_backlog = outbox_backlog
        self.webhook_backlog = webhook_backlog

    def collect(self) -> Iterable[GaugeMetricFamily]:
        if self.outbox_backlog is not None:
            yield GaugeMetricFamily("ticketbooth_mail_outbox_backlog",
                                    "Mail messages waiting to be sent (not yet sent nor given up).",
                                    value=self.outbox_backlog)
        if self.webhook_backlog is not None:
            yield GaugeMetricFamily("ticketbooth_webhook_backlog",
                                    "Webhook deliveries waiting to be sent (due or awaiting a retry), and events not "
                                    "yet dispatched to subscriptions.", value=self.webhook_backlog)


def render(outbox_backlog: int | None, multiprocess_dir: str = "", webhook_backlog: int | None = None) -> bytes:
    """The exposition text: this process's metrics (or every process's, when `multiprocess_dir` names
    the directory they share them through) and the values measured for this scrape (None: could not be
    measured, left out)."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(_Values(outbox_backlog, webhook_backlog))
    return generate_latest(registry) + generate_latest(scraped)


# -- the console's overview: totals of the counters above, and how they moved minute by minute -----------

HTTP_429 = "http.429"
"""The key of HTTP answers with status 429 (rate limited) in `counter_totals`."""


def counter_totals(multiprocess_dir: str = "") -> dict[str, float]:
    """The current totals of the counters kept above, for every process when `multiprocess_dir` is set:
    security events by type (keyed by the event's name, e.g. `login.failed`), HTTP answers with status 429
    (`HTTP_429`), and webhook deliveries by outcome (`webhook.delivered`, ...). Nothing counted here that
    /metrics does not count."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    totals: dict[str, float] = {HTTP_429: 0.0}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "ticketbooth_security_events_total":
                key = sample.labels.get("event", "")
            elif sample.name == "ticketbooth_webhook_deliveries_total":
                key = "webhook." + sample.labels.get("outcome", "")
            elif sample.name == "ticketbooth_http_requests_total" and sample.labels.get("status") == "429":
                key = HTTP_429
            else:
                continue
            totals[key] = totals.get(key, 0.0) + sample.value
    return totals


class History:
    """Samples of `counter_totals` over the last `keep_seconds`, taken by the app every `SAMPLE_SECONDS`,
    from which the overview tells how much each counter moved in each minute."""

    SAMPLE_SECONDS = 10.0

    def __init__(self, keep_seconds: float = 65 * 60) -> None:
        self._keep = keep_seconds
        self._samples: list[tuple[float, dict[str, float]]] = []

    def add(self, at: float, totals: dict[str, float]) -> None:
        self._samples.append((at, totals))
        while self._samples and self._samples[0][0] < at - self._keep:
            self._samples.pop(0)

    def _at(self, when: float, key: str) -> float | None:
        """The total of `key` in the last sample taken at or before `when` (None: none that old)."""
        found: float | None = None
        for at, totals in self._samples:
            if at > when:
                break
            found = totals.get(key, 0.0)
        return found

    def per_minute(self, key: str, now: float, minutes: int) -> list[tuple[float, float | None]]:
        """For each of the last `minutes` whole minutes before `now`, newest first: (the minute's start, how
        much `key` grew in it, or None when the samples do not reach back that far; the minute sampling
        began in counts from its first sample)."""
        current = now - now % 60
        out: list[tuple[float, float | None]] = []
        for i in range(minutes):
            start = current - 60 * i
            end = min(start + 60, now)
            begin, finish = self._at(start, key), self._at(end, key)
            if begin is None and self._samples and start < self._samples[0][0] < end:
                begin = self._samples[0][1].get(key, 0.0)  # sampling began in this minute: from then on
            out.append((start, None if begin is None or finish is None else max(0.0, finish - begin)))
        return out

"""/metrics over HTTP: requests by route template and status (never the raw path), latency, hash
durations, security events from the audit trail, and the outbox backlog counted in the database.

Metrics are per process and these tests share one, so each compares before and after."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.support import CUSTOMER, LOGIN, assert_error, login, register
from tests.conftest import TENANT
from ticketbooth.audit import service as audit
from ticketbooth.config import Settings
from ticketbooth.core import Core

RESET = f"{CUSTOMER}/accounts/Reset-Password"

pytestmark = pytest.mark.usefixtures("seeded")

TOKEN = "metrics-token-0123456789abcdef"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    metrics_token=TOKEN)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> tuple[str, Samples]:
    r = await client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return r.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, route: str, status: str, method: str = "GET") -> float:
    return value(samples, "ticketbooth_http_requests_total", method=method, route=route, status=status)


async def test_requests_are_counted_by_route_template_never_by_raw_path(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    _, before = await scrape(client)
    route = f"{CUSTOMER}/accounts/{{accountId:int}}"
    for account_id in (987654, 987655, 987656):
        assert_error(await client.get(f"{CUSTOMER}/accounts/{account_id}", headers=app_headers), 403)
    assert_error(await client.get("/no/such/secret-looking-path"), 404)
    assert_error(await client.request("BREW", "/healthz"), 405)
    text, after = await scrape(client)

    assert requests(after, route, "403") - requests(before, route, "403") == 3
    assert requests(after, "unmatched", "404") - requests(before, "unmatched", "404") == 1
    assert requests(after, "/healthz", "405", "other") - requests(before, "/healthz", "405", "other") == 1
    assert "987654" not in text and "secret-looking" not in text and "BREW" not in text
    count = value(after, "ticketbooth_http_request_duration_seconds_count", method="GET", route=route)
    assert count - value(before, "ticketbooth_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert value(after, "ticketbooth_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf") == count


async def test_case_and_trailing_slash_do_not_make_new_routes(client: httpx.AsyncClient) -> None:
    _, before = await scrape(client)
    await client.get("/HEALTHZ/")
    _, after = await scrape(client)
    assert requests(after, "/healthz", "200") - requests(before, "/healthz", "200") == 1


async def test_logins_count_hash_time_and_security_events(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                          core: Core) -> None:
    await register(client, app_headers, "metered@example.com")
    _, before = await scrape(client)
    assert (await login(client, app_headers, "metered@example.com")).status_code == 200
    assert (await login(client, app_headers, "metered@example.com", "not the password")).status_code == 401
    # every audit event that may be counted is, whichever flow records it; the others are not
    await audit.record(core, audit.Event.ACCOUNT_DISABLED, tenant_id=TENANT, detail={"why": "test"})
    await audit.record(core, audit.Event.REFRESH_REPLAYED, tenant_id=TENANT)
    await audit.record(core, audit.Event.ACCOUNT_LOCKED, tenant_id=TENANT, detail={"why": "test"})
    _, after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("ticketbooth_http_requests_total", method="POST", route=LOGIN, status="200") == 1
    assert delta("ticketbooth_http_requests_total", method="POST", route=LOGIN, status="401") == 1
    assert delta("ticketbooth_password_hash_duration_seconds_count", operation="verify") >= 2
    assert delta("ticketbooth_password_hash_duration_seconds_sum", operation="verify") > 0
    assert delta("ticketbooth_security_events_total", event="account.disabled") == 1
    assert delta("ticketbooth_security_events_total", event="refresh.replayed") == 1
    assert delta("ticketbooth_security_events_total", event="account.locked") == 0


async def test_every_counted_security_event_type_is_there_from_the_start(client: httpx.AsyncClient) -> None:
    _, samples = await scrape(client)
    for event in audit.COUNTED_IN_METRICS:
        assert ("ticketbooth_security_events_total", frozenset({("event", str(event))})) in samples


async def test_outbox_backlog_is_counted_in_the_database(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                         core: Core) -> None:
    # the app's mail sender does not run here (no lifespan), so queued mail stays queued
    await register(client, app_headers, "backlog@example.com")
    _, before = await scrape(client)
    assert (await client.post(RESET, headers=app_headers, json={"emailAddress": "backlog@example.com"})).status_code == 200
    assert (await client.post(RESET, headers=app_headers, json={"emailAddress": "nobody@example.com"})).status_code == 200
    _, after = await scrape(client)
    assert value(after, "ticketbooth_mail_outbox_backlog") - value(before, "ticketbooth_mail_outbox_backlog") == 1
    assert value(after, "ticketbooth_mail_outbox_backlog") == await core.store.outbox_backlog()


async def test_metrics_can_be_turned_off(client: httpx.AsyncClient, core: Core) -> None:
    core.settings.metrics_enabled = False
    assert_error(await client.get("/metrics", headers=SCRAPER), 404, "ITEM_NOT_FOUND")

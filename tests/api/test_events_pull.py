"""Kibo's Event Pull API over HTTP (`GET /api/event/pull`, `GET /api/event/pull/{eventId}`), on SQLite and
PostgreSQL: the tenant's log in log order as Kibo's EventCollection, read on from a cursor (`id gt N`), by
topic and by time, paged; admin applications only, never another tenant's events; and the retention
run by the mail sender's housekeeping, which never deletes an undispatched event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.api.parts_support import COLLECTION_KEYS, SEGMENTS, other_tenant_admin
from tests.api.support import assert_error, ok, register
from tests.conftest import headers
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.mail import SmtpTransport
from ticketbooth.mail.service import MailSender

pytestmark = pytest.mark.usefixtures("seeded")

PULL = "/api/event/pull"
EVENT_KEYS = {"id", "eventId", "topic", "entityId", "correlationId", "isTest", "tenantId", "siteId", "catalogId",
              "masterCatalogId", "timestamp", "auditInfo", "extendedProperties"}


async def _segments(client: httpx.AsyncClient, admin: dict[str, str], n: int) -> list[int]:
    return [ok(await client.post(SEGMENTS, headers={**admin, "x-vol-correlation": f"corr-{i}"},
                                 json={"code": f"s{i}", "name": f"S {i}"}))["id"] for i in range(n)]


async def _pull(client: httpx.AsyncClient, hdrs: dict[str, str], **params: Any) -> dict[str, Any]:
    return ok(await client.get(PULL, headers=hdrs, params=params))


async def test_the_log_in_order_paged_by_cursor_topic_and_time(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], clock: ManualClock) -> None:
    first = await _pull(client, admin, pageSize=200)
    seen = len(first["items"])
    ids = await _segments(client, admin, 3)
    clock.advance(timedelta(minutes=5))
    later = clock.now()
    reg = await register(client, app_headers, "paula.pull@example.com")

    page = await _pull(client, admin, filter="topic eq customersegment.created", pageSize=2)
    assert set(page) == COLLECTION_KEYS and page["totalCount"] == 3 and page["pageCount"] == 2
    assert [e["entityId"] for e in page["items"]] == [str(i) for i in ids[:2]]
    e = page["items"][0]
    assert set(e) == EVENT_KEYS and e["tenantId"] == 100 and e["siteId"] == 200 and e["isTest"] is False
    assert e["correlationId"] == "corr-0" and e["extendedProperties"] == [] and len(e["eventId"]) == 36
    assert e["timestamp"] == e["auditInfo"]["createDate"]

    # a consumer reads on from the last id it saw
    cursor = page["items"][1]["id"]
    rest = await _pull(client, admin, filter=f"id gt {cursor}")
    assert [x["topic"] for x in rest["items"]] == ["customersegment.created", "customeraccount.created",
                                                   "customeraccount.loginsucceeded"]
    assert [int(x["id"]) for x in rest["items"]] == sorted(int(x["id"]) for x in rest["items"])
    # by time, and by several topics
    since = await _pull(client, admin, filter=f"createDate ge {later.strftime('%Y-%m-%dT%H:%M:%SZ')} and id gt {cursor}")
    assert {x["entityId"] for x in since["items"]} == {str(reg["customerAccount"]["id"])}
    both = await _pull(client, admin, filter="topic in [customeraccount.created, customeraccount.loginsucceeded]")
    assert both["totalCount"] == 2
    logged_in = next(x for x in both["items"] if x["topic"] == "customeraccount.loginsucceeded")
    assert {p["key"] for p in logged_in["extendedProperties"]} == {"userId", "sessionId"}
    # the whole log, newest first when asked
    everything = await _pull(client, admin, sortBy="id desc", pageSize=200)
    assert everything["totalCount"] == seen + 5 and everything["items"][0]["topic"] == "customeraccount.loginsucceeded"
    # one event by its eventId
    one = ok(await client.get(f"{PULL}/{e['eventId']}", headers=admin))
    assert one == e
    assert_error(await client.get(f"{PULL}/00000000-0000-4000-8000-000000000000", headers=admin), 404, "ITEM_NOT_FOUND")


async def test_admin_applications_only_and_never_another_tenant(
        client: httpx.AsyncClient, core: Core, admin: dict[str, str], app_headers: dict[str, str]) -> None:
    (segment,) = await _segments(client, admin, 1)
    mine = (await _pull(client, admin, filter="topic eq customersegment.created"))["items"][0]
    reg = await register(client, app_headers, "sam.shopper@example.com")
    shopper = {**app_headers, "x-vol-user-claims": reg["accessToken"]}
    for hdrs in (app_headers, shopper):  # a storefront application, a shopper: no
        assert_error(await client.get(PULL, headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.get(f"{PULL}/{mine['eventId']}", headers=hdrs), 403, "FORBIDDEN")
    assert_error(await client.get(PULL), 401)
    other = await other_tenant_admin(core, client)
    theirs = await _pull(client, other, pageSize=200)
    assert all(e["tenantId"] == 300 for e in theirs["items"])
    assert mine["eventId"] not in {e["eventId"] for e in theirs["items"]}
    assert_error(await client.get(f"{PULL}/{mine['eventId']}", headers=other), 404, "ITEM_NOT_FOUND")
    # naming the other tenant in the headers does not help: the token's tenant decides
    token = (other["Authorization"]).removeprefix("Bearer ")
    assert (await client.get(PULL, headers=headers(token, 100, 200))).status_code in (401, 403)
    assert segment > 0


async def test_bad_paging_and_filters_are_400(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for params in ({"pageSize": "0"}, {"pageSize": "201"}, {"startIndex": "-1"}, {"filter": "nosuchfield eq 1"},
                   {"filter": "id gt 'x'"}, {"sortBy": "topic sideways"}, {"filter": "topic eq"}):
        assert_error(await client.get(PULL, headers=admin, params=params), 400, "MISSING_OR_INVALID_PARAMETER")


async def test_retention_forgets_dispatched_events_only(
        client: httpx.AsyncClient, core: Core, admin: dict[str, str], clock: ManualClock) -> None:
    await _segments(client, admin, 2)
    async with core.store.engine.begin() as conn:
        oldest = (await conn.execute(select(t.events.c.id).order_by(t.events.c.id).limit(1))).scalar_one()
        await conn.execute(update(t.events).where(t.events.c.id > oldest).values(dispatched_at=clock.now()))
    clock.advance(timedelta(days=core.settings.event_retention_days + 1))
    sender = MailSender(core, SmtpTransport("127.0.0.1", 1, starttls=False, timeout=1))
    await sender.housekeeping()
    async with core.store.engine.connect() as conn:
        left = [r.id for r in await conn.execute(select(t.events.c.id))]
    assert left == [oldest]  # undispatched: kept however old

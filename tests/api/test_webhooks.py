"""Event subscriptions over HTTP (Kibo's appsubscriptions) and push delivery to real receivers on 127.0.0.1:
signatures, retries, giving up and redelivery, order per entity, leases shared by two deliverers, a hanging
endpoint that delays no other, the address rules at subscription and at delivery, and the secret kept out
of logs and out of the database in clear. Both databases."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from tests.api.support import assert_error, ok
from tests.conftest import ADMIN, OTHER, OTHER_TENANT, STOREFRONT, TENANT, app_token, headers
from tests.webhook_receiver import localhost_certificate, receiver
from tests.webhook_support import SUBSCRIPTIONS, add_event, delivery_rows, run_until, subscribe, webhook_settings
from ticketbooth.app import create_app
from ticketbooth.applications import admin
from ticketbooth.config import Settings
from ticketbooth.core import Core, open_core
from ticketbooth.db import tables
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN
from ticketbooth.infra.clock import Clock, SystemClock
from ticketbooth.webhooks import service
from ticketbooth.webhooks.delivery import Deliverer

ADMIN2 = ("admin2.app", "admin2-secret-0123456789abcdef")
OTHER_ADMIN = ("otheradmin.app", "otheradmin-secret-0123456789ab")
SUB_KEYS = {"applicationSubscriptionId", "applicationEndPoint", "events", "packageId", "noCallback"}


@pytest.fixture
def clock() -> Clock:  # type: ignore[override]
    return SystemClock()  # signatures carry the real time: the receivers check it


@pytest.fixture
def settings(database_url: str) -> Settings:
    return webhook_settings(database_url, metrics_token="m-token")


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient, seeded: Any, core: Core) -> dict[str, str]:
    return headers(await app_token(client, ADMIN))


def kibo_hash(secret: str, date: str, body: str) -> str:
    """mozu-node-sdk's hash-stream.js, written again from its source."""
    key = base64.b64encode(hashlib.sha256((secret + secret).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((key + date + body).encode()).digest()).decode()


# -- the resource --------------------------------------------------------------------------------------

async def test_create_get_list_update_delete(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await subscribe(client, admin_headers, "https://93.184.215.14/hook", "customeraccount.created",
                              "customeraccount.updated", packageId=7)
    assert set(created) == SUB_KEYS | {"sharedSecret"}
    assert created["sharedSecret"].startswith("whsec_")
    sid = created["applicationSubscriptionId"]
    assert created["applicationEndPoint"] == "https://93.184.215.14/hook"
    assert [e["eventName"] for e in created["events"]] == ["customeraccount.created", "customeraccount.updated"]
    assert created["events"][0]["eventCategory"] == "customeraccount"
    number = created["events"][1]["eventId"]
    assert isinstance(number, int) and 0 < number < 2**31
    r = await client.post(f"{SUBSCRIPTIONS}/events", headers=admin_headers, json={
        "applicationEndPoint": "https://93.184.215.14/n", "events": [{"eventId": number}]})  # Kibo's other way
    assert [e["eventName"] for e in ok(r)["events"]] == ["customeraccount.updated"]
    deleted = await client.delete(f"{SUBSCRIPTIONS}/events/{ok(r)['applicationSubscriptionId']}", headers=admin_headers)
    assert deleted.status_code == 200
    assert created["packageId"] == 7 and created["noCallback"] is False

    got = ok(await client.get(f"{SUBSCRIPTIONS}/{sid}", headers=admin_headers))
    assert set(got) == SUB_KEYS  # the secret is answered once, at creation
    listed = ok(await client.get(f"{SUBSCRIPTIONS}/events", headers=admin_headers))
    assert [s["applicationSubscriptionId"] for s in listed["items"]] == [sid]

    changed = ok(await client.put(f"{SUBSCRIPTIONS}/events", headers=admin_headers, json={
        "applicationSubscriptionId": sid, "events": [{"eventName": "CustomerAccount.LoginSucceeded"}],
        "noCallback": True}))
    assert [e["eventName"] for e in changed["events"]] == ["customeraccount.loginsucceeded"]
    assert changed["noCallback"] is True and changed["applicationEndPoint"] == "https://93.184.215.14/hook"

    r = await client.delete(f"{SUBSCRIPTIONS}/events/{sid}", headers=admin_headers)
    assert r.status_code == 200 and r.content == b""
    assert_error(await client.get(f"{SUBSCRIPTIONS}/{sid}", headers=admin_headers), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(f"{SUBSCRIPTIONS}/events/{sid}", headers=admin_headers), 404, "ITEM_NOT_FOUND")


async def test_only_admin_applications_and_only_their_own(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                          core: Core) -> None:
    await admin.save_application(core, TENANT, *ADMIN2, [BEHAVIOR_CUSTOMER_ADMIN])
    await admin.save_application(core, OTHER_TENANT, *OTHER_ADMIN, [BEHAVIOR_CUSTOMER_ADMIN])
    sid = (await subscribe(client, admin_headers, "https://93.184.215.14/hook", "customeraccount.created"))[
        "applicationSubscriptionId"]
    storefront = headers(await app_token(client, STOREFRONT))
    body = {"applicationEndPoint": "https://93.184.215.14/x", "events": [{"eventName": "customeraccount.created"}]}
    assert_error(await client.post(f"{SUBSCRIPTIONS}/events", headers=storefront, json=body), 403, "FORBIDDEN")
    assert_error(await client.get(f"{SUBSCRIPTIONS}/{sid}", headers=storefront), 403, "FORBIDDEN")
    assert_error(await client.get(f"{SUBSCRIPTIONS}/events", headers={}), 401)
    other_tenant = headers(await app_token(client, OTHER), tenant=OTHER_TENANT, site=400)
    assert_error(await client.get(f"{SUBSCRIPTIONS}/{sid}", headers=other_tenant), 403)
    for creds, hdrs in ((ADMIN2, {}), (OTHER_ADMIN, {"tenant": OTHER_TENANT, "site": 400})):
        h = headers(await app_token(client, creds), **hdrs)
        assert_error(await client.get(f"{SUBSCRIPTIONS}/{sid}", headers=h), 404, "ITEM_NOT_FOUND")
        assert_error(await client.put(f"{SUBSCRIPTIONS}/events", headers=h, json={
            "applicationSubscriptionId": sid, "applicationEndPoint": "https://93.184.215.14/stolen"}), 404)
        assert_error(await client.delete(f"{SUBSCRIPTIONS}/events/{sid}", headers=h), 404)
        assert_error(await client.get(f"{SUBSCRIPTIONS}/{sid}/deliveries", headers=h), 404)
        assert ok(await client.get(f"{SUBSCRIPTIONS}/events", headers=h))["items"] == []
    got = ok(await client.get(f"{SUBSCRIPTIONS}/{sid}", headers=admin_headers))
    assert got["applicationEndPoint"] == "https://93.184.215.14/hook"  # unchanged


@pytest.mark.parametrize("url", [
    "http://93.184.215.14/hook",  # plain http to a host not allowed
    "https://10.0.0.5/hook", "https://192.168.1.1/", "https://172.16.0.1/", "https://169.254.169.254/latest",
    "https://[::1]/", "https://[fe80::1]/", "https://[::ffff:10.0.0.1]/", "https://100.64.0.1/", "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://user:pw@93.184.215.14/", "https://93.184.215.14/#frag", "ftp://93.184.215.14/", "/relative",
    "https://", "", "https://93.184.215.14/a b", "https://93.184.215.14:99999/",
    "https://no-such-host.invalid/hook",
])
async def test_endpoint_rules(client: httpx.AsyncClient, admin_headers: dict[str, str], url: str) -> None:
    r = await client.post(f"{SUBSCRIPTIONS}/events", headers=admin_headers, json={
        "applicationEndPoint": url, "events": [{"eventName": "customeraccount.created"}]})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "applicationEndPoint")
    assert ok(await client.get(f"{SUBSCRIPTIONS}/events", headers=admin_headers))["items"] == []


async def test_a_name_resolving_to_loopback_is_refused(database_url: str, seeded: Any) -> None:
    """Without the operator's allowance, a host name that resolves to a loopback address is refused, as its
    address would be (the test settings allow 127.0.0.1, these do not)."""
    strict = await open_core(webhook_settings(database_url, webhook_allowed_networks="",
                                              webhook_http_hosts="localhost"), SystemClock())
    try:
        for url in ("https://localhost/hook", "http://localhost:8080/hook", "https://127.0.0.1/hook"):
            with pytest.raises(InvalidParameter) as refused:
                await service.create(strict, None, url, ["customeraccount.created"], tenant_id=TENANT,
                                     client_id=ADMIN[0])
            assert "public address" in refused.value.message
        assert await service.listing(strict, None) == []
    finally:
        await strict.close()


@pytest.mark.parametrize("events", [[], None, [{"eventName": ""}], [{"eventName": "no dots"}],
                                    [{"eventName": "customeraccount.exploded"}], [{"eventId": 0}],
                                    [{"eventName": "x" * 300}], [{"eventId": 5}], "text", [1]])
async def test_topic_rules(client: httpx.AsyncClient, admin_headers: dict[str, str], events: Any) -> None:
    body: dict[str, Any] = {"applicationEndPoint": "https://93.184.215.14/hook"}
    if events is not None:
        body["events"] = events
    r = await client.post(f"{SUBSCRIPTIONS}/events", headers=admin_headers, json=body)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER")


# -- delivery ----------------------------------------------------------------------------------------

async def test_delivery_is_kibos_notification_signed_both_ways(client: httpx.AsyncClient,
                                                                admin_headers: dict[str, str], core: Core,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with receiver() as rx:
        created = await subscribe(client, admin_headers, rx.url, "customeraccount.created")
        secret = created["sharedSecret"]
        event_id = await add_event(core, "customeraccount.created", "1001", extended={"userId": "u1"})
        await add_event(core, "customeraccount.deleted", "1001")  # a topic not subscribed
        await add_event(core, "customeraccount.created", "9", tenant=OTHER_TENANT)  # another tenant's
        deliverer = Deliverer(core)
        try:
            await run_until(deliverer, lambda: len(rx.received) >= 1)
            await asyncio.sleep(0.3)
            await deliverer.run_once()
            await deliverer.drain()
        finally:
            await deliverer.stop()
        assert len(rx.received) == 1
        got = rx.received[0]
    assert got.path == "/hook"
    assert got.json == {"eventId": event_id, "topic": "customeraccount.created", "entityId": "1001",
                        "timestamp": got.json["timestamp"], "correlationId": "corr-1", "isTest": False,
                        "extendedProperties": [{"key": "userId", "value": "u1"}]}
    assert list(got.json) == ["eventId", "topic", "entityId", "timestamp", "correlationId", "isTest",
                              "extendedProperties"]
    h = got.headers
    assert h["x-vol-hmac-sha256"] == kibo_hash(secret, h["date"], got.body)
    assert h["webhook-id"] == event_id
    Webhook(secret).verify(got.body, h)  # the standardwebhooks library's own check
    assert h["x-vol-tenant"] == str(TENANT)
    assert h["content-type"].startswith("application/json")
    rows = await delivery_rows(core)
    assert [(r.status, r.attempts, r.last_status_code) for r in rows] == [("delivered", 1, 200)]
    async with core.store.engine.connect() as conn:
        stored = (await conn.execute(select(tables.webhook_subscriptions.c.secret))).scalar()
    assert secret.encode() not in bytes(stored) and secret.removeprefix("whsec_").encode() not in bytes(stored)
    assert all(secret not in rec.getMessage() and secret.removeprefix("whsec_") not in rec.getMessage()
               for rec in caplog.records)


async def test_retries_with_the_same_event_id_then_delivered(client: httpx.AsyncClient,
                                                             admin_headers: dict[str, str], core: Core) -> None:
    with receiver(statuses=[500, 503]) as rx:
        await subscribe(client, admin_headers, rx.url, "customeraccount.loginsucceeded")
        event_id = await add_event(core, "customeraccount.loginsucceeded", "42")
        deliverer = Deliverer(core)
        try:
            await run_until(deliverer, lambda: len(rx.received) >= 3)
        finally:
            await deliverer.stop()
        assert {r.json["eventId"] for r in rx.received} == {event_id}
        assert len({r.body for r in rx.received}) == 1  # the very same body every time
    rows = await delivery_rows(core)
    assert [(r.status, r.attempts, r.last_status_code) for r in rows] == [("delivered", 3, 200)]


async def test_given_up_then_redelivered(database_url: str, client: httpx.AsyncClient,
                                         admin_headers: dict[str, str], core: Core) -> None:
    quick = await open_core(webhook_settings(database_url, webhook_retry_for_seconds=2.0), SystemClock())
    try:
        with receiver(status=500) as rx:
            sub = await subscribe(client, admin_headers, rx.url, "customeraccount.updated")
            sid = sub["applicationSubscriptionId"]
            event_id = await add_event(core, "customeraccount.updated", "7")
            deliverer = Deliverer(quick)
            rows: list[Any] = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                await deliverer.run_once()
                await deliverer.drain()
                rows = await delivery_rows(core)
                if rows and rows[0].status == "failed":
                    break
                await asyncio.sleep(0.05)
            assert rows[0].status == "failed" and rows[0].attempts >= 2
            assert rows[0].last_error == "the endpoint answered HTTP 500"
            listed = ok(await client.get(f"{SUBSCRIPTIONS}/{sid}/deliveries?status=failed", headers=admin_headers))
            assert listed["totalCount"] == 1
            item = listed["items"][0]
            assert item["eventId"] == event_id and item["status"] == "failed" and item["lastStatusCode"] == 500
            # fixed: redeliver through the API
            rx.status = 200
            seen = len(rx.received)
            again = ok(await client.post(f"{SUBSCRIPTIONS}/{sid}/deliveries/{item['id']}/redeliver",
                                         headers=admin_headers))
            assert again["status"] == "pending"
            await run_until(deliverer, lambda: len(rx.received) > seen)
            await deliverer.stop()
            assert rx.received[-1].json["eventId"] == event_id
        rows = await delivery_rows(core)
        assert rows[0].status == "delivered"
        assert_error(await client.post(f"{SUBSCRIPTIONS}/{sid}/deliveries/999999/redeliver", headers=admin_headers),
                     404, "ITEM_NOT_FOUND")
        assert_error(await client.get(f"{SUBSCRIPTIONS}/{sid}/deliveries?status=lost", headers=admin_headers),
                     400, "MISSING_OR_INVALID_PARAMETER")
    finally:
        await quick.close()


async def test_order_per_entity_kept_while_the_receiver_is_down(client: httpx.AsyncClient,
                                                                admin_headers: dict[str, str], core: Core) -> None:
    with receiver(statuses=[503] * 6) as rx:
        await subscribe(client, admin_headers, rx.url, "customeraccount.updated")
        ids_a = [await add_event(core, "customeraccount.updated", "A") for _ in range(4)]
        ids_b = [await add_event(core, "customeraccount.updated", "B") for _ in range(3)]
        deliverer = Deliverer(core)
        try:
            await run_until(deliverer, lambda: sum(1 for r in rx.received if r.json) >= 7 + 6)
        finally:
            await deliverer.stop()
        delivered = [r.json for r in rx.received][6:]  # after the six refusals
        firsts: dict[str, list[str]] = {}
        for body in [r.json for r in rx.received]:
            ids = firsts.setdefault(body["entityId"], [])
            if body["eventId"] not in ids:
                ids.append(body["eventId"])
        assert firsts["A"] == ids_a and firsts["B"] == ids_b  # each entity's events first seen in order
        assert sorted(b["eventId"] for b in delivered) == sorted(ids_a + ids_b)
    assert {r.status for r in await delivery_rows(core)} == {"delivered"}


async def test_a_hanging_endpoint_delays_no_other(database_url: str, client: httpx.AsyncClient,
                                                  admin_headers: dict[str, str], core: Core) -> None:
    with receiver(hang_seconds=5) as slow, receiver() as fast:
        await subscribe(client, admin_headers, slow.url, "customeraccount.updated")
        await subscribe(client, admin_headers, fast.url, "customeraccount.updated")
        for n in range(6):
            await add_event(core, "customeraccount.updated", f"entity-{n}")
        deliverer = Deliverer(core)
        started = time.monotonic()
        try:
            while len(fast.received) < 6 and time.monotonic() - started < 10:
                await deliverer.run_once()
                await asyncio.sleep(0.02)
            took = time.monotonic() - started
            assert len(fast.received) == 6 and took < 1.5, took
            assert len(slow.received) == core.settings.webhook_endpoint_concurrency  # its slots, no more
        finally:
            await deliverer.stop(grace=0.1)
    rows = await delivery_rows(core)
    assert all(r.claimed_by is None for r in rows)  # stopping gave the hung claims back


async def test_paused_and_deleted_subscriptions_get_nothing(client: httpx.AsyncClient,
                                                             admin_headers: dict[str, str], core: Core) -> None:
    with receiver(status=503) as rx, receiver() as paused_rx:
        sid = (await subscribe(client, admin_headers, rx.url, "customeraccount.created"))["applicationSubscriptionId"]
        await subscribe(client, admin_headers, paused_rx.url, "customeraccount.created", noCallback=True)
        await add_event(core, "customeraccount.created", "1")
        deliverer = Deliverer(core)
        try:
            await run_until(deliverer, lambda: len(rx.received) >= 1)
            assert [(r.subscription_id, r.status) for r in await delivery_rows(core)] == [(sid, "pending")]
            r = await client.delete(f"{SUBSCRIPTIONS}/events/{sid}", headers=admin_headers)
            assert r.status_code == 200
            assert await delivery_rows(core) == []  # its pending delivery went with it
            seen = len(rx.received)
            await add_event(core, "customeraccount.created", "2")
            for _ in range(10):
                await deliverer.run_once()
                await deliverer.drain()
                await asyncio.sleep(0.05)
        finally:
            await deliverer.stop()
        assert len(rx.received) == seen and paused_rx.received == []
    assert await delivery_rows(core) == []


async def test_https_to_the_checked_address_with_the_name_verified(database_url: str, tmp_path: Any,
                                                                    client: httpx.AsyncClient,
                                                                    admin_headers: dict[str, str], core: Core) -> None:
    """An https endpoint by name: the connection goes to the address checked, and the certificate is verified
    for the name (SNI), against the CAs of TICKETBOOTH_WEBHOOK_CAFILE; without them, nothing is sent."""
    cert, key = localhost_certificate(tmp_path)
    trusting = await open_core(webhook_settings(database_url, webhook_cafile=str(cert)), SystemClock())
    try:
        with receiver(tls=(cert, key)) as rx:
            assert rx.url.startswith("https://localhost:")
            await subscribe(client, admin_headers, rx.url, "customeraccount.created")
            untrusting = Deliverer(core)  # the system's CAs: the self-signed certificate is refused
            await add_event(core, "customeraccount.created", "1")
            try:
                await run_until(untrusting, lambda: False, within=0.5)
            except AssertionError:
                pass
            finally:
                await untrusting.stop()
            assert rx.received == []
            assert (await delivery_rows(core))[0].last_error == "the request failed: ConnectError"
            deliverer = Deliverer(trusting)
            try:
                await run_until(deliverer, lambda: len(rx.received) >= 1)
            finally:
                await deliverer.stop()
            assert rx.received[0].headers["host"] == f"localhost:{rx.port}"
    finally:
        await trusting.close()
    assert (await delivery_rows(core))[0].status == "delivered"


async def test_redirects_not_followed(client: httpx.AsyncClient, admin_headers: dict[str, str], core: Core) -> None:
    with receiver() as target, receiver(status=302) as rx:
        rx.location = target.url
        await subscribe(client, admin_headers, rx.url, "customeraccount.created")
        await add_event(core, "customeraccount.created", "1")
        deliverer = Deliverer(core)
        try:
            await run_until(deliverer, lambda: len(rx.received) >= 2)
        finally:
            await deliverer.stop()
        assert target.received == []
    row = (await delivery_rows(core))[0]
    assert row.status == "pending" and row.last_error == "redirect (HTTP 302) not followed"


async def test_address_checked_again_at_delivery(database_url: str, client: httpx.AsyncClient,
                                                 admin_headers: dict[str, str], core: Core) -> None:
    """A subscription made while its address was allowed (or a name that now resolves elsewhere) is not
    called once the address it resolves to is not allowed: the check runs against the address at delivery."""
    with receiver() as rx:
        await subscribe(client, admin_headers, rx.url, "customeraccount.created")
        await add_event(core, "customeraccount.created", "1")
        strict = await open_core(webhook_settings(database_url, webhook_allowed_networks=""), SystemClock())
        deliverer = Deliverer(strict)
        try:
            await run_until(deliverer, lambda: False, within=0.5)
        except AssertionError:
            pass
        finally:
            await deliverer.stop()
            await strict.close()
        assert rx.received == []
    row = (await delivery_rows(core))[0]
    assert row.status == "pending" and row.last_error == "the endpoint resolves to a non-public address: not called"


async def test_two_deliverers_share_the_work(database_url: str, client: httpx.AsyncClient,
                                             admin_headers: dict[str, str], core: Core) -> None:
    """Two cores (as two processes would) on the same database: each event arrives once, in order per entity."""
    second = await open_core(webhook_settings(database_url), SystemClock())
    try:
        with receiver() as rx:
            await subscribe(client, admin_headers, rx.url, "customeraccount.updated")
            expected: dict[str, list[str]] = {}
            for n in range(40):
                entity = f"e{n % 5}"
                expected.setdefault(entity, []).append(await add_event(core, "customeraccount.updated", entity))
            one, two = Deliverer(core), Deliverer(second)

            async def loop(d: Deliverer) -> None:
                deadline = time.monotonic() + 20
                while len(rx.received) < 40 and time.monotonic() < deadline:
                    await d.run_once()
                    await asyncio.sleep(0.005)
                await d.drain()

            try:
                await asyncio.gather(loop(one), loop(two))
            finally:
                await one.stop()
                await two.stop()
            bodies = rx.bodies()
            assert sorted(b["eventId"] for b in bodies) == sorted(i for ids in expected.values() for i in ids)
            for entity, ids in expected.items():
                assert [b["eventId"] for b in bodies if b["entityId"] == entity] == ids
        rows = await delivery_rows(core)
        assert len(rows) == 40 and {r.status for r in rows} == {"delivered"} and {r.attempts for r in rows} == {1}
    finally:
        await second.close()


# -- operations ----------------------------------------------------------------------------------------

async def test_backlog_in_readyz_and_metrics(client: httpx.AsyncClient, core: Core, seeded: Any) -> None:
    before = ok(await client.get("/readyz"))["webhookBacklog"]  # the seeding's own events, not yet dispatched
    await add_event(core, "customeraccount.created", "1")
    assert ok(await client.get("/readyz"))["webhookBacklog"] == before + 1
    text = (await client.get("/metrics", headers={"Authorization": "Bearer m-token"})).text
    assert f"ticketbooth_webhook_backlog {before + 1}.0" in text
    assert 'ticketbooth_webhook_deliveries_total{outcome="delivered"}' in text


async def test_retention_and_lifespan(database_url: str, seeded: Any) -> None:
    """The deliverer runs in the app's lifespan, delivers, and stops at shutdown; old deliveries are purged."""
    settings = webhook_settings(database_url)
    app = create_app(settings)
    with receiver() as rx:
        async with _lifespan(app):
            core: Core = app.state.core
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
                await subscribe(c, headers(await app_token(c, ADMIN)), rx.url, "customeraccount.created")
            await add_event(core, "customeraccount.created", "1")
            await asyncio.to_thread(rx.wait_for, 1)
            deadline = time.monotonic() + 10
            while [r.status for r in await delivery_rows(core)] != ["delivered"]:  # the books follow the answer
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert await service.purge(core) == 0  # delivered just now: kept for webhook_keep_days
            assert await core.store.purge_deliveries(core.clock.now() + timedelta(days=1)) == 1


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield

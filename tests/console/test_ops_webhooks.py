"""The webhook pages over HTTP, through the real forms, on SQLite and PostgreSQL, with a real receiver on
127.0.0.1: subscribing an endpoint (the signing secret shown once), pausing, the deliveries and their status,
redelivering a given-up delivery, another tenant's subscription not found; each change audited with the
staff member's identity."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest

from tests.conftest import OTHER, OTHER_TENANT, STOREFRONT, TENANT
from tests.console.conftest import StaffFactory
from tests.console.ops_support import audit_rows, shown_secret
from tests.webhook_receiver import receiver
from tests.webhook_support import add_event, run_until, webhook_settings
from ticketbooth.audit import service as audit
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock
from ticketbooth.webhooks import service
from ticketbooth.webhooks.delivery import Deliverer

HOOKS = "/console/webhooks"
TOPIC = "customeraccount.created"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return webhook_settings(database_url, webhook_retry_for_seconds=1.0)


async def subscribe(member: object, url: str) -> tuple[int, str, str]:
    r = await member.console.submit(HOOKS, HOOKS, {  # type: ignore[attr-defined]
        "client_id": STOREFRONT[0], "endpoint": url, f"topic:{TOPIC}": "on"})
    assert r.status_code == 200, r.text[:800]
    found = re.search(r'href="/console/webhooks/(\d+)"', r.text)
    assert found
    return int(found.group(1)), shown_secret(r.text), r.headers["cache-control"]


async def test_subscribe_deliver_fail_and_redeliver(console_staff: StaffFactory, core: Core,
                                                    clock: ManualClock) -> None:
    admin = await console_staff("admin")
    with receiver(statuses=[500, 500]) as rx:
        sub_id, secret, cache = await subscribe(admin, rx.url)
        assert secret.startswith("whsec_") and cache == "no-store"
        listing = (await admin.console.get(HOOKS)).text
        assert rx.url in listing and secret not in listing
        page = f"{HOOKS}/{sub_id}"
        assert secret not in (await admin.console.get(page)).text

        await add_event(core, TOPIC, "42")
        deliverer = Deliverer(core)
        await run_until(deliverer, lambda: len(rx.received) >= 1)
        clock.advance(timedelta(seconds=120))  # past the retry window: the next failure gives up
        await run_until(deliverer, lambda: len(rx.received) >= 2)
        items, _ = await service.deliveries(core, None, sub_id, "failed", 0, 10)
        for _ in range(50):
            if items:
                break
            await deliverer.drain()
            items, _ = await service.deliveries(core, None, sub_id, "failed", 0, 10)
        (failed,) = items

        shown = (await admin.console.get(f"{page}?status=failed")).text
        assert f"<td>{failed.id}</td>" in shown and "status-failed" in shown and "Redeliver" in shown
        assert "No deliveries." in (await admin.console.get(f"{page}?status=delivered")).text
        assert (await admin.console.get(f"{page}?status=bogus")).status_code == 400

        r = await admin.console.submit(page, f"{page}/deliveries/{failed.id}/redeliver", {})
        assert r.status_code == 303 and r.headers["location"] == f"{page}?redelivered={failed.id}"
        (again,) = (await service.deliveries(core, None, sub_id, None, 0, 10))[0]
        assert again.status == "pending"
        await run_until(deliverer, lambda: len(rx.received) >= 3)
        await deliverer.drain()
        assert rx.received[2].json == rx.received[0].json  # the same body and eventId
        for _ in range(50):
            if (await service.deliveries(core, None, sub_id, "delivered", 0, 10))[0]:
                break
            await deliverer.drain()
        assert "status-delivered" in (await admin.console.get(page)).text
        await deliverer.stop()

    (created,) = await audit_rows(core, audit.Event.WEBHOOK_SUBSCRIPTION_CREATED)
    assert created.actor == f"staff:{admin.email}" and created.detail["subscriptionId"] == sub_id
    assert secret not in str(created.detail)
    (redelivered,) = await audit_rows(core, audit.Event.WEBHOOK_REDELIVERED)
    assert redelivered.actor == f"staff:{admin.email}" and redelivered.detail["deliveryId"] == failed.id


async def test_pause_and_resume(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    sub_id, _, _ = await subscribe(admin, "http://127.0.0.1:9/hook")
    page = f"{HOOKS}/{sub_id}"
    r = await admin.console.submit(page, f"{page}/active", {"active": "false"})
    assert r.status_code == 303
    assert not (await service.get(core, None, sub_id)).is_active
    assert "Resume subscription" in (await admin.console.get(page)).text
    await admin.console.submit(page, f"{page}/active", {"active": "true"})
    assert (await service.get(core, None, sub_id)).is_active
    rows = await audit_rows(core, audit.Event.WEBHOOK_SUBSCRIPTION_CHANGED)
    assert [r.detail["active"] for r in rows] == [False, True]
    assert (await admin.console.submit(page, f"{page}/active", {"active": "perhaps"})).status_code == 400


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"endpoint": "ftp://127.0.0.1/x"}, "endpoint", "applicationEndPoint"),
    ({"endpoint": "http://10.1.2.3/x"}, "endpoint", "applicationEndPoint"),
    ({"endpoint": "http://127.0.0.1:9/x", "topics": ""}, "topics", "at least one topic"),
    ({"endpoint": "http://127.0.0.1:9/x", "client_id": OTHER[0]}, "client_id", "this tenant's applications"),
])
async def test_subscription_field_errors_change_nothing(console_staff: StaffFactory, core: Core,
                                                        fields: dict[str, str], field: str, message: str) -> None:
    admin = await console_staff("admin")
    form = {"client_id": STOREFRONT[0], f"topic:{TOPIC}": "on", **fields}
    if form.pop("topics", None) is not None:
        form.pop(f"topic:{TOPIC}")
    r = await admin.console.submit(HOOKS, HOOKS, form)
    assert r.status_code == 400, r.text[:300]
    assert f'id="error-{field}"' in r.text and message in html.unescape(r.text)
    assert await service.listing(core, None, TENANT) == []


async def test_another_tenants_subscription_is_not_found(console_staff: StaffFactory, core: Core,
                                                         client: httpx.AsyncClient) -> None:
    admin = await console_staff("admin")
    theirs, _ = await service.create(core, None, "http://127.0.0.1:9/x", [TOPIC], tenant_id=OTHER_TENANT,
                                     client_id=OTHER[0])
    assert str(theirs.id) not in re.findall(r"/console/webhooks/(\d+)", (await admin.console.get(HOOKS)).text)
    page = f"{HOOKS}/{theirs.id}"
    assert (await admin.console.get(page)).status_code == 404
    for action, fields in (("active", {"active": "false"}), ("deliveries/1/redeliver", {})):
        r = await admin.console.submit(HOOKS, f"{page}/{action}", fields)
        assert r.status_code == 404, action
    assert (await service.get(core, None, theirs.id)).is_active
    assert (await admin.console.get(f"{HOOKS}/abc")).status_code == 404

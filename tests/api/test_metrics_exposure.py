"""/metrics is closed unless the operator sets TICKETBOOTH_METRICS_TOKEN, and then needs it as a
Bearer token; and what it counts never tells whether an account exists (issue finding 7): an
outsider who sends the same request about a real and a made-up account gets the same answer, and
the counters move the same way (`otp.sent` used to go up only for real accounts while /otp/request
answered 204 either way; `account.locked` only for real accounts while every login answered 401)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.code_support import OTP_REQUEST
from tests.api.support import assert_error, login, register
from tests.api.test_rate_limits import at
from ticketbooth.audit import service as audit
from ticketbooth.config import Settings
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")

TOKEN = "metrics-token-0123456789abcdef"
EVENTS = "ticketbooth_security_events_total"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", trusted_proxies="127.0.0.1",
                    metrics_token=TOKEN)


async def events(client: httpx.AsyncClient) -> dict[str, float]:
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    return {s.labels["event"]: s.value for family in text_string_to_metric_families(r.text)
            for s in family.samples if s.name == EVENTS}


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after.keys() | before.keys()
            if after.get(name, 0.0) != before.get(name, 0.0)}


async def test_metrics_are_not_served_without_a_token_setting(core: Core, client: httpx.AsyncClient) -> None:
    assert Settings().metrics_token == ""  # the default
    core.settings.metrics_token = ""
    assert_error(await client.get("/metrics"), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get("/metrics", headers={"Authorization": "Bearer "}), 404, "ITEM_NOT_FOUND")


async def test_metrics_need_the_token(client: httpx.AsyncClient) -> None:
    for hdrs in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"},
                 {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN}):
        r = await client.get("/metrics", headers=hdrs)
        assert_error(r, 401, "UNAUTHORIZED")
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "ticketbooth_" not in r.text
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and "ticketbooth_http_requests_total" in r.text


async def test_an_otp_request_counts_the_same_for_a_real_and_a_made_up_address(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "counted@example.com")
    start = await events(client)
    r = await client.post(OTP_REQUEST, headers=app_headers, json={"email": "made-up@example.com"})
    assert r.status_code == 204, r.text
    middle = await events(client)
    r = await client.post(OTP_REQUEST, headers=app_headers, json={"email": "counted@example.com"})
    assert r.status_code == 204, r.text
    end = await events(client)
    assert moved(start, middle) == moved(middle, end)


async def test_failed_logins_count_the_same_whether_they_lock_an_account_or_not(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "lockable@example.com")

    async def ten_failures(username: str) -> None:  # five per address: the account's 10 failures lock it
        for i in range(10):
            r = await login(client, at(app_headers, f"198.51.100.{i // 5 + 1}"), username, "a wrong guess")
            assert_error(r, 401, "INVALID_CREDENTIALS")

    start = await events(client)
    await ten_failures("made-up@example.com")
    middle = await events(client)
    await ten_failures("lockable@example.com")
    end = await events(client)
    assert moved(start, middle) == moved(middle, end) == {"login.failed": 10}


async def test_only_counted_event_types_are_shown(client: httpx.AsyncClient) -> None:
    shown = set(await events(client))
    assert shown == {str(e) for e in audit.COUNTED_IN_METRICS}
    assert {"otp.sent", "account.locked", "2fa.failed"}.isdisjoint(shown)

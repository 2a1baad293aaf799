"""Rate limits kept in Redis (TICKETBOOTH_TEST_REDIS_URL, a real Redis): the 429 over HTTP, the
fall-back to in-process limits while Redis cannot be reached (one warning, still limited), and two
`ticketbooth serve` processes on one database and one Redis limiting as one."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.support import ANONYMOUS, LOGIN, assert_error, ok, register
from tests.api.test_rate_limits import at, bucket, set_limits
from tests.conftest import PASSWORD, SITE, STOREFRONT, TENANT, LiveServer, headers, start_server, stop_server
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.infra.ratelimit import RedisLimiter, open_limiter

REDIS_URL = os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "")
pytestmark = [pytest.mark.usefixtures("seeded"),
              pytest.mark.skipif(not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set")]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    trusted_proxies="127.0.0.1")


@pytest.fixture
async def redis_core(core: Core) -> AsyncIterator[Core]:
    """`core` with its limiter in Redis, under a key prefix of this test's own."""
    await core.limiter.close()
    core.limiter = RedisLimiter(REDIS_URL, prefix=f"tb-test:{secrets.token_hex(6)}:")
    yield core


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_limits_in_redis_answer_429_per_address_and_per_account(
        redis_core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "known@example.com")
    await set_limits(redis_core, anonymous={"per_address": bucket(2)}, login={"per_account": bucket(2)})
    here = at(app_headers, "198.51.100.1")
    ok(await client.get(ANONYMOUS, headers=here))
    ok(await client.get(ANONYMOUS, headers=here))
    r = await client.get(ANONYMOUS, headers=here)
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert int(r.headers["Retry-After"]) >= 59_000
    ok(await client.get(ANONYMOUS, headers=at(app_headers, "198.51.100.2")))
    for address in ("198.51.100.3", "198.51.100.4"):  # the login name's bucket counts failures
        assert_error(await client.post(LOGIN, headers=at(app_headers, address),
                                       json={"username": "known@example.com", "password": "a wrong guess"}), 401)
    r = await client.post(LOGIN, headers=at(app_headers, "198.51.100.5"),
                          json={"username": "known@example.com", "password": PASSWORD})
    assert "for this account" in assert_error(r, 429, "TOO_MANY_REQUESTS")["message"]
    assert isinstance(redis_core.limiter, RedisLimiter) and not redis_core.limiter.degraded


async def test_without_redis_the_limits_hold_in_process_with_one_warning(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    await core.limiter.close()
    core.limiter = open_limiter(f"redis://127.0.0.1:{_closed_port()}/0")
    assert isinstance(core.limiter, RedisLimiter)
    core.limiter.retry_seconds = 0  # try Redis again at every request: still one warning
    await set_limits(core, anonymous={"per_address": bucket(3)})
    caplog.set_level(logging.WARNING, logger="ticketbooth.infra.ratelimit")
    answers = [(await client.get(ANONYMOUS, headers=app_headers)).status_code for _ in range(10)]
    assert answers == [200] * 3 + [429] * 7
    assert core.limiter.degraded
    assert len([r for r in caplog.records if r.name == "ticketbooth.infra.ratelimit"]) == 1


# -- two server processes ----------------------------------------------------------------------------

@contextmanager
def _servers(database_url: str, workdir: Path, env: dict[str, str]) -> Iterator[tuple[LiveServer, LiveServer]]:
    one = start_server(database_url, workdir, extra_env=env)
    try:
        two = start_server(database_url, workdir, extra_env=env)
        try:
            yield one, two
        finally:
            stop_server(two)
    finally:
        stop_server(one)


async def _app_headers(http: httpx.AsyncClient, server: LiveServer) -> dict[str, str]:
    r = await http.post(f"{server.base_url}/api/platform/applications/authtickets/oauth", json={
        "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    return headers(r.json()["access_token"], TENANT, SITE)


async def _spread(http: httpx.AsyncClient, servers: tuple[LiveServer, LiveServer], count: int, method: str, path: str,
                  json: object = None) -> list[int]:
    """`count` requests, one after the other, alternating between the two servers; their statuses."""
    hdrs = [await _app_headers(http, s) for s in servers]
    statuses = []
    for i in range(count):
        r = await http.request(method, f"{servers[i % 2].base_url}{path}", headers=hdrs[i % 2], json=json)
        statuses.append(r.status_code)
    return statuses


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
async def test_two_server_processes_share_limits_through_redis(
        core: Core, settings: Settings, tmp_path: Path, shared: bool) -> None:
    """Requests spread over two processes are limited as one with Redis; without it (the control),
    each process admits its own bucket's worth."""
    await set_limits(core, anonymous={"per_address": bucket(4)}, login={"per_account": bucket(3)})
    await core.close()  # the servers own the database from here
    env = {"TICKETBOOTH_SECRET_KEY": secrets.token_hex(16),  # bucket keys of this test's own in a shared Redis
           "TICKETBOOTH_REDIS_URL": REDIS_URL if shared else ""}
    with _servers(settings.database_url, tmp_path, env) as (one, two):
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(f"{one.base_url}/api/commerce/customer/accounts/Add-Account-And-Login",
                                headers=await _app_headers(http, one),
                                json={"account": {"emailAddress": "spread@example.com"}, "password": PASSWORD})
            assert r.status_code == 200, r.text
            anonymous = await _spread(http, (one, two), 10, "GET", ANONYMOUS)
            logins = await _spread(http, (one, two), 8, "POST", LOGIN,
                                   json={"username": "spread@example.com", "password": "wrong!!"})
            if shared:
                assert anonymous == [200] * 4 + [429] * 6
                assert logins == [401] * 3 + [429] * 5
            else:
                assert anonymous == [200] * 8 + [429] * 2
                assert logins == [401] * 6 + [429] * 2
            r = await http.get(f"{two.base_url}{ANONYMOUS}", headers=await _app_headers(http, two))
            assert_error(r, 429, "TOO_MANY_REQUESTS")
            assert int(r.headers["Retry-After"]) >= 59_000

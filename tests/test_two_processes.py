"""Two separate `ticketbooth serve` processes (two ports) on one PostgreSQL database and one Redis,
as two machines behind a load balancer would run: every guarantee holds across them.

- a ticket issued by one (the opaque access token and the JWT) is accepted by the other;
- 100 concurrent refreshes of one refresh token, spread over both, give exactly one successor (the
  grace rule hands that same successor to the others) and no 500;
- rate limits are shared: a login limit set small refuses requests spread over both as one bucket;
- lockout counters are shared: wrong passwords spread over both lock the account once (one audit
  entry, one email), and an address's failure allowance on a login name is used up across both;
- a signing key rotated through `ticketbooth keys rotate` (a third process on the same database) is
  published by both at /.well-known/jwks.json within TICKETBOOTH_KEY_RELOAD_SECONDS (1 s here), and
  tickets signed with it verify on both.

PostgreSQL and Redis only (TICKETBOOTH_TEST_POSTGRES_URL, TICKETBOOTH_TEST_REDIS_URL): SQLite is one
machine's file, and without Redis each process keeps its own limits. The module gets a PostgreSQL
database of its own; a random TICKETBOOTH_SECRET_KEY keys its rate-limit buckets, so parallel runs on
the same Redis never share a bucket. Both servers get the same TICKETBOOTH_PUBLIC_HOST (the address a
load balancer would give them): it is the JWT issuer, and tokens are checked against it.

Tenant 100's settings, changed through `ticketbooth tenant settings` before the servers start: the
refresh limits are off (100 refreshes of one session in a burst is what this test does on purpose;
the default per-session bucket would answer some of them 429); logins are limited to 5 per client
address (slow refill) and 100 per account; an account locks at the 4th consecutive failure and one
address may fail 3 times on one login name. The servers trust 127.0.0.1 as a proxy, so each scenario
sends its requests from client addresses of its own (X-Forwarded-For) and one scenario's buckets
never touch another's.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import select

from tests.api.support import ANONYMOUS, CURRENT, REFRESH, assert_error, ok
from tests.conftest import (
    ADMIN,
    PASSWORD,
    POSTGRES_URL,
    LiveServer,
    start_server,
    stop_server,
)
from tests.live_support import (
    app_headers,
    assert_one_successor,
    at,
    http_fixture,  # noqa: F401  (the `http` fixture)
    login,
    new_address,
    own_database,
    prepare,
    query,
    register,
)
from ticketbooth.db import tables as t

REDIS_URL = os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "")
pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="TICKETBOOTH_TEST_POSTGRES_URL is not set"),
    pytest.mark.skipif(not REDIS_URL, reason="TICKETBOOTH_TEST_REDIS_URL is not set"),
]

KEY_RELOAD_SECONDS = 1.0
LOGINS_PER_ADDRESS = 5
LOCK_AFTER = 4
FAILURES_PER_ADDRESS = 3
WRONG = "not the passphrase at all"
TENANT_SETTINGS = [
    "rate_limits.refresh.enabled=false",
    f'rate_limits.login.per_address={{"capacity":{LOGINS_PER_ADDRESS},"per_minute":1}}',
    'rate_limits.login.per_account={"capacity":100,"per_minute":100}',
    f"lockout.max_failed_logins={LOCK_AFTER}",
    f"lockout.max_failed_logins_per_address={FAILURES_PER_ADDRESS}",
]


@dataclass
class Cluster:
    one: LiveServer
    two: LiveServer
    database_url: str
    workdir: Path

    @property
    def servers(self) -> tuple[LiveServer, LiveServer]:
        return self.one, self.two


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two servers on a PostgreSQL database of this module's own and the test Redis."""
    workdir = tmp_path_factory.mktemp("two-processes")
    env = {
        "TICKETBOOTH_REDIS_URL": REDIS_URL,
        "TICKETBOOTH_SECRET_KEY": secrets.token_hex(16),  # bucket keys of this run's own in a shared Redis
        "TICKETBOOTH_PUBLIC_HOST": "tickets.example.test",  # one issuer, as behind one load balancer
        "TICKETBOOTH_KEY_RELOAD_SECONDS": str(KEY_RELOAD_SECONDS),
        "TICKETBOOTH_TRUSTED_PROXIES": "127.0.0.1",
        "TICKETBOOTH_MAIL_POLL_SECONDS": "0.5",
    }
    with own_database("postgresql", workdir) as database_url:
        prepare(database_url, workdir, env, tenant=TENANT_SETTINGS)
        one = start_server(database_url, workdir, extra_env=env)
        try:
            two = start_server(database_url, workdir, extra_env=env)
            try:
                yield Cluster(one, two, database_url, workdir)
            finally:
                stop_server(two)
        finally:
            stop_server(one)


# -- tickets --------------------------------------------------------------------------------------

async def test_a_ticket_issued_by_one_is_accepted_by_the_other(cluster: Cluster, http: httpx.AsyncClient) -> None:
    account = await register(http, cluster.one, "across@example.com")
    for issuer, other in ((cluster.one, cluster.two), (cluster.two, cluster.one)):
        h = await app_headers(http, issuer)  # the application token, too, is issued by one process
        ticket = ok(await login(http, issuer, h, "across@example.com", PASSWORD))
        by_jwt = await http.get(f"{other.base_url}{CURRENT}",
                                headers={"Authorization": f"Bearer {ticket['jwtAccessToken']}"})
        assert ok(by_jwt)["id"] == account["customerAccount"]["id"]
        by_opaque = await http.get(f"{other.base_url}{CURRENT}", headers={**h, "x-vol-user-claims": ticket["accessToken"]})
        assert ok(by_opaque)["emailAddress"] == "across@example.com"
        # and a refresh token from one refreshes on the other
        r = await http.put(f"{other.base_url}{REFRESH}", params={"refreshToken": ticket["refreshToken"]}, headers=h)
        assert ok(r)["customerAccount"]["id"] == account["customerAccount"]["id"]


async def test_concurrent_refreshes_over_both_give_exactly_one_successor(
        cluster: Cluster, http: httpx.AsyncClient) -> None:
    await register(http, cluster.two, "refresher@example.com")
    hdrs = [await app_headers(http, s) for s in cluster.servers]
    ticket = ok(await login(http, cluster.one, hdrs[0], "refresher@example.com", PASSWORD))
    token = ticket["refreshToken"]

    answers = await asyncio.gather(*(
        http.put(f"{cluster.servers[i % 2].base_url}{REFRESH}", params={"refreshToken": token}, headers=hdrs[i % 2])
        for i in range(100)))

    await assert_one_successor(cluster.database_url, token, answers)
    # the one successor goes on, on either process
    r = await http.put(f"{cluster.two.base_url}{REFRESH}", params={"refreshToken": answers[0].json()["refreshToken"]},
                       headers=hdrs[1])
    assert ok(r)["refreshToken"] != answers[0].json()["refreshToken"]


# -- rate limits and lockout ----------------------------------------------------------------------

async def test_a_login_limit_is_one_bucket_across_both(cluster: Cluster, http: httpx.AsyncClient) -> None:
    address = new_address()
    hdrs = [await app_headers(http, s, address=address) for s in cluster.servers]
    statuses = []
    for i in range(2 * LOGINS_PER_ADDRESS):
        r = await login(http, cluster.servers[i % 2], hdrs[i % 2], "nobody-at-all@example.com", WRONG)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert_error(r, 429, "TOO_MANY_REQUESTS")
            assert int(r.headers["Retry-After"]) >= 1
    # in-process buckets would admit LOGINS_PER_ADDRESS on each process: 2x as many 401s
    assert statuses == [401] * LOGINS_PER_ADDRESS + [429] * LOGINS_PER_ADDRESS
    # the bucket is the address's: another address still logs in, on either process
    await register(http, cluster.one, "limited@example.com")
    for server in cluster.servers:
        ok(await login(http, server, await app_headers(http, server), "limited@example.com", PASSWORD))


async def test_wrong_passwords_over_both_lock_the_account_once(cluster: Cluster, http: httpx.AsyncClient) -> None:
    victim = "victim@example.com"
    account_id = (await register(http, cluster.one, victim))["customerAccount"]["id"]
    hdrs = [await app_headers(http, s) for s in cluster.servers]
    # 12 wrong passwords at once, each from an address of its own, alternating between the processes
    answers = await asyncio.gather(*(
        login(http, cluster.servers[i % 2], at(hdrs[i % 2], new_address()), victim, WRONG) for i in range(12)))
    assert [r.status_code for r in answers] == [401] * 12
    for r in answers:
        assert_error(r, 401, "INVALID_CREDENTIALS")

    locks = await query(cluster.database_url, select(t.audit_entries.c.detail).where(
        t.audit_entries.c.account_id == account_id, t.audit_entries.c.event == "account.locked"))
    assert len(locks) == 1 and locks[0][0]["failures"] == LOCK_AFTER
    [(is_locked,)] = await query(cluster.database_url, select(t.accounts.c.is_locked).where(t.accounts.c.id == account_id))
    assert is_locked
    queued = await query(cluster.database_url, select(t.outbox.c.id).where(t.outbox.c.kind == "account-locked"))
    assert len(queued) == 1
    # the right password is refused on both now, from a fresh address too
    for server, h in zip(cluster.servers, hdrs, strict=True):
        assert_error(await login(http, server, at(h, new_address()), victim, PASSWORD), 401, "INVALID_CREDENTIALS")
    admin = await app_headers(http, cluster.two, ADMIN)
    state = ok(await http.get(f"{cluster.two.base_url}/api/commerce/customer/accounts/{account_id}/loginstate",
                              headers=admin))
    assert state["isLocked"] is True

    # exactly one email, delivered by whichever process's mail sender claimed it
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sent = await query(cluster.database_url, select(t.outbox.c.sent_at).where(t.outbox.c.kind == "account-locked"))
        if sent and sent[0][0] is not None:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the lock notice was not sent in 20 s")
    to_victim = [p for p in (cluster.workdir / "var" / "mail").glob("*.eml")
                 if email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["To"] == victim]
    assert len(to_victim) == 1


async def test_an_address_failure_allowance_is_shared_by_both(cluster: Cluster, http: httpx.AsyncClient) -> None:
    shopper = "allowance@example.com"
    await register(http, cluster.two, shopper)
    address = new_address()
    hdrs = [await app_headers(http, s, address=address) for s in cluster.servers]
    for i in range(FAILURES_PER_ADDRESS):  # 2 on one, 1 on two: neither process alone saw 3
        assert_error(await login(http, cluster.servers[i % 2], hdrs[i % 2], shopper, WRONG), 401, "INVALID_CREDENTIALS")
    # this address has used its allowance on this name: even the right password is refused, on both
    for server, h in zip(cluster.servers, hdrs, strict=True):
        assert_error(await login(http, server, h, shopper, PASSWORD), 401, "INVALID_CREDENTIALS")
    # the account itself is not locked (3 < 4): any other address logs in
    for server, h in zip(cluster.servers, hdrs, strict=True):
        ok(await login(http, server, at(h, new_address()), shopper, PASSWORD))


# -- signing keys ---------------------------------------------------------------------------------

async def _published(http: httpx.AsyncClient, server: LiveServer) -> set[str]:
    r = await http.get(f"{server.base_url}/.well-known/jwks.json")
    assert r.status_code == 200, r.text
    return {k["kid"] for k in r.json()["keys"]}


async def test_a_key_rotated_through_one_is_published_and_verified_by_both(
        cluster: Cluster, http: httpx.AsyncClient) -> None:
    await register(http, cluster.one, "rotation@example.com")
    hdrs = [await app_headers(http, s) for s in cluster.servers]
    before = ok(await login(http, cluster.one, hdrs[0], "rotation@example.com", PASSWORD))
    old_kid = jwt.get_unverified_header(before["jwtAccessToken"])["kid"]
    for server in cluster.servers:
        assert old_kid in await _published(http, server)

    rotated = json.loads(cluster.one.cli("keys", "rotate"))
    new_kid = rotated["activeKid"]
    assert new_kid != old_kid
    started = time.monotonic()
    waiting = list(cluster.servers)
    while waiting and time.monotonic() - started < KEY_RELOAD_SECONDS + 10:  # slack for a loaded machine
        waiting = [s for s in waiting if new_kid not in await _published(http, s)]
        await asyncio.sleep(0.1)
    assert not waiting, "a process did not publish the rotated key"
    for server in cluster.servers:
        assert {old_kid, new_kid} <= await _published(http, server)  # the retired key stays published

    # each process now signs with the new key, and the other verifies what it signed
    for issuer, other, h in ((cluster.one, cluster.two, hdrs[0]), (cluster.two, cluster.one, hdrs[1])):
        ticket = ok(await login(http, issuer, at(h, new_address()), "rotation@example.com", PASSWORD))
        assert jwt.get_unverified_header(ticket["jwtAccessToken"])["kid"] == new_kid
        for server in (issuer, other):
            r = await http.get(f"{server.base_url}{CURRENT}", headers={"Authorization": f"Bearer {ticket['jwtAccessToken']}"})
            assert ok(r)["emailAddress"] == "rotation@example.com"
        anonymous = ok(await http.get(f"{issuer.base_url}{ANONYMOUS}", headers=h))
        assert jwt.get_unverified_header(anonymous["jwtAccessToken"])["kid"] == new_kid
    # a ticket signed with the retired key still verifies on both until it expires
    for server in cluster.servers:
        r = await http.get(f"{server.base_url}{CURRENT}", headers={"Authorization": f"Bearer {before['jwtAccessToken']}"})
        assert ok(r)["emailAddress"] == "rotation@example.com"

"""Crash durability: a real `ticketbooth serve` process is killed with SIGKILL in the middle of a load of
registrations and refreshes, and started again on the same database. Every request answered 200
before the kill must be reflected afterwards:

- each acknowledged registration: the account exists and logs in with its password;
- each acknowledged refresh token: it is the valid head of its family. Refreshing it works (a new
  pair, which refreshes in turn), the family is not revoked, and every older acknowledged token of
  the family is used: replaying the one before the head is refused as a replay.

A refresh in flight at the kill may have been committed without its answer going out; refreshing
the last acknowledged token then hands out that committed successor (the grace rule: the window is
set to 300 s here, so the verification never runs out of it), which is still the family's head.
Those are counted as "committed, unanswered"; they are legitimate, a lost acknowledged write is not.

SQLite (WAL, synchronous=NORMAL, hot-path writes group-committed on the event loop) and PostgreSQL.
`test_kill_during_load` is the bounded run of `make test` (2 kill/restart cycles); the `soak` marker
runs 10 cycles with more load (`pytest -m soak tests/test_crash_durability.py -s` prints the counts).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.support import assert_error, ok
from tests.conftest import PASSWORD, LiveServer, start_server, stop_server
from tests.live_support import (
    add_account,
    app_headers,
    at,
    live_client,
    login,
    new_address,
    query,
    refresh,
    seeded_server,
)
from ticketbooth.db import tables as t
from ticketbooth.infra.tokens import at_rest

SETTINGS = ["rate_limits.registration.enabled=false", "rate_limits.refresh.enabled=false",
            "rate_limits.login.enabled=false"]
ENV = {"TICKETBOOTH_TRUSTED_PROXIES": "127.0.0.1", "TICKETBOOTH_REFRESH_GRACE_SECONDS": "300"}


@dataclass
class Load:
    """What the server acknowledged (answered 200) in one cycle."""

    registered: list[str] = field(default_factory=list)
    chains: list[list[str]] = field(default_factory=list)
    """Per family: its acknowledged refresh tokens, oldest first (the first from the registration)."""
    refreshes: int = 0
    unexpected: list[str] = field(default_factory=list)
    """Answers other than 200 before the kill (there must be none)."""
    in_flight: int = 0
    in_flight_at_kill: int = 0


@dataclass
class Totals:
    registered: int = 0
    refreshes: int = 0
    families: int = 0
    in_flight_at_kill: int = 0
    committed_unanswered: int = 0
    lost: int = 0
    cycles: int = 0


async def _send(load: Load, request: Awaitable[httpx.Response]) -> httpx.Response | None:
    """The answer, or None when the server went away (the request is then not acknowledged)."""
    load.in_flight += 1
    try:
        return await request
    except httpx.TransportError:
        return None
    finally:
        load.in_flight -= 1


async def _register_loop(http: httpx.AsyncClient, server: LiveServer, hdrs: dict[str, str], prefix: str,
                         load: Load) -> None:
    for i in range(1_000_000):
        email = f"{prefix}-{i}@example.com"
        r = await _send(load, add_account(http, server, hdrs, email))
        if r is None:
            return
        if r.status_code == 200:
            load.registered.append(email)
        else:
            load.unexpected.append(f"register {r.status_code} {r.text}")


async def _refresh_loop(http: httpx.AsyncClient, server: LiveServer, hdrs: dict[str, str], chain: list[str],
                        load: Load) -> None:
    while True:
        r = await _send(load, refresh(http, server, hdrs, chain[-1]))
        if r is None:
            return
        if r.status_code == 200:
            chain.append(r.json()["refreshToken"])
            load.refreshes += 1
        else:
            load.unexpected.append(f"refresh {r.status_code} {r.text}")
            return


def _children(pid: int) -> str:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().strip()


async def _load_then_kill(http: httpx.AsyncClient, server: LiveServer, cycle: int, registrars: int, refreshers: int,
                          seconds: float) -> Load:
    load = Load()
    hdrs = await app_headers(http, server)
    for i in range(refreshers):
        ticket = ok(await add_account(http, server, hdrs, f"family-{cycle}-{i}@example.com"))
        load.registered.append(f"family-{cycle}-{i}@example.com")
        load.chains.append([ticket["refreshToken"]])
    workers = [asyncio.ensure_future(_register_loop(http, server, hdrs, f"crash-{cycle}-{i}", load))
               for i in range(registrars)]
    workers += [asyncio.ensure_future(_refresh_loop(http, server, hdrs, chain, load)) for chain in load.chains]
    await asyncio.sleep(seconds)
    # the server itself (uvicorn runs in this process, no worker children), mid-load
    assert _children(server.process.pid) == ""
    load.in_flight_at_kill = load.in_flight
    os.kill(server.process.pid, signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*workers), 60)
    assert server.process.wait(10) == -signal.SIGKILL
    assert not load.unexpected, load.unexpected[:5]
    return load


async def _verify(http: httpx.AsyncClient, server: LiveServer, database_url: str, load: Load, totals: Totals) -> None:
    hdrs = await app_headers(http, server)
    # nothing acknowledged is missing: every account, every refresh token
    keys = [email.lower() for email in load.registered]
    [(stored,)] = await query(database_url, select(func.count()).select_from(t.accounts)
                              .where(t.accounts.c.email_key.in_(keys)))
    hashes = [at_rest(token) for chain in load.chains for token in chain]
    found = {h: (family, generation, used_at) for h, family, generation, used_at in await query(database_url, select(
        t.tickets.c.refresh_hash, t.tickets.c.family_id, t.tickets.c.generation, t.tickets.c.used_at)
        .where(t.tickets.c.refresh_hash.in_(hashes)))}
    lost = len(keys) - stored + len(set(hashes) - set(found))
    totals.lost += lost
    assert lost == 0, f"{len(keys) - stored} acknowledged accounts and {len(set(hashes) - set(found))} " \
                      "acknowledged refresh tokens are gone"

    # every acknowledged account logs in with its password
    gate = asyncio.Semaphore(4)

    async def logs_in(email: str) -> int:
        async with gate:
            return (await login(http, server, at(hdrs, new_address()), email, PASSWORD)).status_code

    statuses = await asyncio.gather(*(logs_in(email) for email in load.registered))
    assert statuses == [200] * len(statuses), sorted(set(statuses))

    # each family's acknowledged tokens are its generations in order, all but the last used; the last is the head
    for chain in load.chains:
        rows = [found[at_rest(token)] for token in chain]
        family_id, first = rows[0][0], rows[0][1]
        assert [(f, g) for f, g, _ in rows] == [(family_id, first + i) for i in range(len(chain))]
        assert all(used_at is not None for _, _, used_at in rows[:-1])
        if rows[-1][2] is not None:  # the refresh in flight at the kill was committed; its answer never went out
            totals.committed_unanswered += 1
        successor = ok(await refresh(http, server, hdrs, chain[-1]))["refreshToken"]
        assert successor != chain[-1]
        assert ok(await refresh(http, server, hdrs, successor))["refreshToken"] not in (successor, chain[-1])
        if len(chain) > 1:  # the one before the head is not the head: a replay, refused (and the family ended)
            r = await refresh(http, server, hdrs, chain[-2])
            assert_error(r, 401)
            assert "already been used" in r.json()["message"]

    totals.registered += len(load.registered)
    totals.refreshes += load.refreshes
    totals.families += len(load.chains)
    totals.in_flight_at_kill += load.in_flight_at_kill
    totals.cycles += 1


async def run_cycles(database_url: str, workdir: Path, cycles: int, registrars: int, refreshers: int,
                     seconds: tuple[float, float]) -> Totals:
    """Load, SIGKILL, restart on the same database (same port) and verify, `cycles` times."""
    totals = Totals()
    server = seeded_server(database_url, workdir, ENV, tenant=SETTINGS)
    port = int(server.base_url.rsplit(":", 1)[1])
    rng = random.Random(os.environ.get("TICKETBOOTH_CRASH_SEED", "crash"))
    try:
        for cycle in range(cycles):
            async with live_client() as http:  # its connections are never idle: every worker loops
                load = await _load_then_kill(http, server, cycle, registrars, refreshers, rng.uniform(*seconds))
            server = start_server(database_url, workdir, port, ENV)
            async with live_client(keep_alive=False) as http:
                await _verify(http, server, database_url, load, totals)
    finally:
        if server.process.poll() is None:
            stop_server(server)
    print(f"\ncrash durability on {database_url.split(':')[0]}: {totals}")
    return totals


async def test_kill_during_load(database_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    totals = await run_cycles(database_url, tmp_path, cycles=2, registrars=4, refreshers=8, seconds=(1.5, 2.5))
    assert totals.lost == 0
    # there was a load to lose: registrations besides the families' own, refreshes, requests cut off by the kill
    assert totals.cycles == 2 and totals.registered > totals.families and totals.refreshes > totals.families
    assert totals.in_flight_at_kill > 0
    assert time.monotonic() - started < 120


@pytest.mark.soak
async def test_kill_during_load_soak(database_url: str, tmp_path: Path) -> None:
    totals = await run_cycles(database_url, tmp_path, cycles=10, registrars=8, refreshers=24, seconds=(2.0, 6.0))
    assert totals.lost == 0 and totals.cycles == 10

"""Helpers of the tests that drive real `ticketbooth serve` processes over HTTP (tests/conftest.py
starts them): application headers naming a client address of the request's own in X-Forwarded-For (which a
server believes only from a storefront-server application or with TICKETBOOTH_TRUSTED_PROXIES set by the test;
otherwise every call comes from 127.0.0.1), registration, login, refresh, tenant settings
through the CLI, and reads of the database the servers write."""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.support import LOGIN, OAUTH, REFRESH, REGISTER, ok
from tests.conftest import (
    _CLI_BATCH,
    PASSWORD,
    POSTGRES_URL,
    SITE,
    STOREFRONT,
    TENANT,
    LiveServer,
    _pg_admin,
    seed_cli,
    start_server,
)
from ticketbooth.db import tables as t
from ticketbooth.db.database import create_engine
from ticketbooth.infra.tokens import at_rest

_addresses = itertools.count(1)


def new_address() -> str:
    """A client address no other request of this test run used (each is its own rate-limit bucket)."""
    return str(ipaddress.IPv4Address("198.18.0.0") + next(_addresses))  # 198.18/15: benchmarking addresses


def live_client(keep_alive: bool = True) -> httpx.AsyncClient:
    """An HTTP client with up to 200 connections at once (real parallel requests). Without `keep_alive`
    each request has a connection of its own: a connection left idle for the server's keep-alive
    timeout (5 s) may be closed by the server just as the client sends on it again ("Server
    disconnected without sending a response"), which is no fault of the server."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200 if keep_alive else 0)
    return httpx.AsyncClient(timeout=120, limits=limits)


@pytest.fixture(name="http")
async def http_fixture() -> AsyncIterator[httpx.AsyncClient]:
    """`http`: a `live_client` that keeps connections (the tests using it never leave one idle for 5 s)."""
    async with live_client() as c:
        yield c


def configure(env: dict[str, str], cwd: Path, tenant: Sequence[str] = (), site: Sequence[str] = (),
              site_id: int = SITE) -> None:
    """`ticketbooth tenant settings 100 --set KEY=VALUE ...` and `site settings SITE_ID --set ...` on the
    database named in env, before the servers start (a running server reads the settings once)."""
    commands = [[kind, "settings", str(owner), *(arg for setting in settings for arg in ("--set", setting))]
                for kind, owner, settings in (("tenant", TENANT, tenant), ("site", site_id, site)) if settings]
    done = subprocess.run([sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, cwd=cwd,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def prepare(database_url: str, workdir: Path, env: dict[str, str], tenant: Sequence[str] = (),
            site: Sequence[str] = (), site_id: int = SITE) -> None:
    """Seed `database_url` like `seeded` through the CLI (environment `env` on top of the test's), and give
    tenant 100 and the site these settings (see `configure`)."""
    cli_env = {**os.environ, "TICKETBOOTH_DATABASE_URL": database_url, **env}
    seed_cli(cli_env, workdir)
    configure(cli_env, workdir, tenant, site, site_id)


def seeded_server(database_url: str, workdir: Path, env: dict[str, str], tenant: Sequence[str] = (),
                  site: Sequence[str] = ()) -> LiveServer:
    """A `ticketbooth serve` process (environment `env` on top of the test's) on `database_url`, prepared
    with `prepare` first."""
    prepare(database_url, workdir, env, tenant, site)
    return start_server(database_url, workdir, extra_env=env)


@contextmanager
def own_database(backend: str, workdir: Path) -> Iterator[str]:
    """The URL of a database of the caller's own: a SQLite file in `workdir`, or ("postgresql") a new
    database on the test PostgreSQL server, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'ticketbooth.db'}"
        return
    name = f"tb_live_{os.getpid()}_{secrets.token_hex(3)}"
    _pg_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    finally:
        _pg_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def app_headers(http: httpx.AsyncClient, server: LiveServer, creds: tuple[str, str] = STOREFRONT,
                      address: str | None = None) -> dict[str, str]:
    r = await http.post(f"{server.base_url}{OAUTH}", json={
        "client_id": creds[0], "client_secret": creds[1], "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}", "x-vol-tenant": str(TENANT),
            "x-vol-site": str(SITE), "X-Forwarded-For": address or new_address()}


def at(headers: dict[str, str], address: str) -> dict[str, str]:
    return {**headers, "X-Forwarded-For": address}


async def add_account(http: httpx.AsyncClient, server: LiveServer, headers: dict[str, str],
                      email_address: str) -> httpx.Response:
    return await http.post(f"{server.base_url}{REGISTER}", headers=headers,
                           json={"account": {"emailAddress": email_address}, "password": PASSWORD})


async def register(http: httpx.AsyncClient, server: LiveServer, email_address: str) -> dict[str, Any]:
    return ok(await add_account(http, server, await app_headers(http, server), email_address))


async def login(http: httpx.AsyncClient, server: LiveServer, headers: dict[str, str], username: str,
                password: str) -> httpx.Response:
    return await http.post(f"{server.base_url}{LOGIN}", headers=headers, json={"username": username, "password": password})


async def refresh(http: httpx.AsyncClient, server: LiveServer, headers: dict[str, str], token: str) -> httpx.Response:
    return await http.put(f"{server.base_url}{REFRESH}", params={"refreshToken": token}, headers=headers)


async def query(database_url: str, statement: Any) -> list[Any]:
    engine = create_engine(database_url, 1)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(statement)).all())
    finally:
        await engine.dispose()


async def ticket_row(database_url: str, refresh_token: str) -> tuple[str, int]:
    """(family id, generation) of the ticket a refresh token belongs to."""
    [(family_id, generation)] = await query(database_url, select(t.tickets.c.family_id, t.tickets.c.generation)
                                            .where(t.tickets.c.refresh_hash == at_rest(refresh_token)))
    return str(family_id), int(generation)


async def assert_one_successor(database_url: str, token: str, answers: list[httpx.Response]) -> str:
    """Concurrent refreshes of `token` (its family's head before them) were all answered 200 with one and
    the same successor, the family's tickets from the token's generation on are exactly the token and
    that successor, it is not revoked, and no replay was recorded. Returns the successor."""
    statuses = [r.status_code for r in answers]
    assert statuses == [200] * len(answers), sorted(set(statuses))
    successors = {r.json()["refreshToken"] for r in answers}
    assert len(successors) == 1 and token not in successors
    assert len({r.json()["accessToken"] for r in answers}) == 1
    successor = str(successors.pop())
    family_id, generation = await ticket_row(database_url, token)
    rows = await query(database_url, select(t.tickets.c.generation, t.tickets.c.refresh_hash)
                       .where(t.tickets.c.family_id == family_id, t.tickets.c.generation >= generation)
                       .order_by(t.tickets.c.generation))
    assert rows == [(generation, at_rest(token)), (generation + 1, at_rest(successor))]
    [(revoked_at,)] = await query(database_url, select(t.token_families.c.revoked_at)
                                  .where(t.token_families.c.id == family_id))
    assert revoked_at is None
    replays = await query(database_url, select(func.count()).select_from(t.audit_entries).where(
        t.audit_entries.c.event == "refresh.replayed",
        t.audit_entries.c.account_id == select(t.token_families.c.account_id).where(
            t.token_families.c.id == family_id).scalar_subquery()))
    assert replays == [(0,)]
    return successor

"""Shared fixtures. Every storage-touching test runs on SQLite and, when
TICKETBOOTH_TEST_POSTGRES_URL is set, on PostgreSQL too (never skipped when it is set)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests import hypothesis_profiles  # noqa: F401  (registers and loads the Hypothesis profile)
from tests.smtp import smtp_server, smtp_tls_server  # noqa: F401  (fixtures: a real SMTP server)
from ticketbooth.app import create_app
from ticketbooth.applications import admin
from ticketbooth.config import Settings
from ticketbooth.core import Core, open_core
from ticketbooth.db import tables
from ticketbooth.domain.models import BEHAVIOR_CONFIGURE_TOKEN_DURATIONS, BEHAVIOR_CUSTOMER_ADMIN
from ticketbooth.infra.clock import ManualClock

POSTGRES_URL = os.environ.get("TICKETBOOTH_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="TICKETBOOTH_TEST_POSTGRES_URL is not set"))]
ROOT = Path(__file__).resolve().parent.parent

TENANT, SITE = 100, 200
SITE_SAME_SET = 201  # shares site 200's customer set (and so its logins)
SITE_OTHER_SET = 202  # in customer set "outlet": logins of site 200 do not work here
OTHER_TENANT, OTHER_SITE = 300, 400
STOREFRONT = ("storefront.app", "storefront-secret-0123456789")
ADMIN = ("admin.app", "admin-secret-0123456789abcdef")
OTHER = ("other.app", "other-secret-0123456789abcdef")
PASSWORD = "a perfectly fine passphrase"


def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, dropped at the end."""
    name = f"tb_test_{os.getpid()}_{secrets.token_hex(3)}"
    _pg_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    _pg_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Rows a migration seeds, kept when a test empties the database: Kibo's built-in B2B roles (0007_b2b). A
# merchant's roles go, and their numbering starts again at 1001, as after the migration.
_SEEDED = {"b2b_roles"}
_RESEED = ("DELETE FROM b2b_roles WHERE NOT is_system; "
           "SELECT setval(pg_get_serial_sequence('b2b_roles', 'id'), 1000)")


def _empty_postgres(url: str) -> None:
    names = ", ".join(f'"{t.name}"' for t in tables.metadata.sorted_tables if t.name not in _SEEDED)
    try:
        _pg_admin(url, f"TRUNCATE {names} RESTART IDENTITY CASCADE; {_RESEED}")
    except Exception as exc:  # the schema does not exist yet on first use
        if "does not exist" not in str(exc):
            raise


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ticketbooth.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10)


@pytest.fixture
async def core(settings: Settings, clock: ManualClock) -> AsyncIterator[Core]:
    core = await open_core(settings, clock)
    try:
        yield core
    finally:
        await core.close()


@dataclass
class Seed:
    tenant: int = TENANT
    site: int = SITE


async def seed(core: Core) -> Seed:
    """Tenant 100 (sites 200 and 201 in the default customer set, 202 in set "outlet"), tenant 300 (site 400), a
    storefront app, an admin app, and an app of the other tenant."""
    await admin.ensure_tenant(core, TENANT, SITE, "Test tenant")
    await admin.ensure_tenant(core, TENANT, SITE_OTHER_SET, customer_set="outlet")
    await admin.ensure_tenant(core, TENANT, SITE_SAME_SET)
    await admin.ensure_tenant(core, OTHER_TENANT, OTHER_SITE, "Other tenant")
    await admin.save_application(core, TENANT, *STOREFRONT, [])
    await admin.save_application(core, TENANT, *ADMIN, [BEHAVIOR_CUSTOMER_ADMIN, BEHAVIOR_CONFIGURE_TOKEN_DURATIONS])
    await admin.save_application(core, OTHER_TENANT, *OTHER, [])
    return Seed()


@pytest.fixture
async def seeded(core: Core) -> Seed:
    return await seed(core)


@pytest.fixture
async def client(core: Core) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(core=core)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def app_token(client: httpx.AsyncClient, creds: tuple[str, str] = STOREFRONT) -> str:
    r = await client.post("/api/platform/applications/authtickets/oauth", json={
        "client_id": creds[0], "client_secret": creds[1], "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def headers(token: str, tenant: int = TENANT, site: int = SITE, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "x-vol-tenant": str(tenant), "x-vol-site": str(site), **extra}


@pytest.fixture
async def app_headers(client: httpx.AsyncClient, seeded: Seed) -> dict[str, str]:
    return headers(await app_token(client))


# -- a real `ticketbooth serve` process ----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "ticketbooth", *args], env=self.env, capture_output=True,
                              check=True, timeout=120)
        return done.stdout.decode()


def start_server(database_url: str, workdir: Path, port: int | None = None, extra_env: dict[str, str] | None = None,
                 scheme: str = "http") -> LiveServer:
    port = port or free_port()
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": database_url, "TICKETBOOTH_PUBLIC_HOST": f"127.0.0.1:{port}",
           "TICKETBOOTH_LOG_LEVEL": "warning", **(extra_env or {})}
    log = open(workdir / f"server-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ticketbooth", "serve", "--port", str(port)], env=env,
                            cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(workdir / f'server-{port}.log').read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1, verify=False).status_code == 200:
                return LiveServer(base, env, proc)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()


# Runs `ticketbooth ARGS...` for each ARGS in one interpreter: the same entry point as the console
# script and `python -m ticketbooth`, without paying the start-up (about two seconds) per command.
_CLI_BATCH = """
import json, sys
from ticketbooth.cli import main
for argv in json.loads(sys.argv[1]):
    code = main(argv)
    if code:
        sys.exit(f"ticketbooth {' '.join(argv[:2])} exited {code}")
"""


def seed_cli(env: dict[str, str], cwd: Path) -> None:
    """Seed the database named by env["TICKETBOOTH_DATABASE_URL"] like `seeded`, through the CLI."""
    tenant, other = ["--tenant-id", str(TENANT)], ["--tenant-id", str(OTHER_TENANT)]
    commands = [
        ["tenant", "create", *tenant, "--site-id", str(SITE)],
        ["tenant", "create", *tenant, "--site-id", str(SITE_OTHER_SET), "--customer-set", "outlet"],
        ["tenant", "create", *tenant, "--site-id", str(SITE_SAME_SET)],
        ["tenant", "create", *other, "--site-id", str(OTHER_SITE)],
        ["app", "create", *tenant, "--client-id", STOREFRONT[0], "--client-secret", STOREFRONT[1]],
        ["app", "create", *tenant, "--client-id", ADMIN[0], "--client-secret", ADMIN[1],
         "--behavior", BEHAVIOR_CUSTOMER_ADMIN, "--behavior", BEHAVIOR_CONFIGURE_TOKEN_DURATIONS],
        ["app", "create", *other, "--client-id", OTHER[0], "--client-secret", OTHER[1]],
    ]
    done = subprocess.run([sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, cwd=cwd,
                          capture_output=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"seeding through the CLI failed: {done.stderr.decode()}")


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A `ticketbooth serve` process on a free port, seeded like `seeded`, on this test's database."""
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path)
    try:
        yield server
    finally:
        stop_server(server)

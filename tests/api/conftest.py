"""The HTTP tests use the shared fixtures of tests/conftest.py with two changes that keep them fast
without changing what they observe over HTTP:

- passwords are hashed with cheap Argon2id parameters (these tests are about the wire behaviour; the
  production parameters are covered by the unit tests);
- on SQLite, each test starts from a copy of one database migrated and seeded once per session,
  instead of migrating and seeding a new file; on PostgreSQL (emptied per test by the shared
  fixture) the first test seeds through the services as usual and the later ones put the same rows
  back in one transaction.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text, update

from tests.api.code_support import Mailbox
from tests.api.parts_support import Shopper, admin_headers, shopper
from tests.conftest import (
    ADMIN,
    OTHER,
    STOREFRONT,
    TENANT,
    Seed,
    app_token,
    headers,
    seed,
)
from tests.smtp import SmtpServer
from ticketbooth.applications import admin as admin_service
from ticketbooth.applications import service as applications
from ticketbooth.config import Settings
from ticketbooth.core import Core, open_core
from ticketbooth.db import tables
from ticketbooth.domain.models import BEHAVIOR_IMPERSONATE
from ticketbooth.infra.clock import Clock, ManualClock
from ticketbooth.infra.hashing import PasswordHashing, make_hasher

SQLITE_PREFIX = "sqlite:///"
CSR = ("csr.app", "csr-secret-0123456789abcdef")
"""A call-centre application with the customer-auth:impersonate behavior (the `csr` fixture)."""
SEED_TABLES = (tables.tenants, tables.customer_sets, tables.sites, tables.applications)
_seed_rows: dict[str, list[dict[str, Any]]] = {}


async def _open(settings: Settings, clock: Clock) -> Core:
    core = await open_core(settings, clock)
    core.hashing.close()
    core.hashing = PasswordHashing(4, 256, make_hasher(memory_kib=256, time_cost=1))
    return core


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ticketbooth.db"

    async def build() -> None:
        core = await _open(Settings(database_url=f"{SQLITE_PREFIX}{path}"), ManualClock())
        try:
            await seed(core)
        finally:
            await core.close()

    asyncio.run(build())
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture
async def core(settings: Settings, clock: ManualClock, sqlite_template: Path) -> AsyncIterator[Core]:
    if settings.database_url.startswith(SQLITE_PREFIX):
        shutil.copyfile(sqlite_template, settings.database_url.removeprefix(SQLITE_PREFIX))
    core = await _open(settings, clock)
    try:
        yield core
    finally:
        await core.close()


async def _restore_seed(core: Core) -> None:
    async with core.store.engine.begin() as conn:
        for table in SEED_TABLES:
            await conn.execute(insert(table), _seed_rows[table.name])
        for table in (tables.customer_sets, tables.applications):
            await conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"))
        # application secrets are stored under a key kept in the database, and this test's database has a new one
        for client_id, secret in (STOREFRONT, ADMIN, OTHER):
            await conn.execute(update(tables.applications).where(tables.applications.c.client_id == client_id).values(
                secret_hash=applications.hash_secret(core, secret)))
    core.directory.forget()


@pytest.fixture
async def seeded(core: Core) -> Seed:
    if await core.store.get_tenant(TENANT) is not None:  # SQLite: copied from the template
        return Seed()
    if _seed_rows:
        await _restore_seed(core)
    else:
        await seed(core)
        async with core.store.engine.connect() as conn:
            for table in SEED_TABLES:
                _seed_rows[table.name] = [dict(row._mapping) for row in await conn.execute(select(table))]
    return Seed()


# -- callers the tests of an account's parts and of the customer definitions share -------------------

@pytest.fixture
async def admin(client: httpx.AsyncClient, seeded: Seed) -> dict[str, str]:
    """Headers of the admin application (customer:admin) at tenant 100, site 200."""
    return await admin_headers(client)


@pytest.fixture
async def nina(client: httpx.AsyncClient, app_headers: dict[str, str]) -> Shopper:
    """A shopper registered at the storefront as nina@example.com."""
    return await shopper(client, app_headers, "nina@example.com")


@pytest.fixture
async def csr(client: httpx.AsyncClient, core: Core, seeded: Seed) -> dict[str, str]:
    """Headers of a call-centre application that may impersonate shoppers."""
    await admin_service.save_application(core, TENANT, *CSR, [BEHAVIOR_IMPERSONATE])
    return headers(await app_token(client, CSR))


@pytest.fixture
def mailbox(core: Core, smtp_server: SmtpServer) -> Mailbox:
    """The mail the service sends, as received by a real SMTP server (tests/smtp.py)."""
    return Mailbox(core, smtp_server)

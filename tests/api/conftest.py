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
async def seeded(core: Core, request: pytest.FixtureRequest) -> AsyncIterator[Seed]:
    """The seed rows; and after a test of the suites in `SCANNED_SUITES`, the scan of its events."""
    if await core.store.get_tenant(TENANT) is not None:  # SQLite: copied from the template
        pass
    elif _seed_rows:
        await _restore_seed(core)
    else:
        await seed(core)
        async with core.store.engine.connect() as conn:
            for table in SEED_TABLES:
                _seed_rows[table.name] = [dict(row._mapping) for row in await conn.execute(select(table))]
    yield Seed()
    if request.module.__name__.rsplit(".", 1)[-1] in SCANNED_SUITES:
        await assert_events_hold_ids_only(core)


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


# -- events hold ids only ----------------------------------------------------------------------------

SCANNED_SUITES = frozenset({
    "test_login", "test_login_state", "test_lockout", "test_password_reset", "test_change_password", "test_two_factor",
    "test_two_factor_pending_token", "test_two_factor_site_rule", "test_otp", "test_sessions", "test_impersonation",
    "test_accounts", "test_events_flows",
})
SECRETS = ("a perfectly fine passphrase", "another perfectly fine passphrase", "a brand new passphrase")
"""The suites' passwords. The scan (`seeded`, after each test of these suites): every event the test wrote holds
ids only. Its entity and extended properties name accounts, users and sessions that exist (an account id, an
account's or a visit's user id, a session id), and nothing in it is an email address, a name or one of the
suites' passwords (a code or a token is none of those ids)."""


async def assert_events_hold_ids_only(core: Core) -> None:
    t = tables
    async with core.store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(select(t.events))]
        if not rows:
            return
        accounts = {str(r.id): (r.user_id, r.email, r.first_name, r.last_name, r.username)
                    for r in await conn.execute(select(t.accounts))}
        families = {str(r.id): str(r.user_id) for r in await conn.execute(
            select(t.token_families.c.id, t.token_families.c.user_id))}
        deleted = {str(r.account_id) for r in await conn.execute(
            select(t.audit_entries.c.account_id).where(t.audit_entries.c.event == "account.deleted"))}
    people = {str(v).lower() for person in accounts.values() for v in person[1:] if v}
    user_ids = {str(a[0]) for a in accounts.values()} | set(families.values())
    known = {
        "userId": user_ids, "previousAnonymousUserId": set(families.values()), "sessionId": set(families),
    }
    for row in rows:
        extended = row["extended_properties"] or {}
        text_of_row = " ".join(str(v) for v in (row["entity_id"], row["correlation_id"], *extended, *extended.values())
                               ).lower()
        assert "@" not in text_of_row, row
        assert not any(secret in text_of_row for secret in SECRETS), row
        assert not any(value in text_of_row for value in people if len(value) > 3), row
        entity = row["entity_id"]
        if row["topic"].startswith(("customeraccount.", "customersession.", "customercontact.", "customercard.")):
            assert entity in accounts or entity in deleted or entity in user_ids, row
        for key, value in extended.items():
            assert isinstance(value, int | str) and key.endswith(("Id", "FQN")), row
            if key in known:
                assert str(value) in known[key], row

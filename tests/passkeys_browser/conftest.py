"""Fixtures of the passkey browser tests (Chromium with DevTools virtual authenticators, see support.py).

- `stack` (one per backend for the module: SQLite and, when TICKETBOOTH_TEST_POSTGRES_URL is set,
  PostgreSQL): a seeded `ticketbooth serve` whose site 200 has passkeys on (rp id "localhost", the
  storefront's origin allowed), and the storefront's server (storefront.py) in front of it, its
  application flagged as a storefront's server (the shopper addresses it forwards are believed); and a
  second storefront (`strict`) for site 201, whose two_factor is "always".
- `browser`: one headless Chromium for the module (Debian's, flags as the console's browser tests).
- `device()`: a new browser context with a page and a virtual authenticator; closed after the test.
Without Chromium or Playwright the tests skip; TICKETBOOTH_TEST_BROWSER=required makes that a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    _CLI_BATCH,
    BACKENDS,
    SITE,
    SITE_SAME_SET,
    STOREFRONT,
    TENANT,
    LiveServer,
    seed_cli,
    start_server,
    stop_server,
)
from tests.console.browser import CHROMIUM, CHROMIUM_FLAGS, need_browser
from tests.live_support import own_database

from .storefront import PhishingProxy, Storefront
from .support import Device


@dataclass
class Stack:
    server: LiveServer
    storefront: Storefront
    backend: str
    database_url: str
    strict: Storefront
    """A storefront of site 201 (the same customer set, so the same shoppers and passkeys) whose two_factor
    is "always": a password alone gets requires2FA there."""


def set_up(database_url: str, workdir: Path, storefront: Storefront, strict: Storefront) -> None:
    """Seed the database like `seeded` (tests/conftest.py), then in one CLI run: passkeys on at site 200
    for `storefront`'s origin and at site 201 (2FA always) for `strict`'s, and the storefront's application
    flagged as a storefront's server (`app create ... --storefront-server`), so that Ticketbooth believes
    the shopper address it forwards (X-Forwarded-For) for rate limits, the lockout's per-address allowance
    and the audit trail, as it does for Kibo's storefront."""
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}
    seed_cli(env, workdir)
    commands = [
        ["site", "settings", str(SITE), "--set", "passkeys.rp_id=localhost",
         "--set", f'passkeys.origins=["{storefront.origin}"]'],
        ["site", "settings", str(SITE_SAME_SET), "--set", 'two_factor=["always"]', "--set", "passkeys.rp_id=localhost",
         "--set", f'passkeys.origins=["{strict.origin}"]'],
        ["app", "create", "--tenant-id", str(TENANT), "--client-id", STOREFRONT[0], "--client-secret", STOREFRONT[1],
         "--storefront-server"],
    ]
    done = subprocess.run([sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, cwd=workdir,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    need_browser()
    workdir = tmp_path_factory.mktemp(f"passkeys-browser-{request.param}")
    storefront = Storefront(*STOREFRONT, TENANT, SITE)  # bound first: its origin goes into the settings
    strict = Storefront(*STOREFRONT, TENANT, SITE_SAME_SET, cookie="sf_strict")
    database = own_database(request.param, workdir)
    # PostgreSQL's database is made and dropped with asyncio.run: in a thread of its own, as the module's
    # browser (Playwright's sync API) may already keep an event loop running in this one.
    pool = ThreadPoolExecutor(1)
    try:
        database_url = pool.submit(database.__enter__).result()
        try:
            set_up(database_url, workdir, storefront, strict)
            server = start_server(database_url, workdir)
            storefront.ticketbooth = strict.ticketbooth = server.base_url
            try:
                yield Stack(server, storefront, request.param, database_url, strict)
            finally:
                stop_server(server)
        finally:
            pool.submit(database.__exit__, None, None, None).result()
    finally:
        pool.shutdown()
        storefront.close()
        strict.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def device(browser: Any) -> Iterator[Callable[[], Device]]:
    made: list[Device] = []

    def make() -> Device:
        made.append(Device(browser))
        return made[-1]

    yield make
    for d in made:
        d.close()


@pytest.fixture
def phishing(stack: Stack) -> Iterator[Callable[..., PhishingProxy]]:
    made: list[PhishingProxy] = []

    def make(host: str, rp_id: str | None = None) -> PhishingProxy:
        made.append(PhishingProxy(stack.storefront, host, rp_id))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()

"""The federation API tests use the HTTP tests' fixtures (tests/api/conftest.py: a seeded database per test, on
SQLite and PostgreSQL), with provider calls allowed to 127.0.0.1 over http, and a small provider of their own
(provider.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import admin, core, csr, seeded, sqlite_template
from tests.federation.provider import TinyProvider
from ticketbooth.config import Settings
from ticketbooth.federation.id_tokens import KEY_CACHE
from ticketbooth.infra.clock import ManualClock

__all__ = ["admin", "core", "csr", "seeded", "sqlite_template"]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    public_url="https://id.example.test", oidc_http_hosts="127.0.0.1",
                    oidc_allowed_networks="127.0.0.1/32")


@pytest.fixture
def provider(clock: ManualClock) -> Iterator[TinyProvider]:
    KEY_CACHE.clear()  # a port used again by this provider must not find the last one's keys
    tiny = TinyProvider(now=clock.now).start()
    try:
        yield tiny
    finally:
        tiny.stop()

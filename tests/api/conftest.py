"""The HTTP tests use the shared fixtures of tests/conftest.py, with one change: passwords are hashed
with cheap Argon2id parameters. These tests are about the wire behaviour, not the hash cost (the
production parameters are covered by the unit tests), and the cheap hash keeps the suite fast."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ticketbooth.config import Settings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.hashing import PasswordHashing, make_hasher
from ticketbooth.services.core import Core, open_core


@pytest.fixture
async def core(settings: Settings, clock: ManualClock) -> AsyncIterator[Core]:
    core = await open_core(settings, clock)
    core.hashing.close()
    core.hashing = PasswordHashing(4, 256, make_hasher(memory_kib=256, time_cost=1))
    try:
        yield core
    finally:
        await core.close()

"""Audit listeners belong to the core that records the events, not to the process: two apps (or an app
and a CLI command) in one process do not hear each other's events, and creating an app twice does not
count an event twice."""

from __future__ import annotations

import dataclasses

from tests.conftest import TENANT, Seed
from ticketbooth.app import create_app
from ticketbooth.audit import service as audit
from ticketbooth.core import Core


async def test_a_listener_hears_only_its_own_core(core: Core, seeded: Seed) -> None:
    other = dataclasses.replace(core, audit_listeners=[])  # a second core in the same process
    mine: list[str] = []
    theirs: list[str] = []
    audit.listen(core, mine.append)
    audit.listen(other, theirs.append)
    await audit.record(core, audit.Event.SETTINGS_CHANGED, tenant_id=TENANT)
    await audit.record(other, audit.Event.ACCOUNT_CREATED, tenant_id=TENANT)
    assert (mine, theirs) == (["settings.changed"], ["account.created"])


async def test_an_app_listens_once_on_its_core(core: Core, seeded: Seed) -> None:
    create_app(core=core)
    create_app(core=core)
    assert len(core.audit_listeners) == 1

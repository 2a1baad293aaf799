"""Helpers of the operator pages' tests (console/ops.py): re-authentication through the real form, the
audit entries a change wrote, reading values off the pages."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.console.support import StaffMember, code_at, next_step
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.infra.clock import ManualClock

SECRET_FIELD = re.compile(r'id="(?:secret|link)" class="secret" value="([^"]+)"')


def shown_secret(page: str) -> str:
    found = SECRET_FIELD.search(page)
    assert found, "no secret on the page"
    return html.unescape(found.group(1))


def stale(clock: ManualClock, core: Core) -> None:
    """Past the re-authentication window (but within the idle timeout, the session lives on)."""
    clock.advance(timedelta(seconds=core.settings.console_reauth_seconds + 1))


async def reauthenticate(member: StaffMember, clock: ManualClock, next_path: str) -> httpx.Response:
    """Password and a fresh code through the re-authentication page; its answer (303 to `next_path`)."""
    next_step(clock)
    page = f"/console/reauth?next={next_path}"
    r = await member.console.submit(page, "/console/reauth", {
        "password": member.password, "code": code_at(member.secret, clock.now()), "next": next_path})
    assert r.status_code == 303, r.text[:500]
    return r


async def audit_rows(core: Core, event: str) -> list[Any]:
    async with core.store.engine.connect() as conn:
        return list((await conn.execute(select(tables.audit_entries).where(
            tables.audit_entries.c.event == event).order_by(tables.audit_entries.c.id))).all())


async def app_secret_works(client: httpx.AsyncClient, client_id: str, secret: str) -> bool:
    r = await client.post("/api/platform/applications/authtickets/oauth", json={
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"})
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200

"""A new account never sees a deleted account's audit trail (issue 13, finding 10).

On SQLite an account id used to be handed out again once the account with the highest id was deleted,
and the new account's trail (read by account id) then showed the deleted account's logins, failures
and deletion. Now ids are never reused (AUTOINCREMENT on SQLite; PostgreSQL's sequences never reuse),
and an account's trail holds only the entries written under its id AND its user id, so an entry left
under its id by anything earlier (a database from before the upgrade) is not shown either."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from tests.api.parts_support import ACCOUNTS, admin_headers
from tests.api.support import assert_error, login, ok, register
from tests.conftest import TENANT
from ticketbooth.core import Core
from ticketbooth.db import tables as t

pytestmark = pytest.mark.usefixtures("seeded")

WRONG = "a wrong guess of a password"


async def trail(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int) -> list[dict[str, Any]]:
    """The account's audit entries, oldest first."""
    body = ok(await client.get(f"{ACCOUNTS}/{account_id}/AuditLog/Entries", headers=hdrs, params={"pageSize": 200}))
    assert body["totalCount"] == len(body["items"])
    return list(reversed(body["items"]))


async def test_a_deleted_accounts_id_and_trail_go_to_no_later_account(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    admin = await admin_headers(client)
    first = await register(client, app_headers, "first@example.com")
    first_id, first_user = first["customerAccount"]["id"], first["userId"]
    for _ in range(2):
        assert_error(await login(client, app_headers, "first@example.com", WRONG), 401, "INVALID_CREDENTIALS")
    ok(await login(client, app_headers, "first@example.com"))
    assert [e["eventType"] for e in await trail(client, admin, first_id)] == \
        ["account.created", "login.failed", "login.failed", "login.succeeded"]
    r = await client.delete(f"{ACCOUNTS}/{first_id}", headers=admin)
    assert r.status_code == 204, r.text

    second = await register(client, app_headers, "second@example.com")
    second_id = second["customerAccount"]["id"]
    assert second_id != first_id
    assert second_id > first_id
    own = {**app_headers, "x-vol-user-claims": second["accessToken"]}
    for hdrs in (admin, own):
        entries = await trail(client, hdrs, second_id)
        assert [e["eventType"] for e in entries] == ["account.created"]
        assert {e["customerAccountId"] for e in entries} == {second_id}
        assert first_user not in {e["entryUser"] for e in entries}
    # the deleted account's id names no account at all
    assert_error(await client.get(f"{ACCOUNTS}/{first_id}/AuditLog/Entries", headers=admin), 404, "ITEM_NOT_FOUND")


async def test_entries_left_under_an_accounts_id_by_another_user_are_not_its_trail(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    """Entries written under the id before it was this account's (by the user a deleted account had,
    or unattributed, as a database from before the upgrade may hold) are not shown."""
    admin = await admin_headers(client)
    ticket = await register(client, app_headers, "kept@example.com")
    account_id = ticket["customerAccount"]["id"]
    ok(await login(client, app_headers, "kept@example.com"))
    row = {"tenant_id": TENANT, "site_id": None, "account_id": account_id, "at": core.clock.now(),
           "client_address": "203.0.113.66", "client_id": "storefront.app", "actor": None, "detail": None}
    async with core.store.engine.begin() as conn:
        await conn.execute(insert(t.audit_entries), [
            {**row, "event": "login.failed", "user_id": "0" * 32},
            {**row, "event": "account.deleted", "user_id": "0" * 32},
            {**row, "event": "password.changed", "user_id": None},
        ])
    for hdrs in (admin, {**app_headers, "x-vol-user-claims": ticket["accessToken"]}):
        entries = await trail(client, hdrs, account_id)
        assert [e["eventType"] for e in entries] == ["account.created", "login.succeeded"]
        assert "203.0.113.66" not in {e["clientAddress"] for e in entries}

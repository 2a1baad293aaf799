"""/accounts/{accountId}/notes: merchant notes, for admin applications only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.parts_support import (
    ACCOUNTS,
    AUDIT_KEYS,
    COLLECTION_KEYS,
    Shopper,
    other_tenant_admin,
    outlet_account,
    part,
    shopper,
)
from tests.api.support import assert_error, kibo_date, ok
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")


async def _notes(client: httpx.AsyncClient, admin: dict[str, str], account_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(await client.get(part(account_id, "notes"), headers=admin))["items"]
    return items


async def test_an_admin_adds_reads_changes_and_deletes_notes(client: httpx.AsyncClient, admin: dict[str, str],
                                                              nina: Shopper, clock: ManualClock) -> None:
    n = ok(await client.post(part(nina.account_id, "notes"), headers=admin,
                             json={"Content": "Prefers delivery\nafter 6 pm.\tThanks"}))
    assert set(n) == {"id", "content", "auditInfo"}
    assert n["content"] == "Prefers delivery\nafter 6 pm.\tThanks"
    assert set(n["auditInfo"]) == AUDIT_KEYS and n["auditInfo"]["createBy"] == "admin.app"
    assert kibo_date(n["auditInfo"]["createDate"]) == clock.now()
    assert ok(await client.get(part(nina.account_id, "notes", n["id"]), headers=admin)) == n
    listed = ok(await client.get(part(nina.account_id, "notes"), headers=admin))
    assert set(listed) == COLLECTION_KEYS and listed["items"] == [n] and listed["totalCount"] == 1

    clock.advance(timedelta(minutes=5))
    changed = ok(await client.put(part(nina.account_id, "notes", n["id"]), headers=admin, json={"content": "Gold customer"}))
    assert (changed["id"], changed["content"]) == (n["id"], "Gold customer")
    assert kibo_date(changed["auditInfo"]["updateDate"]) == clock.now()
    assert changed["auditInfo"]["createDate"] == n["auditInfo"]["createDate"]

    account = ok(await client.get(f"{ACCOUNTS}/{nina.account_id}", headers=admin))
    assert account["notes"] == [changed]

    assert (await client.delete(part(nina.account_id, "notes", n["id"]), headers=admin)).status_code == 204
    assert_error(await client.get(part(nina.account_id, "notes", n["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(part(nina.account_id, "notes", n["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(part(nina.account_id, "notes", n["id"]), headers=admin, json={"content": "x"}),
                 404, "ITEM_NOT_FOUND")
    assert await _notes(client, admin, nina.account_id) == []


async def test_shoppers_and_storefront_applications_are_forbidden(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], nina: Shopper) -> None:
    n = ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": "internal"}))
    for hdrs in (nina.headers, app_headers):  # the account's own shopper too: notes are the merchant's
        assert_error(await client.get(part(nina.account_id, "notes"), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.post(part(nina.account_id, "notes"), headers=hdrs, json={"content": "x"}), 403)
        assert_error(await client.get(part(nina.account_id, "notes", n["id"]), headers=hdrs), 403)
        assert_error(await client.put(part(nina.account_id, "notes", n["id"]), headers=hdrs, json={"content": "x"}), 403)
        assert_error(await client.delete(part(nina.account_id, "notes", n["id"]), headers=hdrs), 403)
    assert await _notes(client, admin, nina.account_id) == [n]


async def test_other_customer_sets_tenants_and_accounts_are_not_found(
        core: Core, client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    outlet = await outlet_account(client)
    assert_error(await client.get(part(outlet, "notes"), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.post(part(outlet, "notes"), headers=admin, json={"content": "x"}), 404)
    other = await other_tenant_admin(core, client)
    assert_error(await client.post(part(nina.account_id, "notes"), headers=other, json={"content": "x"}), 404)
    n = ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": "mine"}))
    second = await shopper(client, admin, "second@example.com")
    assert_error(await client.get(part(second.account_id, "notes", n["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(part(second.account_id, "notes", n["id"]), headers=admin, json={"content": "x"}), 404)
    assert_error(await client.delete(part(second.account_id, "notes", n["id"]), headers=admin), 404)
    assert_error(await client.get(part(nina.account_id, "notes", "abc"), headers=admin), 400)
    assert await _notes(client, admin, nina.account_id) == [n]


@pytest.mark.parametrize(("body", "parameter"), [
    ({}, "content"),
    ({"content": ""}, "content"),
    ({"content": "   "}, "content"),
    ({"content": "x" * 10_001}, "content"),
    ({"content": "nul\x00byte"}, "content"),
    ({"content": 42}, "content"),
])
async def test_bad_notes_are_400_and_change_nothing(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper,
                                                    body: dict[str, Any], parameter: str) -> None:
    assert_error(await client.post(part(nina.account_id, "notes"), headers=admin, json=body),
                 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    n = ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": "kept"}))
    assert_error(await client.put(part(nina.account_id, "notes", n["id"]), headers=admin, json=body),
                 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    assert await _notes(client, admin, nina.account_id) == [n]


async def test_the_longest_note_and_paging(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    long = ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": "y" * 10_000}))
    assert len(long["content"]) == 10_000
    for i in range(3):
        ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": f"note {i}"}))
    page = ok(await client.get(part(nina.account_id, "notes"), headers=admin,
                               params={"pageSize": "2", "startIndex": "2", "sortBy": "id desc"}))
    assert (page["totalCount"], page["pageCount"], page["pageSize"], page["startIndex"]) == (4, 2, 2, 2)
    assert [n["content"] for n in page["items"]] == ["note 0", long["content"]]
    found = ok(await client.get(part(nina.account_id, "notes"), headers=admin, params={"filter": "content cont '2'"}))
    assert [n["content"] for n in found["items"]] == ["note 2"]

"""/segments (admin only), their accounts, and /accounts/{accountId}/segments (owner or admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.parts_support import (
    AUDIT_KEYS,
    COLLECTION_KEYS,
    SEGMENTS,
    Shopper,
    other_tenant_admin,
    outlet_account,
    part,
    shopper,
)
from tests.api.support import CURRENT, REFRESH, assert_error, kibo_date, login, ok
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

SEGMENT_KEYS = {"id", "code", "name", "description", "auditInfo"}


async def _create(client: httpx.AsyncClient, admin: dict[str, str], code: str, name: str = "A segment",
                  **extra: Any) -> dict[str, Any]:
    return ok(await client.post(SEGMENTS, headers=admin, json={"code": code, "name": name, **extra}))


async def _members(client: httpx.AsyncClient, admin: dict[str, str], account_id: int) -> list[str]:
    return [s["code"] for s in ok(await client.get(part(account_id, "segments"), headers=admin))["items"]]


async def test_an_admin_creates_reads_changes_and_deletes_a_segment(client: httpx.AsyncClient, admin: dict[str, str],
                                                                    clock: ManualClock) -> None:
    s = await _create(client, admin, "VIP", "Very important", description="Top spenders")
    assert set(s) == SEGMENT_KEYS and set(s["auditInfo"]) == AUDIT_KEYS
    assert (s["code"], s["name"], s["description"]) == ("VIP", "Very important", "Top spenders")
    assert s["auditInfo"]["createBy"] == "admin.app" and kibo_date(s["auditInfo"]["createDate"]) == clock.now()
    assert ok(await client.get(f"{SEGMENTS}/{s['id']}", headers=admin)) == s
    listed = ok(await client.get(SEGMENTS, headers=admin))
    assert set(listed) == COLLECTION_KEYS and listed["items"] == [s]
    clock.advance(timedelta(minutes=5))
    changed = ok(await client.put(f"{SEGMENTS}/{s['id']}", headers=admin, json={"code": "vip-2", "name": "VIP"}))
    assert (changed["id"], changed["code"], changed["name"], changed["description"]) == (s["id"], "vip-2", "VIP", None)
    assert kibo_date(changed["auditInfo"]["updateDate"]) == clock.now()
    assert (await client.delete(f"{SEGMENTS}/{s['id']}", headers=admin)).status_code == 204
    for r in (await client.get(f"{SEGMENTS}/{s['id']}", headers=admin),
              await client.put(f"{SEGMENTS}/{s['id']}", headers=admin, json={"code": "x", "name": "x"}),
              await client.delete(f"{SEGMENTS}/{s['id']}", headers=admin),
              await client.post(f"{SEGMENTS}/{s['id']}/accounts", headers=admin, json=[])):
        assert_error(r, 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(SEGMENTS, headers=admin))["items"] == []


async def test_codes_are_unique_per_tenant(core: Core, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    vip = await _create(client, admin, "VIP")
    other = await _create(client, admin, "outlet")
    assert_error(await client.post(SEGMENTS, headers=admin, json={"code": "vip", "name": "x"}), 409, "VALIDATION_CONFLICT")
    assert_error(await client.put(f"{SEGMENTS}/{other['id']}", headers=admin, json={"code": "Vip", "name": "x"}),
                 409, "VALIDATION_CONFLICT")
    # keeping its own code is fine
    ok(await client.put(f"{SEGMENTS}/{vip['id']}", headers=admin, json={"code": "VIP", "name": "Renamed"}))
    assert [s["code"] for s in ok(await client.get(SEGMENTS, headers=admin))["items"]] == ["VIP", "outlet"]
    # another tenant has its own segments
    other_admin = await other_tenant_admin(core, client)
    assert ok(await client.get(SEGMENTS, headers=other_admin))["items"] == []
    assert_error(await client.get(f"{SEGMENTS}/{vip['id']}", headers=other_admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(f"{SEGMENTS}/{vip['id']}", headers=other_admin), 404, "ITEM_NOT_FOUND")
    assert ok(await client.post(SEGMENTS, headers=other_admin, json={"code": "VIP", "name": "theirs"}))["id"] != vip["id"]


@pytest.mark.parametrize(("body", "parameter"), [
    ({"name": "No code"}, "code"),
    ({"code": "  ", "name": "x"}, "code"),
    ({"code": "has space", "name": "x"}, "code"),
    ({"code": "x" * 101, "name": "x"}, "code"),
    ({"code": "ok"}, "name"),
    ({"code": "ok", "name": "x" * 201}, "name"),
    ({"code": "ok", "name": "x", "description": "d" * 1001}, "description"),
    ({"code": "ok\x00", "name": "x"}, "code"),
    ({"code": 12, "name": "x"}, "code"),
])
async def test_bad_segments_are_400(client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any],
                                    parameter: str) -> None:
    assert_error(await client.post(SEGMENTS, headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    s = await _create(client, admin, "kept", "Kept")
    assert_error(await client.put(f"{SEGMENTS}/{s['id']}", headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER",
                 parameter)
    assert ok(await client.get(SEGMENTS, headers=admin))["items"] == [s]


async def test_segments_need_an_admin(client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str],
                                      nina: Shopper) -> None:
    s = await _create(client, admin, "VIP")
    for hdrs in (app_headers, nina.headers):
        assert_error(await client.get(SEGMENTS, headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.post(SEGMENTS, headers=hdrs, json={"code": "x", "name": "x"}), 403)
        assert_error(await client.get(f"{SEGMENTS}/{s['id']}", headers=hdrs), 403)
        assert_error(await client.put(f"{SEGMENTS}/{s['id']}", headers=hdrs, json={"code": "x", "name": "x"}), 403)
        assert_error(await client.delete(f"{SEGMENTS}/{s['id']}", headers=hdrs), 403)
        assert_error(await client.post(f"{SEGMENTS}/{s['id']}/accounts", headers=hdrs, json=[nina.account_id]), 403)
        assert_error(await client.delete(f"{SEGMENTS}/{s['id']}/accounts/{nina.account_id}", headers=hdrs), 403)
    assert ok(await client.get(SEGMENTS, headers=admin))["items"] == [s]
    assert await _members(client, admin, nina.account_id) == []


async def test_accounts_join_and_leave_segments(client: httpx.AsyncClient, admin: dict[str, str],
                                                app_headers: dict[str, str], nina: Shopper) -> None:
    vip = await _create(client, admin, "VIP")
    gold = await _create(client, admin, "gold")
    other = await shopper(client, app_headers, "other@example.com")
    r = await client.post(f"{SEGMENTS}/{vip['id']}/accounts", headers=admin, json=[nina.account_id, other.account_id])
    assert r.status_code == 204
    # idempotent
    assert (await client.post(f"{SEGMENTS}/{vip['id']}/accounts", headers=admin, json=[nina.account_id])).status_code == 204
    assert (await client.post(f"{SEGMENTS}/{gold['id']}/accounts", headers=admin, json=[nina.account_id])).status_code == 204
    # the account's shopper sees its segments, another shopper does not
    mine = ok(await client.get(part(nina.account_id, "segments"), headers=nina.headers))
    assert set(mine) == COLLECTION_KEYS and mine["items"] == [vip, gold]
    assert ok(await client.get(part(nina.account_id, "segments"), headers=nina.headers,
                               params={"filter": "code eq 'GOLD'"}))["items"] == [gold]
    assert_error(await client.get(part(nina.account_id, "segments"), headers=other.headers), 403, "FORBIDDEN")
    assert_error(await client.get(part(nina.account_id, "segments"), headers=app_headers), 403, "FORBIDDEN")
    assert ok(await client.get(CURRENT, headers=nina.headers))["segments"] == [vip, gold]
    ticket = ok(await login(client, app_headers, "nina@example.com"))
    refreshed = ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": ticket["refreshToken"]}))
    assert refreshed["customerAccount"]["segments"] == [vip, gold]

    r = await client.delete(f"{SEGMENTS}/{vip['id']}/accounts/{nina.account_id}", headers=admin)
    assert r.status_code == 204
    assert await _members(client, admin, nina.account_id) == ["gold"]
    assert_error(await client.delete(f"{SEGMENTS}/{vip['id']}/accounts/{nina.account_id}", headers=admin), 404,
                 "ITEM_NOT_FOUND")
    # deleting a segment takes every account out of it
    assert (await client.delete(f"{SEGMENTS}/{vip['id']}", headers=admin)).status_code == 204
    assert await _members(client, admin, other.account_id) == []
    assert await _members(client, admin, nina.account_id) == ["gold"]


async def test_unknown_accounts_are_400_and_add_nothing(core: Core, client: httpx.AsyncClient, admin: dict[str, str],
                                                        nina: Shopper) -> None:
    vip = await _create(client, admin, "VIP")
    outlet = await outlet_account(client)
    for body, parameter in (([nina.account_id, 987654], "accountIds"), ([nina.account_id, outlet], "accountIds"),
                            ([nina.account_id, "x"], "accountIds"), ([True], "accountIds"), ([0], "accountIds"),
                            ([2**63], "accountIds"), ({"ids": [1]}, "accountIds"), ("nope", "accountIds")):
        assert_error(await client.post(f"{SEGMENTS}/{vip['id']}/accounts", headers=admin, json=body), 400,
                     "MISSING_OR_INVALID_PARAMETER", parameter)
    assert await _members(client, admin, nina.account_id) == []
    assert_error(await client.delete(f"{SEGMENTS}/{vip['id']}/accounts/{outlet}", headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(part(outlet, "segments"), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(f"{SEGMENTS}/{2**40}", headers=admin), 400, "MISSING_OR_INVALID_PARAMETER")
    assert_error(await client.get(f"{SEGMENTS}/987654", headers=admin), 404, "ITEM_NOT_FOUND")


async def test_segment_lists_page_sort_and_filter(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for code, name in (("b", "Bravo"), ("a", "alpha"), ("c", "Charlie")):
        await _create(client, admin, code, name)
    page = ok(await client.get(SEGMENTS, headers=admin, params={"sortBy": "name asc", "pageSize": "2", "startIndex": "0"}))
    assert [s["code"] for s in page["items"]] == ["a", "b"] and (page["totalCount"], page["pageCount"]) == (3, 2)
    found = ok(await client.get(SEGMENTS, headers=admin, params={"filter": "name sw 'c' or code eq 'A'"}))
    assert sorted(s["code"] for s in found["items"]) == ["a", "c"]
    found = ok(await client.get(SEGMENTS, headers=admin, params={"filter": f"id gt {2**40}"}))
    assert found["items"] == []

"""/customerSets: the tenant's customer sets, their sites and account counts, for any application."""

from __future__ import annotations

import httpx
import pytest

from tests.api.parts_support import AUDIT_KEYS, COLLECTION_KEYS, CUSTOMER_SETS, admin_headers
from tests.api.support import assert_error, ok, register
from tests.conftest import OTHER, OTHER_SITE, OTHER_TENANT, SITE_OTHER_SET, TENANT, app_token, headers

pytestmark = pytest.mark.usefixtures("seeded")

SET_KEYS = {"code", "name", "description", "auditInfo", "sites", "isDefault", "aggregateInfo"}


async def test_any_application_lists_the_tenants_customer_sets(client: httpx.AsyncClient,
                                                               app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "one@example.com")
    await register(client, app_headers, "two@example.com")
    await register(client, headers(await app_token(client), TENANT, SITE_OTHER_SET), "three@example.com")
    listed = ok(await client.get(CUSTOMER_SETS, headers=app_headers))
    assert set(listed) == COLLECTION_KEYS
    assert (listed["totalCount"], listed["startIndex"], listed["pageSize"], listed["pageCount"]) == (2, 0, 20, 1)
    default, outlet = listed["items"]
    assert set(default) == SET_KEYS and set(default["auditInfo"]) == AUDIT_KEYS
    assert (default["code"], default["isDefault"], default["aggregateInfo"]) == ("default", True, {"customerCount": 2})
    assert default["sites"] == [{"siteId": 200, "customerSetCode": "default", "name": default["sites"][0]["name"]},
                                {"siteId": 201, "customerSetCode": "default", "name": default["sites"][1]["name"]}]
    assert (outlet["code"], outlet["isDefault"], outlet["aggregateInfo"]) == ("outlet", False, {"customerCount": 1})
    assert [s["siteId"] for s in outlet["sites"]] == [SITE_OTHER_SET]
    # one of them, by code in any case
    assert ok(await client.get(f"{CUSTOMER_SETS}/OUTLET", headers=app_headers)) == outlet
    assert ok(await client.get(f"{CUSTOMER_SETS}/default", headers=await admin_headers(client))) == default


async def test_paging_sorting_filtering_and_fields(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    page = ok(await client.get(CUSTOMER_SETS, headers=app_headers, params={"sortBy": "code desc", "pageSize": "1"}))
    assert [s["code"] for s in page["items"]] == ["outlet"] and (page["totalCount"], page["pageCount"]) == (2, 2)
    found = ok(await client.get(CUSTOMER_SETS, headers=app_headers, params={"filter": "isDefault eq false"}))
    assert [s["code"] for s in found["items"]] == ["outlet"]
    trimmed = ok(await client.get(CUSTOMER_SETS, headers=app_headers, params={"responseFields": "items(code)"}))
    assert trimmed == {"items": [{"code": "default"}, {"code": "outlet"}]}
    assert_error(await client.get(CUSTOMER_SETS, headers=app_headers, params={"filter": "isDefault eq maybe"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "filter")
    assert_error(await client.get(CUSTOMER_SETS, headers=app_headers, params={"pageSize": "201"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "pageSize")


async def test_other_tenants_sets_are_not_found(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    other = headers(await app_token(client, OTHER), OTHER_TENANT, OTHER_SITE)
    listed = ok(await client.get(CUSTOMER_SETS, headers=other))
    assert [s["code"] for s in listed["items"]] == ["default"]
    assert [s["siteId"] for s in listed["items"][0]["sites"]] == [OTHER_SITE]
    assert_error(await client.get(f"{CUSTOMER_SETS}/outlet", headers=other), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(f"{CUSTOMER_SETS}/nothing", headers=app_headers), 404, "ITEM_NOT_FOUND")
    # no code holds a NUL character: refused at the edge, naming where it was
    assert_error(await client.get(f"{CUSTOMER_SETS}/bad%00code", headers=app_headers), 400,
                 "MISSING_OR_INVALID_PARAMETER", "path")
    assert_error(await client.get(CUSTOMER_SETS), 401, "UNAUTHORIZED")

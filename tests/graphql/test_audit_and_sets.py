"""GraphQL's audit log (`customerAccountAuditLog`) and customer sets (`customerSets`, `customerSet`) over
HTTP, on both databases: the answers are REST's (same wire shapes, Kibo's fields only), the refusals are
REST's."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import login, ok, register
from tests.conftest import OTHER, OTHER_SITE, OTHER_TENANT, SITE_OTHER_SET, TENANT, app_token, headers
from tests.graphql.support import data, gql, refused, storefront

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "audited.gql@example.com"
ENTRY = "customerAccountId customerAuditEntryId entryDate entryUser application site description fieldPath oldValue newValue"
LOG = (f"query a($id: Int!, $startIndex: Int, $pageSize: Int, $sortBy: String, $filter: String) {{ "
       f"customerAccountAuditLog(accountId: $id, startIndex: $startIndex, pageSize: $pageSize, sortBy: $sortBy, "
       f"filter: $filter) {{ startIndex pageSize pageCount totalCount items {{ {ENTRY} }} }} }}")
SET = ("code name description isDefault sites { siteId customerSetCode name } aggregateInfo { customerCount } "
       "auditInfo { createDate }")
SETS = (f"query s($startIndex: Int, $pageSize: Int, $sortBy: String) {{ customerSets(startIndex: $startIndex, "
        f"pageSize: $pageSize, sortBy: $sortBy) {{ startIndex pageSize pageCount totalCount items {{ {SET} }} }} }}")
ONE_SET = f"query o($code: String!) {{ customerSet(code: $code) {{ {SET} }} }}"


# -- customerAccountAuditLog -------------------------------------------------------------------------

async def test_the_audit_log_is_rests_for_the_shopper_or_an_admin(client: httpx.AsyncClient,
                                                                  app_headers: dict[str, str],
                                                                  admin: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    account_id = t["customerAccount"]["id"]
    assert (await login(client, app_headers, EMAIL, "a wrong guess of a password")).status_code == 401
    ok(await login(client, app_headers, EMAIL))
    rest = ok(await client.get(f"/api/commerce/customer/accounts/{account_id}/AuditLog/Entries", headers=admin))
    mine = data(await gql(client, storefront(app_headers, t["accessToken"]), LOG, {"id": account_id}))
    page = mine["customerAccountAuditLog"]
    assert page["totalCount"] == rest["totalCount"] >= 3
    # Kibo's fields of REST's entries (REST adds eventType and clientAddress, which Kibo's type lacks)
    assert page["items"] == [{k: entry[k] for k in ENTRY.split()} for entry in rest["items"]]
    assert any(e["description"] == "Login failed: wrong password." for e in page["items"])
    # paging, for an admin and for the shopper's JWT alone
    second = data(await gql(client, admin, LOG, {"id": account_id, "startIndex": 1, "pageSize": 1}))
    assert second["customerAccountAuditLog"]["items"] == [page["items"][1]]
    assert (second["customerAccountAuditLog"]["pageSize"], second["customerAccountAuditLog"]["startIndex"]) == (1, 1)
    by_jwt = data(await gql(client, {"Authorization": f"Bearer {t['jwtAccessToken']}"}, LOG, {"id": account_id}))
    assert by_jwt["customerAccountAuditLog"]["totalCount"] == page["totalCount"]


async def test_audit_log_refusals(client: httpx.AsyncClient, app_headers: dict[str, str],
                                  admin: dict[str, str]) -> None:
    t = await register(client, app_headers, EMAIL)
    other = await register(client, app_headers, "other.audited@example.com")
    account_id = t["customerAccount"]["id"]
    field = "customerAccountAuditLog"
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, LOG, {"id": account_id}), 401, "UNAUTHORIZED", field)
    refused(await gql(client, storefront(app_headers), LOG, {"id": account_id}), 403, "FORBIDDEN", field)
    refused(await gql(client, storefront(app_headers, other["accessToken"]), LOG, {"id": account_id}), 403,
            "FORBIDDEN", field)
    refused(await gql(client, {"Authorization": f"Bearer {other['jwtAccessToken']}"}, LOG, {"id": account_id}), 403,
            "FORBIDDEN", field)
    refused(await gql(client, admin, LOG, {"id": 999_999}), 404, "ITEM_NOT_FOUND", field)
    for bad, name in (({"pageSize": 5000}, "pageSize"), ({"startIndex": -1}, "startIndex"),
                      ({"filter": "eventType eq 'x'"}, "filter"), ({"sortBy": "entryDate asc"}, "sortBy")):
        body = refused(await gql(client, admin, LOG, {"id": account_id, **bad}), 400, "MISSING_OR_INVALID_PARAMETER",
                       field)
        assert body["additionalErrorData"] == [{"name": "ParameterName", "value": name}]


# -- customerSets, customerSet -----------------------------------------------------------------------

async def test_any_application_reads_the_customer_sets(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                       admin: dict[str, str]) -> None:
    await register(client, app_headers, "one.set@example.com")
    await register(client, headers(await app_token(client), TENANT, SITE_OTHER_SET), "two.set@example.com")
    rest = ok(await client.get("/api/commerce/customer/customersets", headers=app_headers))
    listed = data(await gql(client, storefront(app_headers), SETS))["customerSets"]
    assert listed["totalCount"] == rest["totalCount"] == 2
    assert [s["code"] for s in listed["items"]] == ["default", "outlet"]
    assert [s["aggregateInfo"] for s in listed["items"]] == [{"customerCount": 1}, {"customerCount": 1}]
    assert listed["items"][0]["sites"] == rest["items"][0]["sites"]
    assert listed["items"][0]["auditInfo"] == {"createDate": rest["items"][0]["auditInfo"]["createDate"]}
    page = data(await gql(client, admin, SETS, {"sortBy": "code desc", "pageSize": 1}))["customerSets"]
    assert ([s["code"] for s in page["items"]], page["pageCount"]) == (["outlet"], 2)
    # one, by code in any case, equal to the list's
    outlet = data(await gql(client, storefront(app_headers), ONE_SET, {"code": "OUTLET"}))["customerSet"]
    assert outlet == listed["items"][1]


async def test_customer_set_refusals(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, SETS), 401, "UNAUTHORIZED", "customerSets")
    refused(await gql(client, {"x-vol-user-claims": "undefined"}, ONE_SET, {"code": "default"}), 401, "UNAUTHORIZED",
            "customerSet")
    # another tenant sees only its own
    other = headers(await app_token(client, OTHER), OTHER_TENANT, OTHER_SITE)
    assert [s["code"] for s in data(await gql(client, other, SETS))["customerSets"]["items"]] == ["default"]
    refused(await gql(client, other, ONE_SET, {"code": "outlet"}), 404, "ITEM_NOT_FOUND", "customerSet")
    refused(await gql(client, storefront(app_headers), ONE_SET, {"code": "nothing"}), 404, "ITEM_NOT_FOUND",
            "customerSet")
    for code in ("bad\x00code", "x" * 201, ""):
        body = refused(await gql(client, storefront(app_headers), ONE_SET, {"code": code}), 400,
                       "MISSING_OR_INVALID_PARAMETER", "customerSet")
        assert body["additionalErrorData"] == [{"name": "ParameterName", "value": "code"}]
    for bad, name in (({"pageSize": 201}, "pageSize"), ({"sortBy": "madeUp desc"}, "sortBy")):
        body = refused(await gql(client, storefront(app_headers), SETS, bad), 400, "MISSING_OR_INVALID_PARAMETER",
                       "customerSets")
        assert body["additionalErrorData"] == [{"name": "ParameterName", "value": name}]

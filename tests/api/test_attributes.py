"""Attribute definitions (/attributedefinition/attributes, /accountattributedefinition/attributes) and an
account's attribute values (/accounts/{accountId}/attributes), checked against their definitions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.parts_support import (
    ACCOUNT_DEFINITIONS,
    AUDIT_KEYS,
    COLLECTION_KEYS,
    DEFINITIONS,
    Shopper,
    define,
    other_tenant_admin,
    outlet_account,
    part,
    shopper,
)
from tests.api.support import CURRENT, REFRESH, assert_error, kibo_date, login, ok
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

DEFINITION_KEYS = {
    "id", "adminName", "namespace", "attributeCode", "inputType", "valueType", "dataType", "attributeMetadata",
    "attributeFQN", "content", "validation", "vocabularyValues", "auditInfo", "isActive", "isRequired", "isReadOnly",
    "isMultiValued", "isVisible", "order", "displayGroup", "availableForOrderRouting", "availableForDiscounts",
}
VALIDATION_KEYS = {"regularExpression", "minStringLength", "maxStringLength", "minNumericValue", "maxNumericValue",
                   "minDateTime", "maxDateTime"}
SIZES = [{"value": "S", "sequence": 1}, {"value": "M", "sequence": 2, "isHidden": False,
                                         "content": {"localeCode": "en-US", "value": "Medium"}}, {"value": "L"}]


async def _set(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int, fqn: str,
               values: list[Any]) -> httpx.Response:
    return await client.post(part(account_id, "attributes"), headers=hdrs,
                              json={"fullyQualifiedName": fqn, "values": values})


async def _account_values(client: httpx.AsyncClient, admin: dict[str, str], account_id: int) -> dict[str, list[Any]]:
    items = ok(await client.get(part(account_id, "attributes"), headers=admin, params={"pageSize": "200"}))["items"]
    return {a["fullyQualifiedName"]: a["values"] for a in items}


# -- definitions ---------------------------------------------------------------------------------

async def test_an_admin_creates_reads_and_changes_a_definition(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], clock: ManualClock) -> None:
    d = ok(await client.post(DEFINITIONS, headers=admin, json={
        "attributeCode": "Shoe-Size", "valueType": "Predefined", "dataType": "String", "inputType": "List",
        "adminName": "Shoe size", "displayGroup": "Profile", "vocabularyValues": SIZES, "isMultiValued": True,
        "attributeMetadata": [{"key": "unit", "value": "EU"}], "content": {"localeCode": "en-US", "value": "Size"},
        "order": 3}))
    assert set(d) == DEFINITION_KEYS and set(d["validation"]) == VALIDATION_KEYS
    assert (d["namespace"], d["attributeCode"], d["attributeFQN"]) == ("tenant", "Shoe-Size", "tenant~Shoe-Size")
    assert (d["valueType"], d["dataType"], d["inputType"]) == ("Predefined", "String", "List")
    assert d["isActive"] is True and d["isRequired"] is False and d["isMultiValued"] is True and d["isVisible"] is True
    assert d["attributeMetadata"] == [{"key": "unit", "value": "EU"}]
    assert d["content"] == {"localeCode": "en-US", "value": "Size"}
    assert d["vocabularyValues"][1] == {"value": "M", "sequence": 2, "isHidden": False,
                                        "content": {"localeCode": "en-US", "value": "Medium"}}
    assert d["vocabularyValues"][2] == {"value": "L", "sequence": None, "isHidden": False, "content": None}
    assert set(d["auditInfo"]) == AUDIT_KEYS and d["auditInfo"]["createBy"] == "admin.app"
    assert kibo_date(d["auditInfo"]["createDate"]) == clock.now()

    # any application of the tenant reads it, by FQN in any case, under both paths
    for path in (f"{DEFINITIONS}/tenant~shoe-size", f"{ACCOUNT_DEFINITIONS}/TENANT~SHOE-SIZE", f"{DEFINITIONS}/shoe-size"):
        assert ok(await client.get(path, headers=app_headers)) == d
    vocabulary = await client.get(f"{ACCOUNT_DEFINITIONS}/tenant~Shoe-Size/VocabularyValues", headers=app_headers)
    assert vocabulary.status_code == 200 and vocabulary.json() == d["vocabularyValues"]
    listed = ok(await client.get(ACCOUNT_DEFINITIONS, headers=app_headers))
    assert set(listed) == COLLECTION_KEYS and listed["items"] == [d] and listed["totalCount"] == 1

    clock.advance(timedelta(minutes=5))
    changed = ok(await client.put(f"{DEFINITIONS}/tenant~shoe-size", headers=admin, json={
        "attributeFQN": "tenant~shoe-size", "valueType": "AdminEntered", "inputType": "List", "adminName": "Size (EU)",
        "vocabularyValues": SIZES[:2], "isRequired": True, "isActive": False}))
    assert (changed["id"], changed["attributeFQN"], changed["adminName"]) == (d["id"], "tenant~Shoe-Size", "Size (EU)")
    assert (changed["valueType"], changed["isRequired"], changed["isActive"]) == ("AdminEntered", True, False)
    assert [v["value"] for v in changed["vocabularyValues"]] == ["S", "M"]
    assert kibo_date(changed["auditInfo"]["updateDate"]) == clock.now()
    assert ok(await client.get(f"{DEFINITIONS}/tenant~shoe-size", headers=admin)) == changed

    # the code, namespace and data type stay
    assert_error(await client.put(f"{DEFINITIONS}/tenant~shoe-size", headers=admin, json={
        "attributeCode": "other", "valueType": "AdminEntered", "inputType": "List", "vocabularyValues": SIZES}),
        400, "MISSING_OR_INVALID_PARAMETER", "attributeFQN")
    assert_error(await client.put(f"{DEFINITIONS}/tenant~shoe-size", headers=admin, json={
        "valueType": "AdminEntered", "dataType": "Number", "inputType": "TextBox"}),
        400, "MISSING_OR_INVALID_PARAMETER", "dataType")
    assert ok(await client.get(f"{DEFINITIONS}/tenant~shoe-size", headers=admin)) == changed


async def test_definition_defaults_and_not_found(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    d = ok(await client.post(ACCOUNT_DEFINITIONS, headers=admin, json={"attributeCode": "newsletter",
                                                                       "valueType": "ShopperEntered", "dataType": "bool"}))
    assert (d["dataType"], d["inputType"], d["namespace"]) == ("Bool", "YesNo", "tenant")
    d = ok(await client.post(DEFINITIONS, headers=admin, json={"attributeFQN": "crm~Birthday", "valueType": "adminentered",
                                                               "inputType": "Date"}))
    assert (d["attributeFQN"], d["dataType"], d["valueType"]) == ("crm~Birthday", "Date", "AdminEntered")
    for path in (f"{DEFINITIONS}/tenant~nothing", f"{DEFINITIONS}/nothing/vocabularyvalues"):
        assert_error(await client.get(path, headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(f"{DEFINITIONS}/tenant~nothing", headers=admin,
                                  json={"valueType": "AdminEntered"}), 404, "ITEM_NOT_FOUND")


async def test_definitions_need_an_admin_to_change_and_are_per_tenant(
        core: Core, client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str]) -> None:
    body = {"attributeCode": "vip", "valueType": "AdminEntered", "dataType": "Bool"}
    assert_error(await client.post(DEFINITIONS, headers=app_headers, json=body), 403, "FORBIDDEN")
    d = ok(await client.post(DEFINITIONS, headers=admin, json=body))
    assert_error(await client.put(f"{DEFINITIONS}/tenant~vip", headers=app_headers, json=body), 403, "FORBIDDEN")
    assert_error(await client.post(DEFINITIONS, headers=admin, json={**body, "attributeCode": "VIP"}),
                 409, "VALIDATION_CONFLICT")
    other = await other_tenant_admin(core, client)
    assert_error(await client.get(f"{DEFINITIONS}/tenant~vip", headers=other), 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(DEFINITIONS, headers=other))["items"] == []
    # the other tenant may use the same name
    assert ok(await client.post(DEFINITIONS, headers=other, json=body))["id"] != d["id"]
    assert ok(await client.get(DEFINITIONS, headers=admin))["items"] == [d]


@pytest.mark.parametrize(("body", "parameter"), [
    ({"valueType": "AdminEntered"}, "attributeCode"),
    ({"attributeCode": "a~b", "valueType": "AdminEntered"}, "attributeCode"),
    ({"attributeCode": "has space", "valueType": "AdminEntered"}, "attributeCode"),
    ({"attributeCode": "x" * 51, "valueType": "AdminEntered"}, "attributeCode"),
    ({"attributeCode": "ok", "namespace": "bad~ns", "valueType": "AdminEntered"}, "namespace"),
    ({"attributeCode": "ok"}, "valueType"),
    ({"attributeCode": "ok", "valueType": "Whatever"}, "valueType"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "dataType": "Decimal"}, "dataType"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "inputType": "Slider"}, "inputType"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "dataType": "Bool", "inputType": "TextBox"}, "inputType"),
    ({"attributeCode": "ok", "valueType": "Predefined", "inputType": "TextArea"}, "inputType"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "inputType": "List"}, "vocabularyValues"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "vocabularyValues": [{"value": "a"}]}, "vocabularyValues"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "inputType": "List",
      "vocabularyValues": [{"value": "a"}, {"value": "A"}]}, "vocabularyValues[1].value"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "inputType": "List", "dataType": "Number",
      "vocabularyValues": [{"value": "1"}, {"value": "two"}]}, "vocabularyValues[1].value"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "inputType": "List", "vocabularyValues": [{"sequence": 1}]},
     "vocabularyValues[0].value"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "isMultiValued": True}, "isMultiValued"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "validation": {"regularExpression": "^(a+)+$"}},
     "validation.regularExpression"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "validation": {"minStringLength": 5, "maxStringLength": 2}},
     "validation.maxStringLength"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "validation": {"maxStringLength": -1}},
     "validation.maxStringLength"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "dataType": "Number",
      "validation": {"minNumericValue": 10, "maxNumericValue": 1}}, "validation.maxNumericValue"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "validation": {"minDateTime": "not a date"}},
     "validation.minDateTime"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "adminName": "x" * 51}, "adminName"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "order": 2**40}, "order"),
    ({"attributeCode": "ok", "valueType": "AdminEntered", "isRequired": "maybe"}, "isRequired"),
])
async def test_bad_definitions_are_400_and_create_nothing(client: httpx.AsyncClient, admin: dict[str, str],
                                                          body: dict[str, Any], parameter: str) -> None:
    assert_error(await client.post(DEFINITIONS, headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    assert ok(await client.get(DEFINITIONS, headers=admin))["totalCount"] == 0


async def test_definition_lists_page_sort_and_filter(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for code in ("b", "c", "a"):
        await define(client, admin, code)
    page = ok(await client.get(DEFINITIONS, headers=admin, params={"sortBy": "attributeFQN desc", "pageSize": "2"}))
    assert [d["attributeCode"] for d in page["items"]] == ["c", "b"] and page["pageCount"] == 2
    found = ok(await client.get(DEFINITIONS, headers=admin, params={"filter": "attributeFQN eq 'TENANT~A'"}))
    assert [d["attributeCode"] for d in found["items"]] == ["a"]
    assert_error(await client.get(DEFINITIONS, headers=admin, params={"filter": "dataType eq 'String'"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "filter")


# -- account attribute values --------------------------------------------------------------------------

async def test_values_are_checked_against_their_definition(client: httpx.AsyncClient, admin: dict[str, str],
                                                           nina: Shopper) -> None:
    await define(client, admin, "nickname", validation={"minStringLength": 2, "maxStringLength": 10})
    await define(client, admin, "height", dataType="Number", validation={"minNumericValue": 50, "maxNumericValue": 250})
    await define(client, admin, "smoker", dataType="Bool", inputType="YesNo")
    await define(client, admin, "birthday", dataType="Date", inputType="Date",
                 validation={"minDateTime": "1900-01-01T00:00:00Z", "maxDateTime": "2026-11-27T00:00:00Z"})
    await define(client, admin, "size", inputType="List", vocabularyValues=SIZES)
    await define(client, admin, "shoe", dataType="Number", inputType="List", vocabularyValues=[{"value": "42"},
                                                                                             {"value": "43.5"}])
    await define(client, admin, "hobbies", inputType="List", isMultiValued=True,
                 vocabularyValues=[{"value": "Chess"}, {"value": "Golf"}, {"value": "Yoga"}])
    good = {
        "tenant~nickname": (["  Nini "], ["Nini"]),
        "tenant~height": (["172.5"], [172.5]),
        "tenant~smoker": (["FALSE"], [False]),
        "tenant~birthday": (["1990-05-17T08:30:00+02:00"], ["1990-05-17T06:30:00.000Z"]),
        "Tenant~Size": (["m"], ["M"]),
        "tenant~shoe": ([43.5], [43.5]),
        "tenant~hobbies": (["golf", "Chess", "GOLF"], ["Golf", "Chess"]),
    }
    for fqn, (given, stored) in good.items():
        saved = ok(await _set(client, nina.headers, nina.account_id, fqn, given))
        assert saved["values"] == stored, fqn
        assert set(saved) == {"auditInfo", "fullyQualifiedName", "attributeDefinitionId", "values"}
        assert saved["auditInfo"]["createBy"] == nina.user_id
    bad: list[tuple[str, list[Any], str]] = [
        ("tenant~nickname", ["N"], "values[0]"),
        ("tenant~nickname", ["x" * 11], "values[0]"),
        ("tenant~nickname", [5], "values[0]"),
        ("tenant~nickname", ["a\x00b"], "values[0]"),
        ("tenant~nickname", ["one", "two"], "values"),
        ("tenant~nickname", [], "values"),
        ("tenant~height", ["tall"], "values[0]"),
        ("tenant~height", [49], "values[0]"),
        ("tenant~height", [True], "values[0]"),
        ("tenant~height", ["1e400"], "values[0]"),
        ("tenant~height", [10**30], "values[0]"),
        ("tenant~smoker", ["yes please"], "values[0]"),
        ("tenant~smoker", [1], "values[0]"),
        ("tenant~birthday", ["yesterday"], "values[0]"),
        ("tenant~birthday", ["1850-01-01"], "values[0]"),
        ("tenant~birthday", ["2027-01-01T00:00:00Z"], "values[0]"),
        ("tenant~size", ["XL"], "values[0]"),
        ("tenant~size", ["S", "M"], "values"),
        ("tenant~shoe", [44], "values[0]"),
        ("tenant~hobbies", ["Chess", "Darts"], "values[1]"),
        ("tenant~unknown", ["x"], "fullyQualifiedName"),
        ("", ["x"], "fullyQualifiedName"),
    ]
    before = await _account_values(client, admin, nina.account_id)
    for fqn, values, parameter in bad:
        if fqn:
            r = await client.put(part(nina.account_id, "attributes", fqn), headers=nina.headers, json={"values": values})
            assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", parameter)
        assert_error(await _set(client, admin, nina.account_id, fqn, values), 400, "MISSING_OR_INVALID_PARAMETER",
                     parameter)
    assert await _account_values(client, admin, nina.account_id) == before


async def test_add_get_set_delete_and_required(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper,
                                               clock: ManualClock) -> None:
    d = await define(client, admin, "color")
    await define(client, admin, "member-no", valueType="AdminEntered", isRequired=True)
    added = ok(await _set(client, nina.headers, nina.account_id, "tenant~color", ["blue"]))
    assert added["attributeDefinitionId"] == d["id"] and added["fullyQualifiedName"] == "tenant~color"
    assert_error(await _set(client, nina.headers, nina.account_id, "TENANT~COLOR", ["red"]), 409, "VALIDATION_CONFLICT")
    assert ok(await client.get(part(nina.account_id, "attributes", "tenant~color"), headers=nina.headers)) == added
    clock.advance(timedelta(minutes=5))
    changed = ok(await client.put(part(nina.account_id, "attributes", "tenant~color"), headers=nina.headers,
                                  json={"fullyQualifiedName": "tenant~COLOR", "values": ["red"]}))
    assert changed["values"] == ["red"] and changed["auditInfo"]["createDate"] == added["auditInfo"]["createDate"]
    assert kibo_date(changed["auditInfo"]["updateDate"]) == clock.now()
    assert_error(await client.put(part(nina.account_id, "attributes", "tenant~color"), headers=nina.headers,
                                  json={"fullyQualifiedName": "tenant~member-no", "values": ["red"]}),
                 400, "MISSING_OR_INVALID_PARAMETER", "fullyQualifiedName")
    # PUT adds a value that is not there yet
    member = ok(await client.put(part(nina.account_id, "attributes", "tenant~member-no"), headers=admin,
                                 json={"values": ["A-1"]}))
    assert member["values"] == ["A-1"]
    assert_error(await client.delete(part(nina.account_id, "attributes", "tenant~member-no"), headers=admin),
                 400, "MISSING_OR_INVALID_PARAMETER", "attributeFQN")
    assert (await client.delete(part(nina.account_id, "attributes", "tenant~color"), headers=nina.headers)).status_code == 204
    assert_error(await client.get(part(nina.account_id, "attributes", "tenant~color"), headers=nina.headers), 404,
                 "ITEM_NOT_FOUND")
    assert_error(await client.delete(part(nina.account_id, "attributes", "tenant~color"), headers=nina.headers), 404,
                 "ITEM_NOT_FOUND")
    assert_error(await client.get(part(nina.account_id, "attributes", "tenant~nothing"), headers=admin), 404,
                 "ITEM_NOT_FOUND")
    assert_error(await client.delete(part(nina.account_id, "attributes", "tenant~nothing"), headers=admin), 404)
    assert await _account_values(client, admin, nina.account_id) == {"tenant~member-no": ["A-1"]}
    # an inactive definition takes no new values
    ok(await client.put(f"{DEFINITIONS}/tenant~color", headers=admin, json={"valueType": "ShopperEntered",
                                                                            "isActive": False}))
    assert_error(await _set(client, admin, nina.account_id, "tenant~color", ["green"]), 400,
                 "MISSING_OR_INVALID_PARAMETER", "fullyQualifiedName")


async def test_what_a_shopper_may_read_and_set(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper,
                                               app_headers: dict[str, str]) -> None:
    await define(client, admin, "color")
    await define(client, admin, "tier", valueType="AdminEntered")
    await define(client, admin, "locked", isReadOnly=True)
    ok(await _set(client, admin, nina.account_id, "tenant~tier", ["gold"]))
    ok(await _set(client, admin, nina.account_id, "tenant~locked", ["x"]))
    ok(await _set(client, nina.headers, nina.account_id, "tenant~color", ["blue"]))
    for fqn in ("tenant~tier", "tenant~locked"):
        assert_error(await client.put(part(nina.account_id, "attributes", fqn), headers=nina.headers,
                                      json={"values": ["changed"]}), 403, "FORBIDDEN")
        assert_error(await client.delete(part(nina.account_id, "attributes", fqn), headers=nina.headers), 403)
    assert_error(await client.get(part(nina.account_id, "attributes", "tenant~tier"), headers=nina.headers), 403)
    mine = ok(await client.get(part(nina.account_id, "attributes"), headers=nina.headers))
    assert sorted(a["fullyQualifiedName"] for a in mine["items"]) == ["tenant~color", "tenant~locked"]
    assert mine["totalCount"] == 2
    assert await _account_values(client, admin, nina.account_id) == {
        "tenant~color": ["blue"], "tenant~locked": ["x"], "tenant~tier": ["gold"]}
    # another shopper, or the storefront without a shopper: forbidden
    mallory = await shopper(client, app_headers, "mallory@example.com")
    for hdrs in (mallory.headers, app_headers):
        assert_error(await client.get(part(nina.account_id, "attributes"), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await _set(client, hdrs, nina.account_id, "tenant~color", ["x"]), 403, "FORBIDDEN")
        assert_error(await client.get(part(nina.account_id, "attributes", "tenant~color"), headers=hdrs), 403)
        assert_error(await client.delete(part(nina.account_id, "attributes", "tenant~color"), headers=hdrs), 403)
    assert (await _account_values(client, admin, nina.account_id))["tenant~color"] == ["blue"]


async def test_other_customer_sets_and_tenants_are_not_found(core: Core, client: httpx.AsyncClient,
                                                             admin: dict[str, str], nina: Shopper) -> None:
    await define(client, admin, "color")
    outlet = await outlet_account(client)
    assert_error(await _set(client, admin, outlet, "tenant~color", ["blue"]), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(part(outlet, "attributes"), headers=admin), 404, "ITEM_NOT_FOUND")
    other = await other_tenant_admin(core, client)
    await define(client, other, "color")
    assert_error(await _set(client, other, nina.account_id, "tenant~color", ["blue"]), 404, "ITEM_NOT_FOUND")
    assert await _account_values(client, admin, nina.account_id) == {}


async def test_current_account_and_refreshed_ticket_show_the_attributes(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], nina: Shopper) -> None:
    await define(client, admin, "color")
    saved = ok(await _set(client, nina.headers, nina.account_id, "tenant~color", ["blue"]))
    assert ok(await client.get(CURRENT, headers=nina.headers))["attributes"] == [saved]
    ticket = ok(await login(client, app_headers, "nina@example.com"))
    refreshed = ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": ticket["refreshToken"]}))
    assert refreshed["customerAccount"]["attributes"] == [saved]

"""/accounts/{accountId}/contacts: the account's address book, for its shopper or an admin application."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.parts_support import (
    AUDIT_KEYS,
    COLLECTION_KEYS,
    Shopper,
    admin_headers,
    other_tenant_admin,
    outlet_account,
    part,
    shopper,
)
from tests.api.support import CURRENT, REFRESH, assert_error, kibo_date, login, ok
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

CONTACT_KEYS = {"accountId", "types", "auditInfo", "faxNumber", "label", "id", "email", "firstName",
                "middleNameOrInitial", "lastNameOrSurname", "companyOrOrganization", "phoneNumbers", "address"}
HOME = {
    "email": "nina@example.com", "firstName": "Nina", "lastNameOrSurname": "Neu", "label": "Home",
    "phoneNumbers": {"home": "+49 30 1234567", "mobile": None},
    "address": {"address1": "Hauptstr. 1", "cityOrTown": "Berlin", "postalOrZipCode": "10115", "countryCode": "de"},
    "types": [{"name": "Billing", "isPrimary": True}, {"name": "Shipping", "isPrimary": True}],
}


async def _add(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return ok(await client.post(part(account_id, "contacts"), headers=hdrs, json=body))


async def _all(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(await client.get(part(account_id, "contacts"), headers=hdrs,
                                                      params={"pageSize": "200"}))["items"]
    return items


def _primary(contacts: list[dict[str, Any]], type_name: str) -> list[int]:
    return [c["id"] for c in contacts for t in c["types"] if t["name"] == type_name and t["isPrimary"]]


async def test_the_shopper_adds_reads_changes_and_deletes_a_contact(
        client: httpx.AsyncClient, nina: Shopper, clock: ManualClock) -> None:
    c = await _add(client, nina.headers, nina.account_id, HOME)
    assert set(c) == CONTACT_KEYS
    assert isinstance(c["id"], int) and c["accountId"] == nina.account_id
    assert (c["email"], c["firstName"], c["lastNameOrSurname"], c["label"]) == ("nina@example.com", "Nina", "Neu", "Home")
    assert c["address"]["countryCode"] == "DE"  # normalized
    assert c["address"]["address1"] == "Hauptstr. 1" and c["address"]["address2"] is None
    assert c["phoneNumbers"] == {"home": "+49 30 1234567", "mobile": None, "work": None}
    assert c["types"] == [{"name": "Billing", "isPrimary": True}, {"name": "Shipping", "isPrimary": True}]
    assert set(c["auditInfo"]) == AUDIT_KEYS
    assert c["auditInfo"]["createBy"] == c["auditInfo"]["updateBy"] == nina.user_id
    assert kibo_date(c["auditInfo"]["createDate"]) == clock.now()

    assert ok(await client.get(part(nina.account_id, "contacts", c["id"]), headers=nina.headers)) == c
    listed = ok(await client.get(part(nina.account_id, "contacts"), headers=nina.headers))
    assert set(listed) == COLLECTION_KEYS
    assert (listed["startIndex"], listed["pageSize"], listed["pageCount"], listed["totalCount"]) == (0, 20, 1, 1)
    assert listed["items"] == [c]

    clock.advance(timedelta(minutes=5))
    changed = ok(await client.put(part(nina.account_id, "contacts", c["id"]), headers=nina.headers,
                                  json={"firstName": "Nina", "lastNameOrSurname": "Alt", "address": {"countryCode": "AT"}}))
    assert changed["id"] == c["id"]
    assert changed["lastNameOrSurname"] == "Alt"
    assert changed["email"] is None and changed["types"] == []  # PUT replaces the contact
    assert changed["address"]["countryCode"] == "AT" and changed["address"]["address1"] is None
    assert kibo_date(changed["auditInfo"]["updateDate"]) == clock.now()
    assert changed["auditInfo"]["createDate"] == c["auditInfo"]["createDate"]

    r = await client.delete(part(nina.account_id, "contacts", c["id"]), headers=nina.headers)
    assert r.status_code == 204
    assert_error(await client.get(part(nina.account_id, "contacts", c["id"]), headers=nina.headers), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(part(nina.account_id, "contacts", c["id"]), headers=nina.headers),
                 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(part(nina.account_id, "contacts", c["id"]), headers=nina.headers, json=HOME),
                 404, "ITEM_NOT_FOUND")
    assert await _all(client, nina.headers, nina.account_id) == []


async def test_an_admin_application_manages_any_accounts_contacts(client: httpx.AsyncClient, nina: Shopper) -> None:
    admin = await admin_headers(client)
    c = await _add(client, admin, nina.account_id, HOME)
    assert c["auditInfo"]["createBy"] == "admin.app"
    assert [x["id"] for x in await _all(client, nina.headers, nina.account_id)] == [c["id"]]
    assert (await client.delete(part(nina.account_id, "contacts", c["id"]), headers=admin)).status_code == 204


async def test_others_are_forbidden(client: httpx.AsyncClient, app_headers: dict[str, str], nina: Shopper) -> None:
    c = await _add(client, nina.headers, nina.account_id, HOME)
    mallory = await shopper(client, app_headers, "mallory@example.com")
    for hdrs in (mallory.headers, app_headers):  # another shopper; the storefront application alone
        assert_error(await client.get(part(nina.account_id, "contacts"), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.post(part(nina.account_id, "contacts"), headers=hdrs, json=HOME), 403)
        assert_error(await client.put(part(nina.account_id, "contacts"), headers=hdrs, json=[HOME]), 403)
        assert_error(await client.get(part(nina.account_id, "contacts", c["id"]), headers=hdrs), 403)
        assert_error(await client.put(part(nina.account_id, "contacts", c["id"]), headers=hdrs, json=HOME), 403)
        assert_error(await client.delete(part(nina.account_id, "contacts", c["id"]), headers=hdrs), 403)
        # an id that does not exist is forbidden too (no probing for accounts)
        assert_error(await client.get(part(999_999, "contacts"), headers=hdrs), 403)
    assert [x["id"] for x in await _all(client, nina.headers, nina.account_id)] == [c["id"]]
    assert (await _all(client, nina.headers, nina.account_id))[0]["lastNameOrSurname"] == "Neu"


async def test_accounts_of_another_customer_set_or_tenant_are_not_found(
        core: Core, client: httpx.AsyncClient, nina: Shopper) -> None:
    admin = await admin_headers(client)
    outlet = await outlet_account(client)
    assert_error(await client.get(part(outlet, "contacts"), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.post(part(outlet, "contacts"), headers=admin, json=HOME), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(part(999_999, "contacts"), headers=admin), 404, "ITEM_NOT_FOUND")
    other = await other_tenant_admin(core, client)
    assert_error(await client.get(part(nina.account_id, "contacts"), headers=other), 404, "ITEM_NOT_FOUND")
    assert_error(await client.post(part(nina.account_id, "contacts"), headers=other, json=HOME), 404)
    assert await _all(client, nina.headers, nina.account_id) == []
    # a contact of another account is not found through this one
    c = await _add(client, admin, nina.account_id, HOME)
    second = await shopper(client, await admin_headers(client), "second@example.com")
    assert_error(await client.get(part(second.account_id, "contacts", c["id"]), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(part(second.account_id, "contacts", c["id"]), headers=admin), 404)
    assert len(await _all(client, admin, nina.account_id)) == 1


async def test_one_primary_contact_per_type(client: httpx.AsyncClient, nina: Shopper) -> None:
    first = await _add(client, nina.headers, nina.account_id, HOME)
    second = await _add(client, nina.headers, nina.account_id, {
        "firstName": "Work", "types": [{"name": "billing", "isPrimary": True}, {"name": "Shipping", "isPrimary": False}]})
    contacts = await _all(client, nina.headers, nina.account_id)
    assert _primary(contacts, "Billing") == [] and _primary(contacts, "billing") == [second["id"]]
    assert _primary(contacts, "Shipping") == [first["id"]]  # the other type kept its primary
    by_id = {c["id"]: c for c in contacts}
    assert by_id[first["id"]]["types"] == [{"name": "Billing", "isPrimary": False}, {"name": "Shipping", "isPrimary": True}]
    # making the first primary again for billing, by PUT, clears the second
    ok(await client.put(part(nina.account_id, "contacts", first["id"]), headers=nina.headers, json=HOME))
    contacts = await _all(client, nina.headers, nina.account_id)
    assert _primary(contacts, "Billing") == [first["id"]] and _primary(contacts, "billing") == []
    assert {c["id"]: c for c in contacts}[second["id"]]["types"][0] == {"name": "billing", "isPrimary": False}


async def test_racing_requests_leave_one_primary(client: httpx.AsyncClient, nina: Shopper) -> None:
    body = {"firstName": "Racer", "types": [{"name": "Shipping", "isPrimary": True}]}
    done = await asyncio.gather(*[client.post(part(nina.account_id, "contacts"), headers=nina.headers, json=body)
                                  for _ in range(6)])
    assert [r.status_code for r in done] == [200] * 6
    contacts = await _all(client, nina.headers, nina.account_id)
    assert len(contacts) == 6
    assert len(_primary(contacts, "Shipping")) == 1


async def test_put_of_the_collection_adds_and_replaces_all_or_none(client: httpx.AsyncClient, nina: Shopper) -> None:
    first = await _add(client, nina.headers, nina.account_id, HOME)
    r = await client.put(part(nina.account_id, "contacts"), headers=nina.headers, json=[
        {"id": first["id"], "firstName": "Replaced", "types": [{"name": "Billing", "isPrimary": False}]},
        {"firstName": "New one", "types": [{"name": "Billing", "isPrimary": True}]},
        {"firstName": "Another", "types": [{"name": "Shipping", "isPrimary": False}]},
    ])
    body = ok(r)
    assert set(body) == COLLECTION_KEYS and body["totalCount"] == 3
    assert [c["firstName"] for c in body["items"]] == ["Replaced", "New one", "Another"]
    assert body["items"][0]["id"] == first["id"]
    contacts = await _all(client, nina.headers, nina.account_id)
    assert len(contacts) == 3
    assert _primary(contacts, "Billing") == [body["items"][1]["id"]]
    # two primaries for one type in one request, an unknown id, a bad item: 400/404, nothing changes
    before = await _all(client, nina.headers, nina.account_id)
    both = [{"types": [{"name": "Billing", "isPrimary": True}]}, {"types": [{"name": "BILLING", "isPrimary": True}]}]
    assert_error(await client.put(part(nina.account_id, "contacts"), headers=nina.headers, json=both),
                 400, "MISSING_OR_INVALID_PARAMETER", "types")
    assert_error(await client.put(part(nina.account_id, "contacts"), headers=nina.headers,
                                  json=[{"firstName": "x"}, {"id": 987654, "firstName": "y"}]), 404, "ITEM_NOT_FOUND")
    assert_error(await client.put(part(nina.account_id, "contacts"), headers=nina.headers,
                                  json=[{"firstName": "x"}, {"email": "bad"}]), 400, "MISSING_OR_INVALID_PARAMETER",
                 "[1].email")
    assert_error(await client.put(part(nina.account_id, "contacts"), headers=nina.headers,
                                  json=[{"firstName": "x"}, "nope"]), 400, "MISSING_OR_INVALID_PARAMETER", "[1]")
    assert_error(await client.put(part(nina.account_id, "contacts"), headers=nina.headers, json={"firstName": "x"}),
                 400, "MISSING_OR_INVALID_PARAMETER", "contacts")
    assert await _all(client, nina.headers, nina.account_id) == before


@pytest.mark.parametrize(("body", "parameter"), [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b@example.com"}, "email"),
    ({"firstName": "x" * 201}, "firstName"),
    ({"firstName": "bad\x00name"}, "firstName"),
    ({"lastNameOrSurname": "line\nbreak"}, "lastNameOrSurname"),
    ({"address": {"countryCode": "USA"}}, "address.countryCode"),
    ({"address": {"countryCode": "1!"}}, "address.countryCode"),
    ({"address": {"postalOrZipCode": "1" * 21}}, "address.postalOrZipCode"),
    ({"address": "Main street"}, "address"),
    ({"phoneNumbers": {"home": "1" * 51}}, "phoneNumbers.home"),
    ({"types": [{"name": "", "isPrimary": True}]}, "types[0].name"),
    ({"types": [{"name": "Billing"}, {"name": "billing"}]}, "types"),
    ({"types": [{"name": f"t{i}"} for i in range(11)]}, "types"),
    ({"types": "Billing"}, "types"),
    ({"label": 5}, "label"),
])
async def test_bad_contacts_are_400_and_change_nothing(client: httpx.AsyncClient, nina: Shopper, body: dict[str, Any],
                                                       parameter: str) -> None:
    assert_error(await client.post(part(nina.account_id, "contacts"), headers=nina.headers, json=body),
                 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    c = await _add(client, nina.headers, nina.account_id, HOME)
    assert_error(await client.put(part(nina.account_id, "contacts", c["id"]), headers=nina.headers, json=body),
                 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    assert await _all(client, nina.headers, nina.account_id) == [c]


async def test_paging_sorting_and_filtering(client: httpx.AsyncClient, nina: Shopper) -> None:
    for name in ("Carla", "anna", "Bert"):
        await _add(client, nina.headers, nina.account_id, {"firstName": name, "label": "L" + name})
    path = part(nina.account_id, "contacts")
    page = ok(await client.get(path, headers=nina.headers, params={"sortBy": "firstName asc", "startIndex": "1",
                                                                   "pageSize": "1"}))
    assert (page["startIndex"], page["pageSize"], page["pageCount"], page["totalCount"]) == (1, 1, 3, 3)
    assert [c["firstName"] for c in page["items"]] == ["Bert"]
    ordered = ok(await client.get(path, headers=nina.headers, params={"sortby": "firstName desc"}))
    assert [c["firstName"] for c in ordered["items"]] == ["Carla", "Bert", "anna"]
    found = ok(await client.get(path, headers=nina.headers, params={"filter": "firstName eq 'ANNA'"}))
    assert [c["firstName"] for c in found["items"]] == ["anna"] and found["totalCount"] == 1
    found = ok(await client.get(path, headers=nina.headers, params={"filter": "label sw 'L' and firstName ne 'Bert'"}))
    assert sorted(c["firstName"] for c in found["items"]) == ["Carla", "anna"]
    assert_error(await client.get(path, headers=nina.headers, params={"filter": "password eq 'x'"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "filter")
    assert_error(await client.get(path, headers=nina.headers, params={"sortBy": "firstName sideways"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "sortBy")
    assert_error(await client.get(path, headers=nina.headers, params={"pageSize": "0"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "pageSize")
    assert_error(await client.get(path, headers=nina.headers, params={"startIndex": "-1"}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "startIndex")
    huge = ok(await client.get(path, headers=nina.headers, params={"filter": f"id eq {2**62}"}))
    assert huge["items"] == []
    fields = ok(await client.get(path, headers=nina.headers, params={"responseFields": "totalCount,items(firstName)"}))
    assert set(fields) == {"totalCount", "items"} and all(set(c) == {"firstName"} for c in fields["items"])


async def test_current_account_and_tickets_show_the_contacts(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                             nina: Shopper) -> None:
    c = await _add(client, nina.headers, nina.account_id, HOME)
    assert ok(await client.get(CURRENT, headers=nina.headers))["contacts"] == [c]
    ticket = ok(await login(client, app_headers, "nina@example.com"))
    refreshed = ok(await client.put(REFRESH, headers=app_headers, params={"refreshToken": ticket["refreshToken"]}))
    assert refreshed["customerAccount"]["contacts"] == [c]


async def test_the_login_ticket_shows_the_contacts(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                   nina: Shopper) -> None:
    c = await _add(client, nina.headers, nina.account_id, HOME)
    ticket = ok(await login(client, app_headers, "nina@example.com"))
    assert ticket["customerAccount"]["contacts"] == [c]

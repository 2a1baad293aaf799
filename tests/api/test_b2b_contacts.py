"""GET /b2bcontacts: the contacts of the customer set's B2B accounts, with their account, filtered, sorted and paged."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_more_support import B2B_CONTACTS, new_b2b_account
from tests.api.parts_support import ACCOUNTS, COLLECTION_KEYS, Shopper, other_tenant_admin
from tests.api.support import assert_error, ok
from tests.conftest import SITE_OTHER_SET
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")
CONTACT_KEYS = {"accountId", "types", "auditInfo", "faxNumber", "label", "id", "email", "firstName",
                "middleNameOrInitial", "lastNameOrSurname", "companyOrOrganization", "phoneNumbers", "address",
                "accountName"}


async def _contact(client: httpx.AsyncClient, admin: dict[str, str], account_id: int, email: str,
                   first: str) -> int:
    found: int = ok(await client.post(f"{ACCOUNTS}/{account_id}/contacts", headers=admin, json={
        "email": email, "firstName": first, "address": {"cityOrTown": "Springfield"},
        "types": [{"name": "Billing", "isPrimary": True}]}))["id"]
    return found


async def test_contacts_of_b2b_accounts(client: httpx.AsyncClient, admin: dict[str, str], core: Core,
                                        nina: Shopper) -> None:
    acme = await new_b2b_account(core, "Acme")
    globex = await new_b2b_account(core, "Globex")
    a1 = await _contact(client, admin, acme, "ap@acme.example", "Ann")
    a2 = await _contact(client, admin, acme, "ship@acme.example", "Bob")
    g1 = await _contact(client, admin, globex, "ap@globex.example", "Cy")
    await _contact(client, admin, nina.account_id, "nina@home.example", "Nina")  # a B2C account's: never listed
    site = await core.store.get_site(SITE_OTHER_SET)
    assert site is not None
    outlet = await new_b2b_account(core, "Outlet Co", customer_set_id=site.customer_set_id)
    await _contact(client, {**admin, "x-vol-site": str(SITE_OTHER_SET)}, outlet, "x@outlet.example", "Ox")

    listed = ok(await client.get(B2B_CONTACTS, headers=admin))
    assert set(listed) == COLLECTION_KEYS and listed["totalCount"] == 3
    assert [c["id"] for c in listed["items"]] == [a1, a2, g1]
    first = listed["items"][0]
    assert set(first) == CONTACT_KEYS
    assert (first["accountId"], first["accountName"], first["email"]) == (acme, "Acme", "ap@acme.example")
    assert first["address"]["cityOrTown"] == "Springfield" and [x["name"] for x in first["types"]] == ["Billing"]

    def ids(params: dict[str, str]) -> object:
        return client.get(B2B_CONTACTS, headers=admin, params=params)

    assert [c["id"] for c in ok(await ids({"filter": f"accountId eq {globex}"}))["items"]] == [g1]
    assert [c["id"] for c in ok(await ids({"filter": "accountName eq 'acme'"}))["items"]] == [a1, a2]  # type: ignore[arg-type]
    assert [c["id"] for c in ok(await ids({"filter": "email sw 'ap@'"}))["items"]] == [a1, g1]  # type: ignore[arg-type]
    assert [c["id"] for c in ok(await ids({"sortBy": "firstName desc"}))["items"]] == [g1, a2, a1]  # type: ignore[arg-type]
    page = ok(await ids({"startIndex": "1", "pageSize": "1"}))  # type: ignore[arg-type]
    assert (page["totalCount"], page["pageCount"], [c["id"] for c in page["items"]]) == (3, 3, [a2])
    assert ok(await ids({"responseFields": "items(accountName)"})) == {  # type: ignore[arg-type]
        "items": [{"accountName": "Acme"}, {"accountName": "Acme"}, {"accountName": "Globex"}]}
    assert [c["id"] for c in ok(await ids({"q": "globex"}))["items"]] == [g1]  # type: ignore[arg-type]
    assert [c["id"] for c in ok(await ids({"q": "acme bob"}))["items"]] == [a2]  # type: ignore[arg-type]
    assert_error(await ids({"filter": "password eq 'x'"}), 400, "MISSING_OR_INVALID_PARAMETER")  # type: ignore[arg-type]
    assert_error(await ids({"pageSize": "0"}), 400, parameter="pageSize")  # type: ignore[arg-type]
    # another tenant's merchant sees none of them
    other = await other_tenant_admin(core, client)
    assert ok(await client.get(B2B_CONTACTS, headers=other))["items"] == []


async def test_only_merchants_list_b2b_contacts(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                nina: Shopper) -> None:
    for hdrs in (app_headers, nina.headers):
        assert_error(await client.get(B2B_CONTACTS, headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.get(B2B_CONTACTS, headers=hdrs, params={"filter": "bad bad"}), 403, "FORBIDDEN")

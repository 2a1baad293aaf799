"""/b2baccounts/{accountId}/attributes...: a B2B account's attribute values, through the customer account's attribute
rules, for the merchant (and, in test_b2b_attributes_users.py, the account's users)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_more_support import B2B, audit_events
from tests.api.b2b_support import add_account
from tests.api.parts_support import ACCOUNTS, Shopper, define, other_tenant_admin
from tests.api.support import assert_error, ok
from tests.conftest import SITE_OTHER_SET
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")


def _attrs(account_id: int, fqn: str | None = None) -> str:
    path = f"{B2B}/{account_id}/attributes"
    return path if fqn is None else f"{path}/{fqn}"


async def test_a_merchant_adds_reads_sets_and_removes_values(client: httpx.AsyncClient, admin: dict[str, str],
                                                             core: Core) -> None:
    await define(client, admin, "Industry")
    await define(client, admin, "Credit-Tier", valueType="AdminEntered")
    await define(client, admin, "Duns", isRequired=True)
    acme = (await add_account(client, admin, "Acme"))["id"]
    added = ok(await client.post(_attrs(acme), headers=admin, json={"fullyQualifiedName": "tenant~industry",
                                                                     "values": ["Tools"]}))
    assert (added["fullyQualifiedName"], added["values"]) == ("tenant~Industry", ["Tools"])
    ok(await client.post(_attrs(acme), headers=admin, json={"fullyQualifiedName": "credit-tier", "values": ["A"]}))
    assert_error(await client.post(_attrs(acme), headers=admin, json={"fullyQualifiedName": "industry",
                                                                      "values": ["Food"]}), 409, "VALIDATION_CONFLICT")
    assert ok(await client.get(_attrs(acme, "tenant~Industry"), headers=admin))["values"] == ["Tools"]
    listed = ok(await client.get(_attrs(acme), headers=admin))
    assert sorted(a["fullyQualifiedName"] for a in listed["items"]) == ["tenant~Credit-Tier", "tenant~Industry"]
    assert ok(await client.put(_attrs(acme, "industry"), headers=admin, json={"values": ["Food"]}))["values"] == ["Food"]
    assert_error(await client.put(_attrs(acme, "industry"), headers=admin, json={
        "fullyQualifiedName": "credit-tier", "values": ["B"]}), 400, parameter="fullyQualifiedName")
    assert_error(await client.put(_attrs(acme, "nope"), headers=admin, json={"values": ["x"]}), 400)
    ok(await client.put(_attrs(acme, "duns"), headers=admin, json={"values": ["123"]}))
    assert_error(await client.delete(_attrs(acme, "duns"), headers=admin), 400, parameter="attributeFQN")
    assert (await client.delete(_attrs(acme, "industry"), headers=admin)).status_code == 204
    assert_error(await client.get(_attrs(acme, "industry"), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(_attrs(acme, "industry"), headers=admin), 404, "ITEM_NOT_FOUND")
    # the account shows them too
    account = ok(await client.get(f"{B2B}/{acme}", headers=admin))
    assert sorted(a["fullyQualifiedName"] for a in account["attributes"]) == ["tenant~Credit-Tier", "tenant~Duns"]
    entries = await audit_events(core, "b2b.account-updated")
    assert [e["detail"] for e in entries if e["account_id"] == acme] == [{"fields": ["attributes"]}] * 5


async def test_only_b2b_accounts_of_the_caller(client: httpx.AsyncClient, admin: dict[str, str],
                                               app_headers: dict[str, str], nina: Shopper, core: Core) -> None:
    await define(client, admin, "Industry")
    acme = (await add_account(client, admin, "Acme"))["id"]
    ok(await client.post(_attrs(acme), headers=admin, json={"fullyQualifiedName": "industry", "values": ["Tools"]}))
    # a shopper's own (B2C) account is no B2B account: its attributes are at /accounts
    assert_error(await client.get(_attrs(nina.account_id), headers=admin), 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(f"{ACCOUNTS}/{nina.account_id}/attributes", headers=admin))["items"] == []
    for hdrs in (app_headers, nina.headers):  # neither a merchant nor a user of the account
        for account in (acme, nina.account_id, 999999):
            assert_error(await client.get(_attrs(account), headers=hdrs), 403, "FORBIDDEN")
            assert_error(await client.get(_attrs(account, "industry"), headers=hdrs), 403, "FORBIDDEN")
            assert_error(await client.post(_attrs(account), headers=hdrs, json={
                "fullyQualifiedName": "industry", "values": ["x"]}), 403, "FORBIDDEN")
            assert_error(await client.put(_attrs(account, "industry"), headers=hdrs, json={"values": ["x"]}), 403)
            assert_error(await client.delete(_attrs(account, "industry"), headers=hdrs), 403, "FORBIDDEN")
    other = await other_tenant_admin(core, client)
    outlet_admin = {**admin, "x-vol-site": str(SITE_OTHER_SET)}
    for hdrs in (other, outlet_admin):
        assert_error(await client.get(_attrs(acme), headers=hdrs), 404, "ITEM_NOT_FOUND")
        assert_error(await client.delete(_attrs(acme, "industry"), headers=hdrs), 404, "ITEM_NOT_FOUND")
    assert ok(await client.get(_attrs(acme, "industry"), headers=admin))["values"] == ["Tools"]

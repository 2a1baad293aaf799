"""Finding 12 of issue 13: what an application changes while impersonating a shopper is attributed to that
application and the shopper, in the records' auditInfo and in the account's audit trail, never to the
shopper alone. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import CSR
from tests.api.login_support import admin_headers
from tests.api.parts_support import define
from tests.api.support import CUSTOMER, ok, register
from tests.conftest import TENANT, Seed, app_token, headers
from ticketbooth.applications import admin
from ticketbooth.core import Core
from ticketbooth.domain.models import BEHAVIOR_IMPERSONATE

ACCOUNTS = f"{CUSTOMER}/accounts"
IMPERSONATE = f"{CUSTOMER}/authtickets/impersonatecart"
CONTACT = {"email": "ivy@example.com", "firstName": "Ivy", "lastNameOrSurname": "Green"}


@pytest.fixture
async def ivy(client: httpx.AsyncClient, app_headers: dict[str, str]) -> dict[str, Any]:
    return await register(client, app_headers, "ivy@example.com")


async def _trail(client: httpx.AsyncClient, account_id: int) -> list[dict[str, Any]]:
    page = ok(await client.get(f"{ACCOUNTS}/{account_id}/auditlog/entries", headers=await admin_headers(client)))
    items: list[dict[str, Any]] = page["items"]
    return items


@pytest.mark.parametrize("how", ["claims", "bearer"])
async def test_contact_changed_while_impersonating_names_the_application(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any], how: str) -> None:
    account_id, user_id = ivy["customerAccount"]["id"], ivy["userId"]
    ticket = ok(await client.post(IMPERSONATE, headers=csr, json={"accountId": account_id}))
    hdrs = ({**csr, "x-vol-user-claims": ticket["accessToken"]} if how == "claims"
            else {"Authorization": f"Bearer {ticket['jwtAccessToken']}"})
    expected = f"{CSR[0]} as {user_id}"

    added = ok(await client.post(f"{ACCOUNTS}/{account_id}/contacts", headers=hdrs, json=CONTACT))
    assert added["auditInfo"]["createBy"] == expected
    assert added["auditInfo"]["updateBy"] == expected
    path = f"{ACCOUNTS}/{account_id}/contacts/{added['id']}"
    assert ok(await client.put(path, headers=hdrs, json={**CONTACT, "firstName": "Ivy-Ann"}))["auditInfo"][
        "updateBy"] == expected
    assert (await client.delete(path, headers=hdrs)).status_code in (200, 204)

    changes = [e for e in await _trail(client, account_id) if e["eventType"] == "account.updated"]
    assert len(changes) == 3, changes
    for entry in changes:
        assert entry["entryUser"] == expected
        assert entry["application"] == CSR[0]
        assert entry["fieldPath"] == "contacts"


async def test_attribute_set_while_impersonating_names_the_application(
        client: httpx.AsyncClient, csr: dict[str, str], ivy: dict[str, Any]) -> None:
    account_id, user_id = ivy["customerAccount"]["id"], ivy["userId"]
    definition = await define(client, await admin_headers(client), "giftNote")
    fqn = definition["attributeFQN"]
    ticket = ok(await client.post(IMPERSONATE, headers=csr, json={"accountId": account_id}))
    hdrs = {**csr, "x-vol-user-claims": ticket["accessToken"]}
    value = ok(await client.post(f"{ACCOUNTS}/{account_id}/attributes", headers=hdrs,
                                 json={"fullyQualifiedName": fqn, "values": ["wrap it"]}))
    assert value["auditInfo"]["updateBy"] == f"{CSR[0]} as {user_id}"
    assert (await client.delete(f"{ACCOUNTS}/{account_id}/attributes/{fqn}", headers=hdrs)).status_code in (200, 204)
    changes = [e for e in await _trail(client, account_id) if e["eventType"] == "account.updated"]
    assert [(e["entryUser"], e["fieldPath"]) for e in changes] == [(f"{CSR[0]} as {user_id}", "attributes")] * 2


async def test_the_shoppers_own_changes_stay_theirs(
        client: httpx.AsyncClient, app_headers: dict[str, str], ivy: dict[str, Any]) -> None:
    account_id = ivy["customerAccount"]["id"]
    hdrs = {**app_headers, "x-vol-user-claims": ivy["accessToken"]}
    added = ok(await client.post(f"{ACCOUNTS}/{account_id}/contacts", headers=hdrs, json=CONTACT))
    assert added["auditInfo"]["createBy"] == ivy["userId"]
    assert not [e for e in await _trail(client, account_id) if e["eventType"] == "account.updated"]


async def test_a_long_client_id_still_fits(client: httpx.AsyncClient, core: Core, seeded: Seed,
                                           ivy: dict[str, Any]) -> None:
    """auditInfo names are kept to 200 characters: the application's part gives way, the shopper's stays."""
    long_app = ("c" * 200, "long-secret-0123456789abcdef")
    await admin.save_application(core, TENANT, *long_app, [BEHAVIOR_IMPERSONATE])
    app = headers(await app_token(client, long_app))
    account_id = ivy["customerAccount"]["id"]
    ticket = ok(await client.post(IMPERSONATE, headers=app, json={"accountId": account_id}))
    added = ok(await client.post(f"{ACCOUNTS}/{account_id}/contacts",
                                 headers={**app, "x-vol-user-claims": ticket["accessToken"]}, json=CONTACT))
    name = added["auditInfo"]["createBy"]
    assert len(name) == 200 and name.startswith("ccc") and name.endswith(f" as {ivy['userId']}")

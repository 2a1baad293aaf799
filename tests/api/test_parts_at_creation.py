"""`services.parts.add_parts`: the parts given with a new account (CustomerAccount's contacts, notes,
attributes, segments), stored in the transaction that creates the account, all or nothing. The body
goes through `api.account_parts.parts_of`, as the account endpoints hand it over."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.parts_support import ACCOUNTS, SEGMENTS, admin_headers, define
from tests.api.support import assert_error, ok
from tests.conftest import ADMIN, SITE, STOREFRONT, TENANT
from ticketbooth.accounts.parts.service import add_parts
from ticketbooth.accounts.routes.parts import parts_of
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.errors import Forbidden, InvalidParameter, TicketboothError
from ticketbooth.domain.models import NewAccount
from ticketbooth.infra.tokens import new_hex

pytestmark = pytest.mark.usefixtures("seeded")


async def _caller(core: Core, client_id: str) -> Caller:
    app, tenant, site = (await core.directory.application(client_id), await core.directory.tenant(TENANT),
                         await core.directory.site(SITE))
    assert app is not None and tenant is not None and site is not None
    # as the application proved by its own credential (app token): only then does it hold its behaviors
    return Caller(app=app, tenant=tenant, site=site, app_credential=True)


async def _create(core: Core, client_id: str, body: dict[str, Any]) -> int:
    """An account created with the parts of `body` (keys lower-cased, as the request reader leaves them)."""
    caller = await _caller(core, client_id)
    parts = parts_of(body.get("contacts"), body.get("notes"), body.get("attributes"), body.get("segments"))
    async with core.store.transaction() as tx:
        account_id = await tx.insert_account(NewAccount(
            tenant_id=TENANT, customer_set_id=caller.site.customer_set_id, user_id=new_hex(), email=None,
            email_key=None, username=None, username_key=None, password_hash=None, created_by=client_id,
        ), core.clock.now())
        await add_parts(core, tx, caller, account_id, parts, client_id)
    return account_id


async def _accounts(core: Core) -> int:
    async with core.store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.accounts))).scalar_one())


async def test_an_admin_creates_an_account_with_every_part(core: Core, client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await define(client, admin, "tier", valueType="AdminEntered")
    vip = ok(await client.post(SEGMENTS, headers=admin, json={"code": "VIP", "name": "VIP"}))
    gold = ok(await client.post(SEGMENTS, headers=admin, json={"code": "gold", "name": "Gold"}))
    account_id = await _create(core, ADMIN[0], {
        "contacts": [{"firstname": "Nina", "types": [{"name": "Billing", "isprimary": True}]},
                     {"firstname": "Work", "types": [{"name": "Billing", "isprimary": False}]}],
        "notes": [{"content": "Imported from the old shop"}, "second note"],
        "attributes": [{"fullyqualifiedname": "tenant~tier", "values": ["gold"]}],
        "segments": [{"code": "vip"}, gold["id"], "GOLD"],
    })
    a = ok(await client.get(f"{ACCOUNTS}/{account_id}", headers=admin))
    assert [c["firstName"] for c in a["contacts"]] == ["Nina", "Work"]
    assert a["contacts"][0]["types"] == [{"name": "Billing", "isPrimary": True}]
    assert [n["content"] for n in a["notes"]] == ["Imported from the old shop", "second note"]
    assert [(x["fullyQualifiedName"], x["values"]) for x in a["attributes"]] == [("tenant~tier", ["gold"])]
    assert [s["id"] for s in a["segments"]] == [vip["id"], gold["id"]]
    assert a["contacts"][0]["auditInfo"]["createBy"] == ADMIN[0]


async def test_a_storefront_may_give_contacts_and_shopper_attributes(core: Core, client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await define(client, admin, "color")
    account_id = await _create(core, STOREFRONT[0], {
        "contacts": [{"email": "nina@example.com"}],
        "attributes": [{"fullyqualifiedname": "color", "values": ["blue"]}],
    })
    a = ok(await client.get(f"{ACCOUNTS}/{account_id}", headers=admin))
    assert [c["email"] for c in a["contacts"]] == ["nina@example.com"]
    assert [x["values"] for x in a["attributes"]] == [["blue"]]


@pytest.mark.parametrize(("client_id", "body", "error", "parameter"), [
    (STOREFRONT[0], {"notes": ["hello"]}, Forbidden, None),
    (STOREFRONT[0], {"segments": [{"code": "vip"}]}, Forbidden, None),
    (STOREFRONT[0], {"attributes": [{"fullyqualifiedname": "tenant~tier", "values": ["gold"]}]}, Forbidden, None),
    (ADMIN[0], {"contacts": [{"firstname": "ok"}, {"email": "bad"}]}, InvalidParameter, "contacts[1].email"),
    (ADMIN[0], {"contacts": ["not an object"]}, InvalidParameter, "contacts[0]"),
    (ADMIN[0], {"contacts": [{"types": [{"name": "Billing", "isprimary": True}]},
                             {"types": [{"name": "billing", "isprimary": True}]}]}, InvalidParameter, "types"),
    (ADMIN[0], {"notes": [{"content": ""}]}, InvalidParameter, "notes[0].content"),
    (ADMIN[0], {"attributes": [{"fullyqualifiedname": "tenant~nothing", "values": ["x"]}]}, InvalidParameter,
     "attributes[0].fullyQualifiedName"),
    (ADMIN[0], {"attributes": [{"fullyqualifiedname": "tenant~tier", "values": ["a", "b"]}]}, InvalidParameter,
     "attributes[0].values"),
    (ADMIN[0], {"attributes": [{"fullyqualifiedname": "tenant~tier", "values": ["a"]},
                               {"fullyqualifiedname": "TIER", "values": ["b"]}]}, InvalidParameter,
     "attributes[1].fullyQualifiedName"),
    (ADMIN[0], {"segments": [{"code": "nothing"}]}, InvalidParameter, "segments[0]"),
    (ADMIN[0], {"segments": [{"name": "no id or code"}]}, InvalidParameter, "segments[0]"),
])
async def test_a_bad_part_creates_nothing(core: Core, client: httpx.AsyncClient, client_id: str, body: dict[str, Any],
                                          error: type[TicketboothError], parameter: str | None) -> None:
    admin = await admin_headers(client)
    await define(client, admin, "tier", valueType="AdminEntered")
    ok(await client.post(SEGMENTS, headers=admin, json={"code": "VIP", "name": "VIP"}))
    before = await _accounts(core)
    with pytest.raises(error) as raised:
        await _create(core, client_id, body)
    if parameter is not None:
        assert isinstance(raised.value, InvalidParameter) and raised.value.name == parameter
    assert await _accounts(core) == before
    async with core.store.engine.connect() as conn:
        for table in (t.contacts, t.notes, t.account_attributes, t.segment_accounts):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0, table.name
    assert_error(await client.get(f"{ACCOUNTS}/{before + 1}", headers=admin), 404)

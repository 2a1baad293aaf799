"""Kibo's address fields are spelled once (kibo/bodies.py ADDRESS_FIELDS) and read from there by the
body, the answer and the schema: every field a client sends in a contact's address comes back, by
each way a contact is written and read, and the document describes exactly those fields."""

from __future__ import annotations

from dataclasses import fields

import httpx
import pytest

from tests.api.parts_support import Shopper, part
from tests.api.support import ok
from ticketbooth.domain.models import Address
from ticketbooth.kibo.bodies import ADDRESS_FIELDS

pytestmark = pytest.mark.usefixtures("seeded")

ADDRESS = {
    "address1": "Hauptstr. 1", "address2": "Hinterhaus", "address3": "3. OG", "address4": "links",
    "cityOrTown": "Berlin", "stateOrProvince": "BE", "postalOrZipCode": "10115", "countryCode": "DE",
    "addressType": "Residential", "isValidated": True,
}
OTHER = {
    "address1": "Ring 2", "address2": "Stiege 1", "address3": "Top 4", "address4": "rechts",
    "cityOrTown": "Wien", "stateOrProvince": "W", "postalOrZipCode": "1010", "countryCode": "AT",
    "addressType": "Commercial", "isValidated": False,
}


def test_the_kibo_names_are_the_domain_address_fields() -> None:
    assert [kibo for kibo, _ in ADDRESS_FIELDS] == list(ADDRESS)
    assert [attr for _, attr in ADDRESS_FIELDS] == [f.name for f in fields(Address)]


async def test_every_address_field_is_kept_when_added_replaced_and_saved(
        client: httpx.AsyncClient, nina: Shopper) -> None:
    contacts = part(nina.account_id, "contacts")
    added = ok(await client.post(contacts, headers=nina.headers, json={"label": "Home", "address": ADDRESS}))
    assert added["address"] == ADDRESS
    assert ok(await client.get(part(nina.account_id, "contacts", added["id"]), headers=nina.headers))["address"] == ADDRESS

    replaced = ok(await client.put(part(nina.account_id, "contacts", added["id"]), headers=nina.headers,
                                   json={"label": "Home", "address": OTHER}))
    assert replaced["address"] == OTHER

    saved = ok(await client.put(contacts, headers=nina.headers,
                                json=[{"id": added["id"], "address": ADDRESS}, {"address": OTHER}]))
    assert [c["address"] for c in saved["items"]] == [ADDRESS, OTHER]
    listed = ok(await client.get(contacts, headers=nina.headers))["items"]
    assert sorted((c["address"] for c in listed), key=lambda a: a["cityOrTown"]) == [ADDRESS, OTHER]


async def test_the_document_describes_the_same_address_fields(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    schemas = r.json()["components"]["schemas"]
    assert list(schemas["CommerceRuntimeAddress"]["properties"]) == list(ADDRESS)

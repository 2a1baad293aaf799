"""A B2B account's contacts and saved cards as its users manage them through the customer accounts API (Kibo's
B2B storefront's My Account sends customerAccountContacts/customerAccountCards with the B2B account's id):
any active user reads the contacts, 1002 (manage contacts) changes them, 1003 (manage saved payments) reads
and changes the cards; only for the account of the ticket; 403 otherwise, whether the account exists or not.
On SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_support import NON_PURCHASER_ROLE, PURCHASER_ROLE, add_account, user_in
from tests.api.parts_support import part
from tests.api.support import assert_error, ok

pytestmark = pytest.mark.usefixtures("seeded")

BILLING = {"firstName": "Bea", "lastNameOrSurname": "Buyer", "types": [{"name": "Billing", "isPrimary": True}],
           "address": {"address1": "1 Dock Road", "cityOrTown": "Hull", "countryCode": "GB"}}


def card(contact_id: int) -> dict[str, object]:
    return {"nameOnCard": "Bea Buyer", "cardType": "VISA", "expireMonth": 4, "expireYear": 2030,
            "cardNumberPart": "************1111", "contactId": contact_id, "isDefaultPayMethod": True}


async def test_users_manage_their_b2b_accounts_contacts_and_cards_with_the_behaviors_they_take(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str]) -> None:
    acme = (await add_account(client, admin, "Acme Corp"))["id"]
    other = (await add_account(client, admin, "Other Corp"))["id"]
    ok(await client.post(part(other, "contacts"), headers=admin, json=BILLING))
    buyer = await user_in(client, admin, app_headers, acme, "bea.buyer@example.com", (PURCHASER_ROLE,))
    looker = await user_in(client, admin, app_headers, acme, "lou.looker@example.com", (NON_PURCHASER_ROLE,))

    # the purchaser (1002, 1003): the address book and the saved cards of their company
    contact = ok(await client.post(part(acme, "contacts"), headers=buyer.headers, json=BILLING))
    saved = ok(await client.post(part(acme, "cards"), headers=buyer.headers, json=card(contact["id"])))
    assert [c["id"] for c in ok(await client.get(part(acme, "cards"), headers=buyer.headers))["items"]] == [saved["id"]]
    ok(await client.put(part(acme, f"contacts/{contact['id']}"), headers=buyer.headers,
                        json={**BILLING, "firstName": "Beatrice"}))
    assert ok(await client.get(part(acme, "contacts"), headers=admin))["items"][0]["firstName"] == "Beatrice"

    # the non-purchaser (neither): reads the contacts, changes none, sees no card
    assert ok(await client.get(part(acme, "contacts"), headers=looker.headers))["totalCount"] == 1
    for r in (await client.post(part(acme, "contacts"), headers=looker.headers, json=BILLING),
              await client.delete(part(acme, f"contacts/{contact['id']}"), headers=looker.headers),
              await client.get(part(acme, "cards"), headers=looker.headers),
              await client.delete(part(acme, f"cards/{saved['id']}"), headers=looker.headers)):
        assert_error(r, 403, "FORBIDDEN")

    # another company's parts, or no account at all: the same 403
    foreign = await client.get(part(other, "contacts"), headers=buyer.headers)
    missing = await client.get(part(other + 1000, "contacts"), headers=buyer.headers)
    assert_error(foreign, 403, "FORBIDDEN")
    assert (missing.status_code, missing.json()) == (foreign.status_code, foreign.json())
    assert_error(await client.post(part(other, "contacts"), headers=buyer.headers, json=BILLING), 403, "FORBIDDEN")

    # what was refused changed nothing
    assert ok(await client.get(part(acme, "contacts"), headers=admin))["totalCount"] == 1
    assert len(ok(await client.get(part(acme, "cards"), headers=admin))["items"]) == 1
    assert ok(await client.get(part(other, "contacts"), headers=admin))["totalCount"] == 1

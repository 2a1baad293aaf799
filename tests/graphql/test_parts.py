"""An account's parts over GraphQL: contacts, saved cards, attribute values, notes and segments, with every
refusal of their REST twins (/accounts/{accountId}/contacts|cards|attributes|notes|segments). The answers are
the REST answers (same wire shapes, compared with REST reads of the same items), a refusal is the REST status
and Kibo envelope in errors[0].extensions.response, and a refused write changes nothing. On SQLite and
PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.parts_support import SEGMENTS, define, part
from tests.api.support import ok, register
from tests.graphql.support import data, gql, refused, storefront

pytestmark = pytest.mark.usefixtures("seeded")

CONTACT = ("id accountId email firstName lastNameOrSurname label faxNumber types { name isPrimary } "
           "address { address1 cityOrTown postalOrZipCode countryCode } phoneNumbers { home mobile work } "
           "auditInfo { createDate updateDate }")
CARD = "id nameOnCard cardType expireMonth expireYear cardNumberPart contactId isDefaultPayMethod"
ATTRIBUTE = "fullyQualifiedName attributeDefinitionId values auditInfo { createDate updateDate }"
NOTE = "id content auditInfo { createDate updateDate }"
SEGMENT = "id code name description"
PAGE = "startIndex pageSize pageCount totalCount"
HOME = {"accountId": 0, "email": "nina@example.com", "firstName": "Nina", "lastNameOrSurname": "Neu", "label": "Home",
        "address": {"address1": "Hauptstr. 1", "cityOrTown": "Berlin", "postalOrZipCode": "10115", "countryCode": "DE"},
        "types": [{"name": "Billing", "isPrimary": True}]}
CARD_NUMBERS = ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444"]


def document(kind: str, root: str, args: dict[str, tuple[str, str]], selection: str = "") -> str:
    """`kind q($var: Type, ...) { root(arg: $var, ...) { selection } }`: `args` maps each argument to its
    variable and the variable's type, as a storefront writes its documents."""
    declared = ", ".join(f"${var}: {kind_of}" for var, kind_of in args.values())
    used = ", ".join(f"{arg}: ${var}" for arg, (var, _) in args.items())
    return f"{kind} q({declared}) {{ {root}({used}){f' {{ {selection} }}' if selection else ''} }}"


ACCOUNT = {"accountId": ("a", "Int!")}
PAGING = {"startIndex": ("s", "Int"), "pageSize": ("p", "Int"), "sortBy": ("sort", "String"), "filter": ("f", "String")}


@dataclass(frozen=True)
class Part:
    """Kibo's documents for one part: `customerAccount{name}s`, `customerAccount{name}`, `create...`,
    `update...`, `delete...`, with a variable for every argument."""

    name: str
    key: str
    key_type: str
    input: str
    input_type: str
    fields: str
    paged: bool = True

    def list(self) -> str:
        if not self.paged:
            return document("query", f"customerAccount{self.name}s", ACCOUNT, f"totalCount items {{ {self.fields} }}")
        return document("query", f"customerAccount{self.name}s", {**ACCOUNT, **PAGING},
                        f"{PAGE} items {{ {self.fields} }}")

    def get(self) -> str:
        return document("query", f"customerAccount{self.name}", {**ACCOUNT, **self._key()}, self.fields)

    def add(self) -> str:
        return document("mutation", f"createCustomerAccount{self.name}", {**ACCOUNT, **self._input()}, self.fields)

    def update(self) -> str:
        return document("mutation", f"updateCustomerAccount{self.name}", {**ACCOUNT, **self._key(), **self._input()},
                        self.fields)

    def delete(self) -> str:
        return document("mutation", f"deleteCustomerAccount{self.name}", {**ACCOUNT, **self._key()})

    def _key(self) -> dict[str, tuple[str, str]]:
        return {self.key: ("k", self.key_type)}

    def _input(self) -> dict[str, tuple[str, str]]:
        return {self.input: ("in", self.input_type)}


CONTACTS = Part("Contact", "contactId", "Int!", "customerContactInput", "CustomerContactInput", CONTACT)
CARDS = Part("Card", "cardId", "String!", "cardInput", "CardInput", CARD, paged=False)
ATTRIBUTES = Part("Attribute", "attributeFQN", "String!", "customerAttributeInput", "CustomerAttributeInput", ATTRIBUTE)
NOTES = Part("Note", "noteId", "Int!", "customerNoteInput", "CustomerNoteInput", NOTE)
SAVE_CONTACTS = document("mutation", "updateCustomerAccountContacts", {**ACCOUNT, **CONTACTS._input()},
                         f"{PAGE} items {{ {CONTACT} }}")
ACCOUNT_SEGMENTS = document("query", "customerAccountSegments", {**ACCOUNT, "filter": ("f", "String")},
                            f"{PAGE} items {{ {SEGMENT} }}")


def field(document: str) -> str:
    """The root field a document of this module asks for."""
    return document.split("{", 1)[1].split("(", 1)[0].strip()


async def run(client: httpx.AsyncClient, hdrs: dict[str, str], document: str, **variables: Any) -> Any:
    """The root field's value of an operation that succeeds."""
    return data(await gql(client, hdrs, document, variables))[field(document)]


async def refuse(client: httpx.AsyncClient, hdrs: dict[str, str], document: str, status: int, code: str,
                 **variables: Any) -> dict[str, Any]:
    return refused(await gql(client, hdrs, document, variables), status, code, field(document))


def same(answer: Any, rest: Any) -> None:
    """Every field GraphQL answered is the REST answer's (the REST answer may hold more)."""
    if isinstance(answer, dict):
        for k, v in answer.items():
            same(v, rest[k])
    elif isinstance(answer, list):
        assert len(answer) == len(rest)
        for a, r in zip(answer, rest, strict=True):
            same(a, r)
    else:
        assert answer == rest


async def rest_items(client: httpx.AsyncClient, admin: dict[str, str], account_id: int, name: str) -> list[Any]:
    items: list[Any] = ok(await client.get(part(account_id, name), headers=admin))["items"]
    return items


@dataclass
class Signed:
    """A registered shopper: the storefront's headers with the shopper's token, and the ticket's JWT."""

    account_id: int
    headers: dict[str, str]
    jwt: str


async def signed(client: httpx.AsyncClient, app_headers: dict[str, str], email: str) -> Signed:
    t = await register(client, app_headers, email)
    return Signed(t["customerAccount"]["id"], storefront(app_headers, t["accessToken"]), t["jwtAccessToken"])


@pytest.fixture
async def gina(client: httpx.AsyncClient, app_headers: dict[str, str]) -> Signed:
    return await signed(client, app_headers, "gina@example.com")


@pytest.fixture
async def mallory(client: httpx.AsyncClient, app_headers: dict[str, str]) -> Signed:
    return await signed(client, app_headers, "mallory@example.com")


# -- contacts --------------------------------------------------------------------------------------

async def test_the_shopper_adds_reads_changes_and_deletes_contacts(client: httpx.AsyncClient, gina: Signed,
                                                                   admin: dict[str, str]) -> None:
    a = gina.account_id
    added = await run(client, gina.headers, CONTACTS.add(), a=a, **{"in": HOME})
    assert added["accountId"] == a and added["id"] > 0 and added["address"]["countryCode"] == "DE"
    same(added, ok(await client.get(part(a, "contacts", added["id"]), headers=admin)))
    assert await run(client, gina.headers, CONTACTS.get(), a=a, k=added["id"]) == added
    # by the ticket's JWT alone, as Bearer
    assert await run(client, {"Authorization": f"Bearer {gina.jwt}"}, CONTACTS.get(), a=a, k=added["id"]) == added

    changed = await run(client, gina.headers, CONTACTS.update(), a=a, k=added["id"],
                        **{"in": {**HOME, "firstName": "Gina", "types": []}})
    assert changed["id"] == added["id"] and changed["firstName"] == "Gina" and changed["types"] == []
    # updateCustomerAccountContacts: one contact, added without an id, replaced with one
    saved = await run(client, gina.headers, SAVE_CONTACTS, a=a, **{"in": {**HOME, "label": "Office"}})
    assert saved["totalCount"] == 1 and saved["items"][0]["label"] == "Office" and saved["items"][0]["id"] != added["id"]
    office = saved["items"][0]["id"]
    replaced = await run(client, gina.headers, SAVE_CONTACTS, a=a, **{"in": {**HOME, "id": office, "label": "Work"}})
    assert [(c["id"], c["label"]) for c in replaced["items"]] == [(office, "Work")]

    page = await run(client, gina.headers, CONTACTS.list(), a=a, p=1, sort="id desc")
    assert (page["pageSize"], page["totalCount"], page["pageCount"]) == (1, 2, 2) and page["items"][0]["id"] == office
    filtered = await run(client, gina.headers, CONTACTS.list(), a=a, f="label eq 'Work'")
    assert [c["id"] for c in filtered["items"]] == [office]
    same((await run(client, gina.headers, CONTACTS.list(), a=a))["items"], await rest_items(client, admin, a, "contacts"))

    assert await run(client, gina.headers, CONTACTS.delete(), a=a, k=added["id"]) is True
    await refuse(client, gina.headers, CONTACTS.get(), 404, "ITEM_NOT_FOUND", a=a, k=added["id"])
    await refuse(client, gina.headers, CONTACTS.delete(), 404, "ITEM_NOT_FOUND", a=a, k=added["id"])
    assert [c["id"] for c in await rest_items(client, admin, a, "contacts")] == [office]


async def test_bad_contacts_are_400_and_change_nothing(client: httpx.AsyncClient, gina: Signed,
                                                       admin: dict[str, str]) -> None:
    a = gina.account_id
    kept = await run(client, gina.headers, CONTACTS.add(), a=a, **{"in": HOME})
    for bad, name in [({"firstName": "x" * 201}, "firstName"), ({"firstName": "bad\x00name"}, "firstName"),
                      ({"address": {"countryCode": "USA"}}, "address.countryCode"),
                      ({"types": [{"name": "Billing"}, {"name": "billing"}]}, "types")]:
        body = {**HOME, **bad}
        for document, args in [(CONTACTS.add(), {}), (CONTACTS.update(), {"k": kept["id"]}), (SAVE_CONTACTS, {})]:
            envelope = await refuse(client, gina.headers, document, 400, "MISSING_OR_INVALID_PARAMETER", a=a,
                                    **args, **{"in": body})
            assert name in envelope["message"], envelope
    # the path values as REST checks them
    bad_key = await refuse(client, gina.headers, CONTACTS.get(), 400, "MISSING_OR_INVALID_PARAMETER", a=a, k=0)
    assert bad_key["additionalErrorData"] == [{"name": "ParameterName", "value": "contactId"}]
    bad_account = await refuse(client, admin, CONTACTS.list(), 400, "MISSING_OR_INVALID_PARAMETER", a=-1)
    assert bad_account["additionalErrorData"] == [{"name": "ParameterName", "value": "accountId"}]
    await refuse(client, gina.headers, CONTACTS.list(), 400, "MISSING_OR_INVALID_PARAMETER", a=a, f="label eq")
    await refuse(client, gina.headers, CONTACTS.list(), 400, "MISSING_OR_INVALID_PARAMETER", a=a, p=5000)
    # an input of the wrong GraphQL type: GraphQL's own validation error, never a 500
    wrong = await gql(client, gina.headers, CONTACTS.add(), {"a": a, "in": {**HOME, "types": "Billing"}})
    assert wrong["data"] is None and "Unexpected" not in wrong["errors"][0]["message"]
    assert await rest_items(client, admin, a, "contacts") == [ok(await client.get(part(a, "contacts", kept["id"]),
                                                                                  headers=admin))]


# -- rights ----------------------------------------------------------------------------------------

async def test_only_the_shopper_or_an_admin_reaches_an_accounts_parts(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], gina: Signed,
        mallory: Signed) -> None:
    a = gina.account_id
    contact = await run(client, gina.headers, CONTACTS.add(), a=a, **{"in": HOME})
    card = await run(client, gina.headers, CARDS.add(), a=a, **{"in": _card(contact["id"])})
    await define(client, admin, "color")
    await run(client, gina.headers, ATTRIBUTES.add(), a=a, **{"in": {"fullyQualifiedName": "tenant~color",
                                                                      "values": ["blue"]}})
    note = await run(client, admin, NOTES.add(), a=a, **{"in": {"id": 0, "content": "called"}})
    before = {name: await rest_items(client, admin, a, name) for name in ("contacts", "cards", "attributes", "notes")}

    keys = {CONTACTS: contact["id"], CARDS: card["id"], ATTRIBUTES: "tenant~color", NOTES: note["id"]}
    inputs = {CONTACTS: HOME, CARDS: _card(contact["id"]), ATTRIBUTES: {"fullyQualifiedName": "tenant~color",
                                                                        "values": ["red"]},
              NOTES: {"id": 0, "content": "changed"}}
    operations: list[tuple[str, dict[str, Any]]] = [(ACCOUNT_SEGMENTS, {}), (SAVE_CONTACTS, {"in": HOME})]
    for p, key in keys.items():
        operations += [(p.list(), {}), (p.get(), {"k": key}), (p.add(), {"in": inputs[p]}),
                       (p.update(), {"k": key, "in": inputs[p]}), (p.delete(), {"k": key})]
    forbidden = [mallory.headers,                                   # another shopper
                 {"Authorization": f"Bearer {mallory.jwt}"},        # another shopper's ticket JWT as Bearer
                 storefront(app_headers)]                           # the storefront application alone
    for document, args in operations:
        for hdrs in forbidden:
            await refuse(client, hdrs, document, 403, "FORBIDDEN", a=a, **args)
        # an account that does not exist: forbidden too (no probing for accounts)
        await refuse(client, mallory.headers, document, 403, "FORBIDDEN", **{**args, "a": 999_999})
        # no application credential, or a credential that is not one
        await refuse(client, {"x-vol-user-claims": "undefined"}, document, 401, "UNAUTHORIZED", a=a, **args)
        await refuse(client, {"Authorization": "Bearer not-a-token"}, document, 401, "UNAUTHORIZED", a=a, **args)
    for name, items in before.items():
        assert await rest_items(client, admin, a, name) == items, name
    # notes are the merchant's: the account's own shopper may not read or write them either
    for document, args in operations:
        if "Note" in field(document):
            await refuse(client, gina.headers, document, 403, "FORBIDDEN", a=a, **args)
    # an admin application reaches every part
    assert (await run(client, admin, CONTACTS.get(), a=a, k=contact["id"]))["id"] == contact["id"]
    assert (await run(client, admin, CARDS.list(), a=a))["totalCount"] == 1


# -- cards -----------------------------------------------------------------------------------------

def _card(contact_id: int, **fields: Any) -> dict[str, Any]:
    return {"nameOnCard": "Gina Neu", "cardType": "VISA", "expireMonth": 4, "expireYear": 2030,
            "cardNumberPart": "************1111", "contactId": contact_id, "isDefaultPayMethod": False, **fields}


async def test_the_shopper_saves_reads_changes_and_deletes_cards(client: httpx.AsyncClient, gina: Signed,
                                                                 admin: dict[str, str]) -> None:
    a = gina.account_id
    contact = (await run(client, gina.headers, CONTACTS.add(), a=a, **{"in": HOME}))["id"]
    first = await run(client, gina.headers, CARDS.add(), a=a, **{"in": _card(contact, isDefaultPayMethod=True)})
    assert first["contactId"] == contact and first["isDefaultPayMethod"] is True and first["id"]
    same(first, ok(await client.get(part(a, "cards", first["id"]), headers=admin)))
    second = await run(client, gina.headers, CARDS.add(), a=a,
                       **{"in": _card(contact, cardType="MC", isDefaultPayMethod=True)})
    listed = await run(client, gina.headers, CARDS.list(), a=a)
    assert listed["totalCount"] == 2 and [c["id"] for c in listed["items"]] == [first["id"], second["id"]]
    assert [c["isDefaultPayMethod"] for c in listed["items"]] == [False, True]  # one default, as on REST
    same(listed["items"], await rest_items(client, admin, a, "cards"))

    changed = await run(client, gina.headers, CARDS.update(), a=a, k=first["id"],
                        **{"in": _card(contact, expireYear=2031)})
    assert changed["id"] == first["id"] and changed["expireYear"] == 2031
    assert await run(client, gina.headers, CARDS.get(), a=a, k=first["id"]) == changed
    # a contact of another account, or none: the REST 400
    await refuse(client, gina.headers, CARDS.add(), 400, "MISSING_OR_INVALID_PARAMETER", a=a,
                 **{"in": _card(999_999)})
    assert await run(client, gina.headers, CARDS.delete(), a=a, k=first["id"]) is True
    await refuse(client, gina.headers, CARDS.get(), 404, "ITEM_NOT_FOUND", a=a, k=first["id"])
    await refuse(client, gina.headers, CARDS.update(), 404, "ITEM_NOT_FOUND", a=a, k=first["id"],
                 **{"in": _card(contact)})
    assert [c["id"] for c in await rest_items(client, admin, a, "cards")] == [second["id"]]


@pytest.mark.parametrize("number", CARD_NUMBERS)
async def test_a_full_card_number_in_any_card_field_is_the_rest_400_and_never_stored(
        client: httpx.AsyncClient, gina: Signed, admin: dict[str, str], number: str) -> None:
    a = gina.account_id
    contact = (await run(client, gina.headers, CONTACTS.add(), a=a, **{"in": HOME}))["id"]
    kept = await run(client, gina.headers, CARDS.add(), a=a, **{"in": _card(contact)})
    attempts: list[tuple[str, dict[str, Any]]] = []
    for name in ("nameOnCard", "cardType", "cardNumberPart", "id"):
        body = _card(contact, **{name: number})
        attempts += [(CARDS.add(), {"in": body}), (CARDS.update(), {"k": kept["id"], "in": body})]
    # the card id argument
    attempts += [(CARDS.get(), {"k": number}), (CARDS.update(), {"k": number, "in": _card(contact)}),
                 (CARDS.delete(), {"k": number})]
    for document, args in attempts:
        answer = await gql(client, gina.headers, document, {"a": a, **args})
        refused(answer, 400, "MISSING_OR_INVALID_PARAMETER", field(document))
        assert number not in str(answer) and number.replace(" ", "").replace("-", "") not in str(answer)
    assert await rest_items(client, admin, a, "cards") == [ok(await client.get(part(a, "cards", kept["id"]),
                                                                               headers=admin))]


async def test_a_card_number_in_a_number_field_is_refused_without_repeating_it(
        client: httpx.AsyncClient, gina: Signed, admin: dict[str, str]) -> None:
    """contactId, expireMonth and expireYear are GraphQL Ints: a card number there cannot reach the service (it
    is no 32-bit integer), and GraphQL's refusal of the value must not repeat it."""
    a = gina.account_id
    contact = (await run(client, gina.headers, CONTACTS.add(), a=a, **{"in": HOME}))["id"]
    for name in ("contactId", "expireMonth", "expireYear"):
        answer = await gql(client, gina.headers, CARDS.add(), {"a": a, "in": _card(contact, **{name: 4111111111111111})})
        assert answer["data"] is None and "4111111111111111" not in str(answer)
        (error,) = answer["errors"]
        assert error["extensions"]["response"]["status"] == 400
        body = error["extensions"]["response"]["body"]
        assert body["errorCode"] == "MISSING_OR_INVALID_PARAMETER" and "card number" in body["message"]
        assert body["additionalErrorData"] == [{"name": "ParameterName", "value": "$in"}]
    # as a literal in the document: refused the same way, and the document is not kept in the cache
    literal = (f"mutation {{ createCustomerAccountCard(accountId: {a}, cardInput: {{contactId: {contact}, "
               f"expireYear: 4111111111111111}}) {{ id }} }}")
    answer = await gql(client, gina.headers, literal, status=400)
    assert answer["errors"][0]["extensions"]["response"]["status"] == 400 and "4111111111111111" not in str(answer["errors"])
    assert all("4111" not in text for text in client._transport.app.state.graphql_documents._cache)  # type: ignore[attr-defined]
    # a number that is no card number is GraphQL's own error, as before
    other = await gql(client, gina.headers, CARDS.add(), {"a": a, "in": _card(contact, expireYear=2**40)})
    assert "32-bit" in other["errors"][0]["message"]
    assert await rest_items(client, admin, a, "cards") == []


# -- attributes, notes, segments -------------------------------------------------------------------

async def test_attribute_values_as_on_rest(client: httpx.AsyncClient, gina: Signed, admin: dict[str, str]) -> None:
    a = gina.account_id
    color = await define(client, admin, "color")
    await define(client, admin, "tier", valueType="AdminEntered")
    added = await run(client, gina.headers, ATTRIBUTES.add(), a=a,
                      **{"in": {"fullyQualifiedName": "tenant~color", "values": ["blue"]}})
    assert added["attributeDefinitionId"] == color["id"] and added["values"] == ["blue"]
    same(added, ok(await client.get(part(a, "attributes", "tenant~color"), headers=admin)))
    await refuse(client, gina.headers, ATTRIBUTES.add(), 409, "VALIDATION_CONFLICT", a=a,
                 **{"in": {"fullyQualifiedName": "TENANT~COLOR", "values": ["red"]}})
    # a value the shopper may not set, an unknown attribute
    await refuse(client, gina.headers, ATTRIBUTES.add(), 403, "FORBIDDEN", a=a,
                 **{"in": {"fullyQualifiedName": "tenant~tier", "values": ["gold"]}})
    await refuse(client, gina.headers, ATTRIBUTES.add(), 400, "MISSING_OR_INVALID_PARAMETER", a=a,
                 **{"in": {"fullyQualifiedName": "tenant~nothing", "values": ["x"]}})
    await run(client, admin, ATTRIBUTES.add(), a=a, **{"in": {"fullyQualifiedName": "tenant~tier", "values": ["gold"]}})
    await refuse(client, gina.headers, ATTRIBUTES.get(), 403, "FORBIDDEN", a=a, k="tenant~tier")
    changed = await run(client, gina.headers, ATTRIBUTES.update(), a=a, k="tenant~color", **{"in": {"values": ["red"]}})
    assert changed["values"] == ["red"] and changed["fullyQualifiedName"] == "tenant~color"
    assert await run(client, gina.headers, ATTRIBUTES.get(), a=a, k="tenant~color") == changed
    mine = await run(client, gina.headers, ATTRIBUTES.list(), a=a)
    assert [x["fullyQualifiedName"] for x in mine["items"]] == ["tenant~color"]  # the admin's value is not shown
    assert (await run(client, admin, ATTRIBUTES.list(), a=a, sort="fullyQualifiedName desc"))["totalCount"] == 2
    await refuse(client, gina.headers, ATTRIBUTES.get(), 400, "MISSING_OR_INVALID_PARAMETER", a=a, k="")
    assert await run(client, gina.headers, ATTRIBUTES.delete(), a=a, k="tenant~color") is True
    await refuse(client, gina.headers, ATTRIBUTES.delete(), 404, "ITEM_NOT_FOUND", a=a, k="tenant~color")
    assert [x["fullyQualifiedName"] for x in await rest_items(client, admin, a, "attributes")] == ["tenant~tier"]


async def test_an_admin_manages_notes(client: httpx.AsyncClient, gina: Signed, admin: dict[str, str]) -> None:
    a = gina.account_id
    note = await run(client, admin, NOTES.add(), a=a, **{"in": {"id": 0, "content": "asked for a refund"}})
    assert note["content"] == "asked for a refund" and note["id"] > 0
    same(note, ok(await client.get(part(a, "notes", note["id"]), headers=admin)))
    changed = await run(client, admin, NOTES.update(), a=a, k=note["id"], **{"in": {"id": 0, "content": "refunded"}})
    assert changed["id"] == note["id"] and changed["content"] == "refunded"
    assert await run(client, admin, NOTES.get(), a=a, k=note["id"]) == changed
    await refuse(client, admin, NOTES.add(), 400, "MISSING_OR_INVALID_PARAMETER", a=a,
                 **{"in": {"id": 0, "content": "x" * 20_001}})
    listed = await run(client, admin, NOTES.list(), a=a, f="content eq 'refunded'")
    assert listed["totalCount"] == 1 and listed["items"] == [changed]
    assert await run(client, admin, NOTES.delete(), a=a, k=note["id"]) is True
    await refuse(client, admin, NOTES.get(), 404, "ITEM_NOT_FOUND", a=a, k=note["id"])
    assert await rest_items(client, admin, a, "notes") == []


async def test_the_shopper_reads_its_segments(client: httpx.AsyncClient, gina: Signed, mallory: Signed,
                                              admin: dict[str, str]) -> None:
    a = gina.account_id
    vip = ok(await client.post(SEGMENTS, headers=admin, json={"code": "VIP", "name": "Best customers"}))
    gold = ok(await client.post(SEGMENTS, headers=admin, json={"code": "gold", "name": "Gold"}))
    for s in (vip, gold):
        assert (await client.post(f"{SEGMENTS}/{s['id']}/accounts", headers=admin, json=[a])).status_code == 204
    mine = await run(client, gina.headers, ACCOUNT_SEGMENTS, a=a)
    assert mine["totalCount"] == 2 and [s["code"] for s in mine["items"]] == ["VIP", "gold"]
    same(mine["items"], await rest_items(client, admin, a, "segments"))
    assert [s["id"] for s in (await run(client, gina.headers, ACCOUNT_SEGMENTS, a=a, f="code eq 'GOLD'"))["items"]] \
        == [gold["id"]]
    await refuse(client, mallory.headers, ACCOUNT_SEGMENTS, 403, "FORBIDDEN", a=a)
    assert (await run(client, mallory.headers, ACCOUNT_SEGMENTS, a=mallory.account_id))["items"] == []


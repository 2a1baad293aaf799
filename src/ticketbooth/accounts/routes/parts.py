"""An account's contacts, notes, saved cards, attribute values and segments:
/api/commerce/customer/accounts/{accountId}/contacts|notes|cards|attributes|segments.

The resources are named (CONTACTS, NOTES, CARDS, ATTRIBUTES, SEGMENTS): the GraphQL resolvers of the
same parts (accounts/graphql/parts.py) are bound from them. `parts_of(...)` turns the parts of a CustomerAccount
body (Add-Account-And-Login, add account) into `services.parts.AccountParts` for `services.parts.add_parts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.accounts.parts import attributes, cards, contacts, notes, segments
from ticketbooth.accounts.parts.attributes import AttributeValues
from ticketbooth.accounts.parts.service import AccountParts, SegmentChoice
from ticketbooth.accounts.routes.customer_definitions import SEGMENT_FIELDS
from ticketbooth.core import Core
from ticketbooth.domain.cards import CardInput
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.filters import FilterField
from ticketbooth.domain.models import Address, ContactDetails, ContactType, Phones
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import (
    ADDRESS_FIELDS,
    CardIn,
    CustomerAttributeIn,
    CustomerContactIn,
    CustomerNoteIn,
    CustomerSegmentIn,
)
from ticketbooth.kibo.context import Context, core_of, item_as, read_array, resolve
from ticketbooth.kibo.lists import INTEGER, TEXT, fields
from ticketbooth.kibo.resource_routes import ACCOUNT, AccountId, Op, PartId, Resource, register
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/commerce/customer/accounts/{accountId}", tags=["CustomerAccount parts"])

AttributeFqn = Annotated[str, Path(min_length=1, max_length=300)]
CardId = Annotated[str, Path(min_length=1, max_length=300)]
"""Checked by the service (a card number in it is refused; an id of another shape names no card)."""

CONTACT_FIELDS = fields({
    "id": FilterField("id", INTEGER), "email": FilterField("email", TEXT),
    "firstName": FilterField("first_name", TEXT), "middleNameOrInitial": FilterField("middle_name_or_initial", TEXT),
    "lastNameOrSurname": FilterField("last_name_or_surname", TEXT),
    "companyOrOrganization": FilterField("company_or_organization", TEXT), "label": FilterField("label", TEXT),
    "faxNumber": FilterField("fax_number", TEXT),
})
NOTE_FIELDS = fields({"id": FilterField("id", INTEGER), "content": FilterField("content", TEXT)})
ATTRIBUTE_FIELDS = fields({
    "fullyQualifiedName": FilterField("fqn", TEXT), "attributeFQN": FilterField("fqn", TEXT),
    "attributeDefinitionId": FilterField("definition_id", INTEGER),
})


# -- bodies -> domain ------------------------------------------------------------------------------

def contact_details(b: CustomerContactIn) -> ContactDetails:
    a, p = b.address, b.phoneNumbers
    return ContactDetails(
        email=b.email, first_name=b.firstName, middle_name_or_initial=b.middleNameOrInitial,
        last_name_or_surname=b.lastNameOrSurname, company_or_organization=b.companyOrOrganization,
        fax_number=b.faxNumber, label=b.label,
        address=None if a is None else Address(**{attr: getattr(a, kibo) for kibo, attr in ADDRESS_FIELDS}),
        phone_numbers=None if p is None else Phones(home=p.home, mobile=p.mobile, work=p.work),
        types=tuple(ContactType(name=t.name or "", is_primary=bool(t.isPrimary)) for t in b.types or ()),
    )


def card_input(b: CardIn) -> CardInput:
    """The card as sent; every other field of the body too, to be searched for card numbers."""
    return CardInput(id=b.id, name_on_card=b.nameOnCard, card_type=b.cardType, expire_month=b.expireMonth,
                     expire_year=b.expireYear, card_number_part=b.cardNumberPart, contact_id=b.contactId,
                     is_default_pay_method=b.isDefaultPayMethod, others=dict(b.model_extra or {}))


def _attribute_values(b: CustomerAttributeIn) -> AttributeValues:
    return AttributeValues(fqn=b.fullyQualifiedName, values=b.values)


def _segment_choice(item: Any, name: str) -> SegmentChoice:
    if isinstance(item, int) and not isinstance(item, bool):
        item = {"id": item}  # checked as CustomerSegmentIn.id is: a segment id is a 32-bit number
    if isinstance(item, str):
        return SegmentChoice(code=item)
    segment = item_as(CustomerSegmentIn, item, name)
    if not segment.id and not (segment.code and segment.code.strip()):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} needs an id or a code")
    return SegmentChoice(id=segment.id or None, code=segment.code)


def parts_of(contacts_raw: Sequence[Any] | None, notes_raw: Sequence[Any] | None,
             attributes_raw: Sequence[Any] | None, segments_raw: Sequence[Any] | None) -> AccountParts:
    """The parts of a CustomerAccount body (its contacts, notes, attributes and segments lists, with
    keys lower-cased as `read_json` leaves them). Notes may be CustomerNote objects or strings;
    segments CustomerCustomerSegment objects (id or code), ids or codes."""
    note_texts: list[object] = []
    for i, item in enumerate(notes_raw or ()):
        note_texts.append(item if isinstance(item, str) else item_as(CustomerNoteIn, item, f"notes[{i}]").content)
    return AccountParts(
        contacts=[contact_details(item_as(CustomerContactIn, c, f"contacts[{i}]")) for i, c in enumerate(contacts_raw or ())],
        notes=note_texts,
        attributes=[_attribute_values(item_as(CustomerAttributeIn, a, f"attributes[{i}]"))
                    for i, a in enumerate(attributes_raw or ())],
        segments=[_segment_choice(s, f"segments[{i}]") for i, s in enumerate(segments_raw or ())],
    )


# -- the routes --------------------------------------------------------------------------------------

CONTACTS: Resource[CustomerContactIn] = Resource(
    path="/contacts", scope=ACCOUNT, key="contactId", key_type=PartId, vocabulary=CONTACT_FIELDS, shape=wire.contact,
    body=CustomerContactIn, args=lambda b: (contact_details(b),),
    list=Op("list_contacts", "An account's contacts", contacts.list_contacts),
    add=Op("add_contact", "Add a contact to an account", contacts.add_contact),
    get=Op("get_contact", "One contact of an account", contacts.get_contact),
    update=Op("update_contact", "Replace a contact of an account", contacts.update_contact),
    delete=Op("delete_contact", "Delete a contact of an account", contacts.delete_contact),
)
register(router, CONTACTS)


@router.put("/contacts", summary="Add or replace several contacts of an account (all or none)")
async def save_contacts(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    items = [item_as(CustomerContactIn, item, f"[{i}]") for i, item in enumerate(await read_array(request, "contacts"))]
    return respond(await save_contacts_from(core_of(request), ctx, accountId, items), responseFields)


async def save_contacts_from(core: Core, ctx: Context, account_id: int, items: Sequence[CustomerContactIn]) -> dict[str, Any]:
    """Add (no id) or replace (an id) each contact, all or none: Kibo's CustomerContactCollection of them
    (the REST PUT of the collection and GraphQL's updateCustomerAccountContacts)."""
    saved = await contacts.save_contacts(core, ctx.caller, ctx.shopper, account_id,
                                         [(b.id or None, contact_details(b)) for b in items])
    return wire.collection([wire.contact(c) for c in saved], 0, len(saved), len(saved))


NOTES: Resource[CustomerNoteIn] = Resource(
    path="/notes", scope=ACCOUNT, key="noteId", key_type=PartId, vocabulary=NOTE_FIELDS, shape=wire.note,
    body=CustomerNoteIn, args=lambda b: (b.content,),
    list=Op("list_notes", "An account's merchant notes", notes.list_notes),
    add=Op("add_note", "Add a merchant note to an account", notes.add_note),
    get=Op("get_note", "One merchant note of an account", notes.get_note),
    update=Op("update_note", "Change a merchant note of an account", notes.update_note),
    delete=Op("delete_note", "Delete a merchant note of an account", notes.delete_note),
)
register(router, NOTES)

CARDS: Resource[CardIn] = Resource(
    path="/cards", scope=ACCOUNT, key="cardId", key_type=CardId, shape=wire.card, paged=False,
    body=CardIn, args=lambda b: (card_input(b),),
    list=Op("list_cards", "An account's saved cards", cards.list_cards),
    add=Op("add_card", "Save a card on an account", cards.add_card),
    get=Op("get_card", "One saved card of an account", cards.get_card),
    update=Op("update_card", "Change a saved card of an account", cards.update_card),
    delete=Op("delete_card", "Delete a saved card of an account", cards.delete_card),
)
register(router, CARDS)

ATTRIBUTES: Resource[CustomerAttributeIn] = Resource(
    path="/attributes", scope=ACCOUNT, key="attributeFQN", key_type=AttributeFqn, vocabulary=ATTRIBUTE_FIELDS,
    shape=wire.attribute, body=CustomerAttributeIn, args=lambda b: (_attribute_values(b),),
    list=Op("list_attributes", "An account's attribute values", attributes.list_account_attributes),
    add=Op("add_attribute", "Give an account values of an attribute", attributes.add_account_attribute),
    get=Op("get_attribute", "An account's values of one attribute", attributes.get_account_attribute),
    update=Op("set_attribute", "Set an account's values of one attribute", attributes.set_account_attribute),
    delete=Op("delete_attribute", "Remove an account's values of one attribute", attributes.delete_account_attribute),
)
register(router, ATTRIBUTES)

SEGMENTS: Resource[Any] = Resource(
    path="/segments", scope=ACCOUNT, key="segmentId", key_type=PartId, vocabulary=SEGMENT_FIELDS, shape=wire.segment,
    list=Op("list_segments", "The segments an account is in", segments.account_segments),
)
register(router, SEGMENTS)

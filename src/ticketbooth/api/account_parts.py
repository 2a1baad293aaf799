"""An account's contacts, notes, attribute values and segments:
/api/commerce/customer/accounts/{accountId}/contacts|notes|attributes|segments.

`parts_of(...)` turns the parts of a CustomerAccount body (Add-Account-And-Login, add account) into
`services.parts.AccountParts` for `services.parts.add_parts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ticketbooth.api import wire
from ticketbooth.api.bodies import CustomerAttributeIn, CustomerContactIn, CustomerNoteIn, CustomerSegmentIn
from ticketbooth.api.context import core_of, item_as, read_array, read_json, resolve
from ticketbooth.api.customer_definitions import SEGMENT_FIELDS
from ticketbooth.api.lists import INTEGER, TEXT, PagingParams, collection, fields
from ticketbooth.api.wire import KiboJSON, respond
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.filters import FilterField
from ticketbooth.domain.models import Address, ContactDetails, ContactType, Phones
from ticketbooth.services import attributes, contacts, notes, segments
from ticketbooth.services.attributes import AttributeValues
from ticketbooth.services.parts import AccountParts, SegmentChoice

router = APIRouter(prefix="/api/commerce/customer/accounts/{accountId}", tags=["CustomerAccount parts"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PartId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AttributeFqn = Annotated[str, Path(min_length=1, max_length=300)]

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
        address=None if a is None else Address(
            address1=a.address1, address2=a.address2, address3=a.address3, address4=a.address4,
            city_or_town=a.cityOrTown, state_or_province=a.stateOrProvince, postal_or_zip_code=a.postalOrZipCode,
            country_code=a.countryCode, address_type=a.addressType, is_validated=a.isValidated,
        ),
        phone_numbers=None if p is None else Phones(home=p.home, mobile=p.mobile, work=p.work),
        types=tuple(ContactType(name=t.name or "", is_primary=bool(t.isPrimary)) for t in b.types or ()),
    )


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


# -- contacts --------------------------------------------------------------------------------------

@router.get("/contacts", summary="An account's contacts")
async def list_contacts(
    request: Request, accountId: AccountId, paging: PagingParams, responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    page = await contacts.list_contacts(core_of(request), ctx.caller, ctx.shopper, accountId, paging.query(CONTACT_FIELDS))
    return respond(collection(page, wire.contact), responseFields)


@router.post("/contacts", summary="Add a contact to an account")
async def add_contact(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, CustomerContactIn)
    contact = await contacts.add_contact(core_of(request), ctx.caller, ctx.shopper, accountId, contact_details(body))
    return respond(wire.contact(contact), responseFields)


@router.put("/contacts", summary="Add or replace several contacts of an account (all or none)")
async def save_contacts(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    items = [item_as(CustomerContactIn, item, f"[{i}]") for i, item in enumerate(await read_array(request, "contacts"))]
    saved = await contacts.save_contacts(core_of(request), ctx.caller, ctx.shopper, accountId,
                                         [(b.id or None, contact_details(b)) for b in items])
    return respond(wire.collection([wire.contact(c) for c in saved], 0, len(saved), len(saved)), responseFields)


@router.get("/contacts/{contactId}", summary="One contact of an account")
async def get_contact(request: Request, accountId: AccountId, contactId: PartId,
                      responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    contact = await contacts.get_contact(core_of(request), ctx.caller, ctx.shopper, accountId, contactId)
    return respond(wire.contact(contact), responseFields)


@router.put("/contacts/{contactId}", summary="Replace a contact of an account")
async def update_contact(request: Request, accountId: AccountId, contactId: PartId,
                         responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, CustomerContactIn)
    contact = await contacts.update_contact(core_of(request), ctx.caller, ctx.shopper, accountId, contactId,
                                            contact_details(body))
    return respond(wire.contact(contact), responseFields)


@router.delete("/contacts/{contactId}", status_code=204, summary="Delete a contact of an account")
async def delete_contact(request: Request, accountId: AccountId, contactId: PartId) -> Response:
    ctx = await resolve(request, shopper="optional")
    await contacts.delete_contact(core_of(request), ctx.caller, ctx.shopper, accountId, contactId)
    return Response(status_code=204)


# -- notes ---------------------------------------------------------------------------------------

@router.get("/notes", summary="An account's merchant notes")
async def list_notes(
    request: Request, accountId: AccountId, paging: PagingParams, responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    page = await notes.list_notes(core_of(request), ctx.caller, ctx.shopper, accountId, paging.query(NOTE_FIELDS))
    return respond(collection(page, wire.note), responseFields)


@router.post("/notes", summary="Add a merchant note to an account")
async def add_note(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, CustomerNoteIn)
    note = await notes.add_note(core_of(request), ctx.caller, ctx.shopper, accountId, body.content)
    return respond(wire.note(note), responseFields)


@router.get("/notes/{noteId}", summary="One merchant note of an account")
async def get_note(request: Request, accountId: AccountId, noteId: PartId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    note = await notes.get_note(core_of(request), ctx.caller, ctx.shopper, accountId, noteId)
    return respond(wire.note(note), responseFields)


@router.put("/notes/{noteId}", summary="Change a merchant note of an account")
async def update_note(request: Request, accountId: AccountId, noteId: PartId,
                      responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, CustomerNoteIn)
    note = await notes.update_note(core_of(request), ctx.caller, ctx.shopper, accountId, noteId, body.content)
    return respond(wire.note(note), responseFields)


@router.delete("/notes/{noteId}", status_code=204, summary="Delete a merchant note of an account")
async def delete_note(request: Request, accountId: AccountId, noteId: PartId) -> Response:
    ctx = await resolve(request, shopper="optional")
    await notes.delete_note(core_of(request), ctx.caller, ctx.shopper, accountId, noteId)
    return Response(status_code=204)


# -- attributes ------------------------------------------------------------------------------------

@router.get("/attributes", summary="An account's attribute values")
async def list_attributes(
    request: Request, accountId: AccountId, paging: PagingParams, responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    page = await attributes.list_account_attributes(core_of(request), ctx.caller, ctx.shopper, accountId,
                                                    paging.query(ATTRIBUTE_FIELDS))
    return respond(collection(page, wire.attribute), responseFields)


@router.post("/attributes", summary="Give an account values of an attribute")
async def add_attribute(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, CustomerAttributeIn)
    saved = await attributes.add_account_attribute(core_of(request), ctx.caller, ctx.shopper, accountId,
                                                   _attribute_values(body))
    return respond(wire.attribute(saved), responseFields)


@router.get("/attributes/{attributeFQN}", summary="An account's values of one attribute")
async def get_attribute(request: Request, accountId: AccountId, attributeFQN: AttributeFqn,
                        responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await attributes.get_account_attribute(core_of(request), ctx.caller, ctx.shopper, accountId, attributeFQN)
    return respond(wire.attribute(found), responseFields)


@router.put("/attributes/{attributeFQN}", summary="Set an account's values of one attribute")
async def set_attribute(request: Request, accountId: AccountId, attributeFQN: AttributeFqn,
                        responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    body = await read_json(request, CustomerAttributeIn)
    saved = await attributes.set_account_attribute(core_of(request), ctx.caller, ctx.shopper, accountId, attributeFQN,
                                                   _attribute_values(body))
    return respond(wire.attribute(saved), responseFields)


@router.delete("/attributes/{attributeFQN}", status_code=204, summary="Remove an account's values of one attribute")
async def delete_attribute(request: Request, accountId: AccountId, attributeFQN: AttributeFqn) -> Response:
    ctx = await resolve(request, shopper="optional")
    await attributes.delete_account_attribute(core_of(request), ctx.caller, ctx.shopper, accountId, attributeFQN)
    return Response(status_code=204)


# -- segments ------------------------------------------------------------------------------------

@router.get("/segments", summary="The segments an account is in")
async def list_segments(
    request: Request, accountId: AccountId, paging: PagingParams, responseFields: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    page = await segments.account_segments(core_of(request), ctx.caller, ctx.shopper, accountId, paging.query(SEGMENT_FIELDS))
    return respond(collection(page, wire.segment), responseFields)

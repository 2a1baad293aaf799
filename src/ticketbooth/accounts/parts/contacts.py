"""An account's contacts (its address book): read and changed by the account's own shopper or an
admin application.

One rule ties the contacts of an account together: for each contact type (Billing, Shipping, ...)
at most one contact is the primary one. Making a contact primary for a type clears the flag on the
account's other contacts, in the same transaction, with the account row locked so that two
requests cannot both win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ticketbooth.accounts.access import actor, record_impersonated_change
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.b2b.access import customer_account_for
from ticketbooth.b2b.rules import MANAGE_CONTACTS
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Address, Contact, ContactDetails, ContactType, Page, Phones, Shopper
from ticketbooth.domain.text import clean_email, clean_text
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events

MAX_CONTACTS_PER_ACCOUNT = 200
MAX_CONTACTS_PER_REQUEST = 50
MAX_TYPES = 10
MAX_NAME = 200
MAX_SHORT = 50
MAX_POSTAL = 20
MAX_CITY = 100

ContactWrite = tuple[int | None, ContactDetails]
"""A contact to store: (the id of the account's contact it replaces, or None to add it; its details)."""


# -- checking what a client sends -----------------------------------------------------------------

# the text fields of a contact, its address and its phone numbers: field -> (Kibo's name, longest length)
_CONTACT_TEXTS = {
    "first_name": ("firstName", MAX_NAME), "middle_name_or_initial": ("middleNameOrInitial", MAX_NAME),
    "last_name_or_surname": ("lastNameOrSurname", MAX_NAME), "company_or_organization": ("companyOrOrganization", MAX_NAME),
    "fax_number": ("faxNumber", MAX_SHORT), "label": ("label", MAX_NAME),
}
_ADDRESS_TEXTS = {
    "address1": ("address1", MAX_NAME), "address2": ("address2", MAX_NAME), "address3": ("address3", MAX_NAME),
    "address4": ("address4", MAX_NAME), "city_or_town": ("cityOrTown", MAX_CITY),
    "state_or_province": ("stateOrProvince", MAX_CITY), "postal_or_zip_code": ("postalOrZipCode", MAX_POSTAL),
    "address_type": ("addressType", MAX_SHORT),
}
_PHONE_TEXTS = {"home": ("home", MAX_SHORT), "mobile": ("mobile", MAX_SHORT), "work": ("work", MAX_SHORT)}


def _clean_texts(item: object, texts: Mapping[str, tuple[str, int]], prefix: str) -> dict[str, Any]:
    """The fields `texts` of `item` trimmed and checked, in their order; an error names the field's
    Kibo name after `prefix`."""
    return {field: clean_text(getattr(item, field), f"{prefix}{name}", limit) for field, (name, limit) in texts.items()}


def _clean_address(a: Address | None, prefix: str) -> Address | None:
    if a is None:
        return None
    country = clean_text(a.country_code, f"{prefix}address.countryCode", 2)
    if country is not None:
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise InvalidParameter(f"{prefix}address.countryCode", "Missing or invalid parameter: address.countryCode "
                                   "must be a two-letter ISO 3166 country code", country)
        country = country.upper()
    cleaned = replace(a, **_clean_texts(a, _ADDRESS_TEXTS, f"{prefix}address."), country_code=country)
    return None if cleaned == Address() else cleaned


def _clean_phones(p: Phones | None, prefix: str) -> Phones | None:
    if p is None:
        return None
    cleaned = replace(p, **_clean_texts(p, _PHONE_TEXTS, f"{prefix}phoneNumbers."))
    return None if cleaned == Phones() else cleaned


def _clean_types(types: Sequence[ContactType], prefix: str) -> tuple[ContactType, ...]:
    name = f"{prefix}types"
    if len(types) > MAX_TYPES:
        raise InvalidParameter(name, f"Missing or invalid parameter: types may hold at most {MAX_TYPES} entries")
    seen: set[str] = set()
    cleaned = []
    for i, ct in enumerate(types):
        type_name = clean_text(ct.name, f"{name}[{i}].name", MAX_SHORT, required=True)
        assert type_name is not None
        if type_name.lower() in seen:
            raise InvalidParameter(name, f"Missing or invalid parameter: types names {type_name} twice", type_name)
        seen.add(type_name.lower())
        cleaned.append(ContactType(name=type_name, is_primary=bool(ct.is_primary)))
    return tuple(cleaned)


def clean_contact(d: ContactDetails, prefix: str = "") -> ContactDetails:
    """The details trimmed and checked; InvalidParameter names the first bad field (after `prefix`)."""
    return ContactDetails(
        email=clean_email(d.email, required=False, name=f"{prefix}email"),
        **_clean_texts(d, _CONTACT_TEXTS, prefix),
        address=_clean_address(d.address, prefix),
        phone_numbers=_clean_phones(d.phone_numbers, prefix),
        types=_clean_types(d.types, prefix),
    )


# -- the primary rule ------------------------------------------------------------------------------

def _primary_types(d: ContactDetails) -> set[str]:
    return {ct.name.lower() for ct in d.types if ct.is_primary}


def _without_primary(d: ContactDetails, type_keys: set[str]) -> ContactDetails:
    return replace(d, types=tuple(
        ContactType(ct.name, False) if ct.name.lower() in type_keys else ct for ct in d.types))


async def write_contacts(tx: AccountsPersistence, account_id: int, writes: Sequence[ContactWrite], by: str,
                         now: datetime) -> list[Contact]:
    """Store cleaned contacts of an account inside the caller's transaction `tx`, keeping one primary
    contact per type: a write that makes its contact primary for a type clears the flag on the
    account's other contacts. NotFound when a replaced id is not the account's contact."""
    if not await tx.lock_account(account_id):
        raise NotFound(f"Item not found: account {account_id} does not exist")
    claimed: dict[str, int] = {}
    for i, (_, details) in enumerate(writes):
        for key in _primary_types(details):
            if key in claimed:
                raise InvalidParameter("types", f"Missing or invalid parameter: contacts {claimed[key]} and {i} are both "
                                       f"primary for the type {key}; at most one contact per type may be primary")
            claimed[key] = i
    ids = [cid for cid, _ in writes if cid is not None]
    if len(ids) != len(set(ids)):
        raise InvalidParameter("id", "Missing or invalid parameter: the same contact id is given twice")
    existing = {c.id: c for c in await tx.contacts_of(account_id)}
    missing = [cid for cid in ids if cid not in existing]
    if missing:
        raise NotFound(f"Item not found: contact {missing[0]} of account {account_id} does not exist")
    added = sum(1 for cid, _ in writes if cid is None)
    if len(existing) + added > MAX_CONTACTS_PER_ACCOUNT:
        raise InvalidParameter("contacts", f"Missing or invalid parameter: an account may have at most "
                               f"{MAX_CONTACTS_PER_ACCOUNT} contacts")
    taken = set(claimed)
    if taken:
        written = set(ids)
        for contact in existing.values():
            if contact.id not in written and _primary_types(contact.details) & taken:
                await tx.update_contact(account_id, contact.id, _without_primary(contact.details, taken), now, by)
    saved: list[Contact] = []
    for cid, details in writes:
        if cid is None:
            saved.append(await tx.insert_contact(account_id, details, now, by))
        else:
            updated = await tx.update_contact(account_id, cid, details, now, by)
            assert updated is not None  # the account row is locked and the contact was there
            saved.append(updated)
    return saved


# -- the service functions ---------------------------------------------------------------------------

READING, CHANGING = "reading the account's contacts", "changing the account's contacts"


async def list_contacts(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                        query: ListQuery) -> Page[Contact]:
    await customer_account_for(core, caller, shopper, account_id, None, READING)
    return await core.store.page_contacts(account_id, query)


async def get_contact(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, contact_id: int) -> Contact:
    await customer_account_for(core, caller, shopper, account_id, None, READING)
    contact = await core.store.get_contact(account_id, contact_id)
    if contact is None:
        raise NotFound(f"Item not found: contact {contact_id} of account {account_id} does not exist")
    return contact


async def save_contacts(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                        writes: Sequence[ContactWrite]) -> list[Contact]:
    """Add (id None) or replace (id given) contacts of the account, all or none."""
    await customer_account_for(core, caller, shopper, account_id, MANAGE_CONTACTS, CHANGING)
    if len(writes) > MAX_CONTACTS_PER_REQUEST:
        raise InvalidParameter("contacts", f"Missing or invalid parameter: at most {MAX_CONTACTS_PER_REQUEST} contacts "
                               "at a time")
    single = len(writes) == 1
    cleaned = [(cid, clean_contact(d, "" if single else f"[{i}].")) for i, (cid, d) in enumerate(writes)]
    async with core.store.transaction() as tx:
        saved = await write_contacts(tx, account_id, cleaned, actor(caller, shopper), core.clock.now())
        await record_impersonated_change(core, tx, caller, shopper, account_id, "contacts")
        for (cid, _), contact in zip(cleaned, saved, strict=True):
            await events.publish(core, tx, topics.CONTACT_CREATED if cid is None else topics.CONTACT_UPDATED,
                                 entity_id=account_id, caller=caller, extended={"contactId": contact.id})
        return saved


async def add_contact(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                      details: ContactDetails) -> Contact:
    return (await save_contacts(core, caller, shopper, account_id, [(None, details)]))[0]


async def update_contact(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, contact_id: int,
                         details: ContactDetails) -> Contact:
    return (await save_contacts(core, caller, shopper, account_id, [(contact_id, details)]))[0]


async def delete_contact(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, contact_id: int) -> None:
    await customer_account_for(core, caller, shopper, account_id, MANAGE_CONTACTS, CHANGING)
    async with core.store.transaction() as tx:
        if not await tx.delete_contact(account_id, contact_id):
            raise NotFound(f"Item not found: contact {contact_id} of account {account_id} does not exist")
        await record_impersonated_change(core, tx, caller, shopper, account_id, "contacts")
        await events.publish(core, tx, topics.CONTACT_DELETED, entity_id=account_id, caller=caller,
                             extended={"contactId": contact_id})

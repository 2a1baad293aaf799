"""Parts given with a new account (CustomerAccount's contacts, notes, attributes and segments),
stored in the transaction that creates the account.

The account services call `add_parts` right after inserting the account, inside the same
`core.store.transaction()`: any bad part is an error that rolls the whole account back. The same
rules hold as for the part endpoints, with the new account's registrant in the place of its shopper:
contacts and ShopperEntered attributes for any application; notes, segments and the other
attributes only for an admin application (else 403).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ticketbooth.accounts.access import require_admin
from ticketbooth.accounts.parts.attributes import AttributeValues, fqn_key, write_attribute
from ticketbooth.accounts.parts.contacts import MAX_CONTACTS_PER_REQUEST, clean_contact, write_contacts
from ticketbooth.accounts.parts.notes import clean_note, write_note
from ticketbooth.accounts.parts.segments import join_segments
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import ContactDetails

MAX_NOTES_AT_CREATION = 50
MAX_ATTRIBUTES_AT_CREATION = 100
MAX_SEGMENTS_AT_CREATION = 100


@dataclass(frozen=True, slots=True)
class SegmentChoice:
    """A segment named by its id or its code (CustomerAccount.segments items carry either)."""

    id: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class AccountParts:
    """What a new account comes with. Contacts are as the client sent them (cleaned here); notes are
    their content; attributes name their definition by fully qualified name."""

    contacts: Sequence[ContactDetails] = ()
    notes: Sequence[object] = ()
    attributes: Sequence[AttributeValues] = ()
    segments: Sequence[SegmentChoice] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.contacts or self.notes or self.attributes or self.segments)


def check_parts(caller: Caller, parts: AccountParts) -> None:
    """What can be checked without the database: counts, permissions, contact fields. `add_parts`
    calls it too; call it before hashing a password to fail fast."""
    for name, items, limit in (("contacts", parts.contacts, MAX_CONTACTS_PER_REQUEST),
                               ("notes", parts.notes, MAX_NOTES_AT_CREATION),
                               ("attributes", parts.attributes, MAX_ATTRIBUTES_AT_CREATION),
                               ("segments", parts.segments, MAX_SEGMENTS_AT_CREATION)):
        if len(items) > limit:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} may hold at most {limit} items "
                                   "when an account is created")
    if parts.notes:
        require_admin(caller, "adding notes")
    if parts.segments:
        require_admin(caller, "putting an account in segments")
    for i, contact in enumerate(parts.contacts):
        clean_contact(contact, f"contacts[{i}].")
    for i, note in enumerate(parts.notes):
        clean_note(note, f"notes[{i}].content")


async def _segment_ids(tx: AccountsPersistence, caller: Caller, choices: Sequence[SegmentChoice]) -> list[int]:
    by_id = await tx.segments_by_id(caller.tenant.id, [c.id for c in choices if c.id is not None])
    by_code = await tx.segments_by_code(caller.tenant.id, [c.code for c in choices if c.id is None and c.code])
    ids: list[int] = []
    for i, choice in enumerate(choices):
        if choice.id is not None:
            found = by_id.get(choice.id)
        else:
            found = by_code.get(choice.code.strip().lower()) if choice.code else None
        if found is None:
            shown = choice.id if choice.id is not None else (choice.code or "")[:100]
            raise InvalidParameter(f"segments[{i}]", f"Missing or invalid parameter: segment {shown} does not exist",
                                   shown)
        ids.append(found.id)
    return ids


async def add_parts(core: Core, tx: AccountsPersistence, caller: Caller, account_id: int, parts: AccountParts, by: str) -> None:
    """Check and store `parts` of the account `account_id` inside the caller's transaction `tx`
    (the account was just inserted in it). `by` is the audit actor (`access.actor(caller, shopper)`)."""
    if not parts:
        return
    check_parts(caller, parts)
    now = core.clock.now()
    if parts.contacts:
        cleaned = [(None, clean_contact(c, f"contacts[{i}].")) for i, c in enumerate(parts.contacts)]
        await write_contacts(tx, account_id, cleaned, by, now)
    for i, note in enumerate(parts.notes):
        await write_note(tx, account_id, clean_note(note, f"notes[{i}].content"), by, now)
    seen: set[str] = set()
    for i, given in enumerate(parts.attributes):
        key = fqn_key(given.fqn) if given.fqn else ""
        if key and key in seen:
            raise InvalidParameter(f"attributes[{i}].fullyQualifiedName", "Missing or invalid parameter: the attribute "
                                   f"{given.fqn} is given twice", given.fqn)
        seen.add(key)
        await write_attribute(tx, caller, account_id, given, by, now, replace_existing=False, prefix=f"attributes[{i}].")
    if parts.segments:
        segment_ids = await _segment_ids(tx, caller, parts.segments)
        await join_segments(tx, caller, sorted(set(segment_ids)), [account_id], now, parameter="segments")

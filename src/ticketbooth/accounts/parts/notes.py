"""Merchant notes on an account. Only an application with the customer:admin behavior reads or
writes them: they are the merchant's, not the shopper's."""

from __future__ import annotations

from datetime import datetime

from ticketbooth.accounts.access import account_for, actor
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Note, Page, Shopper
from ticketbooth.domain.text import clean_text
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events

MAX_NOTE_LENGTH = 10_000
MAX_NOTES_PER_ACCOUNT = 1_000


def clean_note(content: object, name: str = "content") -> str:
    text = clean_text(content, name, MAX_NOTE_LENGTH, required=True, multiline=True)
    assert text is not None
    return text


async def write_note(tx: AccountsPersistence, account_id: int, content: str, by: str, now: datetime) -> Note:
    """Add a cleaned note inside the caller's transaction `tx`."""
    if not await tx.lock_account(account_id):
        raise NotFound(f"Item not found: account {account_id} does not exist")
    if await tx.count_notes(account_id) >= MAX_NOTES_PER_ACCOUNT:
        raise InvalidParameter("notes", f"Missing or invalid parameter: an account may have at most "
                               f"{MAX_NOTES_PER_ACCOUNT} notes")
    return await tx.insert_note(account_id, content, now, by)


async def _admin_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> None:
    await account_for(core, caller, shopper, account_id, owner_may=False, with_parts=False)


def _missing(account_id: int, note_id: int) -> NotFound:
    return NotFound(f"Item not found: note {note_id} of account {account_id} does not exist")


async def list_notes(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                     query: ListQuery) -> Page[Note]:
    await _admin_account(core, caller, shopper, account_id)
    return await core.store.page_notes(account_id, query)


async def get_note(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, note_id: int) -> Note:
    await _admin_account(core, caller, shopper, account_id)
    note = await core.store.get_note(account_id, note_id)
    if note is None:
        raise _missing(account_id, note_id)
    return note


async def add_note(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, content: object) -> Note:
    await _admin_account(core, caller, shopper, account_id)
    text = clean_note(content)
    async with core.store.transaction() as tx:
        note = await write_note(tx, account_id, text, actor(caller, shopper), core.clock.now())
        await _published(core, tx, caller, account_id, note.id)
        return note


async def update_note(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, note_id: int,
                      content: object) -> Note:
    await _admin_account(core, caller, shopper, account_id)
    text = clean_note(content)
    async with core.store.transaction() as tx:
        note = await tx.update_note(account_id, note_id, text, core.clock.now(), actor(caller, shopper))
        if note is None:
            raise _missing(account_id, note_id)
        await _published(core, tx, caller, account_id, note_id)
    return note


async def delete_note(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, note_id: int) -> None:
    await _admin_account(core, caller, shopper, account_id)
    async with core.store.transaction() as tx:
        if not await tx.delete_note(account_id, note_id):
            raise _missing(account_id, note_id)
        await _published(core, tx, caller, account_id, note_id)


async def _published(core: Core, tx: AccountsPersistence, caller: Caller, account_id: int, note_id: int) -> None:
    """The note's event (`customeraccount.notechanged`: its id, never its text), in the change's transaction."""
    await events.publish(core, tx, topics.NOTE_CHANGED, entity_id=account_id, caller=caller,
                         extended={"noteId": note_id})

"""Segments: named groups of a tenant's accounts (VIP, wholesale, ...), kept by the merchant. Every
change and every list of a segment needs an admin application; an account's own shopper may see
which segments the account is in.

Segment codes are unique per tenant, compared case-insensitively. Accounts join a segment only from
the caller's site's customer set.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ticketbooth.accounts.access import account_for, actor, require_admin
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Page, Segment, Shopper
from ticketbooth.domain.text import clean_text
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events

MAX_SEGMENTS_PER_TENANT = 10_000
MAX_ACCOUNTS_PER_REQUEST = 1_000
MAX_CODE = 100
MAX_NAME = 200
MAX_DESCRIPTION = 1000


def clean_segment(code: object, name: object, description: object) -> tuple[str, str, str | None]:
    """(code, name, description) trimmed and checked."""
    cleaned_code = clean_text(code, "code", MAX_CODE, required=True)
    assert cleaned_code is not None
    if any(c.isspace() for c in cleaned_code):
        raise InvalidParameter("code", "Missing or invalid parameter: code may not hold spaces", cleaned_code)
    cleaned_name = clean_text(name, "name", MAX_NAME, required=True)
    assert cleaned_name is not None
    return cleaned_code, cleaned_name, clean_text(description, "description", MAX_DESCRIPTION, multiline=True)


def _missing(segment_id: int) -> NotFound:
    return NotFound(f"Item not found: segment {segment_id} does not exist")


async def _code_is_free(tx: AccountsPersistence, tenant_id: int, code: str, segment_id: int | None) -> None:
    taken = (await tx.segments_by_code(tenant_id, [code])).get(code.lower())
    if taken is not None and taken.id != segment_id:
        raise Conflict(f"Validation conflict: a segment with the code {taken.code} already exists")


async def list_segments(core: Core, caller: Caller, query: ListQuery) -> Page[Segment]:
    require_admin(caller, "listing segments")
    return await core.store.page_segments(caller.tenant.id, query)


async def get_segment(core: Core, caller: Caller, segment_id: int) -> Segment:
    require_admin(caller, "reading a segment")
    found = await core.store.get_segment(caller.tenant.id, segment_id)
    if found is None:
        raise _missing(segment_id)
    return found


async def create_segment(core: Core, caller: Caller, code: object, name: object, description: object) -> Segment:
    require_admin(caller, "creating a segment")
    cleaned = clean_segment(code, name, description)
    async with core.store.transaction() as tx:
        if await tx.count_segments(caller.tenant.id) >= MAX_SEGMENTS_PER_TENANT:
            raise InvalidParameter("code", f"Missing or invalid parameter: a tenant may have at most "
                                   f"{MAX_SEGMENTS_PER_TENANT} segments")
        await _code_is_free(tx, caller.tenant.id, cleaned[0], None)
        segment = await tx.insert_segment(caller.tenant.id, *cleaned, core.clock.now(), actor(caller, None))
        await events.publish(core, tx, topics.SEGMENT_CREATED, entity_id=segment.id, caller=caller)
        return segment


async def update_segment(core: Core, caller: Caller, segment_id: int, code: object, name: object,
                         description: object) -> Segment:
    """Replace the segment's code, name and description."""
    require_admin(caller, "changing a segment")
    cleaned = clean_segment(code, name, description)
    async with core.store.transaction() as tx:
        await _code_is_free(tx, caller.tenant.id, cleaned[0], segment_id)
        updated = await tx.update_segment(caller.tenant.id, segment_id, *cleaned, core.clock.now(), actor(caller, None))
        if updated is None:
            raise _missing(segment_id)
        await events.publish(core, tx, topics.SEGMENT_UPDATED, entity_id=segment_id, caller=caller)
    return updated


async def delete_segment(core: Core, caller: Caller, segment_id: int) -> None:
    """Delete the segment; every account leaves it."""
    require_admin(caller, "deleting a segment")
    async with core.store.transaction() as tx:
        if not await tx.delete_segment(caller.tenant.id, segment_id):
            raise _missing(segment_id)
        await events.publish(core, tx, topics.SEGMENT_DELETED, entity_id=segment_id, caller=caller)


async def join_segments(tx: AccountsPersistence, caller: Caller, segment_ids: Sequence[int], account_ids: Sequence[int],
                        now: datetime, *, parameter: str = "accountIds") -> dict[int, set[int]]:
    """Make the accounts members of the segments (all of the caller's tenant and site's customer set),
    inside the caller's transaction `tx`. Members already stay as they are. The accounts each segment
    gained."""
    unknown = set(account_ids) - await tx.accounts_in_set(caller.tenant.id, caller.site.customer_set_id, account_ids)
    if unknown:
        first = min(unknown)
        raise InvalidParameter(parameter, f"Missing or invalid parameter: account {first} does not exist", first)
    return {segment_id: await tx.join_segment(segment_id, account_ids, now) for segment_id in segment_ids}


async def add_accounts(core: Core, caller: Caller, segment_id: int, account_ids: Sequence[int]) -> None:
    """Add accounts to the segment, all or none: an id that is not an account of the caller's
    customer set is a 400 naming it, and nothing changes."""
    require_admin(caller, "adding accounts to a segment")
    if len(account_ids) > MAX_ACCOUNTS_PER_REQUEST:
        raise InvalidParameter("accountIds", f"Missing or invalid parameter: at most {MAX_ACCOUNTS_PER_REQUEST} account "
                               "ids at a time")
    async with core.store.transaction() as tx:
        if await tx.get_segment(caller.tenant.id, segment_id) is None:
            raise _missing(segment_id)
        added = await join_segments(tx, caller, [segment_id], account_ids, core.clock.now())
        for account_id in sorted(added[segment_id]):
            await events.publish(core, tx, topics.SEGMENT_ACCOUNT_ADDED, entity_id=account_id, caller=caller,
                                 extended={"segmentId": segment_id})


async def remove_account(core: Core, caller: Caller, segment_id: int, account_id: int) -> None:
    require_admin(caller, "removing an account from a segment")
    if await core.store.get_segment(caller.tenant.id, segment_id) is None:
        raise _missing(segment_id)
    await account_for(core, caller, None, account_id, owner_may=False, with_parts=False)
    async with core.store.transaction() as tx:
        if not await tx.remove_segment_account(segment_id, account_id):
            raise NotFound(f"Item not found: account {account_id} is not in segment {segment_id}")
        await events.publish(core, tx, topics.SEGMENT_ACCOUNT_REMOVED, entity_id=account_id, caller=caller,
                             extended={"segmentId": segment_id})


async def account_segments(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                           query: ListQuery) -> Page[Segment]:
    """The segments the account is in, for its own shopper or an admin application."""
    await account_for(core, caller, shopper, account_id, with_parts=False)
    return await core.store.page_account_segments(account_id, query)

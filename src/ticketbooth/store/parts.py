"""An account's parts: contacts, notes, attribute values and segment memberships; attribute
definitions, segments and customer sets of a tenant."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketbooth.domain.models import Account
from ticketbooth.store.base import StoreBase


async def load_parts(conn: AsyncConnection, accounts: Sequence[Account]) -> None:
    """Fill in the contacts, notes, attributes and segments of `accounts` (a few queries in all,
    whatever their number)."""
    return None  # TODO(parts): filled in by the account-parts work


class PartsStore(StoreBase):
    pass

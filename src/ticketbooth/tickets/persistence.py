"""What the ticket flows need of storage (tickets/service.py), implemented by the SQL store (db/store.py,
its hot paths in db/hotpath.py).

`TokenFamilies` is the part a login's or a registration's transaction offers to open a family in it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, Self

from ticketbooth.audit.persistence import AuditTrail
from ticketbooth.domain.models import Account, TicketRecord, TokenFamily


class TokenFamilies(Protocol):
    """Opening a token family with its first ticket, and a login's event with it (a row of the event log):
    what `open_family` needs of a store or transaction."""

    async def insert_family(self, family: TokenFamily, first: TicketRecord,
                            event: dict[str, Any] | None = None) -> None: ...


class TicketsPersistence(TokenFamilies, AuditTrail, Protocol):
    """The ticket service's storage: tickets by token hash, rotation, revoking a family, and the account
    a ticket stands for."""

    async def ticket_by_access(self, access_hash: str) -> tuple[TicketRecord, TokenFamily] | None: ...
    async def ticket_by_refresh(self, refresh_hash: str) -> tuple[TicketRecord, TokenFamily] | None: ...
    async def rotate(self, old_refresh_hash: str, successor: TicketRecord, now: datetime,
                     family_expires_at: datetime | None) -> bool: ...
    async def revoke_family(self, family_id: str, now: datetime, reason: str) -> bool: ...
    async def get_family(self, family_id: str) -> TokenFamily | None: ...
    async def get_account(self, account_id: int, *, with_parts: bool = True) -> Account | None: ...
    def transaction(self) -> AbstractAsyncContextManager[Self]: ...

"""What the session flows need of storage (sessions/service.py, impersonation.py), implemented by the SQL
store (sessions/store.py, db/store.py)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol, Self

from ticketbooth.audit.persistence import AuditTrail
from ticketbooth.domain.models import Account, Session, TicketRecord, TokenFamily
from ticketbooth.tickets.persistence import TokenFamilies


class SessionsPersistence(TokenFamilies, AuditTrail, Protocol):
    """An account's sessions (token families): listing and ending them, and the account an impersonation
    opens one for."""

    async def ticket_by_refresh(self, refresh_hash: str) -> tuple[TicketRecord, TokenFamily] | None: ...
    async def account_sessions(self, account_id: int, now: datetime, start: int,
                               size: int) -> tuple[list[Session], int]: ...
    async def end_account_session(self, account_id: int, family_id: str, now: datetime, reason: str) -> bool: ...
    async def revoke_family(self, family_id: str, now: datetime, reason: str) -> bool: ...
    async def revoke_account_families(self, account_id: int, now: datetime, reason: str,
                                      *, keep_family_id: str | None = None) -> int: ...
    async def get_account(self, account_id: int, *, with_parts: bool = True) -> Account | None: ...
    def transaction(self) -> AbstractAsyncContextManager[Self]: ...

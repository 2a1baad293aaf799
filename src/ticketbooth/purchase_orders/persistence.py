"""What the purchase-order flows need of storage (purchase_orders/service.py), implemented by the SQL store
(purchase_orders/store.py, db/store.py)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol, Self

from ticketbooth.audit.persistence import AuditTrail
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Page
from ticketbooth.purchase_orders.rules import PurchaseOrderAccount, PurchaseOrderTransaction, Settings, TransactionDetails


class PurchaseOrdersPersistence(AuditTrail, Protocol):
    """Purchase-order accounts and their transactions, in one transaction with the audit entry."""

    async def get_po_account(self, account_id: int) -> PurchaseOrderAccount | None: ...
    async def insert_po_account(self, tenant_id: int, account_id: int, settings: Settings, now: datetime,
                                by: str) -> PurchaseOrderAccount: ...
    async def update_po_account(self, account_id: int, settings: Settings, now: datetime,
                                by: str) -> tuple[PurchaseOrderAccount, int] | None: ...
    async def apply_po_transaction(self, account_id: int, site_id: int | None, details: TransactionDetails,
                                   now: datetime, by: str) -> PurchaseOrderTransaction | None: ...
    async def log_po_transaction(self, account_id: int, site_id: int | None, details: TransactionDetails,
                                 now: datetime, by: str) -> PurchaseOrderTransaction: ...
    async def page_po_transactions(self, account_id: int, query: ListQuery) -> Page[PurchaseOrderTransaction]: ...
    async def page_po_accounts(self, tenant_id: int, customer_set_id: int, account_type: str | None,
                               query: ListQuery) -> Page[PurchaseOrderAccount]: ...
    def transaction(self) -> AbstractAsyncContextManager[Self]: ...

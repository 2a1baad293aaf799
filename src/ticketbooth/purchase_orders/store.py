"""Purchase-order accounts and their transactions (tables `po_accounts`, `po_transactions`).

The balance is changed only by `apply_po_transaction` and `update_po_account`, each one statement on
the account's row inside the caller's transaction, the transaction row beside it:

- a transaction is one conditional UPDATE: the balance moves by the transaction's amount only where
  the result stays within [-overdraft_amount, credit_limit] (and, for an order, the account is
  enabled). On PostgreSQL the UPDATE takes the row lock and, when another transaction changed the row
  meanwhile, evaluates its condition again on the committed row (READ COMMITTED), so two debits that
  fit only one at a time never both pass; on SQLite writers are serialized (one write lock, BEGIN
  IMMEDIATE). The balance after it is what RETURNING gives, written into the transaction row;
- a change of the credit limit moves the balance by the same amount in the same UPDATE
  (`available_balance + new_limit - credit_limit`), after reading the row under its lock (FOR UPDATE
  on PostgreSQL) for the size of the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.accounts.store.filtering import FieldMap, columns, page
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Audit, Page
from ticketbooth.purchase_orders.rules import (
    PaymentTerm,
    PurchaseOrderAccount,
    PurchaseOrderTransaction,
    Settings,
    TransactionDetails,
    TransactionType,
)

_A = t.po_accounts.c
_T = t.po_transactions.c
ACCOUNT_FIELDS: FieldMap = columns(t.po_accounts, "id", "account_id", "is_enabled", "credit_limit",
                                   "available_balance", "created_at", "created_by", "updated_at", "updated_by")
TRANSACTION_FIELDS: FieldMap = columns(
    t.po_transactions, "id", "transaction_type", "amount", "credit_limit", "available_balance", "order_id",
    "purchase_order_number", "external_id", "author", "transaction_date", "created_at", "created_by")


def _audit(m: Mapping[str, Any]) -> Audit:
    return Audit(created_at=m["created_at"], created_by=m["created_by"], updated_at=m["updated_at"],
                 updated_by=m["updated_by"])


def _terms(raw: Any) -> tuple[PaymentTerm, ...]:
    return tuple(PaymentTerm(site_id=x.get("siteId"), code=x.get("code"), description=x.get("description"))
                 for x in raw or ())


def _settings_values(s: Settings) -> dict[str, Any]:
    return {
        "is_enabled": s.is_enabled, "credit_limit": s.credit_limit, "overdraft_allowance": s.overdraft_allowance,
        "overdraft_allowance_type": s.overdraft_allowance_type, "overdraft_amount": s.overdraft_amount,
        "payment_terms": [{"siteId": p.site_id, "code": p.code, "description": p.description}
                          for p in s.payment_terms] or None,
    }


def _account(row: Any) -> PurchaseOrderAccount:
    m: Mapping[str, Any] = row._mapping
    settings = Settings(is_enabled=bool(m["is_enabled"]), credit_limit=int(m["credit_limit"]),
                        overdraft_allowance=m["overdraft_allowance"],
                        overdraft_allowance_type=m["overdraft_allowance_type"], payment_terms=_terms(m["payment_terms"]))
    return PurchaseOrderAccount(id=m["id"], account_id=m["account_id"], tenant_id=m["tenant_id"], settings=settings,
                                available_balance=int(m["available_balance"]), audit=_audit(m))


def _transaction(row: Any) -> PurchaseOrderTransaction:
    m: Mapping[str, Any] = row._mapping
    details = TransactionDetails(
        type=TransactionType(m["transaction_type"]), amount=int(m["amount"]), order_id=m["order_id"],
        purchase_order_number=m["purchase_order_number"], external_id=m["external_id"],
        additional_detail=m["additional_detail"], author=m["author"])
    return PurchaseOrderTransaction(
        id=m["id"], po_account_id=m["po_account_id"], account_id=m["account_id"], tenant_id=m["tenant_id"],
        site_id=m["site_id"], details=details, credit_limit=int(m["credit_limit"]),
        available_balance=int(m["available_balance"]), transaction_date=m["transaction_date"], audit=_audit(m))


class PurchaseOrderStore(StoreBase):
    async def get_po_account(self, account_id: int) -> PurchaseOrderAccount | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.po_accounts).where(_A.account_id == account_id))).first()
        return None if row is None else _account(row)

    async def insert_po_account(self, tenant_id: int, account_id: int, settings: Settings, now: datetime,
                                by: str) -> PurchaseOrderAccount:
        """The account's purchase-order account, its available balance the whole credit limit. Conflict
        when the account has one."""
        async with self._begin(write=True) as conn:
            try:
                async with conn.begin_nested():
                    row = (await conn.execute(insert(t.po_accounts).values(
                        tenant_id=tenant_id, account_id=account_id, **_settings_values(settings),
                        available_balance=settings.credit_limit, created_at=now, created_by=by, updated_at=now,
                        updated_by=by,
                    ).returning(*t.po_accounts.c))).one()
            except IntegrityError as exc:
                raise Conflict(f"Validation conflict: account {account_id} already has a purchase order "
                               "account") from exc
        return _account(row)

    async def update_po_account(self, account_id: int, settings: Settings, now: datetime,
                                by: str) -> tuple[PurchaseOrderAccount, int] | None:
        """The settings replaced and the balance moved by the change of the credit limit; the account
        and that change (None when the account has no purchase-order account)."""
        async with self._begin(write=True) as conn:
            old = (await conn.execute(select(_A.credit_limit).where(_A.account_id == account_id)
                                      .with_for_update())).scalar()
            if old is None:
                return None
            change = settings.credit_limit - int(old)
            row = (await conn.execute(update(t.po_accounts).where(_A.account_id == account_id).values(
                **_settings_values(settings), available_balance=_A.available_balance + change,
                updated_at=now, updated_by=by).returning(*t.po_accounts.c))).one()
        return _account(row), change

    async def apply_po_transaction(self, account_id: int, site_id: int | None, details: TransactionDetails,
                                   now: datetime, by: str) -> PurchaseOrderTransaction | None:
        """Move the balance by the transaction and log it with the balance after it, in one step that
        concurrent transactions cannot interleave with: None, and nothing changed, when the account has
        no purchase-order account or the balance would leave [-overdraft_amount, credit_limit] (or an
        order is posted to a disabled account)."""
        delta = details.delta
        where = [_A.account_id == account_id]
        if delta < 0:
            where.append(_A.available_balance + _A.overdraft_amount >= -delta)
        elif delta > 0:
            where.append(_A.available_balance + delta <= _A.credit_limit)
        if details.type == TransactionType.ORDER_SUBMITTED:
            where.append(_A.is_enabled.is_(True))
        async with self._begin(write=True) as conn:
            moved = (await conn.execute(update(t.po_accounts).where(*where).values(
                available_balance=_A.available_balance + delta, updated_at=now, updated_by=by,
            ).returning(_A.id, _A.tenant_id, _A.credit_limit, _A.available_balance))).first()
            if moved is None:
                return None
            return await self._log(conn, moved, account_id, site_id, details, now, by)

    async def log_po_transaction(self, account_id: int, site_id: int | None, details: TransactionDetails,
                                 now: datetime, by: str) -> PurchaseOrderTransaction:
        """Log a transaction the balance already reflects (a credit-limit change made by
        `update_po_account` in the same database transaction)."""
        async with self._begin(write=True) as conn:
            row = (await conn.execute(select(_A.id, _A.tenant_id, _A.credit_limit, _A.available_balance)
                                      .where(_A.account_id == account_id))).one()
            return await self._log(conn, row, account_id, site_id, details, now, by)

    async def _log(self, conn: Any, account: Any, account_id: int, site_id: int | None, details: TransactionDetails,
                   now: datetime, by: str) -> PurchaseOrderTransaction:
        row = (await conn.execute(insert(t.po_transactions).values(
            po_account_id=account.id, account_id=account_id, tenant_id=account.tenant_id, site_id=site_id,
            transaction_type=int(details.type), amount=details.amount, credit_limit=account.credit_limit,
            available_balance=account.available_balance, order_id=details.order_id,
            purchase_order_number=details.purchase_order_number, external_id=details.external_id,
            additional_detail=details.additional_detail, author=details.author, transaction_date=now,
            created_at=now, created_by=by, updated_at=now, updated_by=by,
        ).returning(*t.po_transactions.c))).one()
        return _transaction(row)

    async def page_po_transactions(self, account_id: int, query: ListQuery) -> Page[PurchaseOrderTransaction]:
        """The account's transactions on the page asked for (tiebreak: the order they were made in)."""
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, select(t.po_transactions).where(_T.account_id == account_id),
                                     TRANSACTION_FIELDS, query, _T.id)
        return Page([_transaction(r) for r in rows], total, query.offset, query.limit)

    async def page_po_accounts(self, tenant_id: int, customer_set_id: int, account_type: str | None,
                               query: ListQuery) -> Page[PurchaseOrderAccount]:
        """The purchase-order accounts of the customer set's accounts; of accounts of `account_type`
        when given (compared case-insensitively; "B2C" also takes accounts with no type)."""
        accounts = t.accounts.c
        stmt = select(t.po_accounts).join_from(t.po_accounts, t.accounts, accounts.id == _A.account_id).where(
            accounts.tenant_id == tenant_id, accounts.customer_set_id == customer_set_id)
        if account_type is not None:
            same = func.lower(accounts.account_type) == account_type.lower()
            stmt = stmt.where(or_(same, accounts.account_type.is_(None)) if account_type.lower() == "b2c" else same)
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, stmt, ACCOUNT_FIELDS, query, _A.id)
        return Page([_account(r) for r in rows], total, query.offset, query.limit)

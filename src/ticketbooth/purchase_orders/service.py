"""The purchase-order flows: an account's purchase-order account (get, create, update), its transactions
(list, add) and the customer set's purchase-order accounts. Rights are asked of `access.access`; the
balance rules are in rules.py; the store keeps the balance consistent under concurrent transactions
(store.py). Every change is in the account's audit trail, in the same transaction: `po-account.created`,
`po-account.updated` (with the fields set) and `po-transaction.added` (type, amount, balance after),
amounts as decimal text, nothing secret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ticketbooth.accounts.access import actor, require_admin
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Page, Shopper
from ticketbooth.purchase_orders.access import Need, access, require_need
from ticketbooth.purchase_orders.persistence import PurchaseOrdersPersistence
from ticketbooth.purchase_orders.rules import (
    CENTS,
    PurchaseOrderAccount,
    PurchaseOrderTransaction,
    Settings,
    TransactionDetails,
    TransactionType,
)


def _store(core: Core) -> PurchaseOrdersPersistence:
    return core.store


def money(minor: int) -> str:
    """Minor units as decimal text with two decimals (audit details and messages): -1234 -> "-12.34"."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // CENTS}.{abs(minor) % CENTS:02d}"


def _missing(account_id: int) -> NotFound:
    return NotFound(f"Item not found: account {account_id} has no purchase order account")


def _settings_detail(s: Settings) -> dict[str, Any]:
    return {"isEnabled": s.is_enabled, "creditLimit": money(s.credit_limit),
            "overdraftAllowance": None if s.overdraft_allowance is None else money(s.overdraft_allowance),
            "overdraftAllowanceType": s.overdraft_allowance_type, "paymentTerms": len(s.payment_terms)}


async def get_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> PurchaseOrderAccount:
    account = await access(core, caller, shopper, account_id, Need.READ)
    found = await _store(core).get_po_account(account.id)
    if found is None:
        raise _missing(account_id)
    return found


async def create_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                         settings: Settings) -> PurchaseOrderAccount:
    """The account's purchase-order account, nothing owed (available balance = credit limit); 409 when it
    has one. A credit limit other than 0 is logged as a Line of Credit Change."""
    account = await access(core, caller, shopper, account_id, Need.MANAGE)
    by, now = actor(caller, shopper), core.clock.now()
    async with _store(core).transaction() as tx:
        created = await tx.insert_po_account(caller.tenant.id, account.id, settings, now, by)
        if settings.credit_limit:
            await tx.log_po_transaction(account.id, caller.site.id, TransactionDetails(
                TransactionType.LINE_OF_CREDIT_CHANGE, settings.credit_limit, author=by), now, by)
        await audit.record(core, audit.Event.PO_ACCOUNT_CREATED, caller=caller, account_id=account.id, actor=by,
                           detail=_settings_detail(settings), store=tx)
    return created


async def update_account(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                         settings: Settings) -> PurchaseOrderAccount:
    """Replace the settings (PUT). The available balance is not set: it moves with the credit limit
    (what is owed stays) and with transactions. A change of the credit limit is logged as a Line of
    Credit Change of its size."""
    account = await access(core, caller, shopper, account_id, Need.MANAGE)
    by, now = actor(caller, shopper), core.clock.now()
    async with _store(core).transaction() as tx:
        done = await tx.update_po_account(account.id, settings, now, by)
        if done is None:
            raise _missing(account_id)
        updated, change = done
        if change:
            await tx.log_po_transaction(account.id, caller.site.id, TransactionDetails(
                TransactionType.LINE_OF_CREDIT_CHANGE, change, author=by), now, by)
        await audit.record(core, audit.Event.PO_ACCOUNT_UPDATED, caller=caller, account_id=account.id, actor=by,
                           detail=_settings_detail(settings), store=tx)
    return updated


def _refusal(po: PurchaseOrderAccount, details: TransactionDetails) -> Conflict:
    if details.type == TransactionType.ORDER_SUBMITTED and not po.settings.is_enabled:
        return Conflict(f"Validation conflict: the purchase order account of account {po.account_id} is disabled")
    if details.delta < 0:
        return Conflict(
            f"Validation conflict: {money(-details.delta)} is more than the purchase order account's total available "
            f"balance of {money(po.total_available_balance)}")
    return Conflict(
        f"Validation conflict: {money(details.delta)} would take the available balance of "
        f"{money(po.available_balance)} above the credit limit of {money(po.settings.credit_limit)}")


async def add_transaction(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                          details: TransactionDetails) -> PurchaseOrderTransaction:
    """Apply a transaction to the balance and log it, or refuse it with 409 and change nothing: a debit
    past the total available balance, a credit past the credit limit, an order on a disabled account."""
    account = await access(core, caller, shopper, account_id, Need.TRANSACT)
    by, now = actor(caller, shopper), core.clock.now()
    if details.author is None:
        details = replace(details, author=by)
    async with _store(core).transaction() as tx:
        done = await tx.apply_po_transaction(account.id, caller.site.id, details, now, by)
        if done is None:
            found = await tx.get_po_account(account.id)
            raise _missing(account_id) if found is None else _refusal(found, details)
        await audit.record(core, audit.Event.PO_TRANSACTION_ADDED, caller=caller, account_id=account.id, actor=by,
                           detail={"transactionId": done.id, "transactionTypeId": int(details.type),
                                   "transactionAmount": money(details.amount),
                                   "availableBalance": money(done.available_balance)}, store=tx)
    return done


async def list_transactions(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                            query: Callable[[], ListQuery]) -> Page[PurchaseOrderTransaction]:
    """A page of the account's transactions. `query` reads the page asked for, once the rights are
    checked (a caller without them gets 403, not a 400 about its paging)."""
    account = await access(core, caller, shopper, account_id, Need.HISTORY)
    asked = query()
    store = _store(core)
    if await store.get_po_account(account.id) is None:
        raise _missing(account_id)
    return await store.page_po_transactions(account.id, asked)


async def list_accounts(core: Core, caller: Caller, account_type: str | None,
                        query: Callable[[], ListQuery]) -> Page[PurchaseOrderAccount]:
    """The purchase-order accounts of the caller's site's customer set, for an admin application."""
    require_admin(caller, "listing purchase order accounts")
    return await _store(core).page_po_accounts(caller.tenant.id, caller.site.customer_set_id, account_type, query())


def require_may_manage(caller: Caller) -> None:
    """The right to create or change a purchase-order account, checked before its body is read."""
    require_need(caller, Need.MANAGE)


def require_may_transact(caller: Caller) -> None:
    """The right to add a transaction, checked before its body is read."""
    require_need(caller, Need.TRANSACT)

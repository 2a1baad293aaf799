"""Kibo's purchase-order accounts over REST (CustomerAccountApi of @kibocommerce/rest-sdk):

- GET, POST, PUT /api/commerce/customer/accounts/{accountId}/purchaseOrderAccount: an account's
  purchase-order account (read: its shopper or an admin application; create and replace: an admin
  application);
- GET, POST /api/commerce/customer/accounts/{accountId}/PurchaseOrderTransaction: its transactions,
  paged with filter and sortBy, newest first by default (read: its shopper or an admin application;
  add: an admin application);
- POST (Kibo's SDK and spec) and GET /api/commerce/customer/accounts/purchaseOrderAccounts: the
  purchase-order accounts of the site's customer set, paged, sortBy, `accountType` (an admin
  application).

Paths compare case-insensitively (kibo/middleware.py), so Kibo's mixed-case paths reach these
lower-case routes. Amounts go out as JSON numbers from integer cents (two decimals at most).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.filters import FieldType, FilterField, ListQuery, SortKey, parse_filter, parse_sort
from ticketbooth.domain.models import Shopper
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import CustomerPurchaseOrderAccountIn, PurchaseOrderTransactionIn
from ticketbooth.kibo.context import core_of, read_json, resolve
from ticketbooth.kibo.lists import Paging, PagingParams, by_kibo_name, window
from ticketbooth.kibo.wire import KiboJSON, respond
from ticketbooth.purchase_orders import service
from ticketbooth.purchase_orders.rules import (
    CENTS,
    DESCRIPTIONS,
    PaymentTerm,
    PurchaseOrderAccount,
    PurchaseOrderTransaction,
    Settings,
    TransactionDetails,
    check_details,
    check_settings,
)

router = APIRouter(prefix="/api/commerce/customer/accounts", tags=["CustomerPurchaseOrderAccount"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_T, _I, _B, _D = FieldType.TEXT, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.DATE
_AUDIT = {
    "createDate": FilterField("created_at", _D), "auditInfo.createDate": FilterField("created_at", _D),
    "createBy": FilterField("created_by", _T), "auditInfo.createBy": FilterField("created_by", _T),
}
# Money fields sort but do not filter: a filter's numbers are not read as amounts.
TRANSACTION_FILTER = by_kibo_name({
    **_AUDIT, "id": FilterField("id", _I), "transactionTypeId": FilterField("transaction_type", _I),
    "orderId": FilterField("order_id", _T), "purchaseOrderNumber": FilterField("purchase_order_number", _T),
    "externalId": FilterField("external_id", _T), "author": FilterField("author", _T),
    "transactionDate": FilterField("transaction_date", _D),
})
TRANSACTION_SORT = {**TRANSACTION_FILTER, **by_kibo_name({
    "transactionAmount": FilterField("amount", _I), "creditLimit": FilterField("credit_limit", _I),
    "availableBalance": FilterField("available_balance", _I)})}
NEWEST_FIRST = (SortKey("id", _I, descending=True),)
ACCOUNT_FILTER = by_kibo_name({
    **_AUDIT, "updateDate": FilterField("updated_at", _D), "auditInfo.updateDate": FilterField("updated_at", _D),
    "id": FilterField("id", _I), "accountId": FilterField("account_id", _I), "isEnabled": FilterField("is_enabled", _B),
})
ACCOUNT_SORT = {**ACCOUNT_FILTER, **by_kibo_name({
    "creditLimit": FilterField("credit_limit", _I), "availableBalance": FilterField("available_balance", _I)})}
MAX_ACCOUNT_TYPE = 50


def amount(minor: int) -> float:
    """Cents as the JSON number Kibo's clients read (a double: exact for every amount the service takes)."""
    return minor / CENTS


def po_account(a: PurchaseOrderAccount) -> dict[str, Any]:
    """Kibo's CustomerPurchaseOrderAccount."""
    s, audit = a.settings, wire.audit(a.audit.created_at, a.audit.created_by, a.audit.updated_at, a.audit.updated_by)
    return {
        "id": a.id, "accountId": a.account_id, "isEnabled": s.is_enabled, "creditLimit": amount(s.credit_limit),
        "availableBalance": amount(a.available_balance), "totalAvailableBalance": amount(a.total_available_balance),
        "overdraftAllowance": None if s.overdraft_allowance is None else amount(s.overdraft_allowance),
        "overdraftAllowanceType": s.overdraft_allowance_type,
        "customerPurchaseOrderPaymentTerms": [
            {"siteId": p.site_id, "code": p.code, "description": p.description, "auditInfo": audit}
            for p in s.payment_terms],
        "auditInfo": audit,
    }


def po_transaction(x: PurchaseOrderTransaction) -> dict[str, Any]:
    """Kibo's PurchaseOrderTransaction, with our `id`."""
    d = x.details
    return {
        "id": x.id, "customerPurchaseOrderAccountId": x.po_account_id, "externalId": d.external_id,
        "siteId": x.site_id, "tenantId": x.tenant_id, "transactionDate": wire.date(x.transaction_date),
        "orderId": d.order_id, "purchaseOrderNumber": d.purchase_order_number,
        "transactionAmount": amount(d.amount), "creditLimit": amount(x.credit_limit),
        "additionalTransactionDetail": d.additional_detail, "availableBalance": amount(x.available_balance),
        "transactionTypeId": int(d.type), "transactionDescription": DESCRIPTIONS[d.type], "author": d.author,
        "auditInfo": wire.audit(x.audit.created_at, x.audit.created_by, x.audit.updated_at, x.audit.updated_by),
    }


def settings_of(b: CustomerPurchaseOrderAccountIn) -> Settings:
    terms = tuple(PaymentTerm(site_id=t.siteId, code=t.code, description=t.description)
                  for t in b.customerPurchaseOrderPaymentTerms or ())
    return check_settings(b.isEnabled, b.creditLimit, b.overdraftAllowance, b.overdraftAllowanceType, terms)


def details_of(b: PurchaseOrderTransactionIn) -> TransactionDetails:
    return check_details(b.transactionTypeId, b.transactionAmount, b.orderId, b.purchaseOrderNumber, b.externalId,
                         b.additionalTransactionDetail, b.author)


def _query(paging: Paging, filter_fields: dict[str, FilterField], sort_fields: dict[str, FilterField],
           default_sort: tuple[SortKey, ...] = ()) -> Callable[[], ListQuery]:
    def read() -> ListQuery:
        start, size = window(paging.start_index, paging.page_size)
        return ListQuery(where=parse_filter(paging.filter, filter_fields),
                         sort=parse_sort(paging.sort_by, sort_fields) or default_sort, offset=start, limit=size)
    return read


# -- the customer set's purchase-order accounts (before /{accountId:int}: a fixed path) ----------------

async def accounts_page(core: Core, caller: Caller, paging: Paging, account_type: str | None) -> dict[str, Any]:
    """The customer set's purchase-order accounts as Kibo's collection (REST and GraphQL)."""
    if account_type is not None:
        account_type = account_type.strip()[:MAX_ACCOUNT_TYPE] or None
    page = await service.list_accounts(core, caller, account_type, _query(paging, ACCOUNT_FILTER, ACCOUNT_SORT))
    return wire.collection([po_account(a) for a in page.items], page.start_index, page.page_size, page.total)


async def transactions_page(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                            paging: Paging) -> dict[str, Any]:
    """An account's purchase-order transactions as Kibo's collection (REST and GraphQL)."""
    page = await service.list_transactions(core, caller, shopper, account_id,
                                           _query(paging, TRANSACTION_FILTER, TRANSACTION_SORT, NEWEST_FIRST))
    return wire.collection([po_transaction(x) for x in page.items], page.start_index, page.page_size, page.total)


async def _accounts(request: Request, paging: Paging, account_type: str | None,
                    response_fields: str | None) -> KiboJSON:
    ctx = await resolve(request)
    return respond(await accounts_page(core_of(request), ctx.caller, paging, account_type), response_fields)


@router.post("/purchaseorderaccounts", summary="The purchase order accounts of the site's customer set")
async def list_po_accounts(request: Request, paging: PagingParams, accountType: str | None = Query(None),
                           responseFields: str | None = Query(None)) -> KiboJSON:
    return await _accounts(request, paging, accountType, responseFields)


@router.get("/purchaseorderaccounts", summary="The purchase order accounts of the site's customer set")
async def get_po_accounts(request: Request, paging: PagingParams, accountType: str | None = Query(None),
                          responseFields: str | None = Query(None)) -> KiboJSON:
    return await _accounts(request, paging, accountType, responseFields)


# -- one account's purchase-order account ------------------------------------------------------------------

@router.get("/{accountId:int}/purchaseorderaccount", summary="An account's purchase order account")
async def get_po_account(request: Request, accountId: AccountId, responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    found = await service.get_account(core_of(request), ctx.caller, ctx.shopper, accountId)
    return respond(po_account(found), responseFields)


@router.post("/{accountId:int}/purchaseorderaccount", summary="Create an account's purchase order account")
async def create_po_account(request: Request, accountId: AccountId,
                            responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    service.require_may_manage(ctx.caller)
    body = await read_json(request, CustomerPurchaseOrderAccountIn)
    created = await service.create_account(core_of(request), ctx.caller, ctx.shopper, accountId, settings_of(body))
    return respond(po_account(created), responseFields)


@router.put("/{accountId:int}/purchaseorderaccount", summary="Replace an account's purchase order account")
async def update_po_account(request: Request, accountId: AccountId,
                            responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    service.require_may_manage(ctx.caller)
    body = await read_json(request, CustomerPurchaseOrderAccountIn, required=True)
    updated = await service.update_account(core_of(request), ctx.caller, ctx.shopper, accountId, settings_of(body))
    return respond(po_account(updated), responseFields)


# -- its transactions ----------------------------------------------------------------------------------

@router.get("/{accountId:int}/purchaseordertransaction", summary="An account's purchase order transactions")
async def list_po_transactions(request: Request, accountId: AccountId, paging: PagingParams,
                               responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await transactions_page(core_of(request), ctx.caller, ctx.shopper, accountId, paging),
                   responseFields)


@router.post("/{accountId:int}/purchaseordertransaction", summary="Add a purchase order transaction")
async def add_po_transaction(request: Request, accountId: AccountId,
                             responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    service.require_may_transact(ctx.caller)
    body = await read_json(request, PurchaseOrderTransactionIn, required=True)
    done = await service.add_transaction(core_of(request), ctx.caller, ctx.shopper, accountId, details_of(body))
    return respond(po_transaction(done), responseFields)

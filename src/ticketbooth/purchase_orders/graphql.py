"""Resolvers of purchase-order accounts, the twins of purchase_orders/routes.py (Kibo's B2B checkout reads
`customerPurchaseOrderAccount`): the same rights, the same flows, the same wire shapes.

Kibo's schema names the list of the customer set's purchase-order accounts `createPurchaseOrderAccount` (a
mutation, as its REST twin is a POST); it creates nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.models import Shopper
from ticketbooth.kibo.bodies import CustomerPurchaseOrderAccountIn, PurchaseOrderTransactionIn
from ticketbooth.kibo.graphql.context import Info, caller, core, read_input
from ticketbooth.kibo.graphql.paging import paging
from ticketbooth.purchase_orders import service
from ticketbooth.purchase_orders.routes import (
    accounts_page,
    details_of,
    po_account,
    po_transaction,
    settings_of,
    transactions_page,
)
from ticketbooth.purchase_orders.rules import PurchaseOrderAccount, Settings

query = QueryType()
mutation = MutationType()


@query.field("customerPurchaseOrderAccount")
async def customer_purchase_order_account(_: Any, info: Info, accountId: int) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return po_account(await service.get_account(core(info), ctx.caller, ctx.shopper, accountId))


@query.field("customerPurchaseOrderAccountTransaction")
async def customer_purchase_order_account_transaction(
        _: Any, info: Info, accountId: int, startIndex: int | None = None, pageSize: int | None = None,
        sortBy: str | None = None, filter: str | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return await transactions_page(core(info), ctx.caller, ctx.shopper, accountId,
                                   paging(startIndex, pageSize, sortBy, filter))


@mutation.field("createPurchaseOrderAccount")
async def purchase_order_accounts(_: Any, info: Info, startIndex: int | None = None, pageSize: int | None = None,
                                  sortBy: str | None = None, accountType: str | None = None) -> dict[str, Any]:
    ctx = await caller(info)
    return await accounts_page(core(info), ctx.caller, paging(startIndex, pageSize, sortBy), accountType)


@mutation.field("createCustomerAccountPurchaseOrderAccount")
async def create_customer_account_purchase_order_account(
        _: Any, info: Info, accountId: int,
        customerPurchaseOrderAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
    return await _write_settings(info, accountId, customerPurchaseOrderAccountInput, service.create_account)


@mutation.field("updateCustomerPurchaseOrderAccount")
async def update_customer_purchase_order_account(
        _: Any, info: Info, accountId: int,
        customerPurchaseOrderAccountInput: dict[str, Any] | None = None) -> dict[str, Any]:
    return await _write_settings(info, accountId, customerPurchaseOrderAccountInput, service.update_account)


async def _write_settings(info: Info, account_id: int, given: dict[str, Any] | None,
                          flow: Callable[[Core, Caller, Shopper | None, int, Settings],
                                         Awaitable[PurchaseOrderAccount]]) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    service.require_may_manage(ctx.caller)
    body = read_input(CustomerPurchaseOrderAccountIn, given, "customerPurchaseOrderAccountInput")
    return po_account(await flow(core(info), ctx.caller, ctx.shopper, account_id, settings_of(body)))


@mutation.field("createCustomerAccountPurchaseOrderAccountTransaction")
async def create_customer_account_purchase_order_account_transaction(
        _: Any, info: Info, accountId: int, purchaseOrderTransactionInput: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    service.require_may_transact(ctx.caller)
    body = read_input(PurchaseOrderTransactionIn, purchaseOrderTransactionInput, "purchaseOrderTransactionInput")
    return po_transaction(await service.add_transaction(core(info), ctx.caller, ctx.shopper, accountId,
                                                        details_of(body)))

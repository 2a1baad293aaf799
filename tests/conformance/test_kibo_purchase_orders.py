"""Purchase-order accounts through `@kibocommerce/rest-sdk`'s CustomerAccountApi
(createCustomerPurchaseOrderAccount, getCustomerPurchaseOrderAccount, updateCustomerPurchaseOrderAccount,
createPurchaseOrderTransaction, getCustomerPurchaseOrderTransactions, getCustomersPurchaseOrderAccounts:
the SDK's own mixed-case paths and its POST for the list) against a live `ticketbooth serve`: a merchant
application manages the account and its transactions, the shopper reads their own and is refused the
rest, an overdrawing debit is Kibo's 409. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.conftest import Kibo, assert_api_error
from tests.conftest import ADMIN, PASSWORD, LiveServer

pytestmark = pytest.mark.conformance

API = "CustomerAccountApi"


def _result(out: dict[str, Any]) -> Any:
    assert out["ok"] is True, f"{out['call']} failed through the SDK: {out['error']}"
    return out["result"]


def test_purchase_order_accounts_through_the_sdk(live_server: LiveServer) -> None:
    kibo = Kibo(live_server.base_url)
    merchant = kibo.as_(creds=ADMIN)
    ticket = kibo.ok("register", "po.buyer@example.com", PASSWORD)
    me, jwt = ticket["customerAccount"]["id"], ticket["jwtAccessToken"]

    created = _result(merchant.call(API, "createCustomerPurchaseOrderAccount", {
        "accountId": me, "customerPurchaseOrderAccount": {
            "isEnabled": True, "creditLimit": 500.25, "overdraftAllowance": 50, "overdraftAllowanceType": "Amount",
            "customerPurchaseOrderPaymentTerms": [{"siteId": 200, "code": "NET30", "description": "Net 30"}]}}))
    assert (created["accountId"], created["creditLimit"], created["availableBalance"],
            created["totalAvailableBalance"]) == (me, 500.25, 500.25, 550.25)
    assert created["customerPurchaseOrderPaymentTerms"][0]["code"] == "NET30"

    debit = _result(merchant.call(API, "createPurchaseOrderTransaction", {"accountId": me, "purchaseOrderTransaction": {
        "transactionTypeId": 2, "transactionAmount": 120.1, "orderId": "order-1", "purchaseOrderNumber": "PO-1"}}))
    assert (debit["transactionTypeId"], debit["transactionAmount"], debit["availableBalance"],
            debit["transactionDescription"]) == (2, 120.1, 380.15, "Order Submitted")
    refund = _result(merchant.call(API, "createPurchaseOrderTransaction", {"accountId": me, "purchaseOrderTransaction": {
        "transactionTypeId": 5, "transactionAmount": 20}}))
    assert refund["availableBalance"] == 400.15
    too_much = merchant.call(API, "createPurchaseOrderTransaction", {"accountId": me, "purchaseOrderTransaction": {
        "transactionTypeId": 2, "transactionAmount": 450.16}})
    assert too_much["ok"] is False, too_much
    assert_api_error(too_much["error"], 409, "VALIDATION_CONFLICT")

    updated = _result(merchant.call(API, "updateCustomerPurchaseOrderAccount", {
        "accountId": me, "customerPurchaseOrderAccount": {**created, "creditLimit": 1000}}))
    assert (updated["creditLimit"], updated["availableBalance"]) == (1000, 899.9)

    # the shopper reads their own account and its history
    assert _result(kibo.call(API, "getCustomerPurchaseOrderAccount", {"accountId": me}, jwt)) == updated
    history = _result(kibo.call(API, "getCustomerPurchaseOrderTransactions", {
        "accountId": me, "pageSize": 2, "sortBy": "id desc"}, jwt))
    assert history["totalCount"] == 4 and history["pageCount"] == 2
    assert [(x["transactionTypeId"], x["transactionAmount"]) for x in history["items"]] == [(1, 499.75), (5, 20)]
    filtered = _result(kibo.call(API, "getCustomerPurchaseOrderTransactions", {
        "accountId": me, "filter": "orderId eq 'order-1'"}, jwt))
    assert [x["purchaseOrderNumber"] for x in filtered["items"]] == ["PO-1"]
    # and may change nothing
    for method, params in (("updateCustomerPurchaseOrderAccount", {"customerPurchaseOrderAccount": {"creditLimit": 9e9}}),
                           ("createPurchaseOrderTransaction", {"purchaseOrderTransaction": {
                               "transactionTypeId": 5, "transactionAmount": 100}})):
        out = kibo.call(API, method, {"accountId": me, **params}, jwt)
        assert out["ok"] is False, out
        assert_api_error(out["error"], 403, "FORBIDDEN")

    listed = _result(merchant.call(API, "getCustomersPurchaseOrderAccounts", {"pageSize": 10, "sortBy": "creditLimit desc"}))
    assert [a["accountId"] for a in listed["items"]] == [me] and listed["items"][0]["availableBalance"] == 899.9
    mine_only = kibo.call(API, "getCustomersPurchaseOrderAccounts", {}, jwt)
    assert mine_only["ok"] is False, mine_only
    assert_api_error(mine_only["error"], 403, "FORBIDDEN")

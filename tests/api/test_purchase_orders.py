"""/accounts/{accountId}/purchaseOrderAccount, /accounts/{accountId}/PurchaseOrderTransaction and
/accounts/purchaseOrderAccounts: Kibo's purchase-order accounts (purchase_orders/). Every operation and
refusal over HTTP, the balance under many concurrent debits, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.parts_support import ACCOUNTS, Shopper, other_tenant_admin, outlet_account, shopper
from tests.api.support import KIBO_DATE, assert_error, ok
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")

PO_KEYS = {"id", "accountId", "isEnabled", "creditLimit", "availableBalance", "totalAvailableBalance",
           "overdraftAllowance", "overdraftAllowanceType", "customerPurchaseOrderPaymentTerms", "auditInfo"}
TX_KEYS = {"id", "customerPurchaseOrderAccountId", "externalId", "siteId", "tenantId", "transactionDate", "orderId",
           "purchaseOrderNumber", "transactionAmount", "creditLimit", "additionalTransactionDetail",
           "availableBalance", "transactionTypeId", "transactionDescription", "author", "auditInfo"}
ORDER, COLLECTED, VOIDED, REFUND, MANUAL = 2, 3, 4, 5, 6


def po(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}/purchaseOrderAccount"  # Kibo's case: paths compare case-insensitively


def txs(account_id: int) -> str:
    return f"{ACCOUNTS}/{account_id}/PurchaseOrderTransaction"


ALL = f"{ACCOUNTS}/purchaseOrderAccounts"


async def _create(client: httpx.AsyncClient, admin: dict[str, str], account_id: int, **body: Any) -> dict[str, Any]:
    return ok(await client.post(po(account_id), headers=admin, json={"creditLimit": 100, **body}))


async def _debit(client: httpx.AsyncClient, admin: dict[str, str], account_id: int, amount: Any,
                 kind: int = ORDER, **more: Any) -> httpx.Response:
    return await client.post(txs(account_id), headers=admin,
                             json={"transactionTypeId": kind, "transactionAmount": amount, **more})


async def _balance(client: httpx.AsyncClient, admin: dict[str, str], account_id: int) -> tuple[float, float]:
    got = ok(await client.get(po(account_id), headers=admin))
    return got["availableBalance"], got["totalAvailableBalance"]


async def _all_transactions(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(await client.get(txs(account_id), headers=hdrs,
                                                      params={"pageSize": "200"}))["items"]
    return items


async def _trail(client: httpx.AsyncClient, admin: dict[str, str], account_id: int) -> list[dict[str, Any]]:
    page = ok(await client.get(f"{ACCOUNTS}/{account_id}/auditlog/entries", headers=admin, params={"pageSize": "200"}))
    return [e for e in page["items"] if e["eventType"].startswith("po-")]


# -- the operations ------------------------------------------------------------------------------------

async def test_an_admin_creates_reads_and_changes_a_purchase_order_account(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    created = await _create(client, admin, nina.account_id, creditLimit=1000.5, overdraftAllowance=10,
                            overdraftAllowanceType="percent", availableBalance=5, isEnabled=True,
                            customerPurchaseOrderPaymentTerms=[{"siteId": 200, "code": "NET30", "description": "30 days"}])
    assert set(created) == PO_KEYS
    assert created["accountId"] == nina.account_id and created["isEnabled"] is True
    # nothing owed: the whole limit is available (availableBalance in the body is not the client's to set)
    assert (created["creditLimit"], created["availableBalance"]) == (1000.5, 1000.5)
    assert created["overdraftAllowance"] == 10 and created["overdraftAllowanceType"] == "Percent"
    assert created["totalAvailableBalance"] == 1100.55  # 10 % of 1000.50 is 100.05
    [term] = created["customerPurchaseOrderPaymentTerms"]
    assert (term["siteId"], term["code"], term["description"]) == (200, "NET30", "30 days")
    assert created["auditInfo"]["createBy"] == "admin.app" and KIBO_DATE.match(created["auditInfo"]["createDate"])
    assert ok(await client.get(po(nina.account_id), headers=admin)) == created
    assert ok(await client.get(po(nina.account_id).lower(), headers=admin)) == created

    assert (await _debit(client, admin, nina.account_id, 400)).status_code == 200
    changed = ok(await client.put(po(nina.account_id), headers=admin, json={
        "creditLimit": 300, "overdraftAllowance": 25.5, "overdraftAllowanceType": "Amount", "isEnabled": False}))
    # what is owed (400) stays: the balance moves with the limit, below zero now
    assert (changed["creditLimit"], changed["availableBalance"], changed["totalAvailableBalance"]) == (300, -100, -74.5)
    assert changed["isEnabled"] is False and changed["customerPurchaseOrderPaymentTerms"] == []
    assert changed["id"] == created["id"]

    history = await _all_transactions(client, admin, nina.account_id)
    assert [(x["transactionTypeId"], x["transactionAmount"], x["creditLimit"], x["availableBalance"]) for x in history] \
        == [(1, -700.5, 300, -100), (2, 400, 1000.5, 600.5), (1, 1000.5, 1000.5, 1000.5)]  # newest first
    assert history[0]["transactionDescription"] == "Line of Credit Change" and history[0]["author"] == "admin.app"
    assert all(set(x) == TX_KEYS for x in history)

    trail = [(e["eventType"], e["description"], e["entryUser"]) for e in await _trail(client, admin, nina.account_id)]
    assert trail == [
        ("po-account.updated", "Purchase order account changed: credit limit 300.00.", "admin.app"),
        ("po-transaction.added", "Purchase order transaction added: type 2, amount 400.00, available balance 600.50.",
         "admin.app"),
        ("po-account.created", "Purchase order account created: credit limit 1000.50.", "admin.app")]


async def test_each_transaction_type_moves_the_balance_as_its_kind_says(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    await _create(client, admin, nina.account_id, creditLimit=500)
    steps = [(ORDER, 300, 200), (COLLECTED, 300, 200), (VOIDED, 100, 300), (REFUND, 50.5, 350.5), (MANUAL, -25.25, 325.25),
             (MANUAL, 10, 335.25)]
    for kind, amount, after in steps:
        done = ok(await _debit(client, admin, nina.account_id, amount, kind, orderId="o-1", purchaseOrderNumber="PO-7",
                               externalId="x-1", additionalTransactionDetail="by phone", author="Bea Buyer"))
        assert (done["transactionTypeId"], done["transactionAmount"], done["availableBalance"]) == (kind, amount, after)
        assert (done["orderId"], done["purchaseOrderNumber"], done["externalId"], done["author"]) == \
            ("o-1", "PO-7", "x-1", "Bea Buyer")
        assert (done["siteId"], done["tenantId"], done["creditLimit"]) == (200, 100, 500)
    assert await _balance(client, admin, nina.account_id) == (335.25, 335.25)

    listed = ok(await client.get(txs(nina.account_id), headers=admin, params={
        "filter": "transactionTypeId eq 6", "sortBy": "transactionAmount asc", "pageSize": "1", "startIndex": "1"}))
    assert (listed["totalCount"], listed["pageCount"], listed["startIndex"]) == (2, 2, 1)
    assert [x["transactionAmount"] for x in listed["items"]] == [10]
    fields = ok(await client.get(txs(nina.account_id), headers=admin, params={
        "filter": "transactionTypeId in [4,5]", "sortBy": "id asc", "responseFields": "items(transactionAmount)"}))
    assert fields == {"items": [{"transactionAmount": 100}, {"transactionAmount": 50.5}]}
    for bad in ({"filter": "transactionAmount gt 3"}, {"sortBy": "nope"}, {"pageSize": "0"}):
        assert_error(await client.get(txs(nina.account_id), headers=admin, params=bad), 400,
                     "MISSING_OR_INVALID_PARAMETER")


async def test_a_debit_past_the_floor_and_a_credit_past_the_limit_are_refused_and_change_nothing(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    await _create(client, admin, nina.account_id, creditLimit=100, overdraftAllowance=20)
    assert ok(await _debit(client, admin, nina.account_id, 90))["availableBalance"] == 10
    body = assert_error(await _debit(client, admin, nina.account_id, 30.01), 409, "VALIDATION_CONFLICT")
    assert "30.01 is more than the purchase order account's total available balance of 30.00" in body["message"]
    assert ok(await _debit(client, admin, nina.account_id, 30))["availableBalance"] == -20  # the overdraft, to the cent
    assert_error(await _debit(client, admin, nina.account_id, 0.01), 409, "VALIDATION_CONFLICT")
    assert_error(await _debit(client, admin, nina.account_id, -0.01, MANUAL), 409, "VALIDATION_CONFLICT")
    # a credit may bring back what is owed, not more
    assert ok(await _debit(client, admin, nina.account_id, 120, REFUND))["availableBalance"] == 100
    assert_error(await _debit(client, admin, nina.account_id, 0.01, VOIDED), 409, "VALIDATION_CONFLICT")
    assert_error(await _debit(client, admin, nina.account_id, 1, MANUAL), 409, "VALIDATION_CONFLICT")
    assert await _balance(client, admin, nina.account_id) == (100, 120)
    assert len(await _all_transactions(client, admin, nina.account_id)) == 4  # the limit, 2 debits, the refund

    # a disabled account takes no order, but still its refunds
    ok(await client.put(po(nina.account_id), headers=admin, json={"creditLimit": 100, "isEnabled": False}))
    assert ok(await _debit(client, admin, nina.account_id, -10, MANUAL))["availableBalance"] == 90
    assert ok(await _debit(client, admin, nina.account_id, 10, VOIDED))["availableBalance"] == 100
    body = assert_error(await _debit(client, admin, nina.account_id, 1), 409, "VALIDATION_CONFLICT")
    assert "disabled" in body["message"]


@pytest.mark.parametrize(("raw", "parameter"), [
    ('{"transactionTypeId": 2, "transactionAmount": NaN}', "body"),
    ('{"transactionTypeId": 2, "transactionAmount": Infinity}', "body"),
    ('{"transactionTypeId": 2, "transactionAmount": 1e400}', None),
    ('{"transactionTypeId": 2, "transactionAmount": 12.345}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": 0.001}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": -5}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": 0}', "transactionAmount"),
    ('{"transactionTypeId": 6, "transactionAmount": 0}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": "10"}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": true}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": 1e13}', "transactionAmount"),
    ('{"transactionTypeId": 2, "transactionAmount": 99999999999999999999999}', None),
    ('{"transactionTypeId": 2}', "transactionAmount"),
    ('{"transactionTypeId": 1, "transactionAmount": 5}', "transactionTypeId"),
    ('{"transactionTypeId": 7, "transactionAmount": 5}', "transactionTypeId"),
    ('{"transactionTypeId": "2", "transactionAmount": 5}', "transactionTypeId"),
    ('{"transactionAmount": 5}', "transactionTypeId"),
    ('{"transactionTypeId": 2, "transactionAmount": 5, "orderId": 12}', "orderId"),
    ('{"transactionTypeId": 2, "transactionAmount": 5, "author": "' + "a" * 201 + '"}', "author"),
    ("[]", "body"),
    ("", "body"),
])
async def test_a_bad_transaction_is_a_400_and_changes_nothing(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper, raw: str, parameter: str | None) -> None:
    await _create(client, admin, nina.account_id)
    r = await client.post(txs(nina.account_id), headers={**admin, "content-type": "application/json"}, content=raw)
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", parameter)
    assert await _balance(client, admin, nina.account_id) == (100, 100)
    assert len(await _all_transactions(client, admin, nina.account_id)) == 1


@pytest.mark.parametrize(("body", "parameter"), [
    ({"creditLimit": -1}, "creditLimit"),
    ({"creditLimit": 1.005}, "creditLimit"),
    ({"creditLimit": "100"}, "creditLimit"),
    ({"creditLimit": 10**13}, "creditLimit"),
    ({"overdraftAllowance": -1}, "overdraftAllowance"),
    ({"overdraftAllowance": 100.01, "overdraftAllowanceType": "Percent"}, "overdraftAllowance"),
    ({"overdraftAllowance": 5, "overdraftAllowanceType": "Percentage"}, "overdraftAllowanceType"),
    ({"isEnabled": "maybe"}, "isEnabled"),
    ({"customerPurchaseOrderPaymentTerms": [{"siteId": "x"}]}, "customerPurchaseOrderPaymentTerms.0.siteId"),
    ({"customerPurchaseOrderPaymentTerms": [{"code": "x"}] * 51}, "customerPurchaseOrderPaymentTerms"),
])
async def test_bad_settings_are_a_400_and_change_nothing(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper, body: dict[str, Any], parameter: str) -> None:
    assert_error(await client.post(po(nina.account_id), headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER",
                 parameter)
    assert_error(await client.get(po(nina.account_id), headers=admin), 404, "ITEM_NOT_FOUND")
    await _create(client, admin, nina.account_id, creditLimit=50)
    assert_error(await client.put(po(nina.account_id), headers=admin, json=body), 400, "MISSING_OR_INVALID_PARAMETER",
                 parameter)
    assert await _balance(client, admin, nina.account_id) == (50, 50)


async def test_one_purchase_order_account_per_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                      nina: Shopper) -> None:
    assert_error(await client.put(po(nina.account_id), headers=admin, json={"creditLimit": 5}), 404, "ITEM_NOT_FOUND")
    assert_error(await _debit(client, admin, nina.account_id, 5), 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(txs(nina.account_id), headers=admin), 404, "ITEM_NOT_FOUND")
    first = await _create(client, admin, nina.account_id, creditLimit=0)
    assert first["creditLimit"] == 0 and await _all_transactions(client, admin, nina.account_id) == []
    assert_error(await client.post(po(nina.account_id), headers=admin, json={"creditLimit": 9}), 409,
                 "VALIDATION_CONFLICT")
    assert ok(await client.get(po(nina.account_id), headers=admin)) == first
    assert_error(await client.put(po(nina.account_id), headers=admin), 400, "MISSING_OR_INVALID_PARAMETER", "body")


# -- who may do what -----------------------------------------------------------------------------------

async def test_a_shopper_reads_their_own_and_changes_nothing(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], nina: Shopper) -> None:
    other = await shopper(client, app_headers, "otto@example.com")
    mine = await _create(client, admin, nina.account_id, creditLimit=70)
    await _create(client, admin, other.account_id, creditLimit=80)
    assert ok(await client.get(po(nina.account_id), headers=nina.headers)) == mine
    assert [x["transactionAmount"] for x in await _all_transactions(client, nina.headers, nina.account_id)] == [70]

    for account_id in (nina.account_id, other.account_id):
        for request in (client.post(po(account_id), headers=nina.headers, json={"creditLimit": 1}),
                        client.put(po(account_id), headers=nina.headers, json={"creditLimit": 10**6}),
                        _debit(client, nina.headers, account_id, 5, REFUND),
                        _debit(client, nina.headers, account_id, 5)):
            assert_error(await request, 403, "FORBIDDEN")
    # another account, a missing one: the same answer
    for account_id in (other.account_id, 999_999):
        assert_error(await client.get(po(account_id), headers=nina.headers), 403, "FORBIDDEN")
        assert_error(await client.get(txs(account_id), headers=nina.headers), 403, "FORBIDDEN")
    # the storefront application alone is no merchant
    for request in (client.get(po(nina.account_id), headers=app_headers),
                    client.post(po(nina.account_id), headers=app_headers, json={}),
                    _debit(client, app_headers, nina.account_id, 5),
                    client.post(ALL, headers=app_headers), client.get(ALL, headers=nina.headers)):
        assert_error(await request, 403, "FORBIDDEN")
    assert await _balance(client, admin, nina.account_id) == (70, 70)
    assert await _balance(client, admin, other.account_id) == (80, 80)


async def test_accounts_an_admin_cannot_see_are_not_found(
        client: httpx.AsyncClient, core: Core, admin: dict[str, str], nina: Shopper) -> None:
    outlet = await outlet_account(client)
    stranger = await other_tenant_admin(core, client)
    await _create(client, admin, nina.account_id)
    for hdrs, account_id in ((admin, outlet), (admin, 999_999), (stranger, nina.account_id)):
        for request in (client.get(po(account_id), headers=hdrs), client.post(po(account_id), headers=hdrs, json={}),
                        client.put(po(account_id), headers=hdrs, json={"creditLimit": 1}),
                        client.get(txs(account_id), headers=hdrs), _debit(client, hdrs, account_id, 1)):
            assert_error(await request, 404, "ITEM_NOT_FOUND")
    assert_error(await client.get(f"{ACCOUNTS}/0/purchaseOrderAccount", headers=admin), 400)
    assert ok(await client.post(ALL, headers=stranger))["items"] == []


async def test_the_purchase_order_accounts_of_the_customer_set(
        client: httpx.AsyncClient, admin: dict[str, str], app_headers: dict[str, str], nina: Shopper) -> None:
    other = await shopper(client, app_headers, "otto@example.com")
    ok(await client.put(f"{ACCOUNTS}/{other.account_id}", headers=admin, json={"accountType": "B2B"}))
    await shopper(client, app_headers, "no.po@example.com")
    outlet = await outlet_account(client)
    ok(await client.post(po(outlet), headers={**admin, "x-vol-site": "202"}, json={"creditLimit": 5}))
    await _create(client, admin, nina.account_id, creditLimit=10)
    await _create(client, admin, other.account_id, creditLimit=20)

    listed = ok(await client.post(ALL, headers=admin, params={"sortBy": "creditLimit desc"}))
    assert [(a["accountId"], a["creditLimit"]) for a in listed["items"]] == [(other.account_id, 20), (nina.account_id, 10)]
    assert (listed["totalCount"], listed["pageSize"], listed["startIndex"]) == (2, 20, 0)
    assert ok(await client.get(ALL.lower(), headers=admin, params={"sortBy": "creditLimit desc"})) == listed
    for kind, expected in (("B2B", [other.account_id]), ("b2c", [nina.account_id]), ("Other", [])):
        page = ok(await client.post(ALL, headers=admin, params={"accounttype": kind}))
        assert [a["accountId"] for a in page["items"]] == expected
    page = ok(await client.post(ALL, headers=admin, params={"pageSize": "1", "startIndex": "1", "sortBy": "accountId"}))
    assert [a["accountId"] for a in page["items"]] == [max(nina.account_id, other.account_id)]
    assert_error(await client.post(ALL, headers=admin, params={"sortBy": "balance"}), 400, parameter="sortBy")


# -- the balance under concurrency ----------------------------------------------------------------------

async def test_concurrent_debits_never_pass_the_floor_and_the_balance_is_their_sum(
        client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper) -> None:
    """Many debits at once (and a few credits): those that fit pass, the others are 409; the balance is
    the limit less the accepted debits plus the accepted credits, never below the overdraft floor, and
    the log holds exactly the accepted ones."""
    await _create(client, admin, nina.account_id, creditLimit=100, overdraftAllowance=5)
    amounts = [Decimal("7.00"), Decimal("3.33"), Decimal("12.50"), Decimal("0.01")] * 10
    requests = [_debit(client, admin, nina.account_id, float(a)) for a in amounts]
    requests += [_debit(client, admin, nina.account_id, 2, REFUND) for _ in range(5)]
    answers = await asyncio.gather(*requests)
    assert {r.status_code for r in answers} <= {200, 409}
    accepted = [r.json() for r in answers if r.status_code == 200]
    debits = sum(Decimal(str(x["transactionAmount"])) for x in accepted if x["transactionTypeId"] == ORDER)
    credits = sum(Decimal(str(x["transactionAmount"])) for x in accepted if x["transactionTypeId"] == REFUND)
    assert debits > 0 and any(r.status_code == 409 for r in answers)  # the account ran dry
    available, total = await _balance(client, admin, nina.account_id)
    assert Decimal(str(available)) == Decimal(100) - debits + credits
    assert Decimal(str(available)) >= Decimal(-5) and Decimal(str(total)) >= 0
    logged = await _all_transactions(client, admin, nina.account_id)
    assert len(logged) == len(accepted) + 1  # and the credit limit
    # each logged balance is the one after it, in the order the database applied them
    running = Decimal(0)
    for x in reversed(logged):
        step = Decimal(str(x["transactionAmount"]))
        running += -step if x["transactionTypeId"] == ORDER else step
        assert Decimal(str(x["availableBalance"])) == running and running >= -5
